//! `cutover apply PLAN`: plan, confirm, execute, summarise.

use super::{load_spec, observe, provider, report_calls, use_color};
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
        let saved: crate::decide::saved::SavedPlan =
            serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a saved plan cutover can read: {e}",
                    path.display()
                )
            })?;
        if saved.saved_plan_version != crate::decide::saved::SAVED_PLAN_VERSION {
            anyhow::bail!(
                "{} was saved by another version of cutover (saved plan version {}); run `cutover plan --out` again",
                path.display(),
                saved.saved_plan_version
            );
        }
        Some(saved)
    } else {
        None
    };
    let spec = match &saved {
        Some(s) => crate::spec::parse(Path::new(&s.plan_file), &s.plan_file_text)?,
        None => load_spec(path)?,
    };
    let p = provider(g, &spec).await?;
    let lock = super::lock(p.as_ref(), &spec, path, "apply").await?;
    let opts = crate::decide::planner::PlanOptions {
        retry,
        promote: false,
    };
    let result = match &saved {
        Some(s) => apply_saved(g, &spec, p.as_ref(), auto_approve, s).await,
        None => locked(g, path, &spec, p.as_ref(), auto_approve, opts).await,
    };
    lock.release().await;
    report_calls(g, p.as_ref());
    result
}

async fn locked(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    auto_approve: bool,
    opts: crate::decide::planner::PlanOptions,
) -> Result<ExitStatus> {
    let obs = observe(p, spec).await?;
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
    let obs = observe(p, spec).await?;
    if obs.fingerprint() != saved.plan.observed_fingerprint {
        let changed = crate::decide::saved::changes(&saved.observed, &obs.shape(), 12);
        eprintln!(
            "error: the plan is stale: live state changed since it was made ({} → {}):",
            saved.plan.observed_fingerprint,
            obs.fingerprint()
        );
        for c in &changed {
            eprintln!("  {c}");
        }
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

/// Shows the plan, asks unless approved, and carries it out when it changes anything.
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
        return Ok(ExitStatus::Success);
    }
    if !auto_approve {
        confirm()?;
    }
    carry_out(g, path, spec, p, obs, plan).await
}

/// Executes an approved plan and prints the summary (apply and promote).
pub(crate) async fn carry_out(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    obs: &crate::model::observed::Observed,
    plan: &crate::model::plan::Plan,
) -> Result<ExitStatus> {
    println!();
    let reporter = reporter(g);
    let interrupt = interrupt_on_signals();
    let executor = Executor {
        guards: vec![&interrupt],
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
        interrupted(&mut term).await;
        eprintln!("\ninterrupted: stopping at the next wait and putting production traffic back (Ctrl-C again to exit at once)");
        set.set();
        interrupted(&mut term).await;
        std::process::exit(130);
    });
    flag
}

/// Waits for Ctrl-C or SIGTERM.
async fn interrupted(term: &mut Option<tokio::signal::unix::Signal>) {
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
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
