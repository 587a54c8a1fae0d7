//! The one poll loop every wait goes through (healthy targets, bakes,
//! drains, instances terminating), and its sleep, which a signal cuts short.

use super::{Executor, StepError};
use crate::shell::progress::Event;
use std::time::Duration;

/// How a waiting step stands after one look at the world.
pub(super) struct WaitStatus<T> {
    /// Shown to the user (`done` of `of`, with a message); `None` shows nothing.
    pub progress: Option<Progress>,
    /// `Some` ends the wait.
    pub done: Option<T>,
}

pub(super) struct Progress {
    pub done: u64,
    pub of: u64,
    pub message: String,
}

impl<T> WaitStatus<T> {
    pub fn waiting(done: u64, of: u64, message: String) -> WaitStatus<T> {
        WaitStatus {
            progress: Some(Progress { done, of, message }),
            done: None,
        }
    }

    /// Shows the progress, then ends the wait with `value`.
    pub fn then(mut self, value: T) -> WaitStatus<T> {
        self.done = Some(value);
        self
    }

    pub fn done(value: T) -> WaitStatus<T> {
        WaitStatus {
            progress: None,
            done: Some(value),
        }
    }
}

impl Executor<'_> {
    /// Looks at the world every poll interval until `look` says it is done
    /// or fails. `look` gets the seconds elapsed since the wait began and
    /// decides timeouts itself; `until` (seconds) shortens the last sleep so
    /// a timed wait (a bake, a drain) ends on time. The guards run before
    /// every look and after every sleep.
    pub(super) async fn poll<T>(
        &self,
        until: Option<u64>,
        mut look: impl AsyncFnMut(u64) -> Result<WaitStatus<T>, StepError>,
    ) -> Result<T, StepError> {
        let start = self.provider.now();
        loop {
            self.guard().await?;
            let elapsed = (self.provider.now() - start).max(0) as u64;
            let status = look(elapsed).await?;
            if let Some(progress) = status.progress {
                self.reporter.event(Event::Waiting {
                    done: progress.done,
                    of: progress.of,
                    message: progress.message,
                });
            }
            if let Some(value) = status.done {
                return Ok(value);
            }
            let nap = match until {
                Some(until) => self
                    .poll
                    .min(Duration::from_secs(until.saturating_sub(elapsed))),
                None => self.poll,
            };
            self.sleep(nap).await;
        }
    }

    /// Sleeps between polls; a signal cuts the sleep short. Once it came,
    /// sleeps are whole again: the run is on its way out, and what it still
    /// waits for (a confirming read, a colour to go home to) needs the time.
    pub(super) async fn sleep(&self, nap: Duration) {
        match &self.interrupt {
            Some(interrupt) if !interrupt.is_set() => {
                tokio::select! {
                    _ = self.provider.sleep(nap) => {}
                    _ = interrupt.wait() => {}
                }
            }
            _ => self.provider.sleep(nap).await,
        }
    }
}
