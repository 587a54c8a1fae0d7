//! The plan's release is live on the active colour: in-place changes to its
//! fleet, listeners back on the active colour, and the old colour's teardown.

use super::colour::{build_color, fleet_config, group_setting_changes};
use super::{listeners, step, teardown, Builder};
use crate::model::observed::Fleet;
use crate::model::plan::{Action, ChangeAction, FieldChange, Note, Resource, Scope};
use crate::model::reason::Reason;
use crate::model::{Color, Release, Weights};

pub(super) fn steady(b: &mut Builder, active: Color, release: &Release) {
    match b.obs.fleets.get(active).as_ref() {
        None => {
            b.notes.push(Note::FleetRebuilt { color: active });
            b.in_scope(Scope::Repair, |b| build_color(b, active, release));
        }
        Some(f) => fleet_in_place(b, active, f, release),
    }
    listeners_on(b, active, true);
    listeners::remove_strays(b);
    teardown::teardown_idle(b, active, false);
}

/// The active fleet's capacity and settings, updated in place.
fn fleet_in_place(b: &mut Builder, active: Color, f: &Fleet, release: &Release) {
    let want = fleet_config(b.spec, b.obs, active, release);
    scaling_in_place(b, active, f);
    if f.capacity != want.capacity {
        let change = b.change(
            ChangeAction::Update,
            Resource::Fleet {
                name: f.name.clone(),
            },
            FieldChange::differs(
                crate::model::key::FleetKey::Capacity,
                f.capacity,
                want.capacity,
            )
            .into_iter()
            .collect(),
            Reason::InPlace,
        );
        let action = Action::SetCapacity {
            color: active,
            capacity: want.capacity,
        };
        b.decide(Some(change), [step(action, Reason::CapacityDiffers)]);
    }
    let attached = b.obs.attached(active);
    if f.subnets == want.subnets && f.group_settings() == want.group_settings() && attached {
        return;
    }
    let mut fields = group_setting_changes(f, &want);
    let reason = if fields.is_empty() {
        Reason::InPlace
    } else {
        Reason::InPlaceForNewInstances
    };
    fields.extend(FieldChange::differs(
        crate::model::key::FleetKey::Subnets,
        f.subnets.join(","),
        want.subnets.join(","),
    ));
    if !attached {
        fields.push(FieldChange::new(
            crate::model::key::FleetKey::TargetGroup,
            None,
            Some(b.spec.resource_name(active)),
        ));
    }
    let change = b.change(
        ChangeAction::Update,
        Resource::Fleet {
            name: f.name.clone(),
        },
        fields,
        reason,
    );
    let action = Action::EnsureFleet {
        color: active,
        config: want,
    };
    b.decide(Some(change), [step(action, Reason::FleetSettingsDiffer)]);
}

/// The serving colour has the plan's scaling policy (or none when the plan
/// has none); the idle colour has none.
fn scaling_in_place(b: &mut Builder, active: Color, f: &Fleet) {
    let idle = b.obs.fleets.get(active.other()).as_ref();
    let wants = [
        (
            active,
            Some(f),
            b.spec.fleet.scaling,
            Reason::ServingPolicyDiffers,
        ),
        (active.other(), idle, None, Reason::IdlePolicyScalesIn),
    ];
    for (c, fleet, want, why) in wants {
        let Some(fleet) = fleet.filter(|fl| fl.scaling != want) else {
            continue;
        };
        let shown = |s: Option<crate::model::Scaling>| s.map_or("none".into(), |s| s.to_string());
        let change = b.change(
            ChangeAction::Update,
            Resource::Fleet {
                name: fleet.name.clone(),
            },
            FieldChange::differs(
                crate::model::key::FleetKey::Scaling,
                shown(fleet.scaling),
                shown(want),
            )
            .into_iter()
            .collect(),
            Reason::InPlace,
        );
        let action = Action::SetScaling {
            color: c,
            scaling: want,
        };
        b.decide(Some(change), [step(action, why)]);
    }
}

/// Production (and, with `test_too`, the test listener) all on the active
/// colour, as between releases, forwarding nowhere else.
pub(super) fn listeners_on(b: &mut Builder, active: Color, test_too: bool) {
    let spec = b.spec;
    let obs = b.obs;
    let weights_off = |l: &crate::spec::ListenerSpec| {
        obs.weights_at(l.weights_at()) != Some(Weights::all_on(active))
            || obs.foreign_weight_at(l.weights_at()) > 0
    };
    let off = |b: &Builder, l: &crate::spec::ListenerSpec| {
        weights_off(l) || !listeners::settings_match(b, l)
    };
    // Weights no deployment would leave are a repair; settings an update.
    let scope = |l: &crate::spec::ListenerSpec| {
        if weights_off(l) {
            Scope::Repair
        } else {
            Scope::InPlace
        }
    };
    // The test listener follows the active colour between releases.
    if let Some(test) = spec.test.as_ref().filter(|_| test_too) {
        if off(b, test) {
            b.in_scope(scope(test), |b| {
                listeners::ensure(b, test, Weights::all_on(active), Reason::TestFollowsActive)
            });
        }
    }
    if off(b, &spec.production) {
        b.in_scope(scope(&spec.production), |b| {
            listeners::ensure(
                b,
                &spec.production,
                Weights::all_on(active),
                Reason::ProductionOnActive,
            )
        });
    }
}
