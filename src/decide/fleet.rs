//! `cutover apply` of many plans: which apps run, in which waves, whether a
//! plan read again under the lock is still the one a person approved, and
//! how each run reads in the summary. `plan` over a folder shows the same
//! order ([`waves`]).

use crate::model::fleet::{Row, RunResult};
use crate::model::outcome::{Cause, Outcome};
use crate::model::plan::{Plan, PlanKind};

/// The apps that have changes, by wave (lowest first), each wave's apps in
/// the order given: indexes into `plans`.
pub fn waves<'a>(plans: impl IntoIterator<Item = &'a Plan>) -> Vec<(u32, Vec<usize>)> {
    let mut out: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, p) in plans.into_iter().enumerate() {
        if p.has_changes() {
            out.entry(p.wave).or_default().push(i);
        }
    }
    out.into_iter().collect()
}

/// Whether `now` (planned again under the lock) does what `shown` (what a
/// person approved) said: the same kind of change, the same release to
/// the same colour, the same changes to the app's resources. A neighbour on a shared load balancer changing its own
/// rule meanwhile does not matter; another run having deployed or rolled
/// back this app does.
pub fn same_change(shown: &Plan, now: &Plan) -> bool {
    let key = |p: &Plan| match &p.kind {
        PlanKind::NoChanges => (0, None, None),
        PlanKind::FirstDeploy { color, release } => {
            (1, Some(release.fingerprint.clone()), Some(*color))
        }
        PlanKind::Release { to, release, .. } => (2, Some(release.fingerprint.clone()), Some(*to)),
        PlanKind::InPlace => (3, None, None),
        PlanKind::Rollback { to, .. } => (4, None, Some(*to)),
    };
    // The same change of this app's own resources, too: an in-place plan
    // that now also reverts a hand edit was not what was approved.
    key(shown) == key(now) && shown.changes == now.changes
}

/// What a plan moves from and to, for the summary: images of the release
/// before and after, or "in place".
pub fn from_to(plan: &Plan) -> (Option<String>, Option<String>) {
    match &plan.kind {
        PlanKind::FirstDeploy { release, .. } => (None, Some(release.data.image_id.clone())),
        PlanKind::Release {
            from_image,
            release,
            ..
        } => (from_image.clone(), Some(release.data.image_id.clone())),
        PlanKind::InPlace => (None, Some("in place".to_string())),
        PlanKind::NoChanges | PlanKind::Rollback { .. } => (None, None),
    }
}

/// The summary row of an app whose plan ran to `outcome` with `exit_code`.
pub fn ran(plan: &Plan, outcome: &Outcome, exit_code: i32, seconds: f64) -> Row {
    let (result, detail, rolled_back_to) = match outcome {
        Outcome::Converged if matches!(plan.kind, PlanKind::InPlace) => {
            (RunResult::Changed, None, None)
        }
        Outcome::Converged if plan.paused_at().is_some() => (
            RunResult::Paused,
            Some(
                "paused as the plan says (auto_promote = false): `cutover promote` finishes it"
                    .to_string(),
            ),
            None,
        ),
        Outcome::Converged => (RunResult::Deployed, None, None),
        Outcome::Moved(_) => (
            RunResult::Failed,
            Some("production was moved by someone else once the run was done".to_string()),
            None,
        ),
        Outcome::Aborted(a) if a.cause == Cause::Held => {
            (RunResult::Held, Some(a.error.clone()), None)
        }
        // Exit 3: production is home, as read back; before any traffic
        // moved there was no flip to make, but home is where it is.
        Outcome::Aborted(a) if exit_code == 3 => (
            RunResult::RolledBack,
            Some(a.error.clone()),
            a.rolled_back_to.or(plan.rollback_to).map(|c| c.to_string()),
        ),
        // Production may have gone home although the run ended worse (the
        // active colour could not be recorded): say where it went.
        Outcome::Aborted(a) => (
            RunResult::Failed,
            Some(a.error.clone()),
            a.rolled_back_to.map(|c| c.to_string()),
        ),
    };
    Row {
        seconds: Some(seconds),
        rolled_back_to,
        exit_code,
        ..row(plan, result, detail)
    }
}

/// A row for an app that did not run (or ran nothing): `result`, why.
pub fn row(plan: &Plan, result: RunResult, detail: Option<String>) -> Row {
    let (from, to) = from_to(plan);
    let exit_code = match result {
        RunResult::Refused | RunResult::Failed | RunResult::Held => 1,
        // Not run: why is another app's row (or the interrupt's exit).
        RunResult::RolledBack => 3,
        _ => 0,
    };
    Row {
        app: plan.app.clone(),
        plan_file: plan.source.clone(),
        wave: plan.wave,
        from,
        to,
        result,
        detail,
        seconds: None,
        rolled_back_to: None,
        exit_code,
    }
}

/// The exit code of many runs: the worst of theirs, 130 (interrupted at
/// once), else 1 (an error, held), else 3 (aborted, production home), else 0.
pub fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    let rank = |c: i32| match c {
        0 => 0,
        3 => 1,
        130 => 3,
        _ => 2,
    };
    codes.into_iter().max_by_key(|&c| rank(c)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_exit_is_130_then_1_then_3_then_0() {
        assert_eq!(worst([0, 3, 0]), 3);
        assert_eq!(worst([3, 1, 0]), 1);
        assert_eq!(worst([1, 130, 3]), 130);
        assert_eq!(worst([0, 0]), 0);
        assert_eq!(worst([]), 0);
    }
}
