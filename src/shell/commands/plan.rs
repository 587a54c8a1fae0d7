//! `cutover plan PLAN|DIR…`: read live state, print what apply would do, as
//! text, markdown (a pull-request comment) or JSON. Read-only: no lock, no
//! write to AWS.

use super::{plan_files, report_calls, use_color};
use crate::model::plan::Plan;
use crate::render::text::Style;
use crate::shell::cli::{Format, GlobalArgs};
use crate::shell::exit::ExitStatus;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub async fn run(
    g: &GlobalArgs,
    args: &[PathBuf],
    format: Format,
    detailed: bool,
    retry: bool,
    out: Option<&Path>,
) -> Result<ExitStatus> {
    let files = plan_files(args)?;
    if out.is_some() && files.len() != 1 {
        anyhow::bail!(
            "--out saves the plan of one plan file; {} were given",
            files.len()
        );
    }
    let seen = super::observe_plans(g, &files, true, crate::model::observed::Reads::ALL).await;
    let mut plans = Vec::new();
    let mut rollbacks = Vec::new();
    for (path, r) in seen.apps {
        let (spec, obs) = r?;
        let obs = obs?;
        rollbacks.push(crate::decide::rollback::rollback(&spec, &obs).ok());
        let plan = one(&spec, &obs, retry)?;
        let region = g.region.clone().or_else(|| spec.region.clone());
        if let Some((_, p)) = seen.regions.iter().find(|(r, _)| *r == region) {
            if let Some(w) = super::baseline_warning(p.as_ref(), &spec, &obs, &plan).await {
                eprintln!("warning: {}: {w}", path.display());
            }
        }
        if let Some(out) = out {
            let saved = crate::decide::saved::SavedPlan {
                saved_plan_version: crate::decide::saved::SAVED_PLAN_VERSION,
                plan_file: path.display().to_string(),
                plan_file_text: std::fs::read_to_string(&path)?,
                retry,
                plan: plan.clone(),
                observed: obs.shape(),
                observed_state: obs.clone(),
            };
            write_private(out, &(serde_json::to_string_pretty(&saved)? + "\n"))
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "Saved the plan to {}: `cutover apply {}` applies exactly it, and refuses if live state changes first.",
                out.display(),
                out.display()
            );
        }
        plans.push(plan);
    }
    for (_, p) in &seen.regions {
        report_calls(g, p.as_ref());
    }
    let style = Style {
        color: use_color(g),
    };
    print!(
        "{}",
        crate::render::plans(&plans, &rollbacks, format, &style)
    );
    Ok(if detailed && plans.iter().any(Plan::has_changes) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// The plan for one app, noting a held lock.
fn one(
    spec: &crate::spec::Spec,
    obs: &crate::model::observed::Observed,
    retry: bool,
) -> Result<Plan> {
    let opts = crate::decide::planner::PlanOptions {
        retry,
        promote: false,
    };
    let plan = crate::decide::planner::plan_with(spec, obs, opts)?;
    if let Some(holder) = &obs.lock {
        let who = crate::model::Holder::parse(holder)
            .map(|h| h.to_string())
            .unwrap_or_else(|raw| raw);
        eprintln!("note: {} is locked by {who}", spec.app);
    }
    Ok(plan)
}

/// Writes a saved plan readable by its owner only (0600): it holds the plan
/// file, user data included.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode on open: set it.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())
}
