//! The old colour's teardown once its rollback window has passed, and the
//! expand/contract hooks around a release.

use super::{step, Builder, Mark};
use crate::model::observed::TargetState;
use crate::model::plan::{
    Action, ChangeAction, HookPhase, Note, Resource, Scope, Step, TeardownDue,
};
use crate::model::reason::Reason;
use crate::model::TeardownPolicy;
use crate::model::{Capacity, Color};

/// The active colour's live release is marked rolled back: it failed a
/// gate after its promotion and production could not be sent back (a
/// denied or throttled flip). The colour to go back to stays, whatever the
/// teardown policy, and the plan says so; with `--retry` the person keeps
/// the release: its mark goes, and the teardown follows as usual.
fn failed_release_live(b: &mut Builder, active: Color) -> bool {
    let Some(fleet) = b.obs.fleets.get(active).as_ref() else {
        return false;
    };
    let Some((release, at)) = fleet
        .rolled_back
        .as_ref()
        .filter(|(r, _)| fleet.release.as_ref() == Some(r))
    else {
        return false;
    };
    if b.opts.retry {
        b.then(
            Action::ClearRolledBack { color: active },
            Reason::NoLongerRolledBack,
        );
        return false;
    }
    b.notes.push(Note::FailedReleaseLive {
        color: active,
        release: release.clone(),
        at: *at,
        why: fleet.rolled_back_why.clone(),
        back_to: active.other(),
    });
    true
}

/// Tear down the colour that is not `active`, by policy, when its rollback
/// window has passed. `promoting`: the plan promotes `active` in this run, so
/// the window starts now.
pub(super) fn teardown_idle(b: &mut Builder, active: Color, promoting: bool) {
    b.in_scope(Scope::Teardown, |b| teardown(b, active, promoting));
}

fn teardown(b: &mut Builder, active: Color, promoting: bool) {
    let obs = b.obs;
    let idle = active.other();
    if !promoting && failed_release_live(b, active) {
        return;
    }
    let policy = b.spec.teardown.policy;
    let pending = obs
        .target_groups
        .get(idle)
        .as_ref()
        .and_then(|t| t.contract_pending.clone());
    let Some(fleet) = obs.fleets.get(idle).as_ref() else {
        contract(b, idle, pending);
        return;
    };
    let attached = obs.attached(idle);
    let torn_down = match policy {
        TeardownPolicy::Keep => true,
        // Detached at zero: the instances left are Auto Scaling's to
        // terminate, seconds after the call on AWS.
        TeardownPolicy::ScaleToZero => !attached && fleet.capacity == Capacity::ZERO,
        TeardownPolicy::Delete => false,
    };
    if torn_down {
        if policy != TeardownPolicy::Keep {
            contract(b, idle, pending);
        }
        return;
    }
    // A colour with production weight is never torn down. When promoting,
    // the shift steps in this plan leave it at 0 before we get here.
    if !promoting {
        let prod = obs.weights_at(b.spec.production.weights_at());
        if prod.is_none_or(|w| w.get(idle) > 0) {
            return;
        }
    }
    if !due(b, active, promoting) {
        return;
    }
    let change = b.change(
        ChangeAction::Destroy,
        Resource::Fleet {
            name: fleet.name.clone(),
        },
        vec![],
        Reason::Teardown {
            policy,
            delay_secs: b.spec.teardown.delay_secs,
        },
    );
    let contracting = b
        .spec
        .hooks
        .after_teardown
        .is_some()
        .then(|| fleet.release.clone())
        .flatten();
    let steps = teardown_steps(b, idle, attached, contracting.as_deref());
    b.decide(Some(change), steps);
    if policy != TeardownPolicy::Keep {
        contract(b, idle, contracting);
    }
}

/// Whether the rollback window of the idle colour has passed; a note says
/// when it will, while it has not.
fn due(b: &mut Builder, active: Color, promoting: bool) -> bool {
    let obs = b.obs;
    let delay = b.spec.teardown.delay_secs;
    let since = match (&obs.active, promoting) {
        (Some(a), false) if a.color == active => a.since,
        _ => obs.now,
    };
    let due = since.saturating_add(delay as i64);
    if delay == 0 || (!promoting && obs.now >= due) {
        return true;
    }
    let due = if promoting {
        TeardownDue::AfterPromotion { secs: delay }
    } else {
        TeardownDue::At {
            at: due,
            in_secs: (due - obs.now) as u64,
        }
    };
    b.notes.push(Note::TeardownNotDue {
        color: active.other(),
        policy: b.spec.teardown.policy,
        due,
    });
    false
}

/// Remember the contract, detach, drain, then scale to zero or delete.
fn teardown_steps(
    b: &Builder,
    idle: Color,
    attached: bool,
    contracting: Option<&str>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(release) = contracting {
        steps.push(step(
            Action::MarkContractPending {
                color: idle,
                release: release.to_string(),
            },
            Reason::HookSurvivesCrash,
        ));
    }
    // A run that died while targets drained left them draining: wait again.
    let draining = b
        .obs
        .target_groups
        .get(idle)
        .as_ref()
        .is_some_and(|tg| tg.targets.iter().any(|t| t.state == TargetState::Draining));
    if attached {
        steps.push(step(
            Action::DetachFleet { color: idle },
            Reason::DeregisterOld,
        ));
    }
    if attached || draining {
        steps.push(step(
            Action::WaitDrain {
                color: idle,
                secs: b.spec.target_group.attributes.deregistration_delay_secs as u64,
            },
            Reason::Drain,
        ));
    }
    match b.spec.teardown.policy {
        TeardownPolicy::ScaleToZero => steps.push(step(
            Action::ScaleToZero { color: idle },
            Reason::TeardownPolicy {
                policy: TeardownPolicy::ScaleToZero,
            },
        )),
        TeardownPolicy::Delete => steps.push(step(
            Action::DeleteFleet { color: idle },
            Reason::TeardownPolicy {
                policy: TeardownPolicy::Delete,
            },
        )),
        TeardownPolicy::Keep => {}
    }
    steps
}

/// The after_teardown hook for the release `pending` on colour `c`.
fn contract(b: &mut Builder, c: Color, pending: Option<String>) {
    let (Some(command), Some(release)) = (b.spec.hooks.after_teardown.clone(), pending) else {
        return;
    };
    let change = b.change(
        ChangeAction::Update,
        Resource::Hook {
            phase: HookPhase::AfterTeardown,
            color: c,
        },
        vec![],
        Reason::Contract {
            release: release.clone(),
        },
    );
    let action = Action::Hook {
        phase: HookPhase::AfterTeardown,
        color: c,
        command,
        release: Some(release),
    };
    b.decide(Some(change), [step(action, Reason::OldReleaseGone)]);
}

/// The before_deploy hook, placed at `at` (before anything of the new colour
/// is built): the one step inserted rather than appended.
pub(super) fn before_deploy(b: &mut Builder, at: Mark, c: Color) {
    let Some(command) = b.spec.hooks.before_deploy.clone() else {
        return;
    };
    let action = Action::Hook {
        phase: HookPhase::BeforeDeploy,
        color: c,
        command,
        release: None,
    };
    b.then_before(at, action, Reason::BeforeBuild);
}
