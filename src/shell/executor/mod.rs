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
//! - `mod.rs`: the step loop;
//! - `actions.rs`: one arm per [`Action`], each a call to the file of its
//!   concern: `release.rs` (target groups, launch template versions,
//!   fleets), `health.rs` (healthy targets, counted and waited for),
//!   `traffic.rs` (listeners, rules, the shift's weights), `record.rs` (the
//!   active colour, the promotion record), `flip.rs` (a rollback's flip),
//!   `bake.rs` (bakes, smoke tests, gates; `evidence.rs` the metric
//!   gates), `teardown.rs`, `hooks.rs`;
//! - `home.rs`: the way home after a failed step; `watch.rs`: the watch
//!   after promotion and its way back;
//! - `wait.rs`: the one poll loop; `guard.rs`: what can stop a run;
//! - `confirm.rs`: writes whose answer may be lost, reads that may lag;
//! - `live_state.rs`: what a run knows of live resources; `error.rs`: how a
//!   step fails.

mod actions;
mod bake;
mod confirm;
mod error;
mod evidence;
mod flip;
mod guard;
mod health;
mod home;
mod hooks;
mod live_state;
mod record;
pub use record::{by_a_person, log as log_release};
mod release;
mod teardown;
mod traffic;
mod wait;
mod watch;

pub use error::{RestoreError, StepError};
pub use guard::{BoundaryRead, Guard, Holds, Interrupt};

use crate::model::history::{LogEntry, LogEvent};
use crate::model::observed::Observed;
use crate::model::outcome::Outcome;
use crate::model::plan::{Action, Plan, PlanKind};
use crate::model::{Weights, WeightsAt};
use crate::provider::{AppRef, Provider};
use crate::render::describe_action;
use crate::shell::progress::{Event, Reporter};
use live_state::LiveState;
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
    /// Said with the release in the release log when it goes live (deployed
    /// outside its window: by whom, and why).
    pub live_note: Option<String>,
}

/// How long a step waits for AWS to show what an earlier step made, as
/// Terraform's AWS provider waits for propagation: two minutes.
pub(super) const PROPAGATION_SECS: i64 = 120;

/// What a finished step has to say ("version 3", "2 of 2 healthy"), if anything.
type Detail = Option<String>;

impl Executor<'_> {
    pub async fn execute(&self, plan: &Plan, obs: &Observed) -> Outcome {
        let mut live = LiveState::new(&self.app.app, obs, self.production);
        live.home = plan.rollback_to.zip(plan.home_capacity);
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
                live.remember_with_flip = Some((*color, release.clone()));
            }
            let result = match self.boundary().await {
                Ok(()) => self.run_until_visible(plan, &step.action, &mut live).await,
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
                        watching: matches!(step.action, Action::Watch { .. }),
                    };
                    return Outcome::Aborted(self.abort(plan, &mut live, failed).await);
                }
            }
            // Promotion is recording the new colour; recording the colour
            // traffic already belongs to (a lost parameter) is not.
            if let Action::RecordActive { color, .. } = step.action {
                if plan.rollback_to.is_some_and(|from| from != color) {
                    promoted = true;
                }
                if let Some(release) = went_live(plan, color) {
                    self.log(LogEntry {
                        event: LogEvent::Live,
                        release: Some(release),
                        color,
                        at: self.provider.now(),
                        why: self.live_note.clone(),
                    })
                    .await;
                }
            }
            crash_point(i + 1);
        }
        self.read_back_the_end(plan, &live).await
    }

    /// The report of a run that converged comes from a fresh read too: when
    /// the plan leaves production all on one colour, recorded as active,
    /// and AWS shows otherwise (someone changed it since), it says so.
    async fn read_back_the_end(&self, plan: &Plan, live: &LiveState) -> Outcome {
        let to = match &plan.kind {
            PlanKind::Release { to, .. } if plan.paused_at().is_none() => *to,
            PlanKind::FirstDeploy { color, .. } => *color,
            PlanKind::Rollback { to, .. } => *to,
            _ => return Outcome::Converged,
        };
        let left = Weights::all_on(to);
        if live.weights != Some(left) || live.active != Some(to) {
            return Outcome::Converged;
        }
        match self.truth(live, true).await {
            Ok((Some(weights), Some(active))) if weights == left && active == to => {
                Outcome::Converged
            }
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
        live: &mut LiveState,
    ) -> Result<Detail, StepError> {
        let started = self.provider.now();
        loop {
            match self.run(plan, action, live).await {
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
}

/// The release that went live when `color` was recorded active: the
/// plan's, when it deploys one to `color`.
fn went_live(plan: &Plan, color: crate::model::Color) -> Option<String> {
    match &plan.kind {
        PlanKind::Release { to, release, .. } if *to == color => Some(release.fingerprint.clone()),
        PlanKind::FirstDeploy { color: c, release } if *c == color => {
            Some(release.fingerprint.clone())
        }
        _ => None,
    }
}

/// A step that failed, on its way to becoming an
/// [`Abort`](crate::model::outcome::Abort) (`home.rs`).
struct Failed {
    step: usize,
    total: usize,
    what: String,
    error: StepError,
    promoted: bool,
    /// It failed during the watch after promotion (`rollout.watch`).
    watching: bool,
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
