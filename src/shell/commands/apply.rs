//! `cutover apply PLAN`: plan, confirm, execute, summarise.

use super::{load_spec, observe, observe_checked, provider, report_calls, use_color};
use crate::render::text::{self, Style};
use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use crate::shell::run::carry_out;
use anyhow::{bail, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

/// apply's flags.
#[derive(Debug, Clone, Copy)]
pub struct Opts<'a> {
    pub auto_approve: bool,
    pub retry: bool,
    pub report: Option<&'a Path>,
    pub ignore_window: Option<&'a str>,
}

pub async fn run(g: &GlobalArgs, path: &Path, opts: Opts<'_>) -> Result<ExitStatus> {
    let ask = Ask {
        auto_approve: opts.auto_approve,
        report: opts.report,
        ignore_window: opts.ignore_window,
    };
    let retry = opts.retry;
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let saved = if crate::decide::saved::is_saved_plan(&bytes) {
        Some(read_saved(path, &bytes)?)
    } else {
        None
    };
    let spec = match &saved {
        Some(s) => {
            let spec = crate::spec::parse(Path::new(&s.plan_file), &s.plan_file_text)?;
            crate::decide::saved::verify(s, &spec)
                .map_err(|e| anyhow::anyhow!("{} is refused: {e}", path.display()))?;
            spec
        }
        None => load_spec(path)?,
    };
    let p = provider(g, &spec).await?;
    let opts = crate::decide::planner::PlanOptions {
        retry,
        promote: false,
    };
    let result = match &saved {
        Some(s) => apply_saved(g, &spec, p.as_ref(), ask, s).await,
        None => apply_file(g, path, &spec, p.as_ref(), ask, opts).await,
    };
    report_calls(g, p.as_ref());
    result
}

/// A saved plan, of this version of the file.
fn read_saved(path: &Path, bytes: &[u8]) -> Result<crate::decide::saved::SavedPlan> {
    let unreadable = |e: serde_json::Error| {
        anyhow::anyhow!(
            "{} is not a saved plan cutover can read: {e}",
            path.display()
        )
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(unreadable)?;
    let version = value.get("saved_plan_version").and_then(|v| v.as_u64());
    if version != Some(crate::decide::saved::SAVED_PLAN_VERSION.into()) {
        anyhow::bail!(
            "{} was saved by another version of cutover (saved plan version {}); run `cutover plan --out` again",
            path.display(),
            version.map_or("unknown".to_string(), |v| v.to_string())
        );
    }
    serde_json::from_value(value).map_err(unreadable)
}

/// Whether to ask before applying, and where the run's record goes.
#[derive(Debug, Clone, Copy)]
struct Ask<'a> {
    auto_approve: bool,
    report: Option<&'a Path>,
    /// `--ignore-window REASON`.
    ignore_window: Option<&'a str>,
}

/// Plans from live state, shows the plan, asks, then carries it out under
/// the lock.
async fn apply_file(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    ask: Ask<'_>,
    opts: crate::decide::planner::PlanOptions,
) -> Result<ExitStatus> {
    let obs = observe_checked(p, spec).await?;
    let plan = crate::decide::planner::plan_with(spec, &obs, opts)?;
    review(g, path, spec, p, &obs, &plan, ask).await
}

/// Applies a saved plan, unless live state changed since it was made.
async fn apply_saved(
    g: &GlobalArgs,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    ask: Ask<'_>,
    saved: &crate::decide::saved::SavedPlan,
) -> Result<ExitStatus> {
    let obs = observe_checked(p, spec).await?;
    if obs.fingerprint() != saved.plan.observed_fingerprint {
        eprintln!(
            "error: the plan is stale: live state changed since it was made ({} → {}):",
            saved.plan.observed_fingerprint,
            obs.fingerprint()
        );
        print_changes(&saved.observed, &obs);
        eprintln!(
            "Run `cutover plan {} --out …` again and review the new plan.",
            saved.plan_file
        );
        return Ok(ExitStatus::Error);
    }
    let plan = &saved.plan;
    review(g, Path::new(&saved.plan_file), spec, p, &obs, plan, ask).await
}

/// What changed between the live state a plan was made from and now.
fn print_changes(then: &serde_json::Value, now: &crate::model::observed::Observed) {
    for c in crate::decide::saved::changes(then, &now.shape(), 12) {
        eprintln!("  {c}");
    }
}

/// Shows the plan and asks (no lock is held while a person reads it), then
/// takes the lock, reads live state again and carries the plan out only if
/// nothing changed meanwhile.
async fn review(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    obs: &crate::model::observed::Observed,
    plan: &crate::model::plan::Plan,
    ask: Ask<'_>,
) -> Result<ExitStatus> {
    let auto_approve = ask.auto_approve;
    // `-q` prints the outcome and errors only; a person asked to confirm
    // sees the plan all the same, and a plan with nothing to do is its
    // own outcome (with why: a release not deployed again, say).
    if !(g.quiet && auto_approve && plan.has_changes()) {
        print!(
            "{}",
            text::render(
                plan,
                &Style {
                    color: use_color(g)
                }
            )
        );
    }
    if !plan.has_changes() {
        // Nothing to do, but a lock left by a run that died here is cleared.
        let dead = obs
            .lock
            .as_deref()
            .and_then(|v| crate::shell::lock::Holder::parse(v).ok())
            .is_some_and(|h| crate::shell::lock::is_dead_here(&h));
        if dead {
            super::lock(p, spec, path, "apply").await?.release().await;
        }
        return Ok(ExitStatus::Success);
    }
    let window_ignored = match window(path, spec, p, plan, ask.ignore_window) {
        Ok(ignored) => ignored,
        Err(refused) => return Ok(refused),
    };
    let warned = super::baseline_warning(p, spec, obs, plan)
        .await
        .map(|w| format!("{}: {w}", path.display()));
    if let Some(w) = &warned {
        eprintln!("warning: {w}");
    }
    if !auto_approve {
        confirm()?;
    }
    let lock = super::lock(p, spec, path, "apply").await?;
    let result = async {
        let now = observe(p, spec).await?;
        if now.fingerprint() != obs.fingerprint() {
            eprintln!(
                "error: live state changed since the plan was shown ({} → {}):",
                obs.fingerprint(),
                now.fingerprint()
            );
            print_changes(&obs.shape(), &now);
            eprintln!(
                "Nothing was applied; run `cutover apply {}` again.",
                path.display()
            );
            return Ok(ExitStatus::Error);
        }
        let how = crate::shell::run::How {
            command: "Apply",
            report: ask.report,
            warned: warned.as_deref(),
            window_ignored: window_ignored.as_deref(),
        };
        carry_out(how, g, path, spec, p, &now, plan, &lock).await
    }
    .await;
    lock.release().await;
    result
}

/// A release outside its window is refused before anything is asked
/// (`Err`, said); with `--ignore-window REASON` it goes ahead, and the
/// release log's line will say who let it and why (`Ok(Some)`).
fn window(
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    plan: &crate::model::plan::Plan,
    ignore: Option<&str>,
) -> std::result::Result<Option<String>, ExitStatus> {
    let Some(refusal) = crate::decide::preflight::outside_window(spec, plan, p.now()) else {
        return Ok(None);
    };
    let Some(reason) = ignore else {
        eprintln!("error: {}: {refusal}", path.display());
        return Err(ExitStatus::Error);
    };
    eprintln!(
        "warning: {}: {refusal}; deploying anyway: {reason}",
        path.display()
    );
    let me = crate::shell::lock::me("cutover apply", p.now());
    Ok(Some(format!(
        "deployed outside its window by {}@{}: {reason}",
        me.user, me.host
    )))
}

/// Asks on the terminal; refuses when there is none.
fn confirm() -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without confirmation: stdin is not a terminal; pass --auto-approve to apply anyway");
    }
    eprint!("\nApply these steps? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("apply cancelled: the answer was not 'yes'");
    }
    Ok(())
}
