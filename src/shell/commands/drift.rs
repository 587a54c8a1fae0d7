//! `cutover drift PLAN|DIR…`: live AWS against the plans, every app of a
//! region observed together (batched describes), read-only. Exit 0 in sync,
//! 2 drift, 1 error.

use super::{observe_plans, plan_files, report_calls};
use crate::shell::cli::{Format, GlobalArgs};
use crate::shell::exit::ExitStatus;
use anyhow::Result;
use std::path::PathBuf;

pub async fn run(
    g: &GlobalArgs,
    args: &[PathBuf],
    format: Format,
    orphans: bool,
) -> Result<ExitStatus> {
    let files = plan_files(args)?;
    let seen = observe_plans(g, &files, false, crate::model::observed::Reads::DRIFT).await;
    let mut apps = Vec::new();
    let mut specs = Vec::new();
    let mut failed = false;
    for (path, r) in seen.apps {
        let observed = r.and_then(|(spec, obs)| {
            // A plan that loaded owns its resources, even when reading them failed.
            let gone = |h: &crate::model::Holder| crate::shell::lock::is_dead_here(h);
            let obs = obs.map(|o| crate::decide::drift::drift_with(&spec, &o, &gone));
            specs.push(spec);
            obs
        });
        match observed {
            Ok(d) => apps.push(d),
            Err(e) => {
                failed = true;
                super::report_plan_error(&path, &e);
            }
        }
    }
    // Resources tagged as ours that no plan mentions, once per region: on
    // the plans' load balancers, and with --orphans anywhere.
    let owners: Vec<&crate::spec::Spec> = specs.iter().collect();
    for (_, p) in &seen.regions {
        match p.list_managed().await {
            Ok(managed) => {
                let mut found = vec![crate::decide::drift::unowned(&managed, &owners)];
                if orphans {
                    found.push(crate::decide::drift::orphans(&managed, &owners));
                }
                apps.extend(found.into_iter().filter(|d| !d.findings.is_empty()));
            }
            Err(e) => {
                failed = true;
                eprintln!("error: listing the resources tagged cutover:managed: {e}");
            }
        }
        report_calls(g, p.as_ref());
    }
    let out = crate::render::drift::render(&apps, format);
    print!("{out}");
    Ok(if failed {
        ExitStatus::Error
    } else if apps.iter().any(|d| !d.findings.is_empty()) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
