//! Building a colour: its target group, its launch template version, its
//! fleet at the release (made, updated or recycled) and its scaling. Both a
//! new release and a repair of the live colour build through here.

use super::{step, Builder};
use crate::model::observed::{Fleet, Observed};
use crate::model::plan::{Action, ChangeAction, FieldChange, FleetConfig, Resource};
use crate::model::reason::Reason;
use crate::model::{names, Color, Release};
use crate::spec::Spec;

/// The plan's scaling policy on colour `c`, as it takes production traffic
/// (unless it has it already).
pub(super) fn scaling_on(b: &mut Builder, c: Color) {
    let Some(scaling) = b.spec.fleet.scaling else {
        return;
    };
    if b.obs.fleets.get(c).as_ref().and_then(|f| f.scaling) == Some(scaling) {
        return;
    }
    b.then(
        Action::SetScaling {
            color: c,
            scaling: Some(scaling),
        },
        Reason::PolicyWithProduction,
    );
}

/// Colour `c` loses cutover's scaling policy, if it has one.
pub(super) fn scaling_off(b: &mut Builder, c: Color, why: Reason) {
    if b.obs
        .fleets
        .get(c)
        .as_ref()
        .is_some_and(|f| f.scaling.is_some())
    {
        b.then(
            Action::SetScaling {
                color: c,
                scaling: None,
            },
            why,
        );
    }
}

/// The capacity colour `c` gets. With a scaling policy, the policy moves
/// the desired capacity and cutover does not fight it: a colour that
/// serves keeps its own, within the plan's [min, max]; a colour about to
/// serve starts at what the serving one has now, at least the plan's.
/// Without one, the plan's capacity.
pub(super) fn capacity_for(spec: &Spec, obs: &Observed, c: Color) -> crate::model::Capacity {
    let plan = spec.fleet.capacity;
    if spec.fleet.scaling.is_none() {
        return plan;
    }
    let live = |c: Color| obs.fleets.get(c).as_ref().map(|f| f.capacity.desired);
    let serves = obs
        .weights_at(spec.production.weights_at())
        .is_some_and(|w| w.share(c) > 0);
    let desired = match serves {
        true => live(c).unwrap_or(plan.desired),
        false => live(c.other()).unwrap_or(0).max(plan.desired),
    };
    crate::model::Capacity {
        desired: desired.clamp(plan.min.max(1), plan.max),
        ..plan
    }
}

pub(super) fn fleet_config(
    spec: &Spec,
    obs: &Observed,
    c: Color,
    release: &Release,
) -> FleetConfig {
    FleetConfig {
        name: names::fleet(&spec.app, c),
        release: release.fingerprint.clone(),
        capacity: capacity_for(spec, obs, c),
        subnets: spec.fleet.subnets.clone(),
        spot: spec.fleet.spot,
        instance_types: spec.fleet.instance_types.clone(),
        on_demand_base: spec.fleet.on_demand_base,
        health_check_grace_secs: spec.fleet.health_check_grace_secs,
        warmup_secs: spec.fleet.warmup_secs,
    }
}

/// How a fleet's group settings (instance mix, health check grace,
/// warmup) differ from what `want` says: new instances use them, running
/// ones take them at the next release.
pub(super) fn group_setting_changes(
    f: &crate::model::observed::Fleet,
    want: &FleetConfig,
) -> Vec<FieldChange> {
    want.group_settings().differences(&f.group_settings())
}

/// Steps that make colour `c` run `release` at full capacity, healthy.
pub(super) fn build_color(b: &mut Builder, c: Color, release: &Release) {
    let spec = b.spec;
    let has_version = b
        .obs
        .launch_template
        .as_ref()
        .is_some_and(|lt| lt.version_of(&release.fingerprint).is_some());
    if !has_version {
        let change = b.change(
            ChangeAction::Create,
            Resource::LaunchTemplateVersion {
                name: spec.launch_template_name(),
            },
            vec![],
            Reason::NewVersion {
                release: release.fingerprint.clone(),
                image: release.data.image_id.clone(),
                instance_type: release.data.type_text().to_string(),
            },
        );
        let action = Action::CreateLaunchTemplateVersion {
            name: spec.launch_template_name(),
            release: release.clone(),
        };
        b.decide(Some(change), [step(action, Reason::NoVersionYet)]);
    }
    ensure_fleet(b, c, release);
    b.then(
        Action::WaitHealthy {
            color: c,
            count: capacity_for(spec, b.obs, c).desired,
            timeout_secs: spec.rollout.health_timeout_secs,
        },
        Reason::HealthyWithin {
            secs: spec.rollout.health_timeout_secs,
        },
    );
}

/// Why fleet `f` must be emptied before `release` starts on it, if it must.
fn recycle_reason(f: &Fleet, release: &Release) -> Option<Reason> {
    let same_release = f.release.as_deref() == Some(release.fingerprint.as_str());
    if !same_release && (f.capacity.desired > 0 || !f.instances.is_empty()) {
        Some(Reason::RunsOtherRelease {
            fleet: f.name.to_string(),
            release: f.release.clone(),
        })
    } else if !f.older.is_empty() {
        // Tagged with this release, yet running instances of an older
        // launch template version (a capacity of 0 then N that Auto
        // Scaling never acted on in between): they are not the release.
        Some(Reason::OlderInstances {
            fleet: f.name.to_string(),
            count: f.older.len(),
            release: release.fingerprint.clone(),
        })
    } else {
        None
    }
}

/// Colour `c`'s fleet runs `release` with the plan's capacity and settings,
/// on fresh instances when it ran another release.
fn ensure_fleet(b: &mut Builder, c: Color, release: &Release) {
    let want = fleet_config(b.spec, b.obs, c, release);
    let Some(f) = b.obs.fleets.get(c).as_ref() else {
        let change = b.change(
            ChangeAction::Create,
            Resource::Fleet {
                name: want.name.clone(),
            },
            vec![],
            Reason::NewFleet {
                capacity: want.capacity,
            },
        );
        let action = Action::EnsureFleet {
            color: c,
            config: want,
        };
        b.decide(Some(change), [step(action, Reason::DoesNotExist)]);
        return;
    };
    let same_release = f.release.as_deref() == Some(release.fingerprint.as_str());
    let recycle = recycle_reason(f, release);
    if let Some(reason) = &recycle {
        b.then(Action::RecycleFleet { color: c }, reason.clone());
    }
    let attached = b.obs.attached(c);
    if recycle.is_none()
        && same_release
        && f.capacity == want.capacity
        && f.subnets == want.subnets
        && f.group_settings() == want.group_settings()
        && attached
    {
        return;
    }
    let mut fields: Vec<FieldChange> = [
        (f.release != Some(release.fingerprint.clone())).then(|| {
            FieldChange::new(
                crate::model::key::FleetKey::Release,
                f.release.clone(),
                Some(release.fingerprint.clone()),
            )
        }),
        FieldChange::differs(
            crate::model::key::FleetKey::Capacity,
            f.capacity,
            want.capacity,
        ),
        (!f.older.is_empty()).then(|| {
            FieldChange::new(
                crate::model::key::FleetKey::OlderInstances,
                Some(f.older.len().to_string()),
                Some("0".to_string()),
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    fields.extend(group_setting_changes(f, &want));
    let change = b.change(
        ChangeAction::Update,
        Resource::Fleet {
            name: want.name.clone(),
        },
        fields,
        Reason::ScaleUpWithRelease,
    );
    let action = Action::EnsureFleet {
        color: c,
        config: want,
    };
    b.decide(Some(change), [step(action, Reason::BringFleetToPlan)]);
}
