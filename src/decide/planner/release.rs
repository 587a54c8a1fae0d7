//! Releases: a first deploy, a new release deployed blue-green (built,
//! smoke-tested, shifted step by step, promoted).

use super::colour::{build_color, scaling_off, scaling_on};
use super::{listeners, steady, step, teardown, Builder, Mark};
use crate::model::observed::Observed;
use crate::model::plan::{
    Action, ChangeAction, FieldChange, Note, PlanKind, Resource, Scope, Timeline, TimelineStep,
};
use crate::model::reason::Reason;
use crate::model::{Color, LaunchField, Release, Timestamp, Weights};
use crate::spec::Spec;

/// The release the plan stands for. A default a later cutover added to the
/// launch data (IMDSv2 required) makes no release by itself: while the
/// colour serving production runs the plan's release as it was before that
/// default, that is the plan's release, and a note says the default comes
/// with the next release (any other change of launch data brings it).
pub(crate) fn effective(spec: &Spec, obs: &Observed, notes: &mut Vec<Note>) -> Release {
    let release = spec.release();
    let earlier = Release::new(release.data.without_later_defaults());
    if earlier.fingerprint == release.fingerprint {
        return release;
    }
    let serving = obs
        .weights_at(spec.production.weights_at())
        .and_then(|w| Color::ALL.into_iter().find(|c| w.share(*c) == 100));
    match serving {
        Some(c) if obs.release_of(c) == Some(earlier.fingerprint.as_str()) => {
            notes.push(Note::LaterDefaults {
                release: earlier.fingerprint.clone(),
                what: vec!["IMDSv2 required (fleet.imdsv2)".into()],
            });
            earlier
        }
        _ => release,
    }
}

/// Nothing is live yet: build blue and route all traffic to it.
pub(super) fn first_deploy(b: &mut Builder, release: &Release) -> PlanKind {
    let c = Color::Blue;
    b.scope = crate::model::plan::Scope::Release;
    let change = b.change(
        ChangeAction::Create,
        Resource::Release {
            color: c,
            fingerprint: Some(release.fingerprint.clone()),
        },
        vec![],
        Reason::FirstDeploy {
            image: release.data.image_id.clone(),
            instance_type: release.data.type_text().to_string(),
            capacity: b.spec.fleet.capacity,
        },
    );
    b.decide(Some(change), []);
    build_color(b, c, release);
    let builds = b.steps.iter().any(|s| {
        !matches!(
            s.action,
            Action::WaitHealthy { .. } | Action::RecordActive { .. }
        )
    });
    if builds {
        teardown::before_deploy(b, Mark::START, c);
    }
    listeners::route_test(b, c);
    smoke(b, c);
    let spec = b.spec;
    listeners::ensure(
        b,
        &spec.production,
        Weights::all_on(c),
        Reason::AllProductionOn { color: c },
    );
    listeners::remove_strays(b);
    scaling_on(b, c);
    listeners::record_active(b, c, None);
    PlanKind::FirstDeploy {
        color: c,
        release: release.clone(),
    }
}

/// `active` is live: the plan's release is live too (in-place changes), or was
/// rolled back (held without `--retry`), or is new (deployed blue-green).
/// Returns the plan's kind and where traffic goes home on a failure.
pub(super) fn next(b: &mut Builder, active: Color, release: &Release) -> (PlanKind, Option<Color>) {
    let obs = b.obs;
    // The live release, or a live colour whose fleet is gone (rebuilt in
    // place at once: traffic is already there, a blue-green shift from a
    // dead fleet would only prolong the outage).
    if obs.release_of(active) == Some(release.fingerprint.as_str())
        || obs.fleets.get(active).is_none()
    {
        steady::steady(b, active, release);
        return (PlanKind::InPlace, None);
    }
    match rolled_back_at(obs, active.other(), release) {
        // A release that was rolled back is not redeployed by a scheduled
        // apply: only `--retry` or a changed release moves on.
        Some((at, why)) if !b.opts.retry => {
            let to = active.other();
            b.notes.push(Note::RolledBackHeld {
                release: release.fingerprint.clone(),
                at,
                color: to,
                why,
            });
            // The test listener stays on the rejected release, for inspection.
            steady::listeners_on(b, active, false);
            listeners::remove_strays(b);
            (PlanKind::InPlace, None)
        }
        _ => (new_release(b, active, release), Some(active)),
    }
}

/// When `release` was rolled back, by the mark on colour `c` or on the
/// other one (a release rolled back on green, whose colour then took
/// another release, is still rejected when the plan brings it back onto
/// blue): the time and why.
fn rolled_back_at(
    obs: &Observed,
    c: Color,
    release: &Release,
) -> Option<(Timestamp, Option<String>)> {
    [c, c.other()].into_iter().find_map(|c| {
        let fleet = obs.fleets.get(c).as_ref()?;
        let (fp, at) = fleet.rolled_back.as_ref()?;
        (fp == &release.fingerprint).then(|| (*at, fleet.rolled_back_why.clone()))
    })
}

/// What differs between the live release on `active` and `release`, setting by
/// setting ([`LaunchField`]): the image when nothing else shows; user data
/// only as a hash when the plan says it is sensitive.
fn release_fields(b: &Builder, active: Color, release: &Release) -> Vec<FieldChange> {
    let image = FieldChange::new(
        LaunchField::Image,
        b.obs.image_of(active).map(str::to_string),
        Some(release.data.image_id.clone()),
    );
    let Some(live) = b.obs.version_of(active) else {
        return vec![image];
    };
    let sensitive = b.spec.fleet.user_data_sensitive;
    let fields: Vec<FieldChange> = LaunchField::differences(&live.data, &release.data, sensitive)
        .into_iter()
        .map(|(field, old, new)| FieldChange::new(field, old, new))
        .collect();
    if fields.is_empty() {
        vec![image]
    } else {
        fields
    }
}

/// Deploy `release` to the idle colour, shift to it, promote it, and tear the
/// old colour down when its rollback window has passed.
fn new_release(b: &mut Builder, active: Color, release: &Release) -> PlanKind {
    let spec = b.spec;
    let to = active.other();
    production_settings(b, active);
    listeners::remove_strays(b);
    b.scope = Scope::Release;
    let reached = take_back_abandoned(b, active, release);
    let resume_at = (reached > 0).then_some(reached);
    let mark = b.mark();
    let change = b.change(
        ChangeAction::Replace,
        Resource::Release {
            color: to,
            fingerprint: None,
        },
        release_fields(b, active, release),
        match resume_at {
            Some(at) => Reason::ResumeShift {
                from: active,
                to,
                at,
            },
            None => Reason::BlueGreen {
                to,
                rule: (spec.production.rule.as_ref()).map(|r| (r.priority, spec.production.port)),
                steps: spec.rollout.steps.clone(),
            },
        },
    );
    b.decide(Some(change), []);
    build_color(b, to, release);
    let builds = b.steps[mark.steps()..]
        .iter()
        .any(|s| !matches!(s.action, Action::WaitHealthy { .. }));
    if builds {
        teardown::before_deploy(b, mark, to);
    }
    listeners::route_test(b, to);
    if !spec.rollout.auto_promote && !b.opts.promote && resume_at.is_none() {
        return hold_for_promotion(b, active, release, mark);
    }
    smoke(b, to);
    // The policy comes with production traffic: an idle colour with a CPU
    // policy would scale itself in.
    scaling_on(b, to);
    shift(b, to, reached);
    set_timeline(b, active, to, false);
    listeners::record_active(b, to, Some(active));
    // Live after all (`--retry`): the marks of its rollback go, on either
    // colour. A mark for another release stays: it keeps that release
    // from being deployed again without --retry.
    for c in [to, active] {
        let marked = b.obs.fleets.get(c).as_ref().is_some_and(|f| {
            f.rolled_back
                .as_ref()
                .is_some_and(|(fp, _)| *fp == release.fingerprint)
        });
        if marked {
            b.then(
                Action::ClearRolledBack { color: c },
                Reason::NoLongerRolledBack,
            );
        }
    }
    scaling_off(b, active, Reason::NoLongerServes);
    if spec.rollout.watch_secs > 0 {
        b.then(
            Action::Watch {
                color: to,
                secs: spec.rollout.watch_secs,
            },
            Reason::WatchAfterPromotion { from: active },
        );
    }
    b.scope = Scope::Teardown;
    teardown::teardown_idle(b, to, true);
    release_kind(b, active, release, resume_at)
}

/// The production listener has the plan's protocol and certificate (or is
/// created, all on `active`) before a release shifts through it: an in-place
/// change, weights as they are.
fn production_settings(b: &mut Builder, active: Color) {
    let spec = b.spec;
    if listeners::settings_match(b, &spec.production) {
        return;
    }
    let weights = b
        .obs
        .weights_at(spec.production.weights_at())
        .unwrap_or(Weights::all_on(active));
    b.in_scope(Scope::InPlace, |b| {
        listeners::ensure(
            b,
            &spec.production,
            weights,
            Reason::ProductionSettingsDiffer,
        )
    });
}

/// Production weight on `to` for a release that is no longer the plan's
/// (an abandoned in-flight one) goes back to `active` first. Returns the share of
/// production the plan's release on `to` already reached.
fn take_back_abandoned(b: &mut Builder, active: Color, release: &Release) -> u32 {
    let spec = b.spec;
    let to = active.other();
    let prod = b.obs.weights_at(spec.production.weights_at());
    let reached = prod.map(|w| w.share(to)).unwrap_or(0);
    if reached == 0 || b.obs.release_of(to) == Some(release.fingerprint.as_str()) {
        return reached;
    }
    let change = b.change(
        ChangeAction::Update,
        Resource::Listener {
            port: spec.production.port,
            role: spec.production.role,
            rule: spec.production.rule.as_ref().map(|r| r.priority),
        },
        vec![FieldChange::new(
            crate::model::key::ListenerKey::Weights,
            prod.map(|w| w.to_string()),
            Some(Weights::all_on(active).to_string()),
        )],
        Reason::AbandonedRelease { color: to },
    );
    // Everyone home at once: no session keeps a user on the abandoned colour.
    let action = Action::SetWeights {
        weights: Weights::all_on(active),
        affinity_secs: 0,
    };
    b.decide(
        Some(change),
        [step(action, Reason::AbandonInFlight { color: to })],
    );
    0
}

/// auto_promote = false: build, smoke-test and stop for a person; or, when
/// that already happened, say that it waits.
fn hold_for_promotion(b: &mut Builder, active: Color, release: &Release, mark: Mark) -> PlanKind {
    let to = active.other();
    let only_waits = b.steps[mark.steps()..]
        .iter()
        .all(|s| matches!(s.action, Action::WaitHealthy { .. }));
    if only_waits {
        // Built, healthy, smoke-tested before: it waits for a person, and
        // this plan has nothing of the release to do.
        b.retract(mark);
        b.notes.push(Note::AwaitsPromotion {
            color: to,
            release: release.fingerprint.clone(),
            active,
        });
        return PlanKind::InPlace;
    }
    smoke(b, to);
    b.then(Action::AwaitPromotion { color: to }, Reason::PersonPromotes);
    set_timeline(b, active, to, true);
    release_kind(b, active, release, None)
}

/// The shift: each step above `reached` sets the weights and bakes; a
/// resumed shift first bakes again at the step it reached.
fn shift(b: &mut Builder, to: Color, reached: u32) {
    let rollout = &b.spec.rollout;
    if reached > 0 {
        b.then(
            Action::Bake {
                color: to,
                weight: reached,
                secs: rollout.bake_secs,
            },
            Reason::ResumeBake,
        );
    }
    for &w in rollout.steps.iter().filter(|&&w| w > reached) {
        b.then(
            Action::SetWeights {
                weights: Weights::split(to, w),
                affinity_secs: rollout.session_affinity_secs,
            },
            Reason::Step { weight: w },
        );
        b.then(
            Action::Bake {
                color: to,
                weight: w,
                secs: rollout.bake_secs,
            },
            Reason::BakeAt { weight: w },
        );
    }
}

/// The plan's timeline, and a note when the metric gates need longer than
/// the bake to judge: each step then takes their time, not the bake's.
fn set_timeline(b: &mut Builder, active: Color, to: Color, awaits_promotion: bool) {
    b.timeline = Some(timeline(b, active, to, awaits_promotion));
    let rollout = &b.spec.rollout;
    if rollout.step_minimum_secs() > rollout.bake_secs {
        b.notes.push(Note::GatesOutlastBake {
            bake_secs: rollout.bake_secs,
            least_secs: rollout.step_minimum_secs(),
        });
    }
}

/// The rollout at a glance, from the shift steps planned so far (or, when
/// the release waits for promotion, from the steps the promotion will run).
fn timeline(b: &Builder, active: Color, to: Color, awaits_promotion: bool) -> Timeline {
    let spec = b.spec;
    let at = |weight: u32, bake_secs: u64| TimelineStep {
        weight,
        weights: Weights::split(to, weight),
        bake_secs,
        min_secs: spec.rollout.step_minimum_secs().max(bake_secs),
    };
    let steps: Vec<TimelineStep> = if awaits_promotion {
        spec.rollout
            .steps
            .iter()
            .map(|&w| at(w, spec.rollout.bake_secs))
            .collect()
    } else {
        b.steps
            .iter()
            .filter_map(|s| match s.action {
                Action::Bake { weight, secs, .. } => Some(at(weight, secs)),
                _ => None,
            })
            .collect()
    };
    let gates = spec.rollout.gates.clone();
    Timeline {
        from: active,
        to,
        bake_total_secs: steps.iter().map(|s| s.bake_secs).sum(),
        steps,
        gates,
        health_timeout_secs: spec.rollout.health_timeout_secs,
        extra_instances: spec.fleet.capacity.desired,
        rollback_window_secs: spec.teardown.delay_secs,
        teardown_policy: spec.teardown.policy,
        awaits_promotion,
        session_affinity_secs: spec.rollout.session_affinity_secs,
        stickiness_secs: spec.target_group.attributes.stickiness_secs,
        watch_secs: spec.rollout.watch_secs,
    }
}

fn release_kind(b: &Builder, active: Color, release: &Release, resume_at: Option<u32>) -> PlanKind {
    PlanKind::Release {
        from: active,
        to: active.other(),
        from_release: b.obs.release_of(active).map(str::to_string),
        from_image: b.obs.image_of(active).map(str::to_string),
        release: release.clone(),
        resume_at,
    }
}

/// The smoke tests, when the plan has any.
fn smoke(b: &mut Builder, c: Color) {
    let checks = b.spec.rollout.smoke.clone();
    if !checks.is_empty() {
        b.then(Action::Smoke { color: c, checks }, Reason::BeforeProduction);
    }
}
