//! Auto Scaling's own work on a fleet: cutover's target-tracking policy,
//! and the scaling activities that say why a launch failed.

use super::convert::{resource_label, scaling_from};
use super::errors::{asg_not_found, err};
use super::observe::{fan_out, POLICY_NAMES};
use super::Aws;
use crate::model::{names, FleetName, LoadBalancerArn, TargetGroupArn, Timestamp};
use crate::provider::{FailedLaunch, ProviderError, Result};
use aws_sdk_autoscaling as asg;
use std::collections::BTreeMap;

impl Aws {
    /// cutover's target-tracking policies on groups `groups`, by group: one
    /// DescribePolicies for up to 50 policy names.
    pub(super) async fn policies(
        &self,
        groups: &[String],
    ) -> Result<BTreeMap<String, crate::model::Scaling>> {
        let names: Vec<String> = groups.iter().map(|g| names::scaling_policy(g)).collect();
        let chunks = names.chunks(POLICY_NAMES).map(|chunk| async move {
            let mut pages = self
                .asg
                .describe_policies()
                .set_policy_names(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.count("DescribePolicies");
                let page = page.map_err(|e| err("DescribePolicies", e))?;
                out.extend(page.scaling_policies().iter().filter_map(|p| {
                    let group = p.auto_scaling_group_name()?.to_string();
                    (p.policy_name()? == names::scaling_policy(&group))
                        .then(|| Some((group, scaling_from(p.target_tracking_configuration()?)?)))?
                }));
            }
            Ok::<_, ProviderError>(out)
        });
        Ok(fan_out(chunks).await?.into_iter().flatten().collect())
    }

    pub(super) async fn set_scaling(
        &self,
        fleet: &FleetName,
        scaling: Option<&crate::model::Scaling>,
        load_balancer: &LoadBalancerArn,
        target_group: &TargetGroupArn,
    ) -> Result<()> {
        let name = crate::model::names::scaling_policy(fleet.as_str());
        let Some(scaling) = scaling else {
            self.count("DeletePolicy");
            let out = self
                .asg
                .delete_policy()
                .auto_scaling_group_name(fleet.as_str())
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| err("DeletePolicy", e));
            return match out {
                // Gone already (a call whose answer was lost): done.
                Err(e) if asg_not_found(&e) => Ok(()),
                other => other.map(|_| ()),
            };
        };
        use asg::types::{MetricType, PredefinedMetricSpecification};
        let metric = match scaling {
            crate::model::Scaling::Cpu { .. } => PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::AsgAverageCpuUtilization),
            crate::model::Scaling::RequestsPerTarget { .. } => {
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type(MetricType::AlbRequestCountPerTarget)
                    .resource_label(resource_label(load_balancer, target_group))
            }
        };
        self.count("PutScalingPolicy");
        self.asg
            .put_scaling_policy()
            .auto_scaling_group_name(fleet.as_str())
            .policy_name(&name)
            .policy_type("TargetTrackingScaling")
            .target_tracking_configuration(
                asg::types::TargetTrackingConfiguration::builder()
                    .predefined_metric_specification(metric.build())
                    .target_value(scaling.target() as f64)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err("PutScalingPolicy", e))?;
        Ok(())
    }

    pub(super) async fn failed_launch(
        &self,
        fleet: &FleetName,
        since: Timestamp,
    ) -> Result<Option<FailedLaunch>> {
        self.count("DescribeScalingActivities");
        let out = self
            .asg
            .describe_scaling_activities()
            .auto_scaling_group_name(fleet.as_str())
            .max_records(10)
            .send()
            .await
            .map_err(|e| err("DescribeScalingActivities", e))?;
        // Newest first, as AWS lists them. Only the newest launch counts: a
        // failure Auto Scaling recovered from (another zone, another
        // capacity pool) is followed by a launch in progress or done.
        Ok(out
            .activities()
            .iter()
            .filter(|a| a.start_time().is_some_and(|t| t.secs() > since))
            .find(|a| a.description().is_some_and(|d| d.starts_with("Launching")))
            .filter(|a| a.status_code() == Some(&asg::types::ScalingActivityStatusCode::Failed))
            .map(|a| FailedLaunch {
                message: a
                    .status_message()
                    .unwrap_or("Auto Scaling gave no reason")
                    .to_string(),
                description: a.description().unwrap_or_default().to_string(),
            }))
    }
}
