//! What can stop a run: the guards the executor asks before every step and
//! at every wait, the fences it asks right before every write, and the
//! interrupt a signal sets.

use super::{Executor, StepError};
use crate::decide::preflight::window_closed;
use crate::model::freeze::Freeze;
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

    /// The parameters this guard reads at a step boundary: every guard's
    /// are read in one call (GetParameters), whose answer `at_boundary` gets.
    fn boundary_reads(&self) -> Vec<String> {
        vec![]
    }

    /// At every step boundary, instead of `check`, with what
    /// `boundary_reads` asked for (`Err`: why the read failed): also what
    /// holds a run there only (not between polls: a run in a bake keeps
    /// judging, and stops before its next step).
    async fn at_boundary(&self, _read: &BoundaryRead) -> Result<(), StepError> {
        self.check().await
    }
}

/// The parameters read for every guard at a step boundary: value and when
/// last written, of those that exist; or why they could not be read.
pub type BoundaryRead = std::result::Result<
    std::collections::BTreeMap<String, (String, crate::model::Timestamp)>,
    String,
>;

/// What holds a rollout at its next step boundary: a freeze (the region's
/// or the app's), or the deploy window closing. Not a signal: the way home
/// is not taken; production stays where it is, and the run ends held.
pub struct Holds<'a> {
    pub provider: &'a dyn crate::provider::Provider,
    /// The app's active-colour parameter: its freeze lives beside it.
    pub state_parameter: String,
    /// `rollout.window`, unless the run was told to ignore it.
    pub window: Option<crate::spec::window::Window>,
    /// The plan file, for what to run next.
    pub path: String,
}

#[async_trait::async_trait]
impl Guard for Holds<'_> {
    async fn check(&self) -> Result<(), StepError> {
        Ok(())
    }

    fn fences_writes(&self) -> bool {
        false
    }

    fn boundary_reads(&self) -> Vec<String> {
        Freeze::parameters(&self.state_parameter)
            .map(|(_, name)| name)
            .to_vec()
    }

    async fn at_boundary(&self, read: &BoundaryRead) -> Result<(), StepError> {
        // Unread, a freeze may be in place: no step forward on a guess.
        let found = read.as_ref().map_err(|e| StepError::Halted {
            why: format!(
                "whether a freeze is in place could not be read ({e}); no further step forward and nothing torn down. `cutover apply {}` goes on",
                self.path
            ),
        })?;
        let freezes = Freeze::found(&self.state_parameter, |n| found.get(n).cloned());
        if let Some(f) = freezes.first() {
            return Err(StepError::Halted {
                why: format!(
                    "{}; no further step forward and nothing torn down. {}, then `cutover apply {}` goes on; `cutover rollback` is never blocked",
                    f.said(),
                    f.thaw_hint(Some(&self.path)),
                    self.path
                ),
            });
        }
        let now = self.provider.now();
        if let Some(closed) = (self.window.as_ref()).and_then(|w| window_closed(w, now)) {
            return Err(StepError::Halted {
                why: format!(
                    "{closed}; no further step forward and nothing torn down. `cutover apply {}` goes on once it opens (or now with `--ignore-window \"why\"`); `cutover rollback` is never blocked",
                    self.path
                ),
            });
        }
        Ok(())
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
    /// How many runs sharing this flag (a fleet's apps) are putting
    /// production back right now.
    going_home: Arc<std::sync::atomic::AtomicUsize>,
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

    /// Production is being put back (the automatic rollback's flip), by
    /// any of the runs that share the flag.
    pub fn going_home(&self) -> bool {
        self.going_home.load(Ordering::SeqCst) > 0
    }

    /// A run starts (`true`) or ends (`false`) its way home; calls pair.
    pub(super) fn set_going_home(&self, on: bool) {
        if on {
            self.going_home.fetch_add(1, Ordering::SeqCst);
        } else {
            let _ = self
                .going_home
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    Some(n.saturating_sub(1))
                });
        }
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

    /// At a step boundary: the guards, and what holds a run only there,
    /// from one read of the parameters they all need (the lock, the
    /// freezes: one GetParameters, not one call each).
    pub(super) async fn boundary(&self) -> Result<(), StepError> {
        let names: Vec<String> = self
            .guards
            .iter()
            .flat_map(|g| g.boundary_reads())
            .collect();
        let read: BoundaryRead = match names.is_empty() {
            true => Ok(Default::default()),
            false => self
                .provider
                .parameters(&names)
                .await
                .map_err(|e| e.to_string()),
        };
        for g in &self.guards {
            g.at_boundary(&read).await?;
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
