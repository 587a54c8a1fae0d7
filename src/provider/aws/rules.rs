//! The app's rule on a listener someone else owns: created tagged with the
//! app, its forward moved by ModifyRule, found again by its tags. Other
//! rules on the listener, and the listener itself, are only read.

use super::convert::{conditions, forward_action, forward_from, listener_tags, RulesOf};
use super::errors::{code_of, err};
use super::Aws;
use crate::model::{Forward, ForwardAt, ListenerArn, ListenerRule, LoadBalancerArn, RuleArn};
use crate::provider::convention::tags::{self};
use crate::provider::{AppRef, ProviderError, Result};
use aws_sdk_elasticloadbalancingv2 as elb;

impl Aws {
    /// Every rule of each listener in `listeners` (ARN), with its tags.
    /// Every forward on load balancer `lb`: each listener's default action
    /// and each of its rules.
    pub(super) async fn forwards_on_load_balancer(
        &self,
        lb: &crate::model::LoadBalancerArn,
    ) -> Result<Vec<crate::provider::Forwarding>> {
        let mut marker: Option<String> = None;
        let mut listeners = Vec::new();
        loop {
            self.count("DescribeListeners");
            let page = self
                .elb
                .describe_listeners()
                .load_balancer_arn(lb.as_str())
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| err("DescribeListeners", e))?;
            listeners.extend(page.listeners().iter().cloned());
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        let each = listeners.iter().map(|l| async move {
            let port = l.port().unwrap_or(0);
            let arn = l.listener_arn().unwrap_or_default();
            let mut out = vec![crate::provider::Forwarding {
                place: format!("listener :{port}"),
                arn: arn.to_string(),
                forward: forward_from(l.default_actions()),
            }];
            for r in self.describe_rules(Some(arn), None).await? {
                if r.is_default() == Some(true) {
                    continue;
                }
                out.push(crate::provider::Forwarding {
                    place: format!("rule {} on :{port}", r.priority().unwrap_or("?")),
                    arn: r.rule_arn().unwrap_or_default().to_string(),
                    forward: forward_from(r.actions()),
                });
            }
            Ok::<_, crate::provider::ProviderError>(out)
        });
        Ok(futures::future::try_join_all(each)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    pub(super) async fn rules_on(&self, listeners: Vec<String>) -> Result<RulesOf> {
        let each = listeners.into_iter().map(|arn| async move {
            let rules = self.describe_rules(Some(&arn), None).await?;
            let arns: Vec<String> = rules
                .iter()
                .filter(|r| r.is_default() != Some(true))
                .filter_map(|r| r.rule_arn().map(str::to_string))
                .collect();
            let mut tags = self.tags_of(arns).await?;
            let with_tags = rules
                .into_iter()
                .map(|r| {
                    let t = tags
                        .remove(r.rule_arn().unwrap_or_default())
                        .unwrap_or_default();
                    (r, t)
                })
                .collect();
            Ok::<_, ProviderError>((arn, with_tags))
        });
        Ok(futures::future::try_join_all(each)
            .await?
            .into_iter()
            .collect())
    }

    /// DescribeRules for a listener (every page) or for rule ARNs.
    pub(super) async fn describe_rules(
        &self,
        listener: Option<&str>,
        rules: Option<Vec<String>>,
    ) -> Result<Vec<elb::types::Rule>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.count("DescribeRules");
            let page = self
                .elb
                .describe_rules()
                .set_listener_arn(listener.map(str::to_string))
                .set_rule_arns(rules.clone())
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| err("DescribeRules", e))?;
            page.rules().iter().for_each(|r| self.remember_rule(r));
            out.extend(page.rules().iter().cloned());
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn create_rule_on(
        &self,
        app: &AppRef,
        role: crate::model::ListenerRole,
        listener: &ListenerArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<RuleArn> {
        self.count("CreateRule");
        let sent = self
            .elb
            .create_rule()
            .listener_arn(listener.as_str())
            .priority(rule.priority as i32)
            .set_conditions(Some(conditions(rule)))
            .actions(forward_action(forward, 0)?)
            .set_tags(Some(listener_tags(app, role)))
            .send()
            .await;
        match sent {
            Ok(out) => out
                .rules()
                .first()
                .and_then(|r| r.rule_arn())
                .map(RuleArn::from)
                .ok_or_else(|| ProviderError::api("CreateRule", "no rule in the response")),
            // A create sent again after its answer was lost: the priority
            // is taken by the rule the first one made.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_priority_in_use_exception()) =>
            {
                let e = err("CreateRule", e);
                let rules = self.rules_on(vec![listener.to_string()]).await?;
                let ours = rules.into_values().flatten().find(|(r, t)| {
                    r.priority() == Some(rule.priority.to_string().as_str())
                        && tags::is_apps(t, &app.app)
                });
                match ours.and_then(|(r, _)| r.rule_arn().map(RuleArn::from)) {
                    Some(arn) => Ok(arn),
                    None => Err(e),
                }
            }
            Err(e) => Err(err("CreateRule", e)),
        }
    }

    pub(super) async fn modify_rule_to(
        &self,
        arn: &RuleArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<()> {
        let live = self
            .describe_rules(None, Some(vec![arn.to_string()]))
            .await?;
        let priority = live.first().and_then(|r| r.priority()).unwrap_or_default();
        if priority != rule.priority.to_string() {
            self.count("SetRulePriorities");
            self.elb
                .set_rule_priorities()
                .rule_priorities(
                    elb::types::RulePriorityPair::builder()
                        .rule_arn(arn.as_str())
                        .priority(rule.priority as i32)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| err("SetRulePriorities", e))?;
        }
        self.count("ModifyRule");
        let out = self
            .elb
            .modify_rule()
            .rule_arn(arn.as_str())
            .set_conditions(Some(conditions(rule)))
            .set_actions(Some(self.default_actions(arn.as_str(), forward, 0)?))
            .send()
            .await
            .map_err(|e| err("ModifyRule", e))?;
        out.rules().iter().for_each(|r| self.remember_rule(r));
        Ok(())
    }

    /// The forward at `at`, as AWS has it now.
    pub(super) async fn forward_at(&self, at: &ForwardAt) -> Result<Forward> {
        match at {
            ForwardAt::Listener(arn) => self.listener_forward(arn).await,
            ForwardAt::Rule(arn) => {
                let rules = self
                    .describe_rules(None, Some(vec![arn.to_string()]))
                    .await?;
                let r = rules
                    .first()
                    .ok_or_else(|| ProviderError::NotFound(format!("rule {arn}")))?;
                Ok(forward_from(r.actions()))
            }
        }
    }

    /// Sets the rule's forward only; returns it as AWS answered.
    pub(super) async fn set_rule_weights(
        &self,
        arn: &RuleArn,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        self.count("ModifyRule");
        let out = self
            .elb
            .modify_rule()
            .rule_arn(arn.as_str())
            .set_actions(Some(self.default_actions(
                arn.as_str(),
                forward,
                affinity_secs,
            )?))
            .send()
            .await
            .map_err(|e| err("ModifyRule", e))?;
        let r = out
            .rules()
            .first()
            .ok_or_else(|| ProviderError::api("ModifyRule", "no rule in the response"))?;
        self.remember_rule(r);
        Ok(forward_from(r.actions()))
    }

    pub(super) async fn create_rule(
        &self,
        app: &AppRef,
        role: crate::model::ListenerRole,
        listener: &ListenerArn,
        rule: &crate::model::ListenerRule,
        forward: &Forward,
    ) -> Result<crate::model::RuleArn> {
        self.create_rule_on(app, role, listener, rule, forward)
            .await
    }

    pub(super) async fn modify_rule(
        &self,
        arn: &crate::model::RuleArn,
        rule: &crate::model::ListenerRule,
        forward: &Forward,
    ) -> Result<()> {
        self.modify_rule_to(arn, rule, forward).await
    }

    pub(super) async fn delete_rule(&self, arn: &crate::model::RuleArn) -> Result<()> {
        self.count("DeleteRule");
        match self
            .elb
            .delete_rule()
            .rule_arn(arn.as_str())
            .send()
            .await
            .map_err(|e| err("DeleteRule", e))
        {
            // Gone already (a call whose answer was lost): done.
            Err(e) if code_of(&e) == Some("RuleNotFound") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    pub(super) async fn forwards_on(
        &self,
        lb: &LoadBalancerArn,
    ) -> Result<Vec<crate::provider::Forwarding>> {
        self.forwards_on_load_balancer(lb).await
    }
}
