//! Listeners (created, or set to the plan's protocol, certificate and
//! weights) and the active-colour record.

use super::{step, Builder, PlanError};
use crate::model::observed::{Observed, Owner};
use crate::model::plan::{Action, ChangeAction, FieldChange, ListenerConfig, Resource, Scope};
use crate::model::reason::Reason;
use crate::model::{Color, Weights};
use crate::spec::ListenerSpec;
use crate::spec::Spec;

/// Every listener the plan names without a `rule` is the app's, or does
/// not exist yet: another app's listener, or one forwarding to target
/// groups not the app's, or answering with something else, stops the plan
/// before anything is made (where the plan has a `rule`, the listener is
/// someone else's by design, and only the app's rule is written).
pub(super) fn owned(spec: &Spec, obs: &Observed) -> Result<(), PlanError> {
    let own = obs.own_target_groups();
    for l in spec.listeners().filter(|l| l.rule.is_none()) {
        let Some(live) = obs.listener(l.port) else {
            continue;
        };
        if let Owner::Other(holder) = live.owner(&spec.app, &own) {
            return Err(PlanError::ListenerTaken {
                load_balancer: spec.load_balancer.clone(),
                port: l.port,
                holder,
                app: spec.app.clone(),
            });
        }
    }
    // A target group serves one load balancer (AWS): the app's colours
    // still used by another (a renamed `load_balancer.name`) would leave
    // that one's listeners forwarding to a colour a teardown empties.
    let here = obs.load_balancer.as_ref().map(|lb| &lb.arn);
    for tg in obs.target_groups.iter().flatten() {
        if let Some(other) = tg.load_balancers.iter().find(|lb| Some(*lb) != here) {
            return Err(PlanError::TargetGroupElsewhere {
                name: tg.name.clone(),
                load_balancer: other.to_string(),
                plan_lb: spec.load_balancer.clone(),
            });
        }
    }
    // A listener the plan no longer names goes only when it serves nobody
    // else: deleting a listener deletes its rules.
    for stray in &obs.strays {
        let holders: Vec<String> = obs
            .other_rules
            .iter()
            .filter(|o| o.port == stray.port)
            .map(|o| match &o.app {
                Some(app) => format!("app {app:?}'s rule {}", o.priority),
                None => format!("rule {}", o.priority),
            })
            .collect();
        if !holders.is_empty() {
            return Err(PlanError::StrayShared {
                port: stray.port,
                holders: holders.join(", "),
            });
        }
    }
    Ok(())
}

/// The plan's listeners (no `rule`) with their config.
fn whole_listeners(spec: &Spec) -> impl Iterator<Item = &ListenerSpec> {
    spec.listeners().filter(|l| l.rule.is_none())
}

fn resource_of(l: &ListenerSpec) -> Resource {
    Resource::Listener {
        port: l.port,
        role: l.role,
        rule: l.rule.as_ref().map(|r| r.priority),
    }
}

/// Listeners of the app made before cutover tagged its listeners (they
/// forward only to the app's target groups), or given to it by their
/// owner's cutover:app tag alone, get its tags: written in place, nothing
/// else moves.
pub(super) fn tag_untagged(b: &mut Builder) {
    let (spec, obs) = (b.spec, b.obs);
    let own = obs.own_target_groups();
    for l in whole_listeners(spec) {
        let Some(Owner::App { tagged, role: None }) =
            obs.listener(l.port).map(|live| live.owner(&spec.app, &own))
        else {
            continue;
        };
        let mut fields = Vec::new();
        let why = if tagged {
            Reason::TagRole {
                port: l.port,
                app: spec.app.clone(),
            }
        } else {
            fields.push(FieldChange::new(
                crate::model::key::ListenerKey::AppTag,
                None,
                Some(spec.app.clone()),
            ));
            Reason::TagUntagged {
                port: l.port,
                app: spec.app.clone(),
            }
        };
        fields.push(FieldChange::new(
            crate::model::key::ListenerKey::RoleTag,
            None,
            Some(l.role.to_string()),
        ));
        b.in_scope(Scope::InPlace, |b| {
            let change = b.change(ChangeAction::Update, resource_of(l), fields, why);
            let action = Action::TagListener {
                port: l.port,
                role: l.role,
            };
            b.decide(Some(change), [step(action, Reason::OwnerInTags)]);
        });
    }
}

/// The plan gives listeners of the app other roles than their tags say
/// (production and test swapped): the listener becoming production first
/// takes the weights of the one tagged production, then both are tagged
/// anew. Returns whether it did: the roles change in a plan of their own,
/// since until then production is where the tags say.
pub(super) fn swap_roles(b: &mut Builder) -> bool {
    let (spec, obs) = (b.spec, b.obs);
    let own = obs.own_target_groups();
    let tagged_role = |port: u16| match obs.listener(port).map(|l| l.owner(&spec.app, &own)) {
        Some(Owner::App {
            tagged: true,
            role: Some(r),
        }) => Some(r),
        _ => None,
    };
    let moved: Vec<&ListenerSpec> = whole_listeners(spec)
        .filter(|l| tagged_role(l.port).is_some_and(|r| r != l.role.to_string()))
        .collect();
    if moved.is_empty() {
        return false;
    }
    b.notes.push(crate::model::plan::Note::RolesFirst);
    let production_now = obs
        .listeners
        .iter()
        .find(|l| tagged_role(l.port).as_deref() == Some("production"));
    let weights = production_now.and_then(|l| obs.weights(&l.forward));
    b.in_scope(Scope::InPlace, |b| {
        for l in moved {
            let was = tagged_role(l.port);
            if l.port == spec.production.port {
                if let Some(w) = weights {
                    ensure(b, l, w, Reason::BecomesProduction);
                }
            }
            let change = b.change(
                ChangeAction::Update,
                resource_of(l),
                vec![FieldChange::new(
                    crate::model::key::ListenerKey::Role,
                    was,
                    Some(l.role.to_string()),
                )],
                Reason::RoleChanged {
                    port: l.port,
                    role: l.role,
                },
            );
            let action = Action::TagListener {
                port: l.port,
                role: l.role,
            };
            b.decide(Some(change), [step(action, Reason::NewRoleInTags)]);
        }
    });
    true
}

/// The app's listeners on ports the plan no longer names go, once the
/// listeners it names are in place (call after them): shown in the plan,
/// never left forwarding to a colour a teardown will empty.
pub(super) fn remove_strays(b: &mut Builder) {
    let obs = b.obs;
    for stray in &obs.strays {
        let forwards = obs.weights(&stray.forward);
        b.in_scope(Scope::InPlace, |b| {
            let change = b.change(
                ChangeAction::Destroy,
                Resource::OldListener { port: stray.port },
                vec![],
                Reason::NoLongerNamed { forwards },
            );
            let action = Action::DeleteListener {
                port: stray.port,
                arn: stray.arn.clone(),
            };
            b.decide(Some(change), [step(action, Reason::StrayListener)]);
        });
    }
}

/// The listener's protocol and certificate are the plan's; with a rule,
/// the app's rule matches and is placed as the plan says.
pub(super) fn settings_match(b: &Builder, l: &ListenerSpec) -> bool {
    match &l.rule {
        Some(want) => b
            .obs
            .rule(l.port)
            .is_some_and(|live| live.rule.priority == want.priority && live.rule.same_match(want)),
        // A rule of the app the plan no longer has is a difference too.
        None => {
            b.obs.rule(l.port).is_none()
                && b.obs.listener(l.port).is_some_and(|live| {
                    live.protocol == l.protocol && live.certificate_arn == l.certificate_arn
                })
        }
    }
}

/// Where the plan has a rule, the listener exists and no one else's rule
/// holds its priority: checked before anything is created.
pub(super) fn shared_listeners_ready(spec: &Spec, obs: &Observed) -> Result<(), PlanError> {
    for l in spec.listeners() {
        let Some(rule) = &l.rule else { continue };
        if obs.listener(l.port).is_none() {
            return Err(PlanError::SharedListenerMissing {
                load_balancer: spec.load_balancer.clone(),
                port: l.port,
            });
        }
        let taken = obs
            .other_rules
            .iter()
            .find(|o| o.port == l.port && o.priority == rule.priority);
        if let Some(other) = taken {
            return Err(PlanError::RulePriorityTaken {
                port: l.port,
                priority: rule.priority,
                holder: match &other.app {
                    Some(app) => format!("app {app:?}'s rule {}", other.arn),
                    None => format!("rule {}", other.arn),
                },
            });
        }
    }
    Ok(())
}

/// The listener (or the app's rule on it) forwards `weights` with the
/// plan's settings.
pub(super) fn ensure(b: &mut Builder, l: &ListenerSpec, weights: Weights, reason: Reason) {
    let obs = b.obs;
    let resource = Resource::Listener {
        port: l.port,
        role: l.role,
        rule: l.rule.as_ref().map(|r| r.priority),
    };
    let exists = match &l.rule {
        Some(_) => obs.rule(l.port).is_some(),
        None => obs.listener(l.port).is_some(),
    };
    let change = if exists {
        let mut fields = setting_changes(b, l);
        let current = obs.weights_at(l.weights_at());
        if current != Some(weights) {
            fields.push(FieldChange::new(
                crate::model::key::ListenerKey::Weights,
                current.map(|w| w.to_string()),
                Some(weights.to_string()),
            ));
        }
        b.change(ChangeAction::Update, resource, fields, reason.clone())
    } else {
        let mut fields = Vec::new();
        if let Some(rule) = &l.rule {
            fields.push(FieldChange::new(
                crate::model::key::ListenerKey::Matches,
                None,
                Some(rule.matches_text()),
            ));
        }
        fields.push(FieldChange::new(
            crate::model::key::ListenerKey::Weights,
            None,
            Some(weights.to_string()),
        ));
        b.change(ChangeAction::Create, resource, fields, reason.clone())
    };
    let action = Action::EnsureListener {
        config: ListenerConfig {
            role: l.role,
            port: l.port,
            protocol: l.protocol,
            certificate_arn: l.certificate_arn.clone(),
            rule: l.rule.clone(),
        },
        weights,
    };
    let mut steps = vec![step(action, reason)];
    // The plan dropped the app's rule here: the listener's default action
    // forwards now (the step before), then the rule goes, so the requests
    // it matched never stop reaching a colour.
    if let (None, Some(_)) = (&l.rule, obs.rule(l.port)) {
        steps.push(step(
            Action::DeleteRule { port: l.port },
            Reason::RuleDropped,
        ));
    }
    b.decide(Some(change), steps);
}

/// What differs between the plan's listener (or rule) and the live one,
/// weights aside.
fn setting_changes(b: &Builder, l: &ListenerSpec) -> Vec<FieldChange> {
    let obs = b.obs;
    match (&l.rule, obs.rule(l.port), obs.listener(l.port)) {
        (Some(want), Some(live), _) => {
            let mut fields: Vec<FieldChange> = FieldChange::differs(
                crate::model::key::ListenerKey::Priority,
                live.rule.priority,
                want.priority,
            )
            .into_iter()
            .collect();
            if !live.rule.same_match(want) {
                fields.push(FieldChange::new(
                    crate::model::key::ListenerKey::Matches,
                    Some(live.rule.matches_text()),
                    Some(want.matches_text()),
                ));
            }
            fields
        }
        (None, dropped, Some(live)) => {
            let mut fields: Vec<FieldChange> = FieldChange::differs(
                crate::model::key::ListenerKey::Protocol,
                live.protocol,
                l.protocol,
            )
            .into_iter()
            .collect();
            if let Some(r) = dropped {
                fields.push(FieldChange::new(
                    crate::model::key::ListenerKey::Rule,
                    Some(format!("{} ({})", r.rule.priority, r.rule.matches_text())),
                    None,
                ));
            }
            if live.certificate_arn != l.certificate_arn {
                fields.push(FieldChange::new(
                    crate::model::key::ListenerKey::CertificateArn,
                    live.certificate_arn.clone(),
                    l.certificate_arn.clone(),
                ));
            }
            fields
        }
        _ => Vec::new(),
    }
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
                Reason::TestTrafficFirst { color: c },
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
            crate::model::key::Key::ParameterValue,
            current.map(|c| c.to_string()),
            Some(c.to_string()),
        )],
        Reason::Promote,
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
            Reason::RollbackGoesTo { color: before },
        ));
    }
    steps.push(step(action, Reason::LiveColour { color: c }));
    b.decide(Some(change), steps);
}
