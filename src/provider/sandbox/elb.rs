//! Elastic Load Balancing: target groups and their health, listeners and
//! their rules, the forwards on them and their weights, and the checks AWS
//! makes on them (one load balancer per target group, free priorities).

use super::world::{
    listener_tags, logins, not_found, raw, tagged, typed, SbListener, SbRule, SbTargetGroup, World,
    ACCOUNT,
};
use crate::model::observed::{TargetHealth, TargetState};
use crate::model::plan::{ListenerConfig, TargetGroupConfig};
use crate::model::{
    AttributeChanges, Color, Forward, HealthCheck, ListenerArn, ListenerRole, ListenerRule,
    LoadBalancerArn, RuleArn, TargetGroupArn,
};
use crate::provider::convention::tags::{self, Made};
use crate::provider::{hint_for, AppRef, Forwarding, ProviderError, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Target groups.
impl World {
    /// The health of target group `arn`'s targets, draining ones included.
    pub(super) fn target_health(&self, arn: &TargetGroupArn) -> Result<Vec<TargetHealth>> {
        let tg = self
            .target_groups
            .get(arn.as_str())
            .ok_or_else(|| not_found("target group"))?;
        let draining = tg.draining.keys().map(|id| TargetHealth {
            id: id.clone(),
            state: TargetState::Draining,
            reason: Some("Target.DeregistrationInProgress".into()),
            description: Some("Target deregistration is in progress".into()),
        });
        Ok(tg
            .targets
            .iter()
            .map(|(id, at)| self.health_of(tg, id, *at))
            .chain(draining)
            .collect())
    }

    /// Makes `app`'s target group of `color` as `c` says.
    pub(super) fn create_target_group(
        &mut self,
        app: &AppRef,
        color: Color,
        c: &TargetGroupConfig,
    ) -> Result<TargetGroupArn> {
        // A group of that name: AWS answers with it only when every
        // setting matches (DuplicateTargetGroupName otherwise), and
        // cutover takes it only when its tags say it is this app's
        // colour (made by a call whose answer was lost), bringing its
        // health check to the plan's, as the AWS provider does.
        if let Some((arn, tg)) = self
            .target_groups
            .iter_mut()
            .find(|(_, t)| t.name == c.name)
        {
            if !tags::is_colour_of(&tg.tags, &app.app, color) {
                return Err(ProviderError::Aws {
                    operation: "CreateTargetGroup".into(),
                    code: Some("DuplicateTargetGroupName".into()),
                    message: format!(
                        "A target group with the same name '{}' exists, but with different settings",
                        c.name
                    ),
                    request_id: None,
                    hint: hint_for("DuplicateTargetGroupName").into(),
                });
            }
            tg.health_check = c.health_check.clone();
            return Ok(arn.as_str().into());
        }
        let id = self.id();
        let arn = format!(
            "arn:aws:elasticloadbalancing:{}:{ACCOUNT}:targetgroup/{}/{id:016x}",
            self.region(),
            c.name,
        );
        self.target_groups.insert(
            arn.clone(),
            SbTargetGroup {
                name: c.name.clone(),
                port: c.port,
                protocol: c.protocol,
                vpc_id: c.vpc_id.clone(),
                health_check: c.health_check.clone(),
                attributes: c.attributes,
                tags: tagged(app.tags(Made::TargetGroup(color))),
                targets: BTreeMap::new(),
                draining: BTreeMap::new(),
            },
        );
        Ok(arn.into())
    }

    /// Sets target group `arn`'s health check.
    pub(super) fn modify_health_check(
        &mut self,
        arn: &TargetGroupArn,
        hc: &HealthCheck,
    ) -> Result<()> {
        self.target_groups
            .get_mut(arn.as_str())
            .ok_or_else(|| not_found("target group"))?
            .health_check = hc.clone();
        Ok(())
    }

    /// Makes `changes` to target group `arn`'s attributes.
    pub(super) fn set_attributes(
        &mut self,
        arn: &TargetGroupArn,
        changes: &AttributeChanges,
    ) -> Result<()> {
        let tg = self
            .target_groups
            .get_mut(arn.as_str())
            .ok_or_else(|| not_found("target group"))?;
        changes.apply_to(&mut tg.attributes);
        Ok(())
    }

    /// Tags target group `arn` with the release whose contract is pending
    /// (`None`: the tag with no value).
    pub(super) fn set_contract_pending(
        &mut self,
        arn: &TargetGroupArn,
        release: Option<&str>,
    ) -> Result<()> {
        let tg = self
            .target_groups
            .get_mut(arn.as_str())
            .ok_or_else(|| not_found("target group"))?;
        tg.tags.insert(
            tags::CONTRACT_PENDING.into(),
            release.unwrap_or("").to_string(),
        );
        Ok(())
    }

    /// The load balancers whose listeners or rules forward to target group
    /// `tg` (AWS's LoadBalancerArns).
    pub(super) fn load_balancers_of(&self, tg: &str) -> BTreeSet<String> {
        let on = |f: &[(String, u32)]| f.iter().any(|(a, _)| a == tg);
        let mut out: BTreeSet<String> = self
            .listeners
            .values()
            .filter(|l| on(&l.forward))
            .map(|l| l.load_balancer_arn.clone())
            .collect();
        for r in self.rules.values().filter(|r| on(&r.forward)) {
            if let Some(l) = self.listeners.get(&r.listener_arn) {
                out.insert(l.load_balancer_arn.clone());
            }
        }
        out
    }

    /// A forward from load balancer `lb` to a target group another load
    /// balancer uses is refused, as AWS refuses it: a target group serves
    /// one load balancer (TargetGroupAssociationLimit).
    fn one_load_balancer(&self, op: &str, lb: &str, forward: &Forward) -> Result<()> {
        for (tg, _) in forward {
            if self
                .load_balancers_of(tg.as_str())
                .iter()
                .any(|other| other != lb)
            {
                return Err(ProviderError::Aws {
                    operation: op.to_string(),
                    code: Some("TargetGroupAssociationLimit".into()),
                    message: format!(
                        "The following target groups cannot be associated with more than one load balancer: {tg}"
                    ),
                    request_id: None,
                    hint: hint_for("TargetGroupAssociationLimit").into(),
                });
            }
        }
        Ok(())
    }
}

/// Listeners.
impl World {
    /// Makes `app`'s listener `c` on load balancer `lb_arn`, forwarding as
    /// `forward` says.
    pub(super) fn create_listener(
        &mut self,
        app: &AppRef,
        lb_arn: &str,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<ListenerArn> {
        self.one_load_balancer("CreateListener", lb_arn, forward)?;
        if let Some(arn) = self.listener_on(lb_arn, c.port) {
            return Err(ProviderError::api(
                "CreateListener",
                format!("DuplicateListener: port {} is taken by {arn}", c.port),
            ));
        }
        let arn = self.add_listener(SbListener {
            affinity_secs: 0,
            load_balancer_arn: lb_arn.to_string(),
            port: c.port,
            protocol: c.protocol,
            certificate_arn: c.certificate_arn.clone(),
            forward: raw(forward),
            before: None,
            kept_actions: Vec::new(),
            tags: listener_tags(app, c.role),
        });
        Ok(arn.into())
    }

    /// Tags `listener` as `app`'s, in `role`.
    pub(super) fn tag_listener(
        &mut self,
        app: &AppRef,
        listener: &ListenerArn,
        role: ListenerRole,
    ) -> Result<()> {
        let l = self
            .listeners
            .get_mut(listener.as_str())
            .ok_or_else(|| not_found("listener"))?;
        l.tags.extend(listener_tags(app, role));
        Ok(())
    }

    /// Deletes `listener` and its rules.
    pub(super) fn delete_listener(&mut self, listener: &ListenerArn) -> Result<()> {
        self.listeners.remove(listener.as_str());
        self.rules
            .retain(|_, r| r.listener_arn != listener.as_str());
        Ok(())
    }

    /// Every forward on load balancer `lb`: its listeners' and their rules'.
    pub(super) fn forwards_on(&self, lb: &LoadBalancerArn) -> Result<Vec<Forwarding>> {
        let mut out = Vec::new();
        for (arn, l) in self
            .listeners
            .iter()
            .filter(|(_, l)| l.load_balancer_arn == lb.as_str())
        {
            out.push(Forwarding {
                place: format!("listener :{}", l.port),
                arn: arn.clone(),
                forward: typed(&l.forward),
            });
            for (rule_arn, r) in self.rules.iter().filter(|(_, r)| &r.listener_arn == arn) {
                out.push(Forwarding {
                    place: format!("rule {} on :{}", r.rule.priority, l.port),
                    arn: rule_arn.clone(),
                    forward: typed(&r.forward),
                });
            }
        }
        Ok(out)
    }

    /// Brings listener `arn` to `c`, forwarding as `forward` says.
    pub(super) fn modify_listener(
        &mut self,
        arn: &ListenerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<()> {
        let now = self.now_ms();
        let lb = self
            .listeners
            .get(arn.as_str())
            .map(|l| l.load_balancer_arn.clone())
            .unwrap_or_default();
        self.one_load_balancer("ModifyListener", &lb, forward)?;
        let l = self
            .listeners
            .get_mut(arn.as_str())
            .ok_or_else(|| not_found("listener"))?;
        l.protocol = c.protocol;
        l.certificate_arn = c.certificate_arn.clone();
        l.before = Some((l.forward.clone(), now));
        l.forward = raw(forward);
        l.affinity_secs = 0;
        l.kept_actions = logins(&l.kept_actions);
        Ok(())
    }

    /// Listener `arn`'s forward, as a describe reads it.
    pub(super) fn listener_forward(&self, arn: &ListenerArn) -> Result<Forward> {
        let l = self
            .listeners
            .get(arn.as_str())
            .ok_or_else(|| not_found("listener"))?;
        Ok(typed(self.forward_as_read(l)))
    }

    /// Sets listener `arn`'s forward; returns it as set.
    pub(super) fn set_listener_weights(
        &mut self,
        arn: &ListenerArn,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        let now = self.now_ms();
        let l = self
            .listeners
            .get_mut(arn.as_str())
            .ok_or_else(|| not_found("listener"))?;
        l.before = Some((l.forward.clone(), now));
        l.forward = raw(forward);
        l.affinity_secs = affinity_secs;
        l.kept_actions = logins(&l.kept_actions);
        Ok(typed(&l.forward))
    }

    /// The ARN of load balancer `lb_arn`'s listener on `port`.
    pub(super) fn listener_on(&self, lb_arn: &str, port: u16) -> Option<&String> {
        self.listeners
            .iter()
            .find(|(_, l)| l.load_balancer_arn == lb_arn && l.port == port)
            .map(|(arn, _)| arn)
    }

    /// Adds `l` under a new listener ARN of its load balancer; returns it.
    pub(super) fn add_listener(&mut self, l: SbListener) -> String {
        let arn = format!(
            "{}/{:016x}",
            l.load_balancer_arn.replace(":loadbalancer/", ":listener/"),
            self.id()
        );
        self.listeners.insert(arn.clone(), l);
        arn
    }
}

/// Listener rules.
impl World {
    /// Makes `app`'s rule `rule` in `role` on `listener`, forwarding as
    /// `forward` says.
    pub(super) fn create_rule(
        &mut self,
        app: &AppRef,
        role: ListenerRole,
        listener: &ListenerArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<RuleArn> {
        if !self.listeners.contains_key(listener.as_str()) {
            return Err(not_found("listener"));
        }
        self.priority_free(listener.as_str(), rule.priority, "")?;
        let arn = format!(
            "{}/{:016x}",
            listener.as_str().replace(":listener/", ":listener-rule/"),
            self.id()
        );
        self.rules.insert(
            arn.clone(),
            SbRule {
                affinity_secs: 0,
                listener_arn: listener.to_string(),
                rule: rule.clone(),
                forward: raw(forward),
                tags: listener_tags(app, role),
                kept_actions: Vec::new(),
            },
        );
        Ok(arn.into())
    }

    /// Brings rule `arn` to `rule`, forwarding as `forward` says.
    pub(super) fn modify_rule(
        &mut self,
        arn: &RuleArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<()> {
        let listener = self
            .rules
            .get(arn.as_str())
            .ok_or_else(|| not_found("rule"))?
            .listener_arn
            .clone();
        self.priority_free(&listener, rule.priority, arn.as_str())?;
        let r = self.rules.get_mut(arn.as_str()).expect("looked up");
        r.rule = rule.clone();
        r.forward = raw(forward);
        r.affinity_secs = 0;
        Ok(())
    }

    /// Deletes rule `arn`.
    pub(super) fn delete_rule(&mut self, arn: &RuleArn) -> Result<()> {
        self.rules.remove(arn.as_str());
        Ok(())
    }

    /// Rule `arn`'s forward.
    pub(super) fn rule_forward(&self, arn: &RuleArn) -> Result<Forward> {
        let r = self
            .rules
            .get(arn.as_str())
            .ok_or_else(|| not_found("rule"))?;
        Ok(typed(&r.forward))
    }

    /// Sets rule `arn`'s forward; returns it as set.
    pub(super) fn set_rule_weights(
        &mut self,
        arn: &RuleArn,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        let r = self
            .rules
            .get_mut(arn.as_str())
            .ok_or_else(|| not_found("rule"))?;
        r.forward = raw(forward);
        r.affinity_secs = affinity_secs;
        Ok(typed(&r.forward))
    }

    /// AWS's refusal when `priority` on `listener` is taken by a rule other
    /// than `except`.
    fn priority_free(&self, listener: &str, priority: u32, except: &str) -> Result<()> {
        let taken = self.rules.iter().any(|(arn, r)| {
            r.listener_arn == listener && r.rule.priority == priority && arn != except
        });
        if taken {
            return Err(ProviderError::Aws {
                operation: "CreateRule".into(),
                code: Some("PriorityInUse".into()),
                message: format!("Priority '{priority}' is currently in use"),
                request_id: None,
                hint: hint_for("PriorityInUse").into(),
            });
        }
        Ok(())
    }
}
