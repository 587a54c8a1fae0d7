//! `cutover history PLAN`: the app's releases from AWS alone. Three reads
//! at once: the live state (fleets' releases and marks, the active
//! colour, production's weights), the release log's versions and the
//! launch template's versions.

use super::{load_spec, provider, report_calls};
use crate::decide::history::Read;
use crate::model::history::{Built, LogEntry};
use crate::model::names;
use crate::model::observed::Reads;
use crate::provider::convention::tags::fingerprint_from_description;
use crate::provider::AppRef;
use crate::shell::cli::{Format, GlobalArgs};
use crate::shell::exit::ExitStatus;
use anyhow::{Context, Result};
use std::path::Path;

/// How many versions of a parameter Parameter Store keeps: a log this
/// long may have lost its oldest entries.
const KEPT: usize = 100;

pub async fn run(g: &GlobalArgs, path: &Path, format: Format) -> Result<ExitStatus> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let log_name = names::history_parameter(&spec.state_parameter);
    let template = names::launch_template(&spec.app);
    let app = AppRef::from_spec(&spec);
    let (obs, log, versions) = futures::join!(
        p.observe_as(&app, Reads::TRAFFIC),
        p.parameter_history(&log_name),
        p.template_versions(&template),
    );
    report_calls(g, p.as_ref());
    let reading = || format!("reading the history of {} from {}", spec.app, p.describe());
    let obs = obs.with_context(reading)?;
    let log = log.with_context(reading)?;
    let versions = versions.with_context(reading)?;
    let mut notes = vec![];
    if log.len() >= KEPT {
        notes.push(format!(
            "Parameter Store keeps the last {KEPT} versions of {log_name}: promotions and rollbacks before {} are not shown",
            crate::model::format_timestamp(log[0].1)
        ));
    }
    let entries: Vec<LogEntry> = log.iter().filter_map(|(v, _)| LogEntry::parse(v)).collect();
    if entries.len() < log.len() {
        notes.push(format!(
            "{} of the {} versions of {log_name} are not cutover's entries and were skipped",
            log.len() - entries.len(),
            log.len()
        ));
    }
    if log.is_empty() && !versions.is_empty() {
        notes.push(format!(
            "{log_name} does not exist (deleted, or the releases predate it): which releases went live is not known, and only the rollbacks the fleets' marks remember are shown"
        ));
    }
    let read = Read {
        log: entries,
        built: versions
            .into_iter()
            .filter_map(|v| {
                Some(Built {
                    version: v.number,
                    release: fingerprint_from_description(v.description.as_deref()?)?,
                    image: v.image,
                    at: v.created,
                })
            })
            .collect(),
        notes,
    };
    let production = obs.weights_at(spec.production.weights_at());
    let history = crate::decide::history::history(&spec.app, read, &obs, production);
    print!("{}", crate::render::history::document(&history, format));
    Ok(ExitStatus::Success)
}
