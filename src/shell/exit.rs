//! Exit codes: the one policy for the whole program.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done: valid, converged, nothing to do, rolled back, paused for promotion |
//! | 1 | an error: bad input, a held lock, a refusal, or anything that left production somewhere cutover could not bring home |
//! | 2 | changes pending: `plan --detailed-exitcode`, `drift`, `diff` |
//! | 3 | `apply` or `promote` aborted the deployment: production is back on the colour it started from, and the active colour names it (as read back) |
//! | 130 | a second Ctrl-C or SIGTERM exited `apply` or `promote` at once |

use crate::model::outcome::Outcome;
use crate::model::plan::{Plan, PlanKind};
use crate::model::Weights;

/// What the process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done: valid, converged, no changes.
    Success = 0,
    /// Bad input or an error.
    Error = 1,
    /// There are changes (or drift, or differences).
    Changes = 2,
    /// The deployment was aborted; production is back where it started.
    Aborted = 3,
    /// A second signal exited at once, where the deployment stood.
    Interrupted = 130,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status whose code is `code` (any other code is an error).
    pub fn from_code(code: i32) -> ExitStatus {
        match code {
            0 => ExitStatus::Success,
            2 => ExitStatus::Changes,
            3 => ExitStatus::Aborted,
            130 => ExitStatus::Interrupted,
            _ => ExitStatus::Error,
        }
    }

    /// How `apply` and `promote` end after carrying out `plan`: 3 only when a
    /// deployment was aborted and production is back on the colour it
    /// started from (whatever stopped it: a check, a person, the cloud); 1
    /// when production is anywhere else, or the failure was not part of a
    /// deployment (an in-place change, the teardown after promotion).
    pub fn of_run(plan: &Plan, outcome: &Outcome) -> ExitStatus {
        let a = match outcome {
            Outcome::Converged => return ExitStatus::Success,
            // Not where the run left it: someone else's change, exit 1.
            Outcome::Moved(_) => return ExitStatus::Error,
            Outcome::Aborted(a) => a,
        };
        let home = |w: Option<Weights>| match (plan.rollback_to, w) {
            (Some(to), Some(w)) => w == Weights::all_on(to) && a.active_now == Some(to),
            _ => false,
        };
        // Another run took the lock over: a rollback that put production
        // home, before or after the promotion, aborted the deployment (3);
        // anywhere else (another apply went on) is not home (1). As read.
        if a.cause == crate::model::outcome::Cause::Preempted {
            return if home(a.weights_now) {
                ExitStatus::Aborted
            } else {
                ExitStatus::Error
            };
        }
        if a.after_promotion {
            return ExitStatus::Error;
        }
        // Someone else moved production: it is not where cutover left it.
        // The old colour failing leaves production where it was (or on the
        // new colour): not home.
        // A held release stays where it was held: not home either.
        if matches!(
            a.cause,
            crate::model::outcome::Cause::Foreign
                | crate::model::outcome::Cause::OldColor
                | crate::model::outcome::Cause::Held
        ) {
            return ExitStatus::Error;
        }
        let deployment = matches!(
            plan.kind,
            PlanKind::Release { .. } | PlanKind::FirstDeploy { .. }
        );
        // Home, as read back after the run: production all on the colour
        // it started from, and the active colour naming it.
        let traffic_home = match (plan.rollback_to, a.weights_now) {
            (Some(_), w) => home(w),
            // A first deploy started from no traffic at all.
            (None, w) => a.unread.is_none() && w.is_none_or(|w| w.blue + w.green == 0),
        };
        if deployment && traffic_home {
            ExitStatus::Aborted
        } else {
            ExitStatus::Error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::outcome::{Abort, Cause, Moved};
    use crate::model::Color;

    fn plan() -> Plan {
        Plan {
            app: "shop".into(),
            source: "shop.toml".into(),
            wave: 0,
            kind: PlanKind::InPlace,
            changes: vec![],
            steps: vec![],
            rollback_to: Some(Color::Blue),
            home_capacity: Some(2),
            gates: vec![],
            evidence: Default::default(),
            timeline: None,
            in_place: 0,
            observed_fingerprint: String::new(),
            notes: vec![],
            user_data_sensitive: false,
        }
    }

    fn aborted(cause: Cause, weights: Weights, active: Color) -> Outcome {
        Outcome::Aborted(Abort {
            step: 1,
            total: 2,
            what: "shift".into(),
            error: "gate failed".into(),
            cause,
            weights_now: Some(weights),
            active_now: Some(active),
            unread: None,
            moved_to: None,
            rolled_back_to: Some(Color::Blue),
            home_short: None,
            rollback_error: None,
            after_promotion: false,
            during_watch: false,
            remembered: None,
        })
    }

    #[test]
    fn three_only_when_production_and_the_active_colour_are_home_as_read() {
        let mut release = plan();
        release.kind = PlanKind::FirstDeploy {
            color: Color::Blue,
            release: crate::model::Release::new(crate::model::LaunchData {
                image_id: "ami-1".into(),
                ..Default::default()
            }),
        };
        let home = Weights::all_on(Color::Blue);
        let of = |o: &Outcome| ExitStatus::of_run(&release, o);
        // FirstDeploy with rollback_to: treat as a deployment.
        assert_eq!(
            of(&aborted(Cause::Verdict, home, Color::Blue)),
            ExitStatus::Aborted
        );
        // Production home, the parameter naming the other colour: not home.
        assert_eq!(
            of(&aborted(Cause::Verdict, home, Color::Green)),
            ExitStatus::Error
        );
        // A run another run preempted: 3 only when that left production home.
        assert_eq!(
            of(&aborted(Cause::Preempted, home, Color::Blue)),
            ExitStatus::Aborted
        );
        let green = Weights::all_on(Color::Green);
        assert_eq!(
            of(&aborted(Cause::Preempted, green, Color::Green)),
            ExitStatus::Error
        );
        // The old colour failing is never "home".
        assert_eq!(
            of(&aborted(Cause::OldColor, home, Color::Blue)),
            ExitStatus::Error
        );
        // Every step ran, then someone moved production: 1.
        let moved = Outcome::Moved(Moved {
            left: green,
            left_active: Color::Green,
            weights_now: Some(home),
            active_now: Some(Color::Green),
        });
        assert_eq!(of(&moved), ExitStatus::Error);
    }
}
