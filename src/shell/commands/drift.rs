//! `cutover drift PLAN|DIR…`: live AWS against the plans, many apps at once
//! (at most 8 in flight), read-only. Exit 0 in sync, 2 drift, 1 error.

use super::{load_spec, observe, plan_files, provider, report_calls};
use crate::decide::drift::AppDrift;
use crate::shell::cli::{Format, GlobalArgs};
use crate::shell::exit::ExitStatus;
use anyhow::Result;
use futures::StreamExt;
use std::path::PathBuf;

/// Apps observed at once: enough to hide latency, few enough to stay clear
/// of API throttling (the SDK also retries throttled calls with backoff).
const CONCURRENCY: usize = 8;

pub async fn run(g: &GlobalArgs, args: &[PathBuf], format: Format) -> Result<ExitStatus> {
    let files = plan_files(args)?;
    let results: Vec<(usize, Result<(AppDrift, crate::spec::Spec)>)> =
        futures::stream::iter(files.iter().enumerate())
            .map(|(i, path)| async move { (i, one(g, path).await) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    let mut apps = Vec::new();
    let mut specs = Vec::new();
    let mut failed = false;
    for ((_, r), path) in results.into_iter().zip(&files) {
        match r {
            Ok((d, spec)) => {
                apps.push(d);
                specs.push(spec);
            }
            Err(e) => {
                failed = true;
                if let Some(pe) = e.downcast_ref::<crate::spec::PlanFileError>() {
                    eprintln!("{pe}");
                } else {
                    eprintln!("error: {}: {e:#}", path.display());
                }
            }
        }
    }
    // Resources tagged as ours that no plan mentions, once per region.
    let mut regions: Vec<Option<String>> = specs.iter().map(|s| s.region.clone()).collect();
    regions.sort();
    regions.dedup();
    for region in regions {
        let Some(first) = specs.iter().find(|s| s.region == region) else {
            continue;
        };
        let listed = match provider(g, first).await {
            Ok(p) => p.list_managed().await.map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match listed {
            Ok(managed) => {
                let owners: Vec<&crate::spec::Spec> = specs.iter().collect();
                let unowned = crate::decide::drift::unowned(&managed, &owners);
                if !unowned.findings.is_empty() {
                    apps.push(unowned);
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: listing the resources tagged cutover:managed: {e}");
            }
        }
    }
    let out = match format {
        Format::Text => crate::render::drift::text(&apps),
        Format::Markdown => crate::render::drift::markdown(&apps),
        Format::Json => crate::render::drift::json(&apps),
    };
    print!("{out}");
    Ok(if failed {
        ExitStatus::Error
    } else if apps.iter().any(|d| !d.findings.is_empty()) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

async fn one(g: &GlobalArgs, path: &std::path::Path) -> Result<(AppDrift, crate::spec::Spec)> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let obs = observe(p.as_ref(), &spec).await?;
    report_calls(g, p.as_ref());
    Ok((crate::decide::drift::drift(&spec, &obs), spec))
}
