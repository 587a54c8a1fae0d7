//! Auto Scaling groups: the colours' fleets, their capacity, target
//! groups, scaling policy, scaling activities and rolled-back marks.

use super::convert::{asg_tag, fleet_template, group_tags, listed_fleet};
use super::errors::{asg_not_found, code_of, err};
use super::observe::{fan_out, ASG_NAMES};
use super::Aws;
use crate::model::observed::{Managed, ManagedKind, TargetState};
use crate::model::plan::FleetConfig;
use crate::model::{Capacity, Color, FleetName, TargetGroupArn, Timestamp};
use crate::provider::convention::tags::{self, Made};
use crate::provider::{AppRef, Members, ProviderError, Result};
use aws_sdk_autoscaling as asg;
use aws_sdk_elasticloadbalancingv2 as elb;

impl Aws {
    /// Auto Scaling group `name`, unless it is gone or being deleted.
    pub(super) async fn describe_group(
        &self,
        name: &FleetName,
    ) -> Result<Option<asg::types::AutoScalingGroup>> {
        self.count("DescribeAutoScalingGroups");
        let out = self
            .asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name.as_str())
            .send()
            .await
            .map_err(|e| err("DescribeAutoScalingGroups", e))?;
        Ok(out
            .auto_scaling_groups()
            .iter()
            .find(|g| g.status().is_none())
            .cloned())
    }

    /// The target groups attached to Auto Scaling group `name`.
    pub(super) async fn group_target_groups(
        &self,
        name: &FleetName,
    ) -> Result<Vec<TargetGroupArn>> {
        Ok(self
            .describe_group(name)
            .await?
            .iter()
            .flat_map(|g| g.target_group_arns())
            .map(|a| TargetGroupArn::from(a.as_str()))
            .collect())
    }

    /// Whether the Auto Scaling group `name` is tagged as `app`'s `color`.
    pub(super) async fn own_fleet(
        &self,
        app: &AppRef,
        color: Color,
        name: &FleetName,
    ) -> Result<bool> {
        Ok(self
            .describe_group(name)
            .await?
            .is_some_and(|g| tags::is_colour_of(&listed_fleet(&g).tags, &app.app, color)))
    }

    /// Auto Scaling groups by name (missing names are simply not returned).
    pub(super) async fn groups(
        &self,
        names: &[String],
    ) -> Result<Vec<asg::types::AutoScalingGroup>> {
        let chunks = names.chunks(ASG_NAMES).map(|chunk| async move {
            let mut pages = self
                .asg
                .describe_auto_scaling_groups()
                .set_auto_scaling_group_names(Some(chunk.to_vec()))
                .max_records(ASG_NAMES as i32)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.count("DescribeAutoScalingGroups");
                let page = page.map_err(|e| err("DescribeAutoScalingGroups", e))?;
                out.extend_from_slice(page.auto_scaling_groups());
            }
            Ok::<_, ProviderError>(out)
        });
        Ok(fan_out(chunks).await?.concat())
    }

    /// Auto Scaling groups tagged as cutover's: filtered by tag on the server.
    pub(super) async fn managed_groups(&self) -> Result<Vec<Managed>> {
        let mut out = Vec::new();
        let mut groups = self
            .asg
            .describe_auto_scaling_groups()
            .filters(
                asg::types::Filter::builder()
                    .name("tag-key")
                    .values(tags::MANAGED)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = groups.next().await {
            self.count("DescribeAutoScalingGroups");
            let page = page.map_err(|e| err("DescribeAutoScalingGroups", e))?;
            for g in page.auto_scaling_groups() {
                let name = g.auto_scaling_group_name().unwrap_or_default();
                out.extend(tags::managed(
                    ManagedKind::AutoScalingGroup,
                    name,
                    &group_tags(g),
                    None,
                ));
            }
        }
        Ok(out)
    }

    pub(super) async fn create_fleet(
        &self,
        app: &AppRef,
        color: Color,
        c: &FleetConfig,
        template_id: &str,
        version: i64,
        tg_arn: &TargetGroupArn,
    ) -> Result<()> {
        self.count("CreateAutoScalingGroup");
        let made = Made::Fleet {
            color,
            release: &c.release,
        };
        let tags = app
            .tags(made)
            .into_iter()
            .map(|(k, v)| asg_tag(&c.name, k, &v))
            .collect();
        let (plain, mixed) = fleet_template(c, template_id, version);
        let out = self
            .asg
            .create_auto_scaling_group()
            .auto_scaling_group_name(c.name.as_str())
            .set_launch_template(plain)
            .set_mixed_instances_policy(mixed)
            .capacity_rebalance(c.spot)
            .min_size(c.capacity.min as i32)
            .max_size(c.capacity.max as i32)
            .desired_capacity(c.capacity.desired as i32)
            .vpc_zone_identifier(c.subnets.join(","))
            .target_group_arns(tg_arn.as_str())
            .health_check_type("ELB")
            .health_check_grace_period(c.health_check_grace_secs as i32)
            .set_default_instance_warmup(c.warmup_secs.map(|s| s as i32))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| err("CreateAutoScalingGroup", e));
        match out {
            Ok(_) => Ok(()),
            // Made by a call whose answer was lost: ours if tagged so, and
            // then brought to this config.
            Err(e) if code_of(&e) == Some("AlreadyExists") => {
                if !self.own_fleet(app, color, &c.name).await? {
                    return Err(e);
                }
                self.attach_target_group(&c.name, tg_arn).await?;
                self.update_fleet(c, template_id, version).await
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn update_fleet(
        &self,
        c: &FleetConfig,
        template_id: &str,
        version: i64,
    ) -> Result<()> {
        self.count("CreateOrUpdateTags");
        self.asg
            .create_or_update_tags()
            .tags(asg_tag(&c.name, tags::RELEASE, &c.release))
            .send()
            .await
            .map_err(|e| err("CreateOrUpdateTags", e))?;
        self.count("UpdateAutoScalingGroup");
        let (plain, mixed) = fleet_template(c, template_id, version);
        self.asg
            .update_auto_scaling_group()
            .auto_scaling_group_name(c.name.as_str())
            .set_launch_template(plain)
            .set_mixed_instances_policy(mixed)
            .capacity_rebalance(c.spot)
            .min_size(c.capacity.min as i32)
            .max_size(c.capacity.max as i32)
            .desired_capacity(c.capacity.desired as i32)
            .vpc_zone_identifier(c.subnets.join(","))
            .health_check_grace_period(c.health_check_grace_secs as i32)
            .set_default_instance_warmup(c.warmup_secs.map(|s| s as i32))
            .send()
            .await
            .map_err(|e| err("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    pub(super) async fn set_capacity(&self, fleet: &FleetName, c: Capacity) -> Result<()> {
        self.count("UpdateAutoScalingGroup");
        self.asg
            .update_auto_scaling_group()
            .auto_scaling_group_name(fleet.as_str())
            .min_size(c.min as i32)
            .max_size(c.max as i32)
            .desired_capacity(c.desired as i32)
            .send()
            .await
            .map_err(|e| err("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    pub(super) async fn attach_target_group(
        &self,
        fleet: &FleetName,
        tg_arn: &TargetGroupArn,
    ) -> Result<()> {
        self.count("AttachLoadBalancerTargetGroups");
        self.asg
            .attach_load_balancer_target_groups()
            .auto_scaling_group_name(fleet.as_str())
            .target_group_arns(tg_arn.as_str())
            .send()
            .await
            .map_err(|e| err("AttachLoadBalancerTargetGroups", e))?;
        Ok(())
    }

    pub(super) async fn detach_target_group(
        &self,
        fleet: &FleetName,
        tg_arn: &TargetGroupArn,
    ) -> Result<()> {
        self.count("DetachLoadBalancerTargetGroups");
        let detached = self
            .asg
            .detach_load_balancer_target_groups()
            .auto_scaling_group_name(fleet.as_str())
            .target_group_arns(tg_arn.as_str())
            .send()
            .await
            .map_err(|e| err("DetachLoadBalancerTargetGroups", e));
        // Sent again after a lost answer, the detach can be refused for
        // what the first one did: what counts is that it is detached.
        if let Err(e) = detached {
            if self.group_target_groups(fleet).await?.contains(tg_arn) {
                return Err(e);
            }
        }
        // Deregister what is still registered: the ASG's instances drain now,
        // not whenever the detach finishes (moto never deregisters them).
        let targets: Vec<String> = self
            .target_health(tg_arn)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        if !targets.is_empty() {
            self.count("DeregisterTargets");
            let descs = targets
                .into_iter()
                .map(|id| elb::types::TargetDescription::builder().id(id).build())
                .collect::<Vec<_>>();
            let sent = self
                .elb
                .deregister_targets()
                .target_group_arn(tg_arn.as_str())
                .set_targets(Some(descs))
                .send()
                .await
                .map_err(|e| err("DeregisterTargets", e));
            // A lost answer (or a refusal of a resend) after the targets
            // left: what counts is that none is registered but draining.
            if let Err(e) = sent {
                let left = self.target_health(tg_arn).await?;
                if left.iter().any(|t| t.state != TargetState::Draining) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    pub(super) async fn delete_fleet(&self, fleet: &FleetName) -> Result<()> {
        self.count("DeleteAutoScalingGroup");
        let out = self
            .asg
            .delete_auto_scaling_group()
            .auto_scaling_group_name(fleet.as_str())
            .force_delete(true)
            .send()
            .await
            .map_err(|e| err("DeleteAutoScalingGroup", e));
        match out {
            Ok(_) => Ok(()),
            // Gone already (a call whose answer was lost): done.
            Err(e) if asg_not_found(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn fleet_members(&self, fleet: &FleetName) -> Result<Option<Members>> {
        let g = self.describe_group(fleet).await?;
        Ok(g.as_ref().map(|g| Members::of(&listed_fleet(g))))
    }

    pub(super) async fn mark(
        &self,
        fleet: &FleetName,
        mark: tags::Mark,
        fingerprint: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<()> {
        self.count("CreateOrUpdateTags");
        let (key, why_key) = mark.keys();
        self.asg
            .create_or_update_tags()
            .tags(asg_tag(
                fleet,
                key,
                &tags::rolled_back_value(fingerprint, at),
            ))
            .tags(asg_tag(fleet, why_key, &tags::why_value(why)))
            .send()
            .await
            .map_err(|e| err("CreateOrUpdateTags", e))?;
        Ok(())
    }

    pub(super) async fn clear_mark(&self, fleet: &FleetName, mark: tags::Mark) -> Result<()> {
        self.count("DeleteTags");
        // DeleteTags needs the keys only, no values (a value that differs
        // would keep the tag); its documented errors are ResourceContention
        // and ResourceInUse, none for a key the group lacks (Auto Scaling
        // API reference, DeleteTags). The plan asks only when the mark is
        // there.
        let key = |k: &str| {
            asg::types::Tag::builder()
                .resource_id(fleet.as_str())
                .resource_type("auto-scaling-group")
                .key(k)
                .build()
        };
        let (mark_key, why_key) = mark.keys();
        self.asg
            .delete_tags()
            .tags(key(mark_key))
            .tags(key(why_key))
            .send()
            .await
            .map_err(|e| err("DeleteTags", e))?;
        Ok(())
    }
}
