//! `cutover apply PLAN`: plan, confirm, execute, summarise.

use super::{load_spec, observe, provider, report_calls, use_color};
use crate::model::format_weights;
use crate::model::plan::PlanKind;
use crate::model::Weights;
use crate::provider::AppRef;
use crate::render::text::{self, Style};
use crate::shell::cli::GlobalArgs;
use crate::shell::executor::{Executor, Interrupt, Outcome};
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
    let reporter: Box<dyn Reporter> = if std::io::stderr().is_terminal() && !g.quiet {
        Box::new(Bars::new())
    } else {
        Box::new(Lines::new(g.quiet))
    };
    let interrupt = interrupt_on_signals();
    let executor = Executor {
        provider: p,
        app: AppRef::from_spec(spec),
        reporter: reporter.as_ref(),
        poll: p.poll_interval(),
        production: spec.production.weights_at(),
        desired: spec.fleet.capacity.desired,
        test_url: test_url(spec, obs),
        guards: vec![&interrupt],
        hidden_env: spec.notify_webhook_env.iter().cloned().collect(),
    };
    let notifier = crate::shell::notify::Notifier::from_env(spec.notify_webhook_env.as_deref());
    let release = match &plan.kind {
        PlanKind::FirstDeploy { color, release }
        | PlanKind::Release {
            to: color, release, ..
        } => Some((*color, release.clone())),
        _ => None,
    };
    let message = |event, text: String, reason: Option<String>| crate::shell::notify::Message {
        text,
        app: spec.app.clone(),
        event,
        color: release.as_ref().map(|(c, _)| c.to_string()),
        release: release.as_ref().map(|(_, r)| r.fingerprint.clone()),
        image: release.as_ref().map(|(_, r)| r.data.image_id.clone()),
        reason,
        at: p.now(),
    };
    if let (Some(n), Some((color, r))) = (&notifier, &release) {
        n.send(&message(
            crate::shell::notify::Event::Started,
            format!(
                "{}: deploying release {} ({}) to {color}",
                spec.app, r.fingerprint, r.data.image_id
            ),
            None,
        ))
        .await;
    }
    let outcome = executor.execute(plan, obs).await;
    if let (Some(n), Some((color, r))) = (&notifier, &release) {
        let paused = plan
            .steps
            .iter()
            .any(|s| matches!(s.action, crate::model::plan::Action::AwaitPromotion { .. }));
        let msg = match &outcome {
            Outcome::Converged if paused => message(
                crate::shell::notify::Event::Paused,
                format!(
                    "{}: {color} is ready with release {} and waits for `cutover promote`",
                    spec.app, r.fingerprint
                ),
                None,
            ),
            Outcome::Converged => message(
                crate::shell::notify::Event::Promoted,
                format!(
                    "{}: {color} is live with release {} ({})",
                    spec.app, r.fingerprint, r.data.image_id
                ),
                None,
            ),
            Outcome::Aborted(a) => {
                let reason = a
                    .error
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let traffic = a.weights_now.map(format_weights).unwrap_or_default();
                message(
                    crate::shell::notify::Event::Failed,
                    format!(
                        "{}: release {} failed at step {} ({}): {reason}. Production: {traffic}",
                        spec.app, r.fingerprint, a.step, a.what
                    ),
                    Some(reason),
                )
            }
        };
        n.send(&msg).await;
    }
    match outcome {
        Outcome::Converged => {
            let paused = plan.steps.iter().find_map(|s| match s.action {
                crate::model::plan::Action::AwaitPromotion { color } => Some(color),
                _ => None,
            });
            if let Some(color) = paused {
                println!(
                    "\nPaused: {color} is built, healthy and smoke-tested; production is unchanged. `cutover promote {}` shifts traffic to it, `cutover rollback {}` abandons it.",
                    path.display(),
                    path.display()
                );
                return Ok(ExitStatus::Success);
            }
            let headline = match &plan.kind {
                PlanKind::FirstDeploy { color, release }
                | PlanKind::Release {
                    to: color, release, ..
                } => format!(
                    "{color} is live with release {} ({}).",
                    release.fingerprint, release.data.image_id
                ),
                _ => "Live state matches the plan file.".to_string(),
            };
            println!("\nApply complete: {headline}");
            for n in &plan.notes {
                println!("Note: {n}");
            }
            Ok(ExitStatus::Success)
        }
        Outcome::Aborted(a) => {
            println!(
                "\nApply aborted at step {}/{} ({}):",
                a.step,
                plan.steps.len(),
                a.what
            );
            println!("  {}", a.error.to_string().replace('\n', "\n  "));
            if a.after_promotion {
                // The release is live; only housekeeping failed: not a rollback.
                println!(
                    "The new colour is live and recorded as active; run `cutover apply {}` again to finish.",
                    path.display()
                );
                return Ok(ExitStatus::Error);
            }
            let traffic = a
                .weights_now
                .map(format_weights)
                .unwrap_or("no production listener yet".into());
            match (a.rolled_back_to, &a.rollback_error) {
                (Some(to), _) => println!("Production traffic: rolled back to {to} in one call; now {traffic}."),
                (None, Some(e)) => println!("Production traffic: ROLLBACK FAILED ({e}); now {traffic}. Run `cutover rollback {}`.", path.display()),
                (None, None) => println!("Production traffic: unchanged, {traffic}: no production weight moved."),
            }
            let inspect = format!("(`cutover status {}`)", path.display());
            match &plan.kind {
                PlanKind::Release { from, to, .. } => {
                    println!("{from} stays the active colour; {to} is left as it is for inspection {inspect}.")
                }
                PlanKind::FirstDeploy { color, .. } => {
                    println!(
                        "Nothing is active yet; {color} is left as it is for inspection {inspect}."
                    )
                }
                _ => {}
            }
            if let Some(fp) = &a.remembered {
                println!(
                    "Release {fp} is remembered as rolled back: `cutover apply` will not deploy it again unless the release changes or you pass --retry."
                );
            }
            // 3 means "a deployment was aborted and production is on the old
            // colour" (or never moved); anything else that failed is an error.
            let deployment = matches!(
                plan.kind,
                PlanKind::Release { .. } | PlanKind::FirstDeploy { .. }
            );
            let traffic_home = match (plan.rollback_to, a.weights_now) {
                (Some(to), Some(w)) => w == Weights::all_on(to),
                (Some(_), None) => false,
                (None, _) => true,
            };
            Ok(if deployment && traffic_home {
                ExitStatus::Aborted
            } else {
                ExitStatus::Error
            })
        }
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
