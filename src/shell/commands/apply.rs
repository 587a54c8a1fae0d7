//! `cutover apply PLAN`: plan, confirm, execute, summarise. Several plans,
//! or a folder of them: `fleet`.

use super::{load_spec, observe, observe_checked, provider, report_calls, use_color};
use crate::render::text::{self, Style};
use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use crate::shell::run::carry_out;
use anyhow::{bail, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// apply's flags.
#[derive(Debug, Clone, Copy)]
pub struct Opts<'a> {
    pub auto_approve: bool,
    pub retry: bool,
    pub report: Option<&'a Path>,
    pub ignore_window: Option<&'a str>,
    /// `--parallel N`: apps at once, with several plans.
    pub parallel: usize,
    /// `--format`: the summary's, with several plans.
    pub format: crate::shell::cli::Format,
}

/// Whether `cutover apply ARGS` is of many plans (`fleet`): a folder (even
/// of one plan) or a summary format is, so CI gets its table whatever the
/// folder holds.
pub fn of_many(paths: &[PathBuf], format: crate::shell::cli::Format) -> bool {
    paths.len() != 1 || paths[0].is_dir() || format != crate::shell::cli::Format::Text
}

/// `cutover apply PLAN|SAVED`.
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
pub(super) struct Ask<'a> {
    pub auto_approve: bool,
    pub report: Option<&'a Path>,
    /// `--ignore-window REASON`.
    pub ignore_window: Option<&'a str>,
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
    // `-q` prints the outcome and errors only; a person asked to confirm
    // sees the plan all the same, and a plan with nothing to do is its
    // own outcome (with why: a release not deployed again, say).
    if !(g.quiet && ask.auto_approve && plan.has_changes()) {
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
        clear_dead_lock(p, spec, path, obs).await?;
        return Ok(ExitStatus::Success);
    }
    let pre = match precheck(path, spec, p, obs, plan, ask.ignore_window).await {
        Ok(pre) => pre,
        Err(refused) => {
            eprintln!("error: {}: {refused}", path.display());
            return Ok(ExitStatus::Error);
        }
    };
    if !ask.auto_approve {
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
        // Frozen while a person read the plan.
        if let Some(refused) = super::refused_frozen(path, &now, "applied") {
            return Ok(refused);
        }
        let how = pre.how(ask);
        Ok(carry_out(how, g, path, spec, p, &now, plan, &lock)
            .await?
            .print(g))
    }
    .await;
    lock.release().await;
    result
}

/// Nothing to do, but a lock left by a run that died here is cleared.
async fn clear_dead_lock(
    p: &dyn crate::provider::Provider,
    spec: &crate::spec::Spec,
    path: &Path,
    obs: &crate::model::observed::Observed,
) -> Result<()> {
    let dead = obs
        .lock
        .as_deref()
        .and_then(|v| crate::shell::lock::Holder::parse(v).ok())
        .is_some_and(|h| crate::shell::lock::is_dead_here(&h));
    if dead {
        super::lock(p, spec, path, "apply").await?.release().await;
    }
    Ok(())
}

/// What an apply found before asking: a release outside its window let
/// through (by whom, why), a warning already said.
#[derive(Debug, Clone, Default)]
pub(super) struct Prechecked {
    window_ignored: Option<String>,
    warned: Option<String>,
}

impl Prechecked {
    pub(super) fn how<'a>(&'a self, ask: Ask<'a>) -> crate::shell::run::How<'a> {
        crate::shell::run::How {
            command: "Apply",
            report: ask.report,
            warned: self.warned.as_deref(),
            window_ignored: self.window_ignored.as_deref(),
            window_holds: ask.ignore_window.is_none(),
            shared: None,
        }
    }
}

/// Before anything is asked: a freeze or a closed window refuses the run
/// (`Err`, why); a warning about the metric gates' baseline is said on
/// stderr.
pub(super) async fn precheck(
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    obs: &crate::model::observed::Observed,
    plan: &crate::model::plan::Plan,
    ignore_window: Option<&str>,
) -> std::result::Result<Prechecked, String> {
    if let Some(refused) = super::frozen(path, obs, "applied") {
        return Err(refused);
    }
    let window_ignored = window(path, spec, p, plan, ignore_window)?;
    let warned = super::baseline_warning(p, spec, obs, plan)
        .await
        .map(|w| format!("{}: {w}", path.display()));
    if let Some(w) = &warned {
        eprintln!("warning: {w}");
    }
    Ok(Prechecked {
        window_ignored,
        warned,
    })
}

/// A release outside its window is refused before anything is asked
/// (`Err`, why); with `--ignore-window REASON` it goes ahead, and the
/// release log's line will say who let it and why (`Ok(Some)`).
fn window(
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    plan: &crate::model::plan::Plan,
    ignore: Option<&str>,
) -> std::result::Result<Option<String>, String> {
    let Some(refusal) = crate::decide::preflight::outside_window(spec, plan, p.now()) else {
        return Ok(None);
    };
    let Some(reason) = ignore else {
        return Err(refusal);
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
pub(super) fn confirm() -> Result<()> {
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
