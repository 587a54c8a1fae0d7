//! `cutover plan PLAN|DIR…`: read live state, print what apply would do, as
//! text, markdown (a pull-request comment) or JSON. Read-only: no lock, no
//! write to AWS.

use super::{load_spec, observe, plan_files, provider, report_calls, use_color};
use crate::model::plan::Plan;
use crate::render::text::{self, Style};
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
    let mut plans = Vec::new();
    for path in &files {
        let (plan, obs) = one(g, path, retry).await?;
        if let Some(out) = out {
            let saved = crate::decide::saved::SavedPlan {
                saved_plan_version: crate::decide::saved::SAVED_PLAN_VERSION,
                plan_file: path.display().to_string(),
                plan_file_text: std::fs::read_to_string(path)?,
                retry,
                plan: plan.clone(),
                observed: obs.shape(),
            };
            std::fs::write(out, serde_json::to_string_pretty(&saved)? + "\n")
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "Saved the plan to {}: `cutover apply {}` applies exactly it, and refuses if live state changes first.",
                out.display(),
                out.display()
            );
        }
        plans.push(plan);
    }
    match format {
        Format::Text => {
            let style = Style {
                color: use_color(g),
            };
            let texts: Vec<String> = plans.iter().map(|p| text::render(p, &style)).collect();
            print!("{}", texts.join("\n"));
        }
        Format::Markdown => print!(
            "{}",
            crate::render::markdown::render(&plans, crate::render::markdown::GITHUB_COMMENT_LIMIT)
        ),
        Format::Json => print!("{}", crate::render::json::render(&plans)),
    }
    Ok(if detailed && plans.iter().any(Plan::has_changes) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

async fn one(
    g: &GlobalArgs,
    path: &Path,
    retry: bool,
) -> Result<(Plan, crate::model::observed::Observed)> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let obs = observe(p.as_ref(), &spec).await?;
    let opts = crate::decide::planner::PlanOptions {
        retry,
        promote: false,
    };
    let plan = crate::decide::planner::plan_with(&spec, &obs, opts)?;
    if let Some(holder) = &obs.lock {
        let who = crate::model::Holder::parse(holder)
            .map(|h| h.to_string())
            .unwrap_or_else(|raw| raw);
        eprintln!("note: {} is locked by {who}", spec.app);
    }
    report_calls(g, p.as_ref());
    Ok((plan, obs))
}
