//! The way home after a failed step: production back on the colour it
//! came from (or off a failed old colour), the release remembered as
//! rolled back, and the report of what a fresh read then shows.

use super::confirm::Unlanded;
use super::live_state::LiveState;
use super::{Executor, Failed, RestoreError, StepError};
use crate::model::history::{LogEntry, LogEvent};
use crate::model::observed::healthy_count;
use crate::model::outcome::{Abort, Cause};
use crate::model::plan::{Plan, PlanKind};
use crate::model::{Color, Weights};
use crate::provider::convention::tags::Mark;
use crate::provider::forward_for;
use crate::shell::progress::Event;
use std::time::Duration;

/// The most the automatic rollback's listener update may take: well inside
/// the 7.5 s a CI runner waits between SIGINT and SIGTERM.
const FLIP_DEADLINE: Duration = Duration::from_secs(5);

impl Executor<'_> {
    /// After a failed step: before promotion, production goes home and the
    /// release is remembered as rolled back; after it, nothing moves. The
    /// old colour failing moves nothing forward and records no verdict.
    /// Whatever happened, the report says what a fresh read shows.
    pub(super) async fn abort(&self, plan: &Plan, live: &mut LiveState, failed: Failed) -> Abort {
        let mut abort = Abort {
            step: failed.step,
            total: failed.total,
            what: failed.what.clone(),
            cause: failed.error.cause(),
            error: failed.error.to_string(),
            weights_now: live.weights,
            active_now: live.active,
            unread: None,
            moved_to: None,
            rolled_back_to: None,
            home_short: None,
            rollback_error: None,
            after_promotion: failed.promoted,
            during_watch: false,
            remembered: None,
        };
        // After promotion nothing moves; after a preemption the run that
        // took the lock over owns the listener and the release's fate; after
        // a foreign change a person is at work: hands off.
        // A held release stays at its step: nothing moves.
        // A verdict during the watch after promotion (`rollout.watch`)
        // sends production back all the same, and so does a signal, as
        // during a shift (Ctrl-C at a terminal is a person's verdict; a
        // cancelled CI job is none, and the next apply tries again).
        let back = failed.watching
            && matches!(
                abort.cause,
                Cause::Verdict | Cause::Interrupted | Cause::Cancelled
            );
        let hands_off = (failed.promoted && !back)
            || matches!(abort.cause, Cause::Preempted | Cause::Foreign | Cause::Held);
        // The way home gets every call's full attempts, budget or not.
        if abort.cause == Cause::OldColor {
            crate::provider::home(self.off_a_failed_old_colour(plan, live, &mut abort)).await;
        } else if back {
            crate::provider::home(self.back_from_watch(plan, live, &mut abort)).await;
        } else if !hands_off {
            crate::provider::home(self.go_home(plan, live, &mut abort)).await;
        }
        // Only a verdict on the release (or a person stopping it) is
        // remembered: an AWS error, a refused mutation, a mistake in the
        // plan or the old colour failing say nothing about the release,
        // and the next apply tries it again.
        self.remember(plan, live, &failed, hands_off, &mut abort)
            .await;
        // A rollback whose flip failed: its tag may have gone out with it.
        if abort.remembered.is_none() {
            abort.remembered = live.tagged_with_flip.clone();
        }
        let settle = !matches!(abort.cause, Cause::Preempted | Cause::Foreign);
        match self.truth(live, settle).await {
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

    /// Marks the release rolled back after a verdict on it, or held.
    async fn remember(
        &self,
        plan: &Plan,
        live: &LiveState,
        failed: &Failed,
        hands_off: bool,
        abort: &mut Abort,
    ) {
        // After a watch, the verdict stands whether or not production
        // could be sent back: a release still live with its mark keeps its
        // way back (the planner tears nothing down, `plan` and `drift` say
        // so) until `cutover rollback` or `apply --retry`.
        let verdict = matches!(abort.cause, Cause::Verdict | Cause::Interrupted);
        if let (PlanKind::Release { to, release, .. }, true, false) =
            (&plan.kind, verdict, hands_off)
        {
            let at = self.provider.now();
            let fleet = live.fleet(*to);
            let mark = || {
                self.provider.mark(
                    &fleet,
                    Mark::RolledBack,
                    &release.fingerprint,
                    at,
                    &abort.error,
                )
            };
            // Tagging is idempotent: an answer lost after the tag landed
            // (or any failure but a denial) is sent once more, so that
            // the report says what AWS holds.
            let marked = match mark().await {
                Err(e) if !e.is_denied() => mark().await,
                marked => marked,
            };
            match marked {
                Ok(()) => {
                    abort.remembered = Some(release.fingerprint.clone());
                    self.log(LogEntry {
                        event: LogEvent::RolledBack,
                        release: Some(release.fingerprint.clone()),
                        color: *to,
                        at,
                        why: Some(log_why(&abort.error)),
                    })
                    .await;
                }
                Err(e) => self.reporter.event(Event::Warning(format!(
                    "could not remember release {} as rolled back ({e}): the next `cutover apply` may deploy it again",
                    release.fingerprint
                ))),
            }
        }
        if let (PlanKind::Release { to, release, .. }, Cause::Held) = (&plan.kind, abort.cause) {
            self.mark_held(live, *to, &release.fingerprint, &failed.error)
                .await;
        }
    }

    /// Production all on the plan's `rollback_to`, and the active colour
    /// recorded there if a write of it may have landed elsewhere.
    async fn go_home(&self, plan: &Plan, live: &mut LiveState, abort: &mut Abort) {
        let Some(to) = plan.rollback_to else {
            return;
        };
        // A weight write that got no answer may have moved production
        // whatever this run believes: home is written again then.
        if live.weights.is_some_and(|w| w != Weights::all_on(to)) || live.weights_uncertain {
            if let Some(interrupt) = &self.interrupt {
                interrupt.set_going_home(true);
            }
            match self.restore(live, to).await {
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
            if let Some(interrupt) = &self.interrupt {
                interrupt.set_going_home(false);
            }
        }
        if live.active_uncertain && abort.cause != Cause::Preempted {
            if let Err(e) = self.record_home(live, to).await {
                abort.rollback_error.get_or_insert(format!(
                    "the active-colour parameter may not name {to}: {e}"
                ));
            }
        }
    }

    /// The active colour put back to `to` after a write of another colour
    /// whose answer was lost and whose read-back could not tell.
    async fn record_home(&self, live: &mut LiveState, to: Color) -> Result<(), StepError> {
        self.fence().await?;
        let parameter = self.app.state_parameter.clone();
        live.active_written(self.provider.now());
        let before = live.active;
        let written = self.write_active(&parameter, to, before).await;
        written.map_err(Unlanded::into_step_error)?;
        live.active = Some(to);
        live.active_uncertain = false;
        Ok(())
    }

    /// The colour production came from lost health during a bake. Nothing
    /// moves forward and nothing moves onto it; when it has no healthy
    /// target left and the new colour has all of its, production goes to
    /// the new colour in one write, not recorded as active (its bakes are
    /// not done: `cutover apply` resumes them from there).
    async fn off_a_failed_old_colour(&self, plan: &Plan, live: &mut LiveState, abort: &mut Abort) {
        let Some(old) = plan.rollback_to else {
            return;
        };
        let new = old.other();
        let counts = futures::try_join!(self.healthy(live, old), self.healthy(live, new));
        let Ok(((old_healthy, _), (new_healthy, _))) = counts else {
            return;
        };
        if old_healthy > 0 || new_healthy < self.desired {
            return;
        }
        match self.send_all(live, new).await {
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
        live: &mut LiveState,
        to: Color,
    ) -> Result<Option<(u32, u32)>, RestoreError> {
        let (healthy, wanted) = self.home_healthy(live, to).await?;
        let interrupted = || self.interrupt.as_ref().is_some_and(|i| i.is_set());
        // After a signal a kill may follow: the write gets a deadline then;
        // otherwise the SDK's retries and the read-back take what they need.
        let write = self.send_all(live, to);
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

    /// `to` can take production back: all `wanted` targets healthy, or,
    /// after waiting up to the health timeout for Auto Scaling to replace
    /// the rest, at least one. (healthy, wanted).
    pub(super) async fn home_healthy(
        &self,
        live: &LiveState,
        to: Color,
    ) -> Result<(u32, u32), RestoreError> {
        let missing = |e: StepError| RestoreError::Missing(e.to_string());
        let tg = live.tg(to).map_err(missing)?;
        let wanted = self.wanted(live, to);
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
        Ok((healthy, wanted))
    }

    /// All production on `to` in one listener update, with session affinity
    /// off in the same write (every user moves at once), sent until it
    /// lands: a write whose answer was lost is sent again, then read back.
    /// The weights are not compared with the last write first, as a shift
    /// step's are: the failed step may have been a weight write whose
    /// answer was lost, so a difference is no proof of someone else's hand,
    /// and production must not stay split on a guess. The lock is: a
    /// rollback may have taken over.
    async fn send_all(&self, live: &mut LiveState, to: Color) -> Result<(), StepError> {
        let at = live.production_forward()?;
        self.fence().await?;
        let home = Weights::all_on(to);
        let forward = forward_for(&live.target_groups, home);
        live.weights_written(self.provider.now());
        let before = live.split();
        let sent = self
            .write_surely(
                "sending production home",
                &(home, 0),
                before.as_ref(),
                async || self.provider.set_weights(&at, &forward, 0).await,
                async || self.read_split(live).await,
            )
            .await;
        match sent {
            Ok(_) => {
                live.weights = Some(home);
                live.foreign = 0;
                live.weights_uncertain = false;
                Ok(())
            }
            Err(Unlanded::Failed { error, seen }) => {
                if let Some((weights, foreign)) = seen {
                    (live.weights, live.foreign) = (Some(weights), foreign);
                }
                live.weights_uncertain = true;
                Err(StepError::Provider(error))
            }
            Err(Unlanded::Stopped(e)) => Err(e),
        }
    }
}

/// A verdict's reason in the release log: on one line, within what a
/// Parameter Store value holds (4 KB in the standard tier; JSON escapes
/// and the entry's other fields leave room at 3,000 bytes).
fn log_why(error: &str) -> String {
    let line = error.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() <= 3000 {
        return line;
    }
    let cut = (0..=3000)
        .rev()
        .find(|i| line.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}…", &line[..cut])
}
