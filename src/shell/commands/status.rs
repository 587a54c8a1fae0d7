//! `cutover status PLAN|DIR…`: what runs where, how healthy, and what a
//! rollback would do. Every app of a region is read together (batched
//! describes), as drift reads them.

use super::{observe_plans, plan_files, report_calls};
use crate::model::observed::Reads;
use crate::shell::cli::{Format, GlobalArgs};
use crate::shell::exit::ExitStatus;
use anyhow::Result;
use std::path::PathBuf;

pub async fn run(g: &GlobalArgs, args: &[PathBuf], format: Format) -> Result<ExitStatus> {
    let files = plan_files(args)?;
    // One plan named as a file: its status alone (a JSON object); otherwise
    // one entry per app (a JSON array).
    let single = args.len() == 1 && !args[0].is_dir();
    let seen = observe_plans(g, &files, false, Reads::STATUS).await;
    let mut shown = Vec::new();
    let mut failed = false;
    for (path, r) in seen.apps {
        let read = r.and_then(|(spec, obs)| {
            let obs = obs?;
            let mut status = crate::decide::status::status(&spec, &obs);
            let gone = |h: &crate::model::Holder| crate::shell::lock::is_dead_here(h);
            status.lock_holder_gone =
                crate::decide::drift::lock_seen(&obs, &gone).is_some_and(|l| l.gone);
            Ok(status)
        });
        match read {
            Ok(status) => shown.push(status),
            Err(e) => {
                failed = true;
                super::report_plan_error(&path, &e);
            }
        }
    }
    print!(
        "{}",
        crate::render::status::document(&shown, single, format)
    );
    for (_, p) in &seen.regions {
        report_calls(g, p.as_ref());
    }
    Ok(if failed {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}
