//! How a step fails, and how the way home can fail.

use crate::model::observed::TargetHealth;
use crate::model::outcome::Cause;
use crate::model::{format_duration, format_timestamp, Color, FleetName, Forward, Timestamp};
use crate::provider::ProviderError;

/// How a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{color} was not healthy within {}: {healthy} of {wanted} targets healthy{}", format_duration(*timeout_secs), unhealthy_list(.targets))]
    NotHealthy {
        color: Color,
        healthy: u32,
        wanted: u32,
        timeout_secs: u64,
        targets: Vec<TargetHealth>,
    },
    #[error("{fleet} could not launch instances: {message}\n  Auto Scaling's activity: {description}\n  {}", launch_hint(.message))]
    LaunchFailed {
        fleet: FleetName,
        message: String,
        description: String,
    },
    #[error("{color} lost health during the bake at {weight}%: {healthy} of {wanted} targets healthy{}", unhealthy_list(.targets))]
    HealthLost {
        color: Color,
        weight: u32,
        healthy: u32,
        wanted: u32,
        targets: Vec<TargetHealth>,
    },
    #[error("{color}, the colour production came from, lost health during the bake at {weight}%: {healthy} of {wanted} targets healthy{}", unhealthy_list(.targets))]
    OldColorLost {
        color: Color,
        weight: u32,
        healthy: u32,
        wanted: u32,
        targets: Vec<TargetHealth>,
    },
    #[error("{phase} on {color} could not be carried out as the plan file writes it: {what}")]
    Misconfigured {
        phase: &'static str,
        color: Color,
        what: String,
    },
    #[error("{phase} failed on {color}{}: {what}{}", weight.map(|w| format!(" at {w}%")).unwrap_or_default(), if output.is_empty() { String::new() } else { format!("\n  output:\n    {}", output.replace('\n', "\n    ")) })]
    CheckFailed {
        phase: &'static str,
        color: Color,
        weight: Option<u32>,
        what: String,
        output: String,
    },
    #[error("held at {weight}%: no evidence from {gate} since {}: {why}; `cutover promote` continues, `cutover rollback` goes home", format_timestamp(*since))]
    Held {
        color: Color,
        weight: u32,
        gate: String,
        since: Timestamp,
        why: String,
    },
    #[error("no evidence from {gate} on {color} at {weight}% since {}: {why}; on_no_evidence is \"rollback\", so production goes home, and nothing was proven against the release", format_timestamp(*since))]
    NoEvidence {
        color: Color,
        weight: u32,
        gate: String,
        since: Timestamp,
        why: String,
    },
    #[error("the split at {weight}% is not real: {why}. The weights written did not reach users (a rule that does not match, stickiness that keeps sessions on the old colour, weights that did not take), so {color}'s numbers prove nothing")]
    SplitNotReal {
        color: Color,
        weight: u32,
        why: String,
    },
    /// A freeze, or a deploy window that closed: the run stops at a step
    /// boundary, held where it is.
    #[error("{why}")]
    Halted { why: String },
    #[error("interrupted ({})", if *by_person { "Ctrl-C" } else { "a signal from outside a terminal: SIGTERM, or a cancelled job" })]
    Interrupted { by_person: bool },
    #[error("stopped: {by} took the lock over; this run made no further change")]
    Preempted { by: String },
    #[error("stopped: this run's lock was broken (`cutover unlock`), so it made no further change; `cutover status` shows where production is, and `cutover apply` goes on from there")]
    LockBroken,
    #[error("stopped: someone else changed {what}: it is {found}, this run last {had}; this run made no further change")]
    Foreign {
        what: &'static str,
        found: String,
        had: String,
    },
    #[error("refusing to send traffic to {color}: {healthy} of {wanted} targets healthy (production traffic only goes to a colour whose every desired target is healthy)")]
    UnsafeWeights {
        color: Color,
        healthy: u32,
        wanted: u32,
    },
    #[error("refusing to shrink {color}: {reason} (a colour that serves production traffic is never detached, scaled down or deleted)")]
    UnsafeTeardown { color: Color, reason: String },
    #[error("the listener read back {}, not the {} that was set", forward_text(.got), forward_text(.wanted))]
    WeightsMismatch { wanted: Forward, got: Forward },
    /// Something an earlier step should have made is not there.
    #[error("{0}")]
    Missing(String),
    #[error("{fleet} still has {instances} instances after {}; the after_teardown hook waits for none", format_duration(*waited_secs))]
    StillRunning {
        fleet: FleetName,
        instances: usize,
        waited_secs: u64,
    },
    #[error("traffic is on {color} but recording it as active failed ({source}); run `cutover rollback` again")]
    Unrecorded { color: Color, source: ProviderError },
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl StepError {
    /// A smoke test, gate or hook that did not pass: a verdict when it ran
    /// and failed, the plan's mistake when it could not run as written.
    pub fn of_check(
        f: crate::gate::CheckFailure,
        phase: &'static str,
        color: Color,
        weight: Option<u32>,
    ) -> StepError {
        if f.misconfigured {
            return StepError::Misconfigured {
                phase,
                color,
                what: f.what,
            };
        }
        StepError::CheckFailed {
            phase,
            color,
            weight,
            what: f.what,
            output: f.output,
        }
    }

    /// What kind of failure this is: a verdict on the release, a person,
    /// a safety refusal, or the cloud.
    pub fn cause(&self) -> Cause {
        match self {
            StepError::NotHealthy { .. }
            | StepError::HealthLost { .. }
            | StepError::CheckFailed { .. } => Cause::Verdict,
            StepError::Interrupted { by_person: true } => Cause::Interrupted,
            StepError::Interrupted { by_person: false } => Cause::Cancelled,
            StepError::OldColorLost { .. } => Cause::OldColor,
            StepError::Held { .. } | StepError::Halted { .. } => Cause::Held,
            StepError::NoEvidence { .. } | StepError::SplitNotReal { .. } => Cause::Unproven,
            StepError::Misconfigured { .. } => Cause::Config,
            StepError::Preempted { .. } => Cause::Preempted,
            StepError::Foreign { .. } | StepError::LockBroken => Cause::Foreign,
            StepError::UnsafeWeights { .. } | StepError::UnsafeTeardown { .. } => Cause::Refused,
            StepError::WeightsMismatch { .. }
            | StepError::LaunchFailed { .. }
            | StepError::Missing(_)
            | StepError::StillRunning { .. }
            | StepError::Unrecorded { .. }
            | StepError::Provider(_) => Cause::Cloud,
        }
    }
}

/// Why production traffic could not be put back on the old colour.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{color} has {healthy} of its {wanted} targets healthy after waiting {} for Auto Scaling to replace them, so production was left split; a person can send it all there anyway with `cutover rollback --force`, or to the new colour with `cutover promote` once it is healthy", format_duration(*waited_secs))]
    Unhealthy {
        color: Color,
        healthy: u32,
        wanted: u32,
        waited_secs: u64,
    },
    #[error("the listener update did not complete within {0}s")]
    Deadline(u64),
    #[error("{0} took the lock over")]
    Preempted(String),
    /// The target group or the listener is not there.
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// "[(arn-a, 90), (arn-b, 10)]", sorted, as the listener has them.
fn forward_text(f: &Forward) -> String {
    let mut f = f.clone();
    f.sort();
    let parts: Vec<String> = f.iter().map(|(a, w)| format!("({a}, {w})")).collect();
    format!("[{}]", parts.join(", "))
}

fn unhealthy_list(targets: &[TargetHealth]) -> String {
    let bad: Vec<String> = targets
        .iter()
        .filter(|t| !t.state.is_healthy())
        .map(|t| {
            let mut s = format!("\n  {} {}", t.id, t.state);
            if let Some(r) = &t.reason {
                s.push_str(&format!(" ({r})"));
            }
            if let Some(d) = &t.description {
                s.push_str(&format!(": {d}"));
            }
            s
        })
        .collect();
    if bad.is_empty() && targets.is_empty() {
        "\n  no targets are registered".into()
    } else {
        bad.concat()
    }
}

/// What to check when Auto Scaling could not launch an instance, from
/// AWS's status message.
fn launch_hint(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("image id") || m.contains("ami-") {
        "Check that the plan's image exists in this region and that this account may launch it."
    } else if m.contains("instance profile") || m.contains("iaminstanceprofile") {
        "Check that the instance profile exists and that cutover's role may pass its role (iam:PassRole)."
    } else if m.contains("capacity") || m.contains("spot") {
        "AWS has no capacity for this instance type there now: try again later, or another instance type, more subnets, or on-demand."
    } else if m.contains("security group") || m.contains("subnet") || m.contains("key pair") {
        "Check the plan's network settings against what exists in the account."
    } else {
        "See the Auto Scaling group's activity history for the cause."
    }
}
