//! A rollback's flip: production all on one colour, with the active
//! colour, the promotion record and the rolled-back tag sent alongside.

use super::confirm::Unlanded;
use super::live_state::LiveState;
use super::{Detail, Executor, StepError};
use crate::model::observed::Previous;
use crate::model::plan::PreviousRecord;
use crate::model::{Color, Weights};
use crate::provider::convention::tags::Mark;
use crate::provider::forward_for;
use crate::shell::progress::Event;

/// What a rollback's flip writes at once.
struct FlipWrites<'a> {
    at: &'a crate::model::ForwardAt,
    to: Color,
    traffic: bool,
    record_active: Option<&'a str>,
    previous_record: Option<&'a PreviousRecord>,
    /// The rolled-back tag (colour, release) to send with it.
    remember: Option<&'a (Color, String)>,
    /// What the writes replace, which a lagging read may still show.
    weights_before: Option<(Weights, u32)>,
    active_before: Option<Color>,
}

/// The answers to [`FlipWrites`]: the flip, the active colour, the
/// promotion record, the tag (when sent).
type FlipAnswers = (
    Result<(), Unlanded<(Weights, u32)>>,
    Result<(), Unlanded<Option<Color>>>,
    Result<Option<Previous>, StepError>,
    Option<Result<(), crate::provider::ProviderError>>,
);

/// Why a release that `cutover rollback` left is remembered as rolled back.
const BY_A_PERSON: &str = "a person rolled it back (`cutover rollback`)";

impl Executor<'_> {
    /// Rollback: production all on `to` and, when it changes, `to` recorded
    /// as active, sent together so nothing slow stands before the flip. The
    /// decision was made on a read of target health moments before (a
    /// rollback must not wait for another). Each write whose answer is lost
    /// is sent again and read back (see `confirm.rs`). If the flip did not
    /// land but the record did, the record is put back: it keeps naming the
    /// colour that still has the traffic.
    pub(super) async fn flip(
        &self,
        live: &mut LiveState,
        to: Color,
        traffic: bool,
        record_active: Option<&str>,
        previous_record: Option<&PreviousRecord>,
    ) -> Result<Detail, StepError> {
        let at = live.production_forward()?;
        let now = self.provider.now();
        let before = (live.split(), live.active);
        if traffic {
            live.weights_written(now);
        }
        if record_active.is_some() {
            live.active_written(now);
        }
        let remember = live.remember_with_flip.take();
        let writes = FlipWrites {
            at: &at,
            to,
            traffic,
            record_active,
            previous_record,
            remember: remember.as_ref(),
            weights_before: before.0,
            active_before: before.1,
        };
        let (flipped, recorded, previous, tagged) = self.flip_writes(live, writes).await;
        if let (Some(Ok(())), Some((_, release))) = (&tagged, &remember) {
            live.tagged_with_flip = Some(release.clone());
        }
        live.remembered = tagged;
        self.previous_after_flip(live, previous, flipped.is_ok(), previous_record)
            .await;
        if let (Err(_), Some(param), Ok(())) = (&flipped, record_active, &recorded) {
            if let Err(e) = self.provider.put_active(param, to.other()).await {
                self.reporter.event(Event::Warning(format!(
                    "could not put {param} back to {} ({e}); `cutover drift` will show the mismatch",
                    to.other()
                )));
            }
        }
        if let Err(e) = flipped {
            if let Unlanded::Failed { seen: None, .. } = &e {
                live.weights_uncertain = true;
            }
            return Err(e.into_step_error());
        }
        live.weights = Some(Weights::all_on(to));
        live.weights_uncertain = false;
        match recorded {
            Ok(()) => {
                if record_active.is_some() {
                    live.active = Some(to);
                }
                Ok(None)
            }
            Err(Unlanded::Stopped(e)) => Err(e),
            Err(Unlanded::Failed { error, .. }) => Err(StepError::Unrecorded {
                color: to,
                source: error,
            }),
        }
    }

    /// The promotion record sent with a flip: kept when the flip landed;
    /// when it did not, it names a promotion that did not happen, so the
    /// one before goes back, or a later rollback would not know where to
    /// go (the record is read with the active colour, which is put back
    /// too).
    async fn previous_after_flip(
        &self,
        live: &mut LiveState,
        sent: Result<Option<Previous>, StepError>,
        flipped: bool,
        record: Option<&PreviousRecord>,
    ) {
        let written = match sent {
            Ok(written) => written,
            Err(e) => {
                self.reporter.event(Event::Warning(format!(
                    "could not write the promotion record ({e}); a second rollback may not know where the first one came from"
                )));
                None
            }
        };
        match (flipped, written, record) {
            (false, Some(_), Some(rec)) => self.restore_previous(live, &rec.parameter).await,
            (true, Some(written), _) => live.previous = Some(written),
            _ => {}
        }
    }

    /// Puts the promotion record this run last knew back in `parameter`,
    /// after a write of another one went out with a flip that did not land.
    async fn restore_previous(&self, live: &LiveState, parameter: &str) {
        let Some(old) = &live.previous else {
            // There was none: the new one names a promotion the active
            // colour (put back too) contradicts, and is not read.
            return;
        };
        if let Err(e) = self.provider.put_record(parameter, &old.to_value()).await {
            self.reporter.event(Event::Warning(format!(
                "could not put the promotion record {parameter} back ({e}): it names a rollback that did not happen, and `cutover rollback` will not follow it; `cutover status` shows where a rollback would go"
            )));
        }
    }

    /// The rollback's writes, all at once: the flip, the active colour,
    /// the promotion record and the rolled-back tag.
    async fn flip_writes(&self, live: &LiveState, writes: FlipWrites<'_>) -> FlipAnswers {
        let provider = self.provider;
        let weights = Weights::all_on(writes.to);
        let forward = forward_for(&live.target_groups, weights);
        let flip = async {
            if !writes.traffic {
                return Ok(());
            }
            // Session affinity off in the same write: nobody stays behind.
            self.write_surely(
                "flipping production",
                &(weights, 0),
                writes.weights_before.as_ref(),
                async || {
                    provider
                        .set_weights(writes.at, &forward, 0)
                        .await
                        .map(|_| ())
                },
                async || self.read_split(live).await,
            )
            .await
            .map(|_| ())
        };
        let record = async {
            let Some(param) = writes.record_active else {
                return Ok(());
            };
            self.write_active(param, writes.to, writes.active_before)
                .await
                .map(|_| ())
        };
        let previous = async {
            match writes.previous_record {
                Some(rec) => self.put_previous(rec).await.map(Some),
                None => Ok(None),
            }
        };
        // The tag of the release rolled back, when it is the next step, goes
        // out too: if the flip fails, the release is tagged all the same,
        // which errs on the safe side (a later apply asks for --retry; the
        // rollback run again tags it again).
        let tag = async {
            match writes.remember {
                Some((color, release)) => {
                    let fleet = live.fleet(*color);
                    let mark = provider.mark(
                        &fleet,
                        Mark::RolledBack,
                        release,
                        provider.now(),
                        BY_A_PERSON,
                    );
                    Some(mark.await)
                }
                None => None,
            }
        };
        futures::join!(flip, record, previous, tag)
    }

    /// The release rolled back remembered as such: already, when its tag
    /// went out with the flip (see [`FlipWrites`]).
    pub(super) async fn remember_rolled_back(
        &self,
        live: &mut LiveState,
        color: Color,
        release: &str,
    ) -> Result<Detail, StepError> {
        if let Some(sent) = live.remembered.take() {
            sent?;
            return Ok(None);
        }
        let at = self.provider.now();
        let fleet = live.fleet(color);
        let mark = self
            .provider
            .mark(&fleet, Mark::RolledBack, release, at, BY_A_PERSON);
        mark.await?;
        Ok(None)
    }

    pub(super) async fn clear_rolled_back(
        &self,
        live: &LiveState,
        color: Color,
    ) -> Result<Detail, StepError> {
        self.provider
            .clear_mark(&live.fleet(color), Mark::RolledBack)
            .await?;
        Ok(None)
    }
}
