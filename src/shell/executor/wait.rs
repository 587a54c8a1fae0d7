//! The one poll loop every wait goes through (healthy targets, bakes,
//! drains, instances terminating), and the guards that can stop it.

use super::{Executor, StepError};
use crate::shell::progress::Event;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Something that may stop a run between polls and before each step: a
/// signal today; a preempting rollback or a foreign change to the listener
/// plug in here as further guards.
#[async_trait::async_trait]
pub trait Guard: Send + Sync {
    /// `Err` stops the run as a failed step would.
    async fn check(&self) -> Result<(), StepError>;

    /// Whether it is also checked right before every write, including the
    /// way home after a failure (a fence: the lock); a signal only stops
    /// the run at its next wait, and the way home still goes out.
    fn fences_writes(&self) -> bool {
        true
    }
}

/// Set by the first Ctrl-C or SIGTERM: the run stops at its next wait and
/// rolls back as for a failed step. While production is on its way home,
/// the run says so, and a second signal lets that finish.
#[derive(Clone, Default)]
pub struct Interrupt {
    set: Arc<AtomicBool>,
    /// A person typed Ctrl-C at a terminal (a verdict on the release), not
    /// a signal from outside one (a cancelled CI job, a supervisor).
    by_person: Arc<AtomicBool>,
    going_home: Arc<AtomicBool>,
    /// Wakes a wait asleep between polls, so Ctrl-C acts at once rather
    /// than after the poll interval.
    wake: Arc<tokio::sync::Notify>,
}

impl Interrupt {
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// `by_person`: Ctrl-C typed at a terminal.
    pub fn set(&self, by_person: bool) {
        self.by_person.store(by_person, Ordering::SeqCst);
        self.set.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    /// Resolves once the flag is set.
    pub async fn wait(&self) {
        // Created before the check, so a `set` in between still wakes it.
        let woken = self.wake.notified();
        if !self.is_set() {
            woken.await;
        }
    }

    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Production is being put back (the automatic rollback's flip).
    pub fn going_home(&self) -> bool {
        self.going_home.load(Ordering::SeqCst)
    }

    pub(super) fn set_going_home(&self, on: bool) {
        self.going_home.store(on, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Guard for Interrupt {
    async fn check(&self) -> Result<(), StepError> {
        if self.is_set() {
            Err(StepError::Interrupted {
                by_person: self.by_person.load(Ordering::SeqCst),
            })
        } else {
            Ok(())
        }
    }

    fn fences_writes(&self) -> bool {
        false
    }
}

/// How a waiting step stands after one look at the world.
pub(super) struct Look<T> {
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

impl<T> Look<T> {
    pub fn waiting(done: u64, of: u64, message: String) -> Look<T> {
        Look {
            progress: Some(Progress { done, of, message }),
            done: None,
        }
    }

    /// Shows the progress, then ends the wait with `value`.
    pub fn then(mut self, value: T) -> Look<T> {
        self.done = Some(value);
        self
    }

    pub fn done(value: T) -> Look<T> {
        Look {
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
        mut look: impl AsyncFnMut(u64) -> Result<Look<T>, StepError>,
    ) -> Result<T, StepError> {
        let start = self.provider.now();
        loop {
            self.guard().await?;
            let elapsed = (self.provider.now() - start).max(0) as u64;
            let seen = look(elapsed).await?;
            if let Some(p) = seen.progress {
                self.reporter.event(Event::Waiting {
                    done: p.done,
                    of: p.of,
                    message: p.message,
                });
            }
            if let Some(value) = seen.done {
                return Ok(value);
            }
            let nap = match until {
                Some(u) => self
                    .poll
                    .min(Duration::from_secs(u.saturating_sub(elapsed))),
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
            Some(i) if !i.is_set() => {
                tokio::select! {
                    _ = self.provider.sleep(nap) => {}
                    _ = i.wait() => {}
                }
            }
            _ => self.provider.sleep(nap).await,
        }
    }

    /// Every guard agrees the run may go on.
    pub(super) async fn guard(&self) -> Result<(), StepError> {
        for g in &self.guards {
            g.check().await?;
        }
        Ok(())
    }

    /// Right before a write: the run still holds what it must (its lock).
    pub(super) async fn fence(&self) -> Result<(), StepError> {
        for g in self.guards.iter().filter(|g| g.fences_writes()) {
            g.check().await?;
        }
        Ok(())
    }
}
