//! Listeners (created, or set to the plan's protocol, certificate and
//! weights) and the active-colour record.

use super::{step, Builder};
use crate::model::plan::{Action, ChangeAction, FieldChange, ListenerConfig, Resource};
use crate::model::{Color, Weights};
use crate::spec::ListenerSpec;

/// The listener's protocol and certificate are the plan's.
pub(super) fn settings_match(b: &Builder, l: &ListenerSpec) -> bool {
    b.obs.listener(l.port).is_some_and(|live| {
        live.protocol == l.protocol && live.certificate_arn == l.certificate_arn
    })
}

/// The listener forwards `weights` with the plan's settings.
pub(super) fn ensure(b: &mut Builder, l: &ListenerSpec, weights: Weights, reason: &str) {
    let obs = b.obs;
    let resource = Resource::Listener {
        port: l.port,
        role: l.role,
    };
    let change = match obs.listener(l.port) {
        None => b.change(
            ChangeAction::Create,
            resource,
            vec![FieldChange::new("weights", None, Some(weights.to_string()))],
            reason,
        ),
        Some(live) => {
            let mut fields: Vec<FieldChange> =
                FieldChange::differs("protocol", live.protocol, l.protocol)
                    .into_iter()
                    .collect();
            if live.certificate_arn != l.certificate_arn {
                fields.push(FieldChange::new(
                    "certificate_arn",
                    live.certificate_arn.clone(),
                    l.certificate_arn.clone(),
                ));
            }
            let current = obs.weights_at(l.weights_at());
            if current != Some(weights) {
                fields.push(FieldChange::new(
                    "weights",
                    current.map(|w| w.to_string()),
                    Some(weights.to_string()),
                ));
            }
            b.change(ChangeAction::Update, resource, fields, reason)
        }
    };
    let action = Action::EnsureListener {
        config: ListenerConfig {
            role: l.role,
            port: l.port,
            protocol: l.protocol,
            certificate_arn: l.certificate_arn.clone(),
        },
        weights,
    };
    b.decide(Some(change), [step(action, reason)]);
}

/// The test listener (if the plan has one) sends everything to `c`.
pub(super) fn route_test(b: &mut Builder, c: Color) {
    let spec = b.spec;
    if let Some(test) = &spec.test {
        let current = b.obs.weights_at(test.weights_at());
        if current != Some(Weights::all_on(c)) || !settings_match(b, test) {
            ensure(
                b,
                test,
                Weights::all_on(c),
                &format!("test traffic to {c} before production moves"),
            );
        }
    }
}

/// `c` is recorded as the active colour (promotion), unless it already is;
/// a promotion from `from` records that `from` served before.
pub(super) fn record_active(b: &mut Builder, c: Color, from: Option<Color>) {
    let spec = b.spec;
    let current = b.obs.active.as_ref().map(|a| a.color);
    if current == Some(c) {
        return;
    }
    let change = b.change(
        ChangeAction::Update,
        Resource::ActiveColour {
            parameter: spec.state_parameter.clone(),
        },
        vec![FieldChange::new(
            "value",
            current.map(|c| c.to_string()),
            Some(c.to_string()),
        )],
        "promote",
    );
    let action = Action::RecordActive {
        parameter: spec.state_parameter.clone(),
        color: c,
    };
    let mut steps = Vec::new();
    // A promotion records what served before, so a rollback goes back to it.
    if let Some(before) = from.filter(|f| *f != c) {
        steps.push(step(
            Action::RecordPrevious {
                record: crate::model::plan::PreviousRecord {
                    parameter: crate::model::names::previous_parameter(&spec.state_parameter),
                    promoted: c,
                    color: before,
                    release: b.obs.release_of(before).map(str::to_string),
                    capacity: b
                        .obs
                        .fleets
                        .get(before)
                        .as_ref()
                        .map(|f| f.capacity.desired)
                        .unwrap_or(0)
                        .max(1),
                    rolled_back: false,
                },
            },
            format!("a rollback goes back to {before}"),
        ));
    }
    steps.push(step(action, format!("{c} is the live colour")));
    b.decide(Some(change), steps);
}
