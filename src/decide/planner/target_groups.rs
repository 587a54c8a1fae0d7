//! Both target groups exist from the first deploy on, with the plan's health
//! check and attributes; differences are in-place updates. Port, protocol
//! and VPC cannot change in place: the planner refuses.

use super::{step, Adoptable, Builder, PlanError};
use crate::model::observed::{Observed, TargetGroup};
use crate::model::plan::{Action, ChangeAction, Resource, TargetGroupConfig};
use crate::model::reason::Reason;
use crate::model::Color;
use crate::spec::Spec;

/// A target group or Auto Scaling group with a colour's name whose tags
/// say it is not that colour's stops the plan before anything is made:
/// registering the app's instances in someone else's target group, or
/// resizing their group, is never a deployment step.
pub(super) fn not_adopted(spec: &Spec, obs: &Observed) -> Result<(), PlanError> {
    for color in Color::ALL {
        let tg = obs.target_groups.get(color).as_ref();
        let fleet = obs.fleets.get(color).as_ref();
        let held = [
            tg.and_then(|t| Some((Adoptable::TargetGroup, t.name.clone(), t.held_by.clone()?))),
            fleet.and_then(|f| Some((Adoptable::Fleet, f.name.to_string(), f.held_by.clone()?))),
        ];
        if let Some((kind, name, holder)) = held.into_iter().flatten().next() {
            return Err(PlanError::NotAdopted {
                kind,
                name,
                app: spec.app.clone(),
                color,
                holder,
            });
        }
    }
    Ok(())
}

pub(super) fn target_groups(b: &mut Builder) -> Result<(), PlanError> {
    for c in Color::ALL {
        match b.obs.target_groups.get(c) {
            None => create(b, c),
            Some(live) => update(b, c, live)?,
        }
    }
    Ok(())
}

fn create(b: &mut Builder, c: Color) {
    let tg = &b.spec.target_group;
    let name = b.spec.resource_name(c);
    let change = b.change(
        ChangeAction::Create,
        Resource::TargetGroup { name: name.clone() },
        vec![],
        Reason::NewTargetGroup {
            protocol: tg.protocol,
            port: tg.port,
            vpc_id: tg.vpc_id.clone(),
        },
    );
    let action = Action::CreateTargetGroup {
        color: c,
        config: TargetGroupConfig {
            name,
            port: tg.port,
            protocol: tg.protocol,
            vpc_id: tg.vpc_id.clone(),
            health_check: tg.health_check.clone(),
            attributes: tg.attributes,
        },
    };
    b.decide(Some(change), [step(action, Reason::DoesNotExist)]);
}

fn update(b: &mut Builder, c: Color, live: &TargetGroup) -> Result<(), PlanError> {
    let tg = &b.spec.target_group;
    let name = b.spec.resource_name(c);
    let immutable = [
        ("port", live.port.to_string(), tg.port.to_string()),
        (
            "protocol",
            live.protocol.to_string(),
            tg.protocol.to_string(),
        ),
        ("vpc_id", live.vpc_id.clone(), tg.vpc_id.clone()),
    ];
    if let Some((field, live, wanted)) = immutable.into_iter().find(|(_, l, w)| l != w) {
        return Err(PlanError::ImmutableTargetGroup {
            name,
            field,
            live,
            wanted,
        });
    }
    let mut fields = live.health_check.diff(&tg.health_check);
    fields.extend(live.attributes.diff(&tg.attributes));
    if fields.is_empty() {
        return Ok(());
    }
    let health_check = (live.health_check != tg.health_check).then(|| tg.health_check.clone());
    let change = b.change(
        ChangeAction::Update,
        Resource::TargetGroup { name },
        fields,
        Reason::InPlace,
    );
    let action = Action::UpdateTargetGroup {
        color: c,
        health_check,
        attributes: live.attributes.changes_to(&tg.attributes),
    };
    b.decide(Some(change), [step(action, Reason::DiffersFromPlan)]);
    Ok(())
}
