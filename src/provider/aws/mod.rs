//! The AWS provider: the real AWS SDK for Rust over HTTP.
//!
//! Credentials and region come from the aws-config chain (`--region`,
//! `--profile`, the environment); `AWS_ENDPOINT_URL` or `--endpoint-url`
//! point it at any AWS-compatible endpoint (moto in the tests). Observing an
//! app takes two rounds of concurrent describe calls. Where AWS (or moto) is
//! not idempotent, cutover looks before it creates: the planner only asks
//! for what the snapshot showed missing.

mod observe;
mod preflight;
mod retry;
mod rules;

use super::convention::tags::{self, Made};
use super::{hint_for, AppRef, FailedLaunch, Members, Provider, ProviderError, Result};
use crate::model::observed::{AlarmState, Managed, Observed, Reads, TargetHealth, TargetState};
use crate::model::plan::{FleetConfig, ListenerConfig, TargetGroupConfig};
use crate::model::{
    Capacity, Color, HealthCheck, Protocol, Release, Timestamp, ALB_MAX_FORWARD_TARGETS,
    ALB_MAX_WEIGHT,
};
use crate::model::{FleetName, Forward, ListenerArn, LoadBalancerArn, TargetGroupArn};
use async_trait::async_trait;
use aws_sdk_acm as acm;
use aws_sdk_autoscaling as asg;
use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_ssm as ssm;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::RequestId;
use base64::Engine;
use observe::{health_from, listener_from};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Where to find AWS: everything optional falls back to the aws-config chain.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

pub struct Aws {
    elb: elb::Client,
    asg: asg::Client,
    ec2: ec2::Client,
    ssm: ssm::Client,
    cloudwatch: cloudwatch::Client,
    acm: acm::Client,
    region: String,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    /// Per listener ARN, the default actions before its forward as last
    /// read (say an authenticate-oidc someone configured): a weight change
    /// sends them back unchanged, in one call.
    kept_actions: Mutex<BTreeMap<String, Vec<elb::types::Action>>>,
    total_calls: AtomicU64,
    /// The region's target groups, as the last observation of many apps
    /// listed them, for `list_managed` right after.
    listed: Mutex<Option<observe::Listed>>,
}

/// An SDK error as one line: the operation, AWS's code and message, the
/// request id and what to do. The whole chain goes to the log (`-v`).
fn err<E>(op: &'static str, e: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::debug!(operation = op, error = %elb::error::DisplayErrorContext(&e), "AWS call failed");
    let request_id = e.request_id().map(str::to_string);
    let (code, message, hint) = match &e {
        SdkError::ServiceError(s) => {
            let code = s.err().code().map(str::to_string);
            let message = s
                .err()
                .message()
                .unwrap_or("AWS gave no message")
                .to_string();
            let hint = hint_for(code.as_deref().unwrap_or(""));
            (code, message, hint)
        }
        SdkError::TimeoutError(_) => (
            None,
            "no answer in time".to_string(),
            "AWS or the network is slow: run the command again",
        ),
        // Missing or unloadable credentials also fail at dispatch.
        SdkError::DispatchFailure(d)
            if format!("{d:?}").to_ascii_lowercase().contains("credential") =>
        {
            (
                None,
                "no AWS credentials could be loaded".to_string(),
                "set AWS_PROFILE or AWS credentials in the environment, or log in (aws sso login), then run the command again",
            )
        }
        SdkError::DispatchFailure(_) => (
            None,
            "could not reach AWS (the connection failed)".to_string(),
            "check the network and the endpoint, then run the command again",
        ),
        SdkError::ResponseError(_) => (
            None,
            "the answer could not be read".to_string(),
            "the call may have taken effect: run the command again, it picks up from live state",
        ),
        _ => (
            None,
            "the request could not be made".to_string(),
            "run with -v to see why",
        ),
    };
    // The run's budget made this failure final: that is the news.
    let hint = match retry::Budget::of_run().stopped() {
        Some(stopped) if !crate::provider::homeward() => stopped.hint().into(),
        _ => hint.into(),
    };
    ProviderError::Aws {
        operation: op.to_string(),
        code,
        message,
        request_id,
        hint,
    }
}

impl Aws {
    /// The target group `name`, when its tags say it is `app`'s `color`.
    async fn own_target_group(
        &self,
        app: &AppRef,
        color: Color,
        name: &str,
    ) -> Result<Option<TargetGroupArn>> {
        let found = self.target_groups(&[name.to_string()]).await?;
        let Some(arn) = found.first().and_then(|t| t.target_group_arn()) else {
            return Ok(None);
        };
        let tags = self.target_group_tags(&found).await?;
        let ours = tags
            .get(arn)
            .is_some_and(|t| tags::is_colour_of(t, &app.app, color));
        Ok(ours.then(|| TargetGroupArn::from(arn)))
    }

    /// `release`'s launch template data, its root volume on the image's
    /// root device.
    async fn launch_data_of(
        &self,
        release: &Release,
    ) -> Result<ec2::types::RequestLaunchTemplateData> {
        Ok(launch_data(
            release,
            self.root_device(release).await?.as_deref(),
        ))
    }

    /// The root device name of `release`'s image, when the release sets a
    /// root volume (a mapping on another device would add a second volume
    /// instead of resizing the root). An image EC2 does not describe keeps
    /// the usual "/dev/xvda"; launching it fails anyway, with EC2's reason.
    async fn root_device(&self, release: &Release) -> Result<Option<String>> {
        if release.data.root_volume.is_none() {
            return Ok(None);
        }
        self.count("DescribeImages");
        let out = self
            .ec2
            .describe_images()
            .image_ids(&release.data.image_id)
            .send()
            .await;
        let device = match out.map_err(|e| err("DescribeImages", e)) {
            Ok(out) => out
                .images()
                .first()
                .and_then(|i| i.root_device_name())
                .map(str::to_string),
            Err(e) if code_of(&e).is_some_and(|c| c.starts_with("InvalidAMIID")) => None,
            Err(e) => return Err(e),
        };
        Ok(Some(device.unwrap_or_else(|| "/dev/xvda".into())))
    }

    /// The version of template `id` that holds `release`, made when none does.
    async fn release_version(&self, id: &str, release: &Release) -> Result<i64> {
        if let Some(v) = self
            .launch_template_versions(id)
            .await?
            .into_iter()
            .filter(|v| v.fingerprint.as_deref() == Some(release.fingerprint.as_str()))
            .map(|v| v.number)
            .max()
        {
            return Ok(v);
        }
        self.count("CreateLaunchTemplateVersion");
        let out = self
            .ec2
            .create_launch_template_version()
            .launch_template_id(id)
            .client_token(client_token(id, release))
            .version_description(tags::release_description(&release.fingerprint))
            .launch_template_data(self.launch_data_of(release).await?)
            .send()
            .await
            .map_err(|e| err("CreateLaunchTemplateVersion", e))?;
        out.launch_template_version()
            .and_then(|v| v.version_number())
            .ok_or_else(|| {
                ProviderError::api("CreateLaunchTemplateVersion", "no version in the response")
            })
    }

    /// A new launch template whose first version holds `release`.
    async fn create_launch_template(
        &self,
        app: &AppRef,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        self.count("CreateLaunchTemplate");
        let tags = app
            .tags(Made::LaunchTemplate)
            .into_iter()
            .map(|(k, v)| ec2::types::Tag::builder().key(k).value(v).build())
            .collect();
        // A token, as for a version: a create whose answer was lost and is
        // sent again (by the SDK, or by the next run) is answered with the
        // template the first one made.
        let out = self
            .ec2
            .create_launch_template()
            .launch_template_name(name)
            .client_token(client_token(name, release))
            .version_description(tags::release_description(&release.fingerprint))
            .launch_template_data(self.launch_data_of(release).await?)
            .tag_specifications(
                ec2::types::TagSpecification::builder()
                    .resource_type(ec2::types::ResourceType::LaunchTemplate)
                    .set_tags(Some(tags))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err("CreateLaunchTemplate", e))?;
        let lt = out.launch_template().ok_or_else(|| {
            ProviderError::api("CreateLaunchTemplate", "no template in the response")
        })?;
        Ok((
            lt.launch_template_id().unwrap_or_default().to_string(),
            lt.latest_version_number().unwrap_or(1),
        ))
    }

    /// Auto Scaling group `name`, unless it is gone or being deleted.
    async fn describe_group(
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
    async fn group_target_groups(&self, name: &FleetName) -> Result<Vec<TargetGroupArn>> {
        Ok(self
            .describe_group(name)
            .await?
            .iter()
            .flat_map(|g| g.target_group_arns())
            .map(|a| TargetGroupArn::from(a.as_str()))
            .collect())
    }

    /// Whether the Auto Scaling group `name` is tagged as `app`'s `color`.
    async fn own_fleet(&self, app: &AppRef, color: Color, name: &FleetName) -> Result<bool> {
        Ok(self
            .describe_group(name)
            .await?
            .is_some_and(|g| tags::is_colour_of(&observe::listed_fleet(&g).tags, &app.app, color)))
    }
}

/// Auto Scaling's answer for a group or policy that does not exist: its
/// generic ValidationError, told apart by the message AWS documents for it
/// ("AutoScalingGroup name not found - …", "… policy … not found"). A
/// ValidationError for anything else is not "gone".
fn asg_not_found(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Aws { code: Some(c), message, .. }
        if c == "ValidationError" && message.to_ascii_lowercase().contains("not found"))
}

/// AWS's error code, when AWS answered with one.
fn code_of(e: &ProviderError) -> Option<&str> {
    match e {
        ProviderError::Aws { code, .. } => code.as_deref(),
        _ => None,
    }
}

/// The client token that makes a release's version of template `id` (or
/// template `name` with the release as its first version) once: EC2
/// answers a repeat with the same parameters (a call whose answer was
/// lost, sent again by the SDK or by the next run) with what it made the
/// first time, and other parameters with IdempotentParameterMismatch (EC2
/// API reference, "Ensuring idempotency"). Tied to the template, so a
/// template made again gets its own. At most 64 characters.
fn client_token(id: &str, release: &Release) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{id}\n{}", release.fingerprint));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("cutover-{}", &hex[..48])
}

fn protocol(p: Protocol) -> elb::types::ProtocolEnum {
    match p {
        Protocol::Http => elb::types::ProtocolEnum::Http,
        Protocol::Https => elb::types::ProtocolEnum::Https,
    }
}

fn protocol_from(p: Option<&elb::types::ProtocolEnum>) -> Protocol {
    match p {
        Some(elb::types::ProtocolEnum::Https) => Protocol::Https,
        _ => Protocol::Http,
    }
}

impl Aws {
    /// The shared configuration: region, credentials chain, retries and
    /// timeouts (a start-up phase of its own, timed by the shell). `Err`
    /// says which retry setting of the user's is wrong.
    pub async fn load_config(
        opts: &AwsOptions,
    ) -> std::result::Result<aws_types::SdkConfig, String> {
        let user = retry::UserRetry::load(opts.profile.as_deref()).await?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(retry::retry_config(&user, retry::test_backoff_ms()))
            .timeout_config(retry::timeout_config());
        if let Some(r) = &opts.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(u) = &opts.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        Ok(loader.load().await)
    }

    /// Each service's client on `conf`.
    pub fn from_config(conf: &aws_types::SdkConfig) -> Aws {
        let budget = retry::Budget::of_run();
        // Each service's client: the shared config, its own retry
        // partition, and the run's retry budget.
        macro_rules! client {
            ($service:ident) => {
                $service::Client::from_conf(
                    $service::config::Builder::from(conf)
                        .retry_partition(retry::partition(concat!(
                            "cutover-",
                            stringify!($service)
                        )))
                        .retry_classifier(budget.clone())
                        .build(),
                )
            };
        }
        Aws {
            elb: client!(elb),
            asg: client!(asg),
            ec2: client!(ec2),
            ssm: client!(ssm),
            cloudwatch: client!(cloudwatch),
            acm: client!(acm),
            region: conf
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "(no region)".into()),
            calls: Mutex::new(BTreeMap::new()),
            kept_actions: Mutex::new(BTreeMap::new()),
            total_calls: AtomicU64::new(0),
            listed: Mutex::new(None),
        }
    }

    fn now_secs(&self) -> Timestamp {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn count(&self, op: &'static str) {
        *self.calls.lock().expect("lock").entry(op).or_default() += 1;
        self.total_calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(operation = op, "aws call");
    }

    /// Remembers the actions a listener or rule (`arn`) runs before its
    /// forward.
    fn remember_kept(&self, arn: &str, actions: &[elb::types::Action]) {
        let mut kept: Vec<elb::types::Action> = actions
            .iter()
            .filter(|a| observe::runs_before_forward(a))
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
    fn default_actions(
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
        let mut fwd = Self::forward_action(forward, affinity_secs)?;
        if !actions.is_empty() {
            fwd.order = Some(actions.len() as i32 + 1);
        }
        actions.push(fwd);
        Ok(actions)
    }

    /// Remembers what listener `l` runs before its forward.
    fn remember_listener(&self, l: &elb::types::Listener) {
        self.remember_kept(l.listener_arn().unwrap_or_default(), l.default_actions());
    }

    /// Remembers what rule `r` runs before its forward.
    fn remember_rule(&self, r: &elb::types::Rule) {
        self.remember_kept(r.rule_arn().unwrap_or_default(), r.actions());
    }

    /// A weighted forward. ALB takes weights 0–999 and at most five target
    /// groups; anything else is refused here, before AWS sees it. With
    /// `affinity_secs` above 0 a client stays on the target group it first
    /// reached for that long (group stickiness); 0 turns it off, which is
    /// also what AWS assumes when the forward does not say.
    fn forward_action(forward: &Forward, affinity_secs: u32) -> Result<elb::types::Action> {
        if forward.len() > ALB_MAX_FORWARD_TARGETS
            || forward.iter().any(|(_, w)| *w > ALB_MAX_WEIGHT)
        {
            return Err(ProviderError::api(
                "ModifyListener",
                format!("refusing weights ALB does not accept: {forward:?}"),
            ));
        }
        let stickiness = elb::types::TargetGroupStickinessConfig::builder()
            .enabled(affinity_secs > 0)
            .set_duration_seconds((affinity_secs > 0).then_some(affinity_secs as i32))
            .build();
        let mut fc =
            elb::types::ForwardActionConfig::builder().target_group_stickiness_config(stickiness);
        for (arn, w) in forward {
            fc = fc.target_groups(
                elb::types::TargetGroupTuple::builder()
                    .target_group_arn(arn.as_str())
                    .weight(*w as i32)
                    .build(),
            );
        }
        Ok(elb::types::Action::builder()
            .r#type(elb::types::ActionTypeEnum::Forward)
            .forward_config(fc.build())
            .build())
    }
}

/// The tags of a listener or rule cutover makes for `app` as `role`.
pub(super) fn listener_tags(
    app: &AppRef,
    role: crate::model::ListenerRole,
) -> Vec<elb::types::Tag> {
    elb_tags(app.tags(Made::Listener(role)))
}

/// Tags as Elastic Load Balancing takes them.
fn elb_tags(tags: Vec<(&'static str, String)>) -> Vec<elb::types::Tag> {
    tags.into_iter()
        .map(|(k, v)| elb::types::Tag::builder().key(k).value(v).build())
        .collect()
}

fn asg_tag(fleet: &FleetName, k: &str, v: &str) -> asg::types::Tag {
    asg::types::Tag::builder()
        .resource_id(fleet.as_str())
        .resource_type("auto-scaling-group")
        .key(k)
        .value(v)
        .propagate_at_launch(true)
        .build()
}

/// The state of a CloudWatch alarm (metric or composite). An alarm that does
/// not exist is an error, so a gate naming a mistyped alarm fails instead of
/// passing silently.
pub async fn alarm_state(client: &cloudwatch::Client, name: &str) -> Result<AlarmState> {
    let out = client
        .describe_alarms()
        .alarm_names(name)
        .alarm_types(cloudwatch::types::AlarmType::MetricAlarm)
        .alarm_types(cloudwatch::types::AlarmType::CompositeAlarm)
        .send()
        .await
        .map_err(|e| err("DescribeAlarms", e))?;
    let metric = out.metric_alarms().iter().find_map(|a| a.state_value());
    let composite = out.composite_alarms().iter().find_map(|a| a.state_value());
    let state = metric.or(composite).ok_or_else(|| {
        ProviderError::NotFound(format!("CloudWatch alarm {name} does not exist"))
    })?;
    AlarmState::parse(state.as_str()).ok_or_else(|| {
        ProviderError::api(
            "DescribeAlarms",
            format!(
                "alarm {name} is in a state cutover does not know: {}",
                state.as_str()
            ),
        )
    })
}

/// The group's launch template: plainly, or inside a MixedInstancesPolicy
/// when the fleet runs on spot or on several instance types.
fn fleet_template(
    c: &FleetConfig,
    template_id: &str,
    version: i64,
) -> (
    Option<asg::types::LaunchTemplateSpecification>,
    Option<asg::types::MixedInstancesPolicy>,
) {
    let spec = asg::types::LaunchTemplateSpecification::builder()
        .launch_template_id(template_id)
        .version(version.to_string())
        .build();
    if !c.spot && c.instance_types.is_empty() {
        return (Some(spec), None);
    }
    let overrides = c.instance_types.iter().map(|t| {
        asg::types::LaunchTemplateOverrides::builder()
            .instance_type(t)
            .build()
    });
    let mut distribution = asg::types::InstancesDistribution::builder()
        .on_demand_base_capacity(c.on_demand_base as i32)
        .on_demand_percentage_above_base_capacity(if c.spot { 0 } else { 100 });
    if c.spot {
        distribution = distribution.spot_allocation_strategy("price-capacity-optimized");
    }
    let policy = asg::types::MixedInstancesPolicy::builder()
        .launch_template(
            asg::types::LaunchTemplate::builder()
                .launch_template_specification(spec)
                .set_overrides((!c.instance_types.is_empty()).then(|| overrides.collect()))
                .build(),
        )
        .instances_distribution(distribution.build())
        .build();
    (None, Some(policy))
}

/// The metric label of requests per target: the load balancer's and the
/// target group's ARN ends, "app/<lb>/<id>/targetgroup/<tg>/<id>".
fn resource_label(lb: &LoadBalancerArn, tg: &TargetGroupArn) -> String {
    let after = |arn: &str, marker: &str| {
        arn.split_once(marker)
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    };
    format!(
        "{}/targetgroup/{}",
        after(lb.as_str(), ":loadbalancer/"),
        after(tg.as_str(), ":targetgroup/")
    )
}

/// The launch data of `release`. `root_device` is the image's root device
/// name, where a plan's root volume goes.
fn launch_data(
    release: &Release,
    root_device: Option<&str>,
) -> ec2::types::RequestLaunchTemplateData {
    let d = &release.data;
    let metadata = d.imdsv2.map(|required| {
        ec2::types::LaunchTemplateInstanceMetadataOptionsRequest::builder()
            .http_endpoint(ec2::types::LaunchTemplateInstanceMetadataEndpointState::Enabled)
            .http_tokens(match required {
                true => ec2::types::LaunchTemplateHttpTokensState::Required,
                false => ec2::types::LaunchTemplateHttpTokensState::Optional,
            })
            .build()
    });
    let root = d.root_volume.as_ref().zip(root_device).map(|(v, device)| {
        ec2::types::LaunchTemplateBlockDeviceMappingRequest::builder()
            .device_name(device)
            .ebs(
                ec2::types::LaunchTemplateEbsBlockDeviceRequest::builder()
                    .volume_size(v.size_gib as i32)
                    .volume_type(ec2::types::VolumeType::from(v.volume_type.as_str()))
                    .encrypted(v.encrypted)
                    .set_iops(v.iops.map(|i| i as i32))
                    .delete_on_termination(true)
                    .build(),
            )
            .build()
    });
    ec2::types::RequestLaunchTemplateData::builder()
        .set_metadata_options(metadata)
        .set_block_device_mappings(root.map(|r| vec![r]))
        .image_id(&d.image_id)
        .set_instance_type(
            d.instance_type
                .as_deref()
                .map(ec2::types::InstanceType::from),
        )
        .set_security_group_ids(Some(d.security_groups.clone()))
        .set_user_data(
            d.user_data
                .as_ref()
                .map(|u| base64::engine::general_purpose::STANDARD.encode(u)),
        )
        .set_key_name(d.key_name.clone())
        .set_iam_instance_profile(d.instance_profile.as_ref().map(|p| {
            let profile =
                ec2::types::LaunchTemplateIamInstanceProfileSpecificationRequest::builder();
            match p.starts_with("arn:") {
                true => profile.arn(p).build(),
                false => profile.name(p).build(),
            }
        }))
        .set_monitoring(d.monitoring.then(|| {
            ec2::types::LaunchTemplatesMonitoringRequest::builder()
                .enabled(true)
                .build()
        }))
        .set_tag_specifications((!d.tags.is_empty()).then(|| {
            [
                ec2::types::ResourceType::Instance,
                ec2::types::ResourceType::Volume,
            ]
            .into_iter()
            .map(|kind| {
                ec2::types::LaunchTemplateTagSpecificationRequest::builder()
                    .resource_type(kind)
                    .set_tags(Some(
                        d.tags
                            .iter()
                            .map(|(k, v)| ec2::types::Tag::builder().key(k).value(v).build())
                            .collect(),
                    ))
                    .build()
            })
            .collect()
        }))
        .build()
}

impl Aws {
    async fn listener_forward(&self, arn: &ListenerArn) -> Result<Forward> {
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

    async fn set_listener_weights(
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
}

#[async_trait]
impl Provider for Aws {
    fn describe(&self) -> String {
        format!("aws {}", self.region)
    }

    async fn observe_apps(&self, apps: &[AppRef], reads: Reads) -> Vec<Result<Observed>> {
        self.observe_batch(apps, reads).await
    }

    async fn target_health(&self, arn: &TargetGroupArn) -> Result<Vec<TargetHealth>> {
        self.count("DescribeTargetHealth");
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(arn.as_str())
            .send()
            .await
            .map_err(|e| err("DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(health_from)
            .collect())
    }

    async fn create_target_group(
        &self,
        app: &AppRef,
        color: Color,
        c: &TargetGroupConfig,
    ) -> Result<TargetGroupArn> {
        self.count("CreateTargetGroup");
        let hc = &c.health_check;
        let out = self
            .elb
            .create_target_group()
            .name(&c.name)
            .port(c.port as i32)
            .protocol(protocol(c.protocol))
            .vpc_id(&c.vpc_id)
            .target_type(elb::types::TargetTypeEnum::Instance)
            .health_check_enabled(true)
            .health_check_protocol(protocol(c.protocol))
            .health_check_path(&hc.path)
            .health_check_interval_seconds(hc.interval_secs as i32)
            .health_check_timeout_seconds(hc.timeout_secs as i32)
            .healthy_threshold_count(hc.healthy_threshold as i32)
            .unhealthy_threshold_count(hc.unhealthy_threshold as i32)
            .matcher(
                elb::types::Matcher::builder()
                    .http_code(&hc.matcher)
                    .build(),
            )
            .set_tags(Some(elb_tags(app.tags(Made::TargetGroup(color)))))
            .send()
            .await
            .map_err(|e| err("CreateTargetGroup", e));
        let arn = match out {
            Ok(out) => TargetGroupArn::from(
                out.target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .ok_or_else(|| {
                        ProviderError::api("CreateTargetGroup", "no target group in the response")
                    })?,
            ),
            // A create whose answer was lost, sent again with other
            // settings in between, or a crash: ours if our tags say so.
            Err(e) if code_of(&e) == Some("DuplicateTargetGroupName") => {
                let arn = self.own_target_group(app, color, &c.name).await?.ok_or(e)?;
                self.modify_health_check(&arn, hc).await?;
                arn
            }
            Err(e) => return Err(e),
        };
        self.set_attributes(&arn, &crate::model::AttributeChanges::all(&c.attributes))
            .await?;
        Ok(arn)
    }

    async fn modify_health_check(&self, arn: &TargetGroupArn, hc: &HealthCheck) -> Result<()> {
        self.count("ModifyTargetGroup");
        self.elb
            .modify_target_group()
            .target_group_arn(arn.as_str())
            .health_check_path(&hc.path)
            .health_check_interval_seconds(hc.interval_secs as i32)
            .health_check_timeout_seconds(hc.timeout_secs as i32)
            .healthy_threshold_count(hc.healthy_threshold as i32)
            .unhealthy_threshold_count(hc.unhealthy_threshold as i32)
            .matcher(
                elb::types::Matcher::builder()
                    .http_code(&hc.matcher)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err("ModifyTargetGroup", e))?;
        Ok(())
    }

    async fn set_scaling(
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

    async fn set_attributes(
        &self,
        arn: &TargetGroupArn,
        changes: &crate::model::AttributeChanges,
    ) -> Result<()> {
        self.count("ModifyTargetGroupAttributes");
        let attributes = changes
            .aws_pairs()
            .into_iter()
            .map(|(k, v)| {
                elb::types::TargetGroupAttribute::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect();
        self.elb
            .modify_target_group_attributes()
            .target_group_arn(arn.as_str())
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| err("ModifyTargetGroupAttributes", e))?;
        Ok(())
    }

    async fn create_launch_template_version(
        &self,
        app: &AppRef,
        template_id: Option<&str>,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        // Look before creating: a crash between create and record must not
        // leave a second template or a duplicate version behind.
        let existing = match template_id {
            Some(id) => Some(id.to_string()),
            None => self.launch_template_id(name).await?,
        };
        match existing {
            Some(id) => Ok((id.clone(), self.release_version(&id, release).await?)),
            None => match self.create_launch_template(app, name, release).await {
                // Made by a call whose answer was lost, or by another run:
                // its first version holds this release, or a version for
                // it is added now. EC2 is eventually consistent: a template
                // it says exists may not be listed yet, and the step is
                // tried again shortly (bounded), not failed.
                Err(e)
                    if code_of(&e) == Some("InvalidLaunchTemplateName.AlreadyExistsException") =>
                {
                    let Some(id) = self.launch_template_id(name).await? else {
                        return Err(ProviderError::NotVisibleYet {
                            operation: "DescribeLaunchTemplates".into(),
                            message: format!(
                                "launch template {name} exists (CreateLaunchTemplate said {}) but is not listed yet",
                                e.aws_said()
                            ),
                        });
                    };
                    Ok((id.clone(), self.release_version(&id, release).await?))
                }
                made => made,
            },
        }
    }

    async fn create_fleet(
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

    async fn update_fleet(&self, c: &FleetConfig, template_id: &str, version: i64) -> Result<()> {
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

    async fn set_capacity(&self, fleet: &FleetName, c: Capacity) -> Result<()> {
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

    async fn attach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
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

    async fn detach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
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

    async fn delete_fleet(&self, fleet: &FleetName) -> Result<()> {
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

    async fn create_listener(
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
            .default_actions(Self::forward_action(forward, 0)?)
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

    async fn modify_listener(
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

    async fn create_rule(
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

    async fn tag_listener(
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

    async fn delete_listener(&self, listener: &ListenerArn) -> Result<()> {
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

    async fn forwards_on(&self, lb: &LoadBalancerArn) -> Result<Vec<crate::provider::Forwarding>> {
        self.forwards_on_load_balancer(lb).await
    }

    async fn modify_rule(
        &self,
        arn: &crate::model::RuleArn,
        rule: &crate::model::ListenerRule,
        forward: &Forward,
    ) -> Result<()> {
        self.modify_rule_to(arn, rule, forward).await
    }

    async fn delete_rule(&self, arn: &crate::model::RuleArn) -> Result<()> {
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

    async fn forward_of(&self, at: &crate::model::ForwardAt) -> Result<Forward> {
        self.forward_at(at).await
    }

    async fn set_weights(
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

    async fn put_active(&self, parameter: &str, color: Color) -> Result<()> {
        self.put_record(parameter, color.as_str()).await
    }

    async fn put_record(&self, parameter: &str, value: &str) -> Result<()> {
        self.count("PutParameter");
        self.ssm
            .put_parameter()
            .name(parameter)
            .value(value)
            .r#type(ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| err("PutParameter", e))?;
        Ok(())
    }

    async fn set_contract_pending(
        &self,
        arn: &TargetGroupArn,
        release: Option<&str>,
    ) -> Result<()> {
        self.count("AddTags");
        let tag = elb::types::Tag::builder()
            .key(tags::CONTRACT_PENDING)
            .value(release.unwrap_or(""))
            .build();
        self.elb
            .add_tags()
            .resource_arns(arn.as_str())
            .tags(tag)
            .send()
            .await
            .map_err(|e| err("AddTags", e))?;
        Ok(())
    }

    async fn fleet_members(&self, fleet: &FleetName) -> Result<Option<Members>> {
        let g = self.describe_group(fleet).await?;
        Ok(g.as_ref().map(|g| Members::of(&observe::listed_fleet(g))))
    }

    async fn look_up(
        &self,
        named: &crate::model::named::Named,
    ) -> Result<crate::model::named::Found> {
        self.look_up_named(named).await
    }

    async fn failed_launch(
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

    async fn list_managed(&self) -> Result<Vec<Managed>> {
        let (mut out, tgs) =
            futures::try_join!(self.managed_groups(), self.managed_target_groups())?;
        out.extend(tgs);
        Ok(out)
    }

    async fn alarm_state(&self, name: &str) -> Result<AlarmState> {
        self.count("DescribeAlarms");
        alarm_state(&self.cloudwatch, name).await
    }

    async fn mark_rolled_back(
        &self,
        fleet: &FleetName,
        fingerprint: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<()> {
        self.count("CreateOrUpdateTags");
        self.asg
            .create_or_update_tags()
            .tags(asg_tag(
                fleet,
                tags::ROLLED_BACK,
                &tags::rolled_back_value(fingerprint, at),
            ))
            .tags(asg_tag(fleet, tags::ROLLED_BACK_WHY, &tags::why_value(why)))
            .send()
            .await
            .map_err(|e| err("CreateOrUpdateTags", e))?;
        Ok(())
    }

    async fn clear_rolled_back(&self, fleet: &FleetName) -> Result<()> {
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
        self.asg
            .delete_tags()
            .tags(key(tags::ROLLED_BACK))
            .tags(key(tags::ROLLED_BACK_WHY))
            .send()
            .await
            .map_err(|e| err("DeleteTags", e))?;
        Ok(())
    }

    async fn try_lock(&self, name: &str, holder: &str) -> Result<Option<String>> {
        self.count("PutParameter");
        // Overwrite off: exactly one of several racing runs creates it.
        match self
            .ssm
            .put_parameter()
            .name(name)
            .value(holder)
            .r#type(ssm::types::ParameterType::String)
            .overwrite(false)
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) =>
            {
                Ok(Some(self.read_lock(name).await?.unwrap_or_default()))
            }
            Err(e) => Err(err("PutParameter", e)),
        }
    }

    async fn read_lock(&self, name: &str) -> Result<Option<String>> {
        self.count("GetParameter");
        match self.ssm.get_parameter().name(name).send().await {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => Err(err("GetParameter", e)),
        }
    }

    async fn delete_lock(&self, name: &str) -> Result<()> {
        self.count("DeleteParameter");
        match self.ssm.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(())
            }
            Err(e) => Err(err("DeleteParameter", e)),
        }
    }

    fn now(&self) -> Timestamp {
        self.now_secs()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_secs(2)
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }
}
