//! What can stop a run: the guards the executor asks before every step and
//! at every wait, the fences it asks right before every write, and the
//! interrupt a signal sets.

use super::{Executor, StepError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

impl Executor<'_> {
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
