//! `cutover plan PLAN`: read live state, print what apply would do. Read-only.

use super::{load_spec, observe, provider, report_calls, use_color};
use crate::cli::{Format, GlobalArgs};
use crate::exit::ExitStatus;
use crate::render::text::{self, Style};
use anyhow::Result;
use std::path::Path;

pub async fn run(
    g: &GlobalArgs,
    path: &Path,
    format: Format,
    detailed: bool,
    retry: bool,
) -> Result<ExitStatus> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let obs = observe(p.as_ref(), &spec).await?;
    let plan = crate::planner::plan_with(
        &spec,
        &obs,
        crate::planner::PlanOptions {
            retry,
            promote: false,
        },
    )?;
    if let Some(holder) = &obs.lock {
        let who = crate::model::Holder::parse(holder)
            .map(|h| h.to_string())
            .unwrap_or_else(|raw| raw);
        eprintln!("note: {} is locked by {who}", spec.app);
    }
    match format {
        Format::Text => print!(
            "{}",
            text::render(
                &plan,
                &Style {
                    color: use_color(g)
                }
            )
        ),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    report_calls(g, p.as_ref());
    Ok(if detailed && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
