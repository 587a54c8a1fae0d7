//! Listeners: the app's own, their weights, and the actions someone put
//! before their forward, kept through every change.

use super::convert::{forward_action, listener_from, listener_tags, protocol, runs_before_forward};
use super::errors::{code_of, err};
use super::observe::by_name;
use super::Aws;
use crate::model::observed::{self};
use crate::model::plan::ListenerConfig;
use crate::model::{Forward, ListenerArn, LoadBalancerArn};
use crate::provider::{AppRef, ProviderError, Result};
use aws_sdk_elasticloadbalancingv2 as elb;
use std::collections::BTreeMap;

impl Aws {
    /// Remembers the actions a listener or rule (`arn`) runs before its
    /// forward.
    pub(super) fn remember_kept(&self, arn: &str, actions: &[elb::types::Action]) {
        let mut kept: Vec<elb::types::Action> = actions
            .iter()
            .filter(|a| runs_before_forward(a))
            .cloned()
            .collect();
        kept.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
        self.kept_actions
            .lock()
            .expect("lock")
            .insert(arn.to_string(), kept);
    }

    /// The default actions that forward `forward` on listener `arn`: the
    /// actions someone put before the forward stay, in their order. An
    /// authenticate-oidc action comes back from AWS without its client
    /// secret; AWS takes it again with UseExistingClientSecret.
    pub(super) fn default_actions(
        &self,
        arn: &str,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Vec<elb::types::Action>> {
        let kept = self
            .kept_actions
            .lock()
            .expect("lock")
            .get(arn)
            .cloned()
            .unwrap_or_default();
        let mut actions = Vec::new();
        for (i, mut a) in kept.into_iter().enumerate() {
            a.order = Some(i as i32 + 1);
            if let Some(oidc) = a.authenticate_oidc_config.as_mut() {
                if oidc.client_secret.is_none() {
                    oidc.use_existing_client_secret = Some(true);
                }
            }
            actions.push(a);
        }
        let mut fwd = forward_action(forward, affinity_secs)?;
        if !actions.is_empty() {
            fwd.order = Some(actions.len() as i32 + 1);
        }
        actions.push(fwd);
        Ok(actions)
    }

    /// Remembers what listener `l` runs before its forward.
    pub(super) fn remember_listener(&self, l: &elb::types::Listener) {
        self.remember_kept(l.listener_arn().unwrap_or_default(), l.default_actions());
    }

    /// Remembers what rule `r` runs before its forward.
    pub(super) fn remember_rule(&self, r: &elb::types::Rule) {
        self.remember_kept(r.rule_arn().unwrap_or_default(), r.actions());
    }

    pub(super) async fn listener_forward(&self, arn: &ListenerArn) -> Result<Forward> {
        self.count("DescribeListeners");
        let out = self
            .elb
            .describe_listeners()
            .listener_arns(arn.as_str())
            .send()
            .await
            .map_err(|e| err("DescribeListeners", e))?;
        let l = out
            .listeners()
            .first()
            .ok_or_else(|| ProviderError::NotFound(format!("listener {arn}")))?;
        self.remember_listener(l);
        Ok(listener_from(l).forward)
    }

    pub(super) async fn set_listener_weights(
        &self,
        arn: &ListenerArn,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        self.count("ModifyListener");
        let out = self
            .elb
            .modify_listener()
            .listener_arn(arn.as_str())
            .set_default_actions(Some(self.default_actions(
                arn.as_str(),
                forward,
                affinity_secs,
            )?))
            .send()
            .await
            .map_err(|e| err("ModifyListener", e))?;
        let l = out
            .listeners()
            .first()
            .ok_or_else(|| ProviderError::api("ModifyListener", "no listener in the response"))?;
        self.remember_listener(l);
        Ok(listener_from(l).forward)
    }

    /// Load balancers by name.
    pub(super) async fn load_balancers(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, observed::LoadBalancer>> {
        let found = by_name(names, |chunk| self.describe_load_balancers(chunk)).await?;
        Ok(found
            .into_iter()
            .map(|lb| {
                let name = lb.load_balancer_name().unwrap_or_default().to_string();
                let seen = observed::LoadBalancer {
                    arn: lb.load_balancer_arn().unwrap_or_default().into(),
                    dns_name: lb.dns_name().unwrap_or_default().to_string(),
                };
                (name, seen)
            })
            .collect())
    }

    /// `None` when one of `names` does not exist.
    pub(super) async fn describe_load_balancers(
        &self,
        names: Vec<String>,
    ) -> Result<Option<Vec<elb::types::LoadBalancer>>> {
        self.count("DescribeLoadBalancers");
        let sent = self
            .elb
            .describe_load_balancers()
            .set_names(Some(names))
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some(out.load_balancers().to_vec())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_load_balancer_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(err("DescribeLoadBalancers", e)),
        }
    }

    /// Every listener of a load balancer.
    pub(super) async fn listeners(
        &self,
        lb_arn: &LoadBalancerArn,
    ) -> Result<Vec<observed::Listener>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.count("DescribeListeners");
            let page = self
                .elb
                .describe_listeners()
                .load_balancer_arn(lb_arn.as_str())
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| err("DescribeListeners", e))?;
            for l in page.listeners() {
                self.remember_listener(l);
                out.push(listener_from(l));
            }
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        Ok(out)
    }

    pub(super) async fn create_listener(
        &self,
        app: &AppRef,
        lb_arn: &LoadBalancerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<ListenerArn> {
        self.count("CreateListener");
        let out = self
            .elb
            .create_listener()
            .load_balancer_arn(lb_arn.as_str())
            // Whose it is, from the start (CreateListener takes Tags).
            .set_tags(Some(listener_tags(app, c.role)))
            .port(c.port as i32)
            .protocol(protocol(c.protocol))
            .set_certificates(c.certificate_arn.as_ref().map(|a| {
                vec![elb::types::Certificate::builder()
                    .certificate_arn(a)
                    .build()]
            }))
            .default_actions(forward_action(forward, 0)?)
            .send()
            .await
            .map_err(|e| err("CreateListener", e))?;
        Ok(out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| ProviderError::api("CreateListener", "no listener in the response"))?
            .into())
    }

    pub(super) async fn modify_listener(
        &self,
        arn: &ListenerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<()> {
        self.count("ModifyListener");
        let out = self
            .elb
            .modify_listener()
            .listener_arn(arn.as_str())
            .port(c.port as i32)
            .protocol(protocol(c.protocol))
            .set_certificates(c.certificate_arn.as_ref().map(|a| {
                vec![elb::types::Certificate::builder()
                    .certificate_arn(a)
                    .build()]
            }))
            .set_default_actions(Some(self.default_actions(arn.as_str(), forward, 0)?))
            .send()
            .await
            .map_err(|e| err("ModifyListener", e))?;
        out.listeners()
            .iter()
            .for_each(|l| self.remember_listener(l));
        Ok(())
    }

    pub(super) async fn tag_listener(
        &self,
        app: &AppRef,
        listener: &ListenerArn,
        role: crate::model::ListenerRole,
    ) -> Result<()> {
        self.count("AddTags");
        // AddTags overwrites a key the resource has (ELBv2 API reference).
        self.elb
            .add_tags()
            .resource_arns(listener.as_str())
            .set_tags(Some(listener_tags(app, role)))
            .send()
            .await
            .map_err(|e| err("AddTags", e))?;
        Ok(())
    }

    pub(super) async fn delete_listener(&self, listener: &ListenerArn) -> Result<()> {
        self.count("DeleteListener");
        match self
            .elb
            .delete_listener()
            .listener_arn(listener.as_str())
            .send()
            .await
            .map_err(|e| err("DeleteListener", e))
        {
            // Gone already (a call whose answer was lost): done.
            Err(e) if code_of(&e) == Some("ListenerNotFound") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    pub(super) async fn forward_of(&self, at: &crate::model::ForwardAt) -> Result<Forward> {
        self.forward_at(at).await
    }

    pub(super) async fn set_weights(
        &self,
        at: &crate::model::ForwardAt,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        match at {
            crate::model::ForwardAt::Listener(arn) => {
                self.set_listener_weights(arn, forward, affinity_secs).await
            }
            crate::model::ForwardAt::Rule(arn) => {
                self.set_rule_weights(arn, forward, affinity_secs).await
            }
        }
    }
}
