//! What an observation lists: an app's listeners and rules, target groups,
//! fleets, template and parameters, each with its tags, as
//! `convention::assemble` takes them; and what cutover's tags mark as
//! managed.

use super::world::{logins, typed, SbLaunchTemplate, World};
use crate::model::observed::{self, Managed, ManagedKind, Observed, Reads};
use crate::model::{Color, FleetName};
use crate::provider::convention::listing::{
    ListedFleet, ListedInstance, ListedParameter, ListedRule, ListedTargetGroup, ListedTemplate,
    ListedVersion, Listing,
};
use crate::provider::convention::{self, tags};
use crate::provider::{AppRef, Result};

impl World {
    /// `app` as an observation sees it, with what `reads` asks for.
    pub(super) fn observe(&self, app: &AppRef, reads: Reads) -> Result<Observed> {
        Ok(convention::assemble(app, &self.listing(app)).as_read(reads))
    }

    /// What cutover's tags mark as its own: target groups and fleets.
    pub(super) fn managed(&self) -> Result<Vec<Managed>> {
        let mut out = Vec::new();
        for (arn, tg) in &self.target_groups {
            // A group made before the load balancer tag: the one that uses it.
            let used_by = self
                .load_balancers_of(arn)
                .into_iter()
                .next()
                .and_then(|lb| {
                    let named = self.load_balancers.iter().find(|(_, l)| l.arn == lb);
                    named.map(|(name, _)| name.clone())
                });
            out.extend(tags::managed(
                ManagedKind::TargetGroup,
                &tg.name,
                &tg.tags,
                used_by,
            ));
        }
        for (name, f) in &self.fleets {
            out.extend(tags::managed(
                ManagedKind::AutoScalingGroup,
                name,
                &f.tags,
                None,
            ));
        }
        Ok(out)
    }

    /// What a provider lists for `app`: its load balancer's listeners and
    /// their rules, the target groups, fleets, template and parameters of
    /// its names, each with its tags (an observation assembles it).
    fn listing(&self, app: &AppRef) -> Listing {
        let mut listing = Listing {
            now: self.now_ms() / 1000,
            ..Listing::default()
        };
        for c in Color::ALL {
            let name = app.fleet(c);
            listing
                .target_groups
                .extend(self.listed_target_group(name.as_str()));
            listing.fleets.extend(self.listed_fleet(&name));
            if let Some(scaling) = self.fleets.get(name.as_str()).and_then(|f| f.scaling) {
                listing.policies.insert(name.to_string(), scaling);
            }
        }
        if let Some(lb) = self.load_balancers.get(&app.load_balancer) {
            listing.load_balancers.insert(
                app.load_balancer.clone(),
                observed::LoadBalancer {
                    arn: lb.arn.as_str().into(),
                    dns_name: lb.dns_name.clone(),
                },
            );
            for (arn, l) in self
                .listeners
                .iter()
                .filter(|(_, l)| l.load_balancer_arn == lb.arn)
            {
                listing.listener_tags.insert(arn.clone(), l.tags.clone());
                listing.rules.insert(arn.clone(), self.listed_rules(arn));
            }
            listing
                .listeners
                .insert(lb.arn.clone(), self.listed_listeners(&lb.arn));
        }
        let template = crate::model::names::launch_template(&app.app);
        if let Some((id, lt)) = self
            .launch_templates
            .iter()
            .find(|(_, lt)| lt.name == template)
        {
            listing.templates.insert(template, listed_template(id, lt));
        }
        for name in app.parameters(crate::model::observed::Reads::ALL) {
            if let Some(p) = self.parameters.get(&name) {
                let listed = ListedParameter {
                    value: p.value.clone(),
                    modified: p.modified_ms / 1000,
                };
                listing.parameters.insert(name, listed);
            }
        }
        listing
    }

    /// The rules of listener `listener`, with their tags.
    fn listed_rules(&self, listener: &str) -> Vec<ListedRule> {
        self.rules
            .iter()
            .filter(|(_, r)| r.listener_arn == listener)
            .map(|(arn, r)| ListedRule {
                arn: arn.as_str().into(),
                rule: r.rule.clone(),
                forward: typed(&r.forward),
                affinity_secs: r.affinity_secs,
                kept_actions: logins(&r.kept_actions),
                tags: r.tags.clone(),
            })
            .collect()
    }

    /// Every listener of the load balancer (its tags are listed apart).
    fn listed_listeners(&self, lb_arn: &str) -> Vec<observed::Listener> {
        self.listeners
            .iter()
            .filter(|(_, l)| l.load_balancer_arn == lb_arn)
            .map(|(arn, l)| observed::Listener {
                arn: arn.as_str().into(),
                port: l.port,
                protocol: l.protocol,
                certificate_arn: l.certificate_arn.clone(),
                forward: typed(self.forward_as_read(l)),
                affinity_secs: l.affinity_secs,
                kept_actions: logins(&l.kept_actions),
                tags: None,
            })
            .collect()
    }

    fn listed_target_group(&self, name: &str) -> Option<ListedTargetGroup> {
        let (arn, tg) = self.target_groups.iter().find(|(_, t)| t.name == name)?;
        let group = observed::TargetGroup {
            arn: arn.as_str().into(),
            name: tg.name.clone(),
            port: tg.port,
            protocol: tg.protocol,
            vpc_id: tg.vpc_id.clone(),
            health_check: tg.health_check.clone(),
            attributes: tg.attributes,
            contract_pending: None,
            held_by: None,
            targets: tg
                .targets
                .iter()
                .map(|(id, at)| self.health_of(tg, id, *at))
                .collect(),
            load_balancers: self
                .load_balancers_of(arn)
                .into_iter()
                .map(|a| a.as_str().into())
                .collect(),
        };
        Some(ListedTargetGroup {
            group,
            tags: Some(tg.tags.clone()),
        })
    }

    pub(super) fn listed_fleet(&self, name: &FleetName) -> Option<ListedFleet> {
        let f = self.fleets.get(name.as_str())?;
        let fleet = observed::Fleet {
            name: name.clone(),
            capacity: f.capacity,
            launch_template_version: Some(f.template_version),
            release: None,
            rolled_back: None,
            rolled_back_why: None,
            held: None,
            held_why: None,
            held_by: None,
            subnets: f.subnets.clone(),
            instances: Vec::new(),
            older: Vec::new(),
            target_groups: f.target_groups.iter().map(|a| a.as_str().into()).collect(),
            spot: f.spot,
            instance_types: f.instance_types.clone(),
            on_demand_base: f.on_demand_base,
            capacity_rebalance: f.capacity_rebalance,
            health_check_grace_secs: f.health_check_grace_secs,
            warmup_secs: f.warmup_secs,
            scaling: None,
        };
        Some(ListedFleet {
            fleet,
            deleting: false,
            tags: f.tags.clone(),
            instances: f
                .instances
                .iter()
                .map(|i| ListedInstance {
                    id: i.id.clone(),
                    version: Some(i.template_version),
                    leaving: i.terminating_ms.is_some(),
                })
                .collect(),
        })
    }
}

/// A launch template as a describe lists it.
fn listed_template(id: &str, lt: &SbLaunchTemplate) -> ListedTemplate {
    ListedTemplate {
        id: id.to_string(),
        versions: lt
            .versions
            .iter()
            .map(|v| ListedVersion {
                description: Some(v.description.clone()),
                version: observed::LaunchTemplateVersion {
                    number: v.number,
                    fingerprint: None,
                    data: v.data.clone(),
                },
            })
            .collect(),
    }
}
