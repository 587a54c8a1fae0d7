//! The executor: carries out a Plan step by step through a Provider.
//!
//! Every step is an idempotent "ensure" and the executor makes no choice the
//! plan did not record. What it adds are the safety rules, checked right
//! before the mutation they guard (production weight only on a colour whose
//! desired targets are all healthy; a colour with production weight is never
//! shrunk), and the recorded failure path: when a step fails before
//! promotion, production goes back to the plan's `rollback_to` colour in one
//! listener update.
//!
//! - `mod.rs`: the step loop and the way home;
//! - `actions.rs`: one function per [`Action`];
//! - `wait.rs`: the one poll loop and the guards that can stop a run;
//! - `confirm.rs`: writes whose answer may be lost, reads that may lag;
//! - `resolved.rs`: the ids a run knows; `error.rs`: how a step fails.

mod actions;
mod confirm;
mod error;
mod resolved;
mod wait;

pub use error::{RestoreError, StepError};
pub use wait::{Guard, Interrupt};

use crate::model::observed::{healthy_count, Observed, TargetHealth};
use crate::model::outcome::{Abort, Cause, Outcome};
use crate::model::plan::{Action, Plan, PlanKind};
use crate::model::{Color, Weights, WeightsAt};
use crate::provider::{forward_for, AppRef, Provider};
use crate::render::describe_action;
use crate::shell::progress::{Event, Reporter};
use resolved::Resolved;
use std::time::Duration;

pub struct Executor<'a> {
    pub provider: &'a dyn Provider,
    pub app: AppRef,
    pub reporter: &'a dyn Reporter,
    /// How often to poll while waiting.
    pub poll: Duration,
    /// Where production weights live.
    pub production: WeightsAt,
    /// The plan's desired capacity: what "fully healthy" means for a colour.
    pub desired: u32,
    /// The test listener's URL for smoke tests and gates (`CUTOVER_TEST_URL`).
    pub test_url: String,
    /// Environment variables hooks, smoke tests and gates must not see (the
    /// webhook URL's variable).
    pub hidden_env: Vec<String>,
    /// What may stop the run at its next wait, as a failed step would.
    pub guards: Vec<&'a dyn Guard>,
    /// Told while production is on its way home, so a second signal lets
    /// the flip finish.
    pub interrupt: Option<Interrupt>,
    /// How long the way home may wait for the old colour's targets.
    pub health_timeout_secs: u64,
}

/// How long a step waits for AWS to show what an earlier step made, as
/// Terraform's AWS provider waits for propagation: two minutes.
pub(super) const PROPAGATION_SECS: i64 = 120;

/// The most the automatic rollback's listener update may take: well inside
/// the 7.5 s a CI runner waits between SIGINT and SIGTERM.
const FLIP_DEADLINE: Duration = Duration::from_secs(5);

impl Executor<'_> {
    pub async fn execute(&self, plan: &Plan, obs: &Observed) -> Outcome {
        let mut r = Resolved::new(&self.app.app, obs, self.production);
        r.home = plan.rollback_to.zip(plan.home_capacity);
        let total = plan.steps.len();
        let mut promoted = false;
        for (i, step) in plan.steps.iter().enumerate() {
            let what = describe_action(&plan.app, &step.action);
            self.reporter.event(Event::Started {
                index: i + 1,
                total,
                what: what.clone(),
            });
            if let (
                Action::Flip { traffic: true, .. },
                Some(Action::RememberRolledBack { color, release }),
            ) = (&step.action, plan.steps.get(i + 1).map(|s| &s.action))
            {
                r.remember_with_flip = Some((*color, release.clone()));
            }
            let result = match self.guard().await {
                Ok(()) => self.run_until_visible(plan, &step.action, &mut r).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(detail) => self.reporter.event(Event::Finished { detail }),
                Err(error) => {
                    let failed = Failed {
                        step: i + 1,
                        total,
                        what,
                        error,
                        promoted,
                    };
                    return Outcome::Aborted(self.abort(plan, &mut r, failed).await);
                }
            }
            // Promotion is recording the new colour; recording the colour
            // traffic already belongs to (a lost parameter) is not.
            if let Action::RecordActive { color, .. } = step.action {
                if plan.rollback_to.is_some_and(|from| from != color) {
                    promoted = true;
                }
            }
            crash_point(i + 1);
        }
        self.read_back_the_end(plan, &r).await
    }

    /// The report of a run that converged comes from a fresh read too: when
    /// the plan leaves production all on one colour, recorded as active,
    /// and AWS shows otherwise (someone changed it since), it says so.
    async fn read_back_the_end(&self, plan: &Plan, r: &Resolved) -> Outcome {
        let to = match &plan.kind {
            PlanKind::Release { to, .. } if crate::render::outcome::paused_at(plan).is_none() => {
                *to
            }
            PlanKind::FirstDeploy { color, .. } => *color,
            PlanKind::Rollback { to, .. } => *to,
            _ => return Outcome::Converged,
        };
        let left = Weights::all_on(to);
        if r.weights != Some(left) || r.active != Some(to) {
            return Outcome::Converged;
        }
        match self.truth(r, true).await {
            Ok((Some(w), Some(a))) if w == left && a == to => Outcome::Converged,
            Ok((weights_now, active_now)) => Outcome::Moved(crate::model::outcome::Moved {
                left,
                left_active: to,
                weights_now,
                active_now,
            }),
            // Unread: what the run's own confirmed writes left stands.
            Err(_) => Outcome::Converged,
        }
    }

    /// Runs a step; while AWS does not show yet what an earlier step made
    /// (eventual consistency), says so and runs it again after a poll, for
    /// up to [`PROPAGATION_SECS`]. Every step is safe to run again. Not the
    /// shared poll, which watches a condition: this runs a step again, and
    /// looks at the guards between tries as the poll does.
    async fn run_until_visible(
        &self,
        plan: &Plan,
        action: &Action,
        r: &mut Resolved,
    ) -> Result<actions::Detail, StepError> {
        let started = self.provider.now();
        loop {
            match self.run(plan, action, r).await {
                Err(StepError::Provider(e))
                    if e.is_not_yet_visible()
                        && self.provider.now() - started < PROPAGATION_SECS =>
                {
                    let waited = (self.provider.now() - started).max(0) as u64;
                    self.reporter.event(Event::Waiting {
                        done: waited,
                        of: PROPAGATION_SECS as u64,
                        message: format!(
                            "not visible to AWS yet (it is eventually consistent), trying again: {} answered {}",
                            e.operation(),
                            e.aws_said()
                        ),
                    });
                    self.sleep(self.poll).await;
                    self.guard().await?;
                }
                other => return other,
            }
        }
    }

    /// After a failed step: before promotion, production goes home and the
    /// release is remembered as rolled back; after it, nothing moves. The
    /// old colour failing moves nothing forward and records no verdict.
    /// Whatever happened, the report says what a fresh read shows.
    async fn abort(&self, plan: &Plan, r: &mut Resolved, failed: Failed) -> Abort {
        let mut abort = Abort {
            step: failed.step,
            total: failed.total,
            what: failed.what,
            cause: failed.error.cause(),
            error: failed.error.to_string(),
            weights_now: r.weights,
            active_now: r.active,
            unread: None,
            moved_to: None,
            rolled_back_to: None,
            home_short: None,
            rollback_error: None,
            after_promotion: failed.promoted,
            remembered: None,
        };
        // After promotion nothing moves; after a preemption the run that
        // took the lock over owns the listener and the release's fate; after
        // a foreign change a person is at work: hands off.
        let hands_off = failed.promoted || matches!(abort.cause, Cause::Preempted | Cause::Foreign);
        // The way home gets every call's full attempts, budget or not.
        if abort.cause == Cause::OldColor {
            crate::provider::home(self.off_a_failed_old_colour(plan, r, &mut abort)).await;
        } else if !hands_off {
            crate::provider::home(self.go_home(plan, r, &mut abort)).await;
        }
        // Only a verdict on the release (or a person stopping it) is
        // remembered: an AWS error, a refused mutation, a mistake in the
        // plan or the old colour failing say nothing about the release,
        // and the next apply tries it again.
        let verdict = matches!(abort.cause, Cause::Verdict | Cause::Interrupted);
        if let (PlanKind::Release { to, release, .. }, true, false) =
            (&plan.kind, verdict, hands_off)
        {
            let at = self.provider.now();
            let marked = self
                .provider
                .mark_rolled_back(&r.fleet(*to), &release.fingerprint, at, &abort.error)
                .await;
            if marked.is_ok() {
                abort.remembered = Some(release.fingerprint.clone());
            }
        }
        // A rollback whose flip failed: its tag may have gone out with it.
        if abort.remembered.is_none() {
            abort.remembered = r.tagged_with_flip.clone();
        }
        let settle = !matches!(abort.cause, Cause::Preempted | Cause::Foreign);
        match self.truth(r, settle).await {
            Ok((weights, active)) => {
                abort.weights_now = weights;
                abort.active_now = active;
            }
            Err(e) => {
                abort.weights_now = None;
                abort.active_now = None;
                abort.unread = Some(e.to_string());
            }
        }
        abort
    }

    /// Production all on the plan's `rollback_to`, and the active colour
    /// recorded there if a write of it may have landed elsewhere.
    async fn go_home(&self, plan: &Plan, r: &mut Resolved, abort: &mut Abort) {
        let Some(to) = plan.rollback_to else {
            return;
        };
        // A weight write that got no answer may have moved production
        // whatever this run believes: home is written again then.
        if r.weights.is_some_and(|w| w != Weights::all_on(to)) || r.weights_uncertain {
            if let Some(i) = &self.interrupt {
                i.set_going_home(true);
            }
            match self.restore(r, to).await {
                Ok(short) => {
                    abort.rolled_back_to = Some(to);
                    abort.home_short = short;
                }
                // A rollback took over while this run was going home.
                Err(RestoreError::Preempted(by)) => {
                    abort.cause = Cause::Preempted;
                    abort.error =
                        format!("{}\n{by} took the lock over on the way home", abort.error);
                }
                Err(e) => abort.rollback_error = Some(e.to_string()),
            }
            if let Some(i) = &self.interrupt {
                i.set_going_home(false);
            }
        }
        if r.active_uncertain && abort.cause != Cause::Preempted {
            if let Err(e) = self.record_home(r, to).await {
                abort.rollback_error.get_or_insert(format!(
                    "the active-colour parameter may not name {to}: {e}"
                ));
            }
        }
    }

    /// The active colour put back to `to` after a write of another colour
    /// whose answer was lost and whose read-back could not tell.
    async fn record_home(&self, r: &mut Resolved, to: Color) -> Result<(), StepError> {
        self.fence().await?;
        let parameter = self.app.state_parameter.clone();
        r.active_written(self.provider.now());
        let before = r.active;
        let written = self.write_active(&parameter, to, before).await;
        written.map_err(confirm::Unlanded::into_step_error)?;
        r.active = Some(to);
        r.active_uncertain = false;
        Ok(())
    }

    /// The colour production came from lost health during a bake. Nothing
    /// moves forward and nothing moves onto it; when it has no healthy
    /// target left and the new colour has all of its, production goes to
    /// the new colour in one write, not recorded as active (its bakes are
    /// not done: `cutover apply` resumes them from there).
    async fn off_a_failed_old_colour(&self, plan: &Plan, r: &mut Resolved, abort: &mut Abort) {
        let Some(old) = plan.rollback_to else {
            return;
        };
        let new = old.other();
        let counts = futures::try_join!(self.healthy(r, old), self.healthy(r, new));
        let Ok(((old_healthy, _), (new_healthy, _))) = counts else {
            return;
        };
        if old_healthy > 0 || new_healthy < self.desired {
            return;
        }
        match self.send_all(r, new).await {
            Ok(()) => abort.moved_to = Some(new),
            Err(e) => abort.rollback_error = Some(e.to_string()),
        }
    }

    /// All production traffic back on `to`, one listener update, provided
    /// `to` can serve it. When it is short (instances lost during the
    /// release), this waits for Auto Scaling to replace them, up to the
    /// health timeout, then goes home if at least one target is healthy:
    /// `Ok(Some((healthy, wanted)))` says it went home short.
    async fn restore(
        &self,
        r: &mut Resolved,
        to: Color,
    ) -> Result<Option<(u32, u32)>, RestoreError> {
        let missing = |e: StepError| RestoreError::Missing(e.to_string());
        let tg = r.tg(to).map_err(missing)?;
        let wanted = self.wanted(r, to);
        let start = self.provider.now();
        let interrupted = || self.interrupt.as_ref().is_some_and(|i| i.is_set());
        // Not the shared poll: the way home is what an interrupt asks for,
        // so a signal shortens this wait instead of ending it, and the
        // guards that stop a run must not stop its way home.
        let healthy = loop {
            let healthy = healthy_count(&self.provider.target_health(&tg).await?);
            let waited = (self.provider.now() - start).max(0) as u64;
            // Interrupted (a CI job being cancelled): no time to wait for more.
            let no_time = interrupted() && healthy > 0;
            if healthy >= wanted || waited >= self.health_timeout_secs || no_time {
                break healthy;
            }
            self.reporter.event(Event::Waiting {
                done: healthy as u64,
                of: wanted as u64,
                message: format!("going home: {to} has {healthy} of {wanted} targets healthy; waiting for Auto Scaling to replace the rest"),
            });
            self.sleep(self.poll).await;
        };
        if healthy == 0 {
            return Err(RestoreError::Unhealthy {
                color: to,
                healthy,
                wanted,
                waited_secs: self.health_timeout_secs,
            });
        }
        // After a signal a kill may follow: the write gets a deadline then;
        // otherwise the SDK's retries and the read-back take what they need.
        let write = self.send_all(r, to);
        let sent = if interrupted() {
            tokio::time::timeout(FLIP_DEADLINE, write)
                .await
                .map_err(|_| RestoreError::Deadline(FLIP_DEADLINE.as_secs()))?
        } else {
            write.await
        };
        sent.map_err(|e| match e {
            StepError::Preempted { by } => RestoreError::Preempted(by),
            StepError::Provider(e) => RestoreError::Provider(e),
            e => RestoreError::Missing(e.to_string()),
        })?;
        Ok((healthy < wanted).then_some((healthy, wanted)))
    }

    /// All production on `to` in one listener update, with session affinity
    /// off in the same write (every user moves at once), sent until it
    /// lands: a write whose answer was lost is sent again, then read back.
    /// The weights are not compared with the last write first, as a shift
    /// step's are: the failed step may have been a weight write whose
    /// answer was lost, so a difference is no proof of someone else's hand,
    /// and production must not stay split on a guess. The lock is: a
    /// rollback may have taken over.
    async fn send_all(&self, r: &mut Resolved, to: Color) -> Result<(), StepError> {
        let at = r.production_forward()?;
        self.fence().await?;
        let w = Weights::all_on(to);
        let forward = forward_for(&r.target_groups, w);
        r.weights_written(self.provider.now());
        let before = r.split();
        let sent = self
            .write_surely(
                "sending production home",
                &(w, 0),
                before.as_ref(),
                async || self.provider.set_weights(&at, &forward, 0).await,
                async || self.read_split(r).await,
            )
            .await;
        match sent {
            Ok(_) => {
                r.weights = Some(w);
                r.foreign = 0;
                r.weights_uncertain = false;
                Ok(())
            }
            Err(confirm::Unlanded::Failed { error, seen }) => {
                if let Some((w, foreign)) = seen {
                    (r.weights, r.foreign) = (Some(w), foreign);
                }
                r.weights_uncertain = true;
                Err(StepError::Provider(error))
            }
            Err(confirm::Unlanded::Stopped(e)) => Err(e),
        }
    }

    /// Healthy targets of colour `c` that run its release: a target counts
    /// only if its instance was launched from the group's launch template
    /// version. A new version never replaces running instances, so an
    /// older instance left in the target group is not the release, however
    /// healthy. Returns the count and the targets as AWS reports them.
    async fn healthy(&self, r: &Resolved, c: Color) -> Result<(u32, Vec<TargetHealth>), StepError> {
        let (tg, fleet) = (r.tg(c)?, r.fleet(c));
        let (targets, members) = futures::try_join!(
            self.provider.target_health(&tg),
            self.provider.fleet_members(&fleet)
        )?;
        let current = members.map(|m| m.current).unwrap_or_default();
        let release: Vec<TargetHealth> = targets
            .iter()
            .filter(|t| current.contains(&t.id))
            .cloned()
            .collect();
        Ok((healthy_count(&release), targets))
    }

    /// Production weight only goes to a colour whose desired targets are all
    /// healthy: checked for every colour that gains weight.
    async fn check_weights_safe(&self, r: &Resolved, w: Weights) -> Result<(), StepError> {
        for c in Color::ALL {
            let gains = w.get(c) > 0 && r.weights.is_none_or(|cur| cur.get(c) < w.get(c));
            if gains {
                let (healthy, _) = self.healthy(r, c).await?;
                let wanted = self.wanted(r, c);
                if healthy < wanted {
                    return Err(StepError::UnsafeWeights {
                        color: c,
                        healthy,
                        wanted,
                    });
                }
            }
        }
        Ok(())
    }

    /// Production weights are what this run last wrote or read: someone
    /// else changing them (a console edit, another tool) stops the run
    /// without a write.
    async fn check_weights_unchanged(&self, r: &Resolved) -> Result<(), StepError> {
        let (Some(expected), Ok(_)) = (r.weights, r.production_forward()) else {
            return Ok(());
        };
        let read = async || self.read_split(r).await;
        let found = self
            .changed(
                &(expected, r.foreign),
                r.weights_lag.as_ref().map(|(w, at)| (w, *at)),
                read,
            )
            .await?;
        let Some((w, foreign)) = found else {
            return Ok(());
        };
        let found = crate::model::format_weights(w);
        Err(StepError::Foreign {
            what: "the production weights",
            found: if foreign > 0 {
                format!("{found} and weight {foreign} to another target group")
            } else {
                found
            },
            had: format!("set or saw {}", crate::model::format_weights(expected)),
        })
    }

    /// The active-colour parameter still says what this run saw: someone
    /// else recording another colour stops the run before it writes.
    async fn check_active_unchanged(&self, r: &Resolved, parameter: &str) -> Result<(), StepError> {
        let read = async || self.read_active(parameter).await;
        let lag = r.active_lag.as_ref().map(|(c, at)| (c, *at));
        let Some(found) = self.changed(&r.active, lag, read).await? else {
            return Ok(());
        };
        let name = |c: Option<Color>| c.map(|c| c.to_string()).unwrap_or("(none)".into());
        Err(StepError::Foreign {
            what: "the active-colour parameter",
            found: name(found),
            had: format!("saw {}", name(r.active)),
        })
    }

    /// What `read` finds when it is not `expected`, `None` when it is: a
    /// difference confirmed as [`Executor::settled`] confirms it (a read
    /// may lag this run's own last write, which replaced `lag`), and one
    /// that a rollback taking the lock over made is that preemption, not
    /// someone else's.
    async fn changed<T: PartialEq>(
        &self,
        expected: &T,
        lag: Option<(&T, crate::model::Timestamp)>,
        read: impl AsyncFn() -> Result<T, StepError>,
    ) -> Result<Option<T>, StepError> {
        if read().await? == *expected {
            return Ok(None);
        }
        // A rollback takes the lock over before it flips: the lock explains
        // a difference at once, without waiting to confirm it.
        self.fence().await?;
        let found = self.settled(expected, lag, read).await?;
        if found.is_some() {
            self.fence().await?;
        }
        Ok(found)
    }

    /// How many healthy targets colour `c` needs to serve production: the
    /// colour going home needs its own capacity, any other the plan's.
    fn wanted(&self, r: &Resolved, c: Color) -> u32 {
        match r.home {
            Some((home, n)) if home == c => n,
            _ => self.desired,
        }
    }

    /// A colour that has production weight is never detached, scaled down
    /// or deleted.
    /// Nor is one that any other listener or rule on the load balancer
    /// still weights (a listener the plan stopped naming, someone's rule),
    /// as a fresh read shows. The app's own listeners and rules are not
    /// asked: production's weights are the run's, and the test listener
    /// follows the colour being deployed.
    async fn check_shrink_safe(&self, r: &Resolved, c: Color) -> Result<(), StepError> {
        if let Some(w) = r.weights.filter(|w| w.get(c) > 0) {
            return Err(StepError::UnsafeTeardown {
                color: c,
                reason: format!("it has {}% of production traffic", w.share(c)),
            });
        }
        let Some(tg) = r.target_groups.get(c).clone() else {
            return Ok(());
        };
        let own = |arn: &str| {
            r.listeners.values().any(|l| l.as_str() == arn)
                || r.rules.values().any(|l| l.as_str() == arn)
        };
        let forwards = self.provider.forwards_on(&r.load_balancer).await?;
        for f in forwards.iter().filter(|f| !own(&f.arn)) {
            let total: u32 = f.forward.iter().map(|(_, w)| w).sum();
            let mine: u32 = f
                .forward
                .iter()
                .filter(|(a, _)| *a == tg)
                .map(|(_, w)| w)
                .sum();
            if mine > 0 {
                return Err(StepError::UnsafeTeardown {
                    color: c,
                    reason: format!(
                        "{} still sends it {}%",
                        f.place,
                        (mine * 100).checked_div(total).unwrap_or(100)
                    ),
                });
            }
        }
        Ok(())
    }
}

/// A step that failed, on its way to becoming an [`Abort`].
struct Failed {
    step: usize,
    total: usize,
    what: String,
    error: StepError,
    promoted: bool,
}

/// Test hook for crash recovery: `CUTOVER_CRASH_AFTER_STEP=N` aborts the
/// process right after step N, as `kill -9` would, leaving live state as it is.
/// Built only with the `test-switches` feature (`scripts/test`).
#[cfg(feature = "test-switches")]
fn crash_point(step: usize) {
    if let Ok(n) = std::env::var("CUTOVER_CRASH_AFTER_STEP") {
        if n.trim().parse() == Ok(step) {
            eprintln!("CUTOVER_CRASH_AFTER_STEP={step}: aborting");
            std::process::abort();
        }
    }
}

/// Without the `test-switches` feature nothing aborts a run on purpose.
#[cfg(not(feature = "test-switches"))]
fn crash_point(_step: usize) {}
