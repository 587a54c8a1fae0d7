//! `cutover promote PLAN`: continue a release that waits for a person
//! (auto_promote = false). No prompt: running it is the decision.

use super::{load_spec, observe, provider, report_calls, use_color};
use crate::render::text::{self, Style};
use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use crate::shell::run::carry_out;
use anyhow::Result;
use std::path::Path;

pub async fn run(g: &GlobalArgs, path: &Path, report: Option<&Path>) -> Result<ExitStatus> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let lock = super::lock(p.as_ref(), &spec, path, "promote").await?;
    let result = locked(g, path, &spec, p.as_ref(), &lock, report).await;
    lock.release().await;
    report_calls(g, p.as_ref());
    result
}

async fn locked(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    lock: &crate::shell::lock::Lock<'_>,
    report: Option<&Path>,
) -> Result<ExitStatus> {
    let obs = observe(p, spec).await?;
    if let Some(refused) = super::refused_frozen(path, &obs, "promoted") {
        return Ok(refused);
    }
    let weights = obs.weights_at(spec.production.weights_at());
    // A paused release, or one held mid-shift for lack of evidence (its
    // gates are judged again: a person's word is no evidence).
    if crate::decide::status::paused(spec, &obs, weights).is_none()
        && crate::decide::status::held(&obs, weights).is_none()
    {
        eprintln!(
            "error: nothing waits for promotion: no colour is ready with the plan's release and without traffic{}",
            if spec.rollout.auto_promote {
                " (auto_promote is on: `cutover apply` promotes by itself)"
            } else {
                "; `cutover apply` builds it first"
            }
        );
        return Ok(ExitStatus::Error);
    }
    let opts = crate::decide::planner::PlanOptions {
        retry: false,
        promote: true,
    };
    let plan = crate::decide::planner::plan_with(spec, &obs, opts)?;
    // `-q`: the outcome and errors only (promote asks no confirmation).
    if !g.quiet {
        print!(
            "{}",
            text::render(
                &plan,
                &Style {
                    color: use_color(g)
                }
            )
        );
    }
    // The same contract as apply: 3 when the shift was aborted and
    // production is back on the colour it started from.
    let how = crate::shell::run::How {
        command: "Promote",
        report,
        warned: None,
        window_ignored: None,
        window_holds: false,
        shared: None,
    };
    Ok(carry_out(how, g, path, spec, p, &obs, &plan, lock)
        .await?
        .print(g))
}
