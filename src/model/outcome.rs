//! How carrying out a plan ended: plain data the executor returns, renderers
//! show and the shell turns into an exit code.

use super::{Color, Weights};
use serde::Serialize;

/// How a run of a plan ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Every step ran.
    Converged,
    /// A step failed; production traffic was put back where it belongs.
    Aborted(Abort),
    /// Every step ran, but a fresh read afterwards does not show production
    /// where the run left it: someone changed it since.
    Moved(Moved),
}

/// Where a run left production, and where a fresh read found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub left: Weights,
    pub left_active: Color,
    pub weights_now: Option<Weights>,
    pub active_now: Option<Color>,
}

/// A run that stopped at a failed step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Abort {
    /// 1-based index of the failed step, of how many, and what it was.
    pub step: usize,
    pub total: usize,
    pub what: String,
    /// The failure, in words.
    pub error: String,
    pub cause: Cause,
    /// Where production traffic is now, read back from the cloud after the
    /// run's last write (never what the run meant to do); `None` when it
    /// could not be read, or there is no production listener yet.
    pub weights_now: Option<Weights>,
    /// The active-colour parameter, read back the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_now: Option<Color>,
    /// Why the final read failed, when it did: nothing can be said of
    /// where production is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    /// The old colour had no healthy target left and production went, in
    /// one write, to the new colour, which had all of its: not recorded as
    /// active, since its bakes are not done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<Color>,
    /// The rollback that ran, if one was needed.
    pub rolled_back_to: Option<Color>,
    /// It went home to a colour short of healthy targets: (healthy, wanted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_short: Option<(u32, u32)>,
    /// Why the rollback could not run, when it could not.
    pub rollback_error: Option<String>,
    /// The failure came after the new colour was recorded as active (teardown).
    pub after_promotion: bool,
    /// The promoted colour failed during `rollout.watch`: production was
    /// sent back to the colour it came from, recorded as active again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub during_watch: bool,
    /// The release remembered as rolled back, when it was.
    pub remembered: Option<String>,
}

/// What stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A verdict on the release: not healthy in time, a smoke test, a gate
    /// or an alarm failed, or it lost health during a bake.
    Verdict,
    /// A person: Ctrl-C typed at a terminal.
    Interrupted,
    /// A signal from outside a terminal: a cancelled CI job, a supervisor
    /// stopping the run. Not a verdict on the release.
    Cancelled,
    /// Someone else's run took the lock over (a `cutover rollback`): this
    /// run stopped without another write.
    Preempted,
    /// Someone changed production weights or the active colour behind this
    /// run's back (a console edit, another tool): it stopped without writing.
    Foreign,
    /// The colour production came from lost health during a bake: no
    /// evidence against the release. Nothing moves forward, nothing moves
    /// onto the failing colour, no verdict is recorded.
    OldColor,
    /// A metric gate had no evidence by its bound and the plan says hold:
    /// production stays at the step's weights, nothing is blamed, and
    /// `apply` or `promote` resumes judging.
    Held,
    /// Nothing was proven either way (no evidence with on_no_evidence
    /// "rollback", a split that did not reach users): production goes
    /// home, and the release is not remembered as rolled back.
    Unproven,
    /// The plan cannot be carried out as written (a smoke test or gate
    /// that cannot start, an alarm that does not exist): a mistake to fix,
    /// not a verdict on the release.
    Config,
    /// A safety rule refused a mutation (weights toward an unhealthy colour,
    /// shrinking a colour that serves traffic).
    Refused,
    /// The cloud failed us: an API error, something missing.
    Cloud,
}

impl Outcome {
    /// The step that failed, if one did.
    pub fn abort(&self) -> Option<&Abort> {
        match self {
            Outcome::Converged | Outcome::Moved(_) => None,
            Outcome::Aborted(a) => Some(a),
        }
    }
}
