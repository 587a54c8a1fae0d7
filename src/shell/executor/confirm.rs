//! What AWS holds, not what a run meant to do: writes whose answer may be
//! lost, and reads that may lag the last write.
//!
//! A write can take effect and its answer still be lost (a reset, a
//! timeout, a 500 after the work was done). Every write here is idempotent,
//! so one whose answer did not come back is sent again, fenced each time;
//! when none of the tries gets an answer, what AWS holds decides, read
//! back. AWS's describes are eventually consistent: a read right after a
//! write may show the value before it. So a read that disagrees with this
//! run's last write is confirmed over [`PROPAGATION_SECS`] from that write
//! (the bound the README promises), not taken at its word.

use super::live_state::LiveState;
use super::{Executor, StepError, PROPAGATION_SECS};
use crate::model::observed::split_forward;
use crate::model::{Color, Timestamp, Weights};
use crate::provider::ProviderError;
use crate::shell::progress::Event;
use std::time::Duration;

/// How many times a write whose answer was lost is sent in all.
const WRITE_TRIES: usize = 3;

/// Reads that must all confirm a difference before it counts as someone
/// else's change, once the propagation window of this run's own last write
/// has passed.
const CONFIRM_READS: usize = 3;

/// A write that did not land, as far as AWS shows.
pub(super) enum Unlanded<T> {
    /// A guard stopped the tries (a rollback took the lock over).
    Stopped(StepError),
    /// No try got an answer and the read-back does not show the write:
    /// `seen` is what AWS holds (`None`: it could not be read either).
    Failed {
        error: ProviderError,
        seen: Option<T>,
    },
}

impl<T> From<StepError> for Unlanded<T> {
    fn from(e: StepError) -> Self {
        Unlanded::Stopped(e)
    }
}

impl<T> Unlanded<T> {
    /// As the step's error: the write's own failure.
    pub fn into_step_error(self) -> StepError {
        match self {
            Unlanded::Stopped(e) => e,
            Unlanded::Failed { error, .. } => StepError::Provider(error),
        }
    }
}

/// Production weights as a read shows them: (blue and green, weight to
/// target groups that are neither).
pub(super) type Split = (Weights, u32);

impl Executor<'_> {
    /// Sends `write` until it lands: `Ok(Some(answer))` when AWS answered,
    /// `Ok(None)` when no answer came back but the read-back shows `want`.
    /// A first sending AWS refuses (it answered no) is not sent again and
    /// not read back: nothing was done. `before` is the value the write
    /// replaces, which a read lagging the write may still show.
    pub(super) async fn write_surely<W, T: PartialEq>(
        &self,
        what: &str,
        want: &T,
        before: Option<&T>,
        write: impl AsyncFn() -> Result<W, ProviderError>,
        read: impl AsyncFn() -> Result<T, StepError>,
    ) -> Result<Option<W>, Unlanded<T>> {
        let written_at = self.provider.now();
        let mut error = match write().await {
            Ok(w) => return Ok(Some(w)),
            Err(e) => e,
        };
        if error.is_refusal() {
            return Err(Unlanded::Failed { error, seen: None });
        }
        for _ in 1..WRITE_TRIES {
            self.reporter.event(Event::Waiting {
                done: 0,
                of: 0,
                message: format!(
                    "{what}: no answer ({}); it may have been carried out: sending it again",
                    error.aws_said()
                ),
            });
            self.sleep(self.poll.min(Duration::from_secs(2))).await;
            self.fence().await?;
            match write().await {
                Ok(w) => return Ok(Some(w)),
                // Refused now (throttled, say): an earlier sending may
                // still have landed, so the read-back decides all the same.
                Err(e) if e.is_refusal() => {
                    error = e;
                    break;
                }
                Err(e) => error = e,
            }
        }
        // No answer at all: what AWS holds says whether it landed. A read
        // that fails is tried again (AWS on a bad day fails reads too).
        let read_again = async || self.retried(&read).await;
        match self
            .settled(want, before.map(|b| (b, written_at)), read_again)
            .await
        {
            Ok(None) => Ok(None),
            Ok(Some(seen)) => Err(Unlanded::Failed {
                error,
                seen: Some(seen),
            }),
            Err(StepError::Provider(_)) => Err(Unlanded::Failed { error, seen: None }),
            Err(e) => Err(Unlanded::Stopped(e)),
        }
    }

    /// What `read` finds when it is not `expected`, `None` when it is.
    /// `lag` is the value this run's last write replaced, and when: a read
    /// showing that value within [`PROPAGATION_SECS`] of the write may lag
    /// it, and counts only once reads until that window closed all show it.
    /// Any other difference counts when [`CONFIRM_READS`] more reads, two
    /// seconds apart, all find one. (Reads inside one step, not a wait: no
    /// progress, no deadline.)
    pub(super) async fn settled<T: PartialEq>(
        &self,
        expected: &T,
        lag: Option<(&T, Timestamp)>,
        read: impl AsyncFn() -> Result<T, StepError>,
    ) -> Result<Option<T>, StepError> {
        let mut found = read().await?;
        if found == *expected {
            return Ok(None);
        }
        let mut reads = 0;
        let lagging = |found: &T, now: Timestamp| {
            lag.is_some_and(|(before, at)| found == before && now - at < PROPAGATION_SECS)
        };
        while reads < CONFIRM_READS || lagging(&found, self.provider.now()) {
            self.sleep(self.poll.min(Duration::from_secs(2))).await;
            found = read().await?;
            reads += 1;
            if found == *expected {
                return Ok(None);
            }
        }
        Ok(Some(found))
    }

    /// What `read` finds when it is not `expected`, `None` when it is: a
    /// difference confirmed as [`Executor::settled`] confirms it (a read
    /// may lag this run's own last write, which replaced `lag`), and one
    /// that a rollback taking the lock over made is that preemption, not
    /// someone else's.
    pub(super) async fn changed<T: PartialEq>(
        &self,
        expected: &T,
        lag: Option<(&T, Timestamp)>,
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

    /// `read`, tried again when AWS fails it (up to [`WRITE_TRIES`] in
    /// all): a read-back must not turn AWS's bad day into "unknown".
    async fn retried<T>(
        &self,
        read: impl AsyncFn() -> Result<T, StepError>,
    ) -> Result<T, StepError> {
        let mut tries = 1;
        loop {
            match read().await {
                Err(StepError::Provider(_)) if tries < WRITE_TRIES => {
                    tries += 1;
                    self.sleep(self.poll.min(Duration::from_secs(2))).await;
                }
                other => return other,
            }
        }
    }

    /// Production's forward as AWS shows it, by colour.
    pub(super) async fn read_split(&self, live: &LiveState) -> Result<Split, StepError> {
        let at = live.production_forward()?;
        let forward = self.provider.forward_of(&at).await?;
        let color_of = |tg: &crate::model::TargetGroupArn| {
            Color::ALL
                .into_iter()
                .find(|c| live.target_groups.get(*c).as_ref() == Some(tg))
        };
        Ok(split_forward(&forward, color_of))
    }

    /// The active-colour parameter set to `color`, replacing `before`, sent
    /// until it lands (see [`Executor::write_surely`]).
    pub(super) async fn write_active(
        &self,
        parameter: &str,
        color: Color,
        before: Option<Color>,
    ) -> Result<Option<()>, Unlanded<Option<Color>>> {
        self.write_surely(
            "recording the active colour",
            &Some(color),
            Some(&before),
            async || self.provider.put_active(parameter, color).await,
            async || self.read_active(parameter).await,
        )
        .await
    }

    /// The active-colour parameter as AWS shows it.
    pub(super) async fn read_active(&self, parameter: &str) -> Result<Option<Color>, StepError> {
        let stored = self.provider.read_lock(parameter).await?;
        Ok(stored.as_deref().and_then(Color::parse))
    }

    /// Where production and the active colour are, read back after the
    /// run's last write (confirmed over the propagation window of this
    /// run's own writes), for the report: never what the run meant to do.
    /// `settle`: false when someone else wrote last (a rollback that took
    /// the lock over, a person): one read then tells.
    pub(super) async fn truth(
        &self,
        live: &LiveState,
        settle: bool,
    ) -> Result<(Option<Weights>, Option<Color>), StepError> {
        let parameter = self.app.state_parameter.clone();
        let split = async || self.retried(async || self.read_split(live).await).await;
        let weights = match live.production_forward() {
            Err(_) => None,
            Ok(_) if !settle => Some(split().await?),
            Ok(_) => {
                let expected = live.weights.map(|w| (w, live.foreign));
                let before = live.weights_lag.map(|(w, at)| (Some(w), at));
                let lag = before.as_ref().map(|(w, at)| (w, *at));
                let read = async || split().await.map(Some);
                let found = self.settled(&expected, lag, read).await?;
                found.unwrap_or(expected)
            }
        };
        let active_of = async || {
            self.retried(async || self.read_active(&parameter).await)
                .await
        };
        let active = if settle {
            let read = async || active_of().await;
            let lag = live.active_lag.as_ref().map(|(c, at)| (c, *at));
            self.settled(&live.active, lag, read)
                .await?
                .unwrap_or(live.active)
        } else {
            active_of().await?
        };
        let weights = weights.map(|(w, _)| w).filter(|w| w.blue + w.green > 0);
        Ok((weights, active))
    }
}
