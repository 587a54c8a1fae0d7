//! One snapshot of one app from what a provider listed: the only place
//! `Observed` is made. Which resources are the app's, what their tags
//! and descriptions say, which listener rules are its own and which
//! instances run an older release are decided here for both providers.

use super::listing::{ListedFleet, ListedVersion, Listing};
use super::tags;
use super::AppRef;
use crate::model::freeze::Freeze;
use crate::model::observed::{self, Listener, Observed, OtherRule, Rule};
use crate::model::{names, Color, ListenerArn};

/// `app`'s snapshot. The rules are those of [`rules_to_read`]'s listeners
/// that `listing` holds.
pub fn assemble(app: &AppRef, listing: &Listing) -> Observed {
    let mut obs = resources(app, listing);
    let (ours, others) = rules(app, &obs, listing);
    obs.rules = ours;
    obs.other_rules = others;
    obs
}

/// The listeners whose rules `app`'s snapshot holds: where the plan has a
/// rule, the app's ports whose listener is someone else's, and the app's
/// stray listeners (known once listener tags are listed). A provider reads
/// the rules of those `listing` does not hold yet, and asks again.
pub fn rules_to_read(app: &AppRef, listing: &Listing) -> Vec<ListenerArn> {
    let obs = resources(app, listing);
    rule_listeners(app, &obs)
        .map(|l| l.arn.clone())
        .filter(|arn| !listing.rules.contains_key(arn.as_str()))
        .collect()
}

fn rule_listeners<'a>(app: &AppRef, obs: &'a Observed) -> impl Iterator<Item = &'a Listener> {
    let ports = app.rule_ports_to_read(&obs.listeners, &obs.own_target_groups());
    obs.listeners
        .iter()
        .filter(move |l| ports.contains(&l.port))
        .chain(&obs.strays)
}

/// Everything but the rules.
fn resources(app: &AppRef, listing: &Listing) -> Observed {
    let mut obs = Observed {
        now: listing.now,
        load_balancer: listing.load_balancers.get(&app.load_balancer).cloned(),
        ..Observed::default()
    };
    for c in Color::ALL {
        let name = names::color_resource(&app.app, c);
        *obs.target_groups.get_mut(c) = listing
            .target_groups
            .iter()
            .find(|t| t.group.name == name)
            .map(|t| observed::TargetGroup {
                contract_pending: t.tags.as_ref().and_then(tags::contract_pending),
                held_by: (t.tags.as_ref()).and_then(|t| tags::held_by_other(t, &app.app, c)),
                ..t.group.clone()
            });
        *obs.fleets.get_mut(c) = listing
            .fleets
            .iter()
            .find(|f| f.fleet.name.as_str() == name && !f.deleting)
            .map(|f| observed::Fleet {
                held_by: tags::held_by_other(&f.tags, &app.app, c),
                ..fleet(f, listing)
            });
    }
    obs.launch_template = listing
        .templates
        .get(&names::launch_template(&app.app))
        .map(|t| observed::LaunchTemplate {
            id: t.id.clone(),
            versions: t.versions.iter().map(version).collect(),
        });
    let parameter = |name: &str| listing.parameters.get(name);
    obs.active = parameter(&app.state_parameter).and_then(|p| {
        Some(observed::Active {
            color: Color::parse(&p.value)?,
            since: p.modified,
        })
    });
    obs.lock = parameter(&names::lock_parameter(&app.state_parameter)).map(|p| p.value.clone());
    obs.freezes = Freeze::found(&app.state_parameter, |name| {
        parameter(name).map(|p| (p.value.clone(), p.modified))
    });
    obs.previous = parameter(&names::previous_parameter(&app.state_parameter))
        .and_then(|p| observed::Previous::parse(&p.value));
    let all = obs
        .load_balancer
        .as_ref()
        .and_then(|lb| listing.listeners.get(lb.arn.as_str()))
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|l| Listener {
            tags: listing
                .listener_tags
                .get(l.arn.as_str())
                .map(tags::listener_tags),
            ..l
        })
        .collect();
    (obs.listeners, obs.strays) =
        observed::split_listeners(&app.app, &app.listener_ports, &obs.own_target_groups(), all);
    obs
}

/// A fleet as a snapshot holds it: what its tags record, the instances
/// not on their way out, those of them launched from another version than
/// the group's (a new version never replaces running instances, so they
/// run an older release whatever the tag says), cutover's policy.
fn fleet(f: &ListedFleet, listing: &Listing) -> observed::Fleet {
    observed::Fleet {
        release: f.tags.get(tags::RELEASE).cloned(),
        rolled_back: f
            .tags
            .get(tags::ROLLED_BACK)
            .and_then(|v| tags::parse_rolled_back(v)),
        rolled_back_why: f.tags.get(tags::ROLLED_BACK_WHY).cloned(),
        held: f
            .tags
            .get(tags::HELD)
            .and_then(|v| tags::parse_rolled_back(v)),
        held_why: f.tags.get(tags::HELD_WHY).cloned(),
        instances: f
            .instances
            .iter()
            .filter(|i| !i.leaving)
            .map(|i| i.id.clone())
            .collect(),
        older: older(f),
        scaling: listing.policies.get(f.fleet.name.as_str()).copied(),
        ..f.fleet.clone()
    }
}

/// The instances of a fleet, not on their way out, launched from another
/// launch template version than the group's, as each instance reports it
/// (AWS reports the version an instance was launched from).
pub(super) fn older(f: &ListedFleet) -> Vec<String> {
    let Some(version) = f.fleet.launch_template_version else {
        return Vec::new();
    };
    f.instances
        .iter()
        .filter(|i| !i.leaving && i.version.is_some_and(|v| v != version))
        .map(|i| i.id.clone())
        .collect()
}

/// A launch template version as a snapshot holds it, with the release its
/// description records.
pub fn version(v: &ListedVersion) -> observed::LaunchTemplateVersion {
    observed::LaunchTemplateVersion {
        fingerprint: v
            .description
            .as_deref()
            .and_then(tags::fingerprint_from_description),
        ..v.version.clone()
    }
}

/// The app's rules (tagged with its name) and everyone else's, on the
/// listeners of [`rule_listeners`].
fn rules(app: &AppRef, obs: &Observed, listing: &Listing) -> (Vec<Rule>, Vec<OtherRule>) {
    let (mut ours, mut others) = (Vec::new(), Vec::new());
    for l in rule_listeners(app, obs) {
        for r in listing.rules.get(l.arn.as_str()).into_iter().flatten() {
            if tags::is_apps(&r.tags, &app.app) {
                ours.push(Rule {
                    arn: r.arn.clone(),
                    port: l.port,
                    rule: r.rule.clone(),
                    forward: r.forward.clone(),
                    affinity_secs: r.affinity_secs,
                    kept_actions: r.kept_actions.clone(),
                });
            } else {
                others.push(OtherRule {
                    arn: r.arn.clone(),
                    port: l.port,
                    priority: r.rule.priority,
                    app: r.tags.get(tags::APP).cloned(),
                });
            }
        }
    }
    (ours, others)
}
