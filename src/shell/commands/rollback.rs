//! `cutover rollback PLAN`: the emergency button. No prompt. The decision
//! comes from the pure rollback rules, and its plan (one listener update,
//! with the active-colour update sent alongside) goes through the executor
//! like any other plan.

use super::{load_spec, provider, report_calls};
use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use crate::shell::run::{executor, reporter};
use anyhow::{Context, Result};
use std::path::Path;

pub async fn run(
    g: &GlobalArgs,
    path: &Path,
    force: bool,
    report: Option<&Path>,
) -> Result<ExitStatus> {
    let spec = load_spec(path)?;
    crate::shell::timing::mark("plan file");
    let p = provider(g, &spec).await?;
    // A rollback is the way home: every call gets its full attempts,
    // whatever the run's retry budget says (invariant 9).
    let how = How { force, report };
    let result = crate::provider::home(decide_and_flip(g, path, &spec, p.as_ref(), how)).await;
    report_calls(g, p.as_ref());
    result
}

/// Reads what the decision needs, decides, and only when there is
/// something to do takes the lock over and flips. Four round trips when
/// nobody holds the lock: the reads' first round with the lock's create,
/// their second round, the flip (with the active colour, the promotion
/// record, the rolled-back tag and a look at the lock), the lock's delete.
async fn decide_and_flip(
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    how: How<'_>,
) -> Result<ExitStatus> {
    let force = how.force;
    use crate::shell::lock;
    let command = format!("cutover rollback {}", path.display());
    // The lock's create (overwrite off) goes out with the reads: if it is
    // created, nobody held the lock when it landed.
    let (read, created) = futures::join!(
        read_and_decide(spec, p, force),
        lock::first_try(p, &spec.state_parameter, &command)
    );
    crate::shell::timing::mark("reads and lock");
    let created = created?;
    let (obs, decision, plan) = match read {
        Ok(Ok(all)) => all,
        refused_or_failed => {
            // Nothing to flip: a lock this run made goes again; one someone
            // else holds was never touched.
            if let Ok(lock) = created {
                lock.release().await;
            }
            if let Ok(Err(refusal)) = &refused_or_failed {
                eprintln!("error: {refusal}");
            }
            return refused_or_failed.map(|_| ExitStatus::Error);
        }
    };
    // The emergency button waits for nobody: it takes the lock over, and a
    // running apply or promote stops at its next look.
    let (lock, stale) = match created {
        // A holder the read saw released the lock before the create landed:
        // what it did last may postdate the read.
        Ok(lock) => {
            let stale = obs.lock.as_deref().is_some_and(|v| !lock.is_own(v));
            (lock, stale)
        }
        Err(contested) => (lock::take_over(p, contested).await?, true),
    };
    // A run it preempted may have moved on (promoted, shifted) since the
    // read: decide again on live state.
    let (obs, decision, plan) = if stale {
        match decide_again(spec, p, force).await {
            Ok(Some(all)) => all,
            other => {
                lock.release().await;
                return other.map(|_| ExitStatus::Error);
            }
        }
    } else {
        (obs, decision, plan)
    };
    if let Some(w) = crate::render::outcome::rollback_warning(&decision) {
        eprintln!("{w}");
    }
    if lock.took_over() {
        let result = flip(g, spec, p, &decision, &plan, &obs, how.report).await;
        if decision.flip && matches!(result, Ok(ExitStatus::Success)) {
            settle(spec, p, &decision, &obs).await;
        }
        futures::join!(lock.release(), log(spec, p, &decision, &result));
        return result;
    }
    // The look at the lock its release needs goes out with the flip.
    let (result, seen) = futures::join!(
        flip(g, spec, p, &decision, &plan, &obs, how.report),
        p.read_lock(lock.name())
    );
    crate::shell::timing::mark("flip");
    // The release log's line goes with the lock's release: after the flip
    // landed (a flip that failed is no rollback), in no extra round trip.
    futures::join!(lock.release_seen(seen), log(spec, p, &decision, &result));
    crate::shell::timing::mark("release");
    result
}

/// A rollback that went through, in the release log (with who ran it); a
/// write that fails is a warning.
async fn log(
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    decision: &crate::decide::rollback::Rollback,
    result: &Result<ExitStatus>,
) {
    let (Some(release), Ok(ExitStatus::Success)) = (&decision.rejected_release, result) else {
        return;
    };
    let entry = crate::shell::executor::by_a_person(decision.from, release, p.now());
    if let Err(w) = crate::shell::executor::log_release(p, &spec.state_parameter, &entry).await {
        eprintln!("warning: {w}");
    }
}

/// The decision read again once the lock is this run's; `None` (said on
/// stderr) when it is now a refusal.
async fn decide_again(
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    force: bool,
) -> Result<Option<Decided>> {
    Ok(match read_and_decide(spec, p, force).await? {
        Ok(all) => Some(all),
        Err(refusal) => {
            eprintln!("error: {refusal}");
            None
        }
    })
}

/// After preempting a run: a listener write of that run already in flight
/// when the lock changed hands (the one-call window no lock can close) lands
/// after the flip. A look once that run has had its poll interval to stop
/// puts production back on `to` if it did.
async fn settle(
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    decision: &crate::decide::rollback::Rollback,
    obs: &crate::model::observed::Observed,
) {
    let Some((at, _)) = obs.forward_at(spec.production.weights_at()) else {
        return;
    };
    let arns = crate::model::PerColor {
        blue: obs.tg_arn(crate::model::Color::Blue).cloned(),
        green: obs.tg_arn(crate::model::Color::Green).cloned(),
    };
    let home = crate::provider::forward_for(&arns, crate::model::Weights::all_on(decision.to));
    p.sleep(p.poll_interval()).await;
    let mut now = match p.forward_of(&at).await {
        Ok(f) => f,
        Err(_) => return,
    };
    let mut want = home.clone();
    now.sort();
    want.sort();
    if now != want {
        eprintln!(
            "warning: a write of the preempted run landed after the flip; production is back on {} again",
            decision.to
        );
        if let Err(e) = p.set_weights(&at, &home, 0).await {
            eprintln!(
                "error: putting production back on {} failed ({e}); run `cutover rollback` again",
                decision.to
            );
        }
    }
}

/// `--force`, and `--report DIR`.
#[derive(Clone, Copy)]
struct How<'a> {
    force: bool,
    report: Option<&'a Path>,
}

/// A snapshot, the rollback decided on it, and its plan.
type Decided = (
    crate::model::observed::Observed,
    crate::decide::rollback::Rollback,
    crate::model::plan::Plan,
);

/// What the rollback decision needs, read, and the decision on it.
async fn read_and_decide(
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    force: bool,
) -> Result<std::result::Result<Decided, crate::decide::rollback::RollbackRefusal>> {
    let obs = p
        .observe_as(
            &crate::provider::AppRef::from_spec(spec),
            crate::model::observed::Reads::TRAFFIC,
        )
        .await
        .with_context(|| {
            format!(
                "reading the live traffic of {} from {}",
                spec.app,
                p.describe()
            )
        })?;
    Ok(crate::decide::rollback::plan(spec, &obs, force).map(|(d, plan)| (obs, d, plan)))
}

/// Carries out the rollback plan and says what happened; with `--report`,
/// records it as apply does.
async fn flip(
    g: &GlobalArgs,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    decision: &crate::decide::rollback::Rollback,
    plan: &crate::model::plan::Plan,
    obs: &crate::model::observed::Observed,
    report: Option<&Path>,
) -> Result<ExitStatus> {
    let terminal = reporter(&crate::shell::cli::GlobalArgs {
        quiet: true,
        ..g.clone()
    });
    let recorder = report
        .map(|dir| crate::shell::report::Recorder::start(dir, terminal.as_ref(), p, plan))
        .transpose()?;
    let shown: &dyn crate::shell::progress::Reporter = match &recorder {
        Some(r) => r,
        None => terminal.as_ref(),
    };
    let outcome = executor(spec, p, shown, obs).execute(plan, obs).await;
    let (status, warned, said) = said(spec, decision, plan, &outcome);
    if let Some(r) = &recorder {
        let whole = format!("{}{said}", warned.as_deref().unwrap_or_default());
        let after = crate::shell::report::after(spec, p).await;
        r.finish(&outcome, &whole, status.code(), after);
    }
    if let Some(w) = &warned {
        eprint!("{w}");
    }
    if status != ExitStatus::Success {
        eprint!("{said}");
        return Ok(status);
    }
    print!("{said}");
    if let Some(n) = crate::shell::notify::Notifier::from_env(spec.notify_webhook_env.as_deref()) {
        n.send(&crate::shell::notify::Message::rolled_back(
            &spec.app,
            decision,
            p.now(),
        ))
        .await;
    }
    Ok(ExitStatus::Success)
}

/// The rollback's exit status, what it says on stderr before its summary
/// (a step that failed after the flip, when the flip stands), and the
/// summary (on stderr too when it failed).
fn said(
    spec: &crate::spec::Spec,
    decision: &crate::decide::rollback::Rollback,
    plan: &crate::model::plan::Plan,
    outcome: &crate::model::outcome::Outcome,
) -> (ExitStatus, Option<String>, String) {
    if let crate::model::outcome::Outcome::Moved(m) = outcome {
        let path = spec.source.display().to_string();
        return (
            ExitStatus::Error,
            None,
            crate::render::outcome::moved(m, &path),
        );
    }
    let Some(a) = outcome.abort() else {
        let said = crate::render::outcome::rollback(&spec.app, decision, true);
        return (ExitStatus::Success, None, said);
    };
    let (line, fatal) = crate::render::outcome::rollback_failed(&spec.app, decision, plan, a);
    if fatal {
        return (ExitStatus::Error, None, format!("{line}\n"));
    }
    let said = crate::render::outcome::rollback(&spec.app, decision, false);
    (ExitStatus::Success, Some(format!("{line}\n")), said)
}
