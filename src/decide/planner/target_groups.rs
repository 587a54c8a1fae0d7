//! Both target groups exist from the first deploy on, with the plan's health
//! check and attributes; differences are in-place updates. Port, protocol
//! and VPC cannot change in place: the planner refuses.

use super::{step, Builder, PlanError};
use crate::model::observed::TargetGroup;
use crate::model::plan::{Action, ChangeAction, Resource, TargetGroupConfig};
use crate::model::reason::Reason;
use crate::model::Color;

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
