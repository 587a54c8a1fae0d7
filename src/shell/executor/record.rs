//! What the run records in parameters: the active colour and the
//! promotion record, each with a last look at the lock and at the
//! parameter before the write.

use super::confirm::Unlanded;
use super::live_state::LiveState;
use super::{Detail, Executor, StepError};
use crate::model::history::{LogEntry, LogEvent};
use crate::model::names;
use crate::model::observed::Previous;
use crate::model::plan::PreviousRecord;
use crate::model::Color;
use crate::shell::progress::Event;

impl Executor<'_> {
    /// The active colour recorded, with a last look at the lock and at the
    /// parameter. A write whose answer was lost is settled by what the
    /// parameter then says: a promotion that landed is a promotion.
    pub(super) async fn record_active(
        &self,
        live: &mut LiveState,
        parameter: &str,
        color: Color,
    ) -> Result<Detail, StepError> {
        self.fence().await?;
        self.check_active_unchanged(live, parameter).await?;
        live.active_written(self.provider.now());
        let before = live.active;
        let written = self.write_active(parameter, color, before).await;
        match written {
            Ok(answered) => {
                live.active = Some(color);
                live.active_uncertain = false;
                Ok(answered
                    .is_none()
                    .then(|| "the answer was lost; read back".into()))
            }
            Err(Unlanded::Failed { error, seen }) => {
                match seen {
                    Some(seen) => live.active = seen,
                    None => live.active_uncertain = true,
                }
                Err(StepError::Provider(error))
            }
            Err(Unlanded::Stopped(e)) => Err(e),
        }
    }

    /// The promotion's first write, with the same looks as before recording
    /// the active colour.
    pub(super) async fn record_previous(
        &self,
        live: &mut LiveState,
        record: &PreviousRecord,
    ) -> Result<Detail, StepError> {
        self.fence().await?;
        if let Some(active) = names::state_parameter_of_previous(&record.parameter) {
            self.check_active_unchanged(live, active).await?;
        }
        live.previous = Some(self.put_previous(record).await?);
        Ok(None)
    }

    /// Writes a promotion record, stamped now, sent until it lands (it is
    /// settled by what the record then holds, whatever its time).
    pub(super) async fn put_previous(&self, rec: &PreviousRecord) -> Result<Previous, StepError> {
        let record = Previous {
            promoted: rec.promoted,
            color: rec.color,
            release: rec.release.clone(),
            capacity: rec.capacity,
            at: self.provider.now(),
            rolled_back: rec.rolled_back,
        };
        let value = record.to_value();
        let untimed = |p: Option<Previous>| p.map(|p| Previous { at: 0, ..p });
        let read = async || {
            let stored = self.provider.read_lock(&rec.parameter).await?;
            Ok(untimed(stored.as_deref().and_then(Previous::parse)))
        };
        self.write_surely(
            "writing the promotion record",
            &untimed(Some(record.clone())),
            None,
            async || self.provider.put_record(&rec.parameter, &value).await,
            read,
        )
        .await
        .map_err(Unlanded::into_step_error)?;
        Ok(record)
    }

    /// The active-colour parameter still says what this run saw: someone
    /// else recording another colour stops the run before it writes.
    async fn check_active_unchanged(
        &self,
        live: &LiveState,
        parameter: &str,
    ) -> Result<(), StepError> {
        let read = async || self.read_active(parameter).await;
        let lag = live.active_lag.as_ref().map(|(c, at)| (c, *at));
        let Some(found) = self.changed(&live.active, lag, read).await? else {
            return Ok(());
        };
        let name = |c: Option<Color>| c.map(|c| c.to_string()).unwrap_or("(none)".into());
        Err(StepError::Foreign {
            what: "the active-colour parameter",
            found: name(found),
            had: format!("saw {}", name(live.active)),
        })
    }

    /// Adds a line to the release log, which `cutover history` reads. The
    /// log is a record, not a safeguard: a write that fails (sent once
    /// more unless denied; a duplicate of one whose answer was lost counts
    /// once) is a warning, and a rollback's mark on the fleet still says
    /// what happened.
    pub(super) async fn log(&self, entry: LogEntry) {
        if let Err(w) = log(self.provider, &self.app.state_parameter, &entry).await {
            self.reporter.event(Event::Warning(w));
        }
    }
}

/// Adds `entry` to the release log beside `state_parameter`: sent once
/// more unless denied; `Err` is the warning to give.
pub async fn log(
    provider: &dyn crate::provider::Provider,
    state_parameter: &str,
    entry: &LogEntry,
) -> Result<(), String> {
    let parameter = names::history_parameter(state_parameter);
    let value = entry.to_value();
    let put = || provider.put_record(&parameter, &value);
    let written = match put().await {
        Err(e) if !e.is_denied() => put().await,
        written => written,
    };
    written.map_err(|e| {
        format!(
            "could not add to the release log {parameter} ({e}): `cutover history` will not show this {}",
            match entry.event {
                LogEvent::Live => "promotion",
                LogEvent::RolledBack => "rollback beyond the fleet's mark",
            }
        )
    })
}

/// The release log's line for a rollback someone ran (`cutover rollback`):
/// who, as the lock names a holder (user@host).
pub fn by_a_person(color: Color, release: &str, at: crate::model::Timestamp) -> LogEntry {
    let me = crate::shell::lock::me("cutover rollback", at);
    LogEntry {
        event: LogEvent::RolledBack,
        release: Some(release.to_string()),
        color,
        at,
        why: Some(format!(
            "{}@{} rolled it back (`cutover rollback`)",
            me.user, me.host
        )),
    }
}
