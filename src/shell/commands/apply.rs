//! `cutover apply PLAN`: plan, confirm, execute, summarise.

use super::{load_spec, observe, observe_checked, provider, report_calls, use_color};
use crate::provider::AppRef;
use crate::render::text::{self, Style};
use crate::shell::cli::GlobalArgs;
use crate::shell::executor::{Executor, Interrupt};
use crate::shell::exit::ExitStatus;
use crate::shell::progress::{Bars, Lines, Reporter};
use anyhow::{bail, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

pub async fn run(
    g: &GlobalArgs,
    path: &Path,
    auto_approve: bool,
    retry: bool,
) -> Result<ExitStatus> {
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
        Some(s) => apply_saved(g, &spec, p.as_ref(), auto_approve, s).await,
        None => apply_file(g, path, &spec, p.as_ref(), auto_approve, opts).await,
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

/// Plans from live state, shows the plan, asks, then carries it out under
/// the lock.
async fn apply_file(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    auto_approve: bool,
    opts: crate::decide::planner::PlanOptions,
) -> Result<ExitStatus> {
    let obs = observe_checked(p, spec).await?;
    let plan = crate::decide::planner::plan_with(spec, &obs, opts)?;
    review(g, path, spec, p, &obs, &plan, auto_approve).await
}

/// Applies a saved plan, unless live state changed since it was made.
async fn apply_saved(
    g: &GlobalArgs,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    auto_approve: bool,
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
    review(
        g,
        Path::new(&saved.plan_file),
        spec,
        p,
        &obs,
        plan,
        auto_approve,
    )
    .await
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
    auto_approve: bool,
) -> Result<ExitStatus> {
    print!(
        "{}",
        text::render(
            plan,
            &Style {
                color: use_color(g)
            }
        )
    );
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
        carry_out(g, path, spec, p, &now, plan, &lock).await
    }
    .await;
    lock.release().await;
    result
}

/// Executes an approved plan and prints the summary (apply and promote).
pub(crate) async fn carry_out(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    obs: &crate::model::observed::Observed,
    plan: &crate::model::plan::Plan,
    lock: &crate::shell::lock::Lock<'_>,
) -> Result<ExitStatus> {
    println!();
    let reporter = reporter(g);
    let interrupt = interrupt_on_signals();
    let lock_guard = lock.guard();
    let executor = Executor {
        guards: vec![&interrupt, &lock_guard],
        interrupt: Some(interrupt.clone()),
        ..executor(spec, p, reporter.as_ref(), obs)
    };
    let notifier = crate::shell::notify::Notifier::from_env(spec.notify_webhook_env.as_deref());
    let notify = async |m: Option<crate::shell::notify::Message>| {
        if let (Some(n), Some(m)) = (&notifier, m) {
            n.send(&m).await;
        }
    };
    notify(crate::shell::notify::Message::started(plan, p.now())).await;
    let outcome = executor.execute(plan, obs).await;
    notify(crate::shell::notify::Message::finished(
        plan,
        &outcome,
        p.now(),
    ))
    .await;
    print!(
        "{}",
        crate::render::outcome::apply(plan, &outcome, &path.display().to_string())
    );
    Ok(ExitStatus::of_run(plan, &outcome))
}

/// Progress bars on a terminal, plain lines otherwise (stderr either way).
pub(crate) fn reporter(g: &GlobalArgs) -> Box<dyn Reporter> {
    if std::io::stderr().is_terminal() && !g.quiet {
        Box::new(Bars::new())
    } else {
        Box::new(Lines::new(g.quiet))
    }
}

/// An executor for `spec`'s app on `p`, with no guards yet.
pub(crate) fn executor<'a>(
    spec: &crate::spec::Spec,
    p: &'a dyn crate::provider::Provider,
    reporter: &'a dyn Reporter,
    obs: &crate::model::observed::Observed,
) -> Executor<'a> {
    Executor {
        provider: p,
        app: AppRef::from_spec(spec),
        reporter,
        poll: p.poll_interval(),
        production: spec.production.weights_at(),
        desired: spec.fleet.capacity.desired,
        test_url: test_url(spec, obs),
        guards: vec![],
        interrupt: None,
        health_timeout_secs: spec.rollout.health_timeout_secs,
        hidden_env: spec.notify_webhook_env.iter().cloned().collect(),
    }
}

/// A flag set by the first Ctrl-C or SIGTERM: the executor stops at its next
/// wait and rolls back as for a failed step. A second signal exits at once.
fn interrupt_on_signals() -> Interrupt {
    let flag = Interrupt::new();
    let set = flag.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let ctrl_c = interrupted(&mut term).await;
        eprintln!("\ninterrupted: stopping at the next wait and putting production traffic back (Ctrl-C again to exit at once)");
        // Ctrl-C typed at a terminal is a person's verdict on the release;
        // SIGINT or SIGTERM from outside one (CI cancelling a job) is not.
        set.set(ctrl_c && std::io::stdin().is_terminal());
        interrupted(&mut term).await;
        if set.going_home() {
            // CI runners send SIGINT, then SIGTERM: the flip is worth finishing.
            eprintln!("\nproduction traffic is on its way home: finishing that first (Ctrl-C again to exit at once)");
            interrupted(&mut term).await;
        }
        eprintln!("\nsecond signal: exiting now, where the deployment stands (`cutover status` shows it; the next apply or rollback goes on from there)");
        std::process::exit(crate::shell::exit::ExitStatus::Interrupted.code());
    });
    flag
}

/// Waits for Ctrl-C (true) or SIGTERM (false).
async fn interrupted(term: &mut Option<tokio::signal::unix::Signal>) -> bool {
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => true,
        _ = terminated => false,
    }
}

/// `http://<load balancer DNS>:<test port>`, what smoke tests call.
fn test_url(spec: &crate::spec::Spec, obs: &crate::model::observed::Observed) -> String {
    match (&obs.load_balancer, &spec.test) {
        (Some(lb), Some(t)) => format!(
            "{}://{}:{}",
            t.protocol.as_str().to_ascii_lowercase(),
            lb.dns_name,
            t.port
        ),
        _ => String::new(),
    }
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
