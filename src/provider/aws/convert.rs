//! Between the SDK's types and cutover's, in one place: what a describe
//! answers, as a listing or a snapshot's part; what a write sends (tags,
//! forward actions, launch data, a fleet's template).

use crate::model::observed::{self, TargetHealth, TargetState};
use crate::model::plan::FleetConfig;
use crate::model::{
    Capacity, FleetName, Forward, HealthCheck, LaunchData, ListenerRule, LoadBalancerArn, Protocol,
    Release, RuleArn, TargetGroupArn, TgAttributes, ALB_MAX_FORWARD_TARGETS, ALB_MAX_WEIGHT,
};
use crate::provider::convention::listing::{
    ListedFleet, ListedInstance, ListedRule, ListedVersion,
};
use crate::provider::convention::tags::{self, Made};
use crate::provider::{AppRef, ProviderError, Result};
use aws_sdk_autoscaling as asg;
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use base64::Engine;
use std::collections::BTreeMap;

/// A launch template of an app: its id and latest version.
#[derive(Debug, Clone)]
pub(super) struct Template {
    pub(super) id: String,
    pub(super) latest: i64,
}

/// A listener's rules with their tags, as DescribeRules and DescribeTags
/// give them.
pub(super) type RulesOf = BTreeMap<String, Vec<(elb::types::Rule, BTreeMap<String, String>)>>;

pub(super) fn protocol(p: Protocol) -> elb::types::ProtocolEnum {
    match p {
        Protocol::Http => elb::types::ProtocolEnum::Http,
        Protocol::Https => elb::types::ProtocolEnum::Https,
    }
}

pub(super) fn protocol_from(p: Option<&elb::types::ProtocolEnum>) -> Protocol {
    match p {
        Some(elb::types::ProtocolEnum::Https) => Protocol::Https,
        _ => Protocol::Http,
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
pub(super) fn elb_tags(tags: Vec<(&'static str, String)>) -> Vec<elb::types::Tag> {
    tags.into_iter()
        .map(|(k, v)| elb::types::Tag::builder().key(k).value(v).build())
        .collect()
}

pub(super) fn asg_tag(fleet: &FleetName, k: &str, v: &str) -> asg::types::Tag {
    asg::types::Tag::builder()
        .resource_id(fleet.as_str())
        .resource_type("auto-scaling-group")
        .key(k)
        .value(v)
        .propagate_at_launch(true)
        .build()
}

/// The group's launch template: plainly, or inside a MixedInstancesPolicy
/// when the fleet runs on spot or on several instance types.
pub(super) fn fleet_template(
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
pub(super) fn resource_label(lb: &LoadBalancerArn, tg: &TargetGroupArn) -> String {
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
pub(super) fn launch_data(
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

/// What a launch template version holds, read back: every setting
/// [`launch_data`] writes.
pub(super) fn launch_data_from(d: &ec2::types::ResponseLaunchTemplateData) -> LaunchData {
    let profile = d.iam_instance_profile();
    LaunchData {
        image_id: d.image_id().unwrap_or_default().to_string(),
        instance_type: d.instance_type().map(|t| t.as_str().to_string()),
        security_groups: d.security_group_ids().to_vec(),
        user_data: d.user_data().and_then(decode_user_data),
        key_name: d.key_name().map(str::to_string),
        instance_profile: profile
            .and_then(|p| p.name().or(p.arn()))
            .map(str::to_string),
        monitoring: d.monitoring().and_then(|m| m.enabled()).unwrap_or(false),
        tags: d
            .tag_specifications()
            .iter()
            .find(|t| t.resource_type() == Some(&ec2::types::ResourceType::Instance))
            .map(|t| {
                t.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        imdsv2: d
            .metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| *t == ec2::types::LaunchTemplateHttpTokensState::Required),
        root_volume: root_volume_from(d),
    }
}

/// A weighted forward. ALB takes weights 0–999 and at most five target
/// groups; anything else is refused here, before AWS sees it. With
/// `affinity_secs` above 0 a client stays on the target group it first
/// reached for that long (group stickiness); 0 turns it off, which is
/// also what AWS assumes when the forward does not say.
pub(super) fn forward_action(forward: &Forward, affinity_secs: u32) -> Result<elb::types::Action> {
    if forward.len() > ALB_MAX_FORWARD_TARGETS || forward.iter().any(|(_, w)| *w > ALB_MAX_WEIGHT) {
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

/// A load balancer's name from its ARN ("…:loadbalancer/app/<name>/<id>").
pub(super) fn load_balancer_name(arn: &str) -> Option<String> {
    let rest = arn.split(":loadbalancer/").nth(1)?;
    rest.split('/').nth(1).map(str::to_string)
}

pub(super) fn target_group_from(
    tg: &elb::types::TargetGroup,
    targets: Vec<TargetHealth>,
    attributes: TgAttributes,
) -> observed::TargetGroup {
    let arn = tg.target_group_arn().unwrap_or_default();
    observed::TargetGroup {
        contract_pending: None,
        held_by: None,
        arn: arn.into(),
        name: tg.target_group_name().unwrap_or_default().to_string(),
        port: tg.port().unwrap_or(0) as u16,
        protocol: protocol_from(tg.protocol()),
        vpc_id: tg.vpc_id().unwrap_or_default().to_string(),
        health_check: HealthCheck {
            path: tg.health_check_path().unwrap_or("/").to_string(),
            interval_secs: tg.health_check_interval_seconds().unwrap_or(30) as u32,
            timeout_secs: tg.health_check_timeout_seconds().unwrap_or(5) as u32,
            healthy_threshold: tg.healthy_threshold_count().unwrap_or(5) as u32,
            unhealthy_threshold: tg.unhealthy_threshold_count().unwrap_or(2) as u32,
            matcher: tg
                .matcher()
                .and_then(|m| m.http_code())
                .unwrap_or("200")
                .to_string(),
        },
        attributes,
        targets,
        load_balancers: tg
            .load_balancer_arns()
            .iter()
            .map(|a| a.as_str().into())
            .collect(),
    }
}

/// Scaled in and on its way out: Terminating, Terminating:Wait,
/// Terminating:Proceed or Terminated.
pub(super) fn leaving(i: &asg::types::Instance) -> bool {
    i.lifecycle_state()
        .is_some_and(|l| l.as_str().starts_with("Terminat"))
}

/// The group's launch template (plain or in a mixed instances policy).
pub(super) fn group_launch_template(
    g: &asg::types::AutoScalingGroup,
) -> Option<&asg::types::LaunchTemplateSpecification> {
    g.launch_template().or_else(|| {
        g.mixed_instances_policy()?
            .launch_template()?
            .launch_template_specification()
    })
}

/// The group's launch template version.
pub(super) fn group_version(g: &asg::types::AutoScalingGroup) -> Option<i64> {
    group_launch_template(g)?.version()?.parse().ok()
}

/// The id of the group's launch template, of those in `templates` when
/// the group names it by name.
pub(super) fn group_template(
    g: &asg::types::AutoScalingGroup,
    templates: &BTreeMap<String, Template>,
) -> Option<String> {
    let spec = group_launch_template(g)?;
    spec.launch_template_id()
        .map(str::to_string)
        .or_else(|| Some(templates.get(spec.launch_template_name()?)?.id.clone()))
}

/// A version as listed (its description as written), with its template's id.
pub(super) fn version_from(v: &ec2::types::LaunchTemplateVersion) -> (String, ListedVersion) {
    let version = observed::LaunchTemplateVersion {
        number: v.version_number().unwrap_or(0),
        fingerprint: None,
        data: v
            .launch_template_data()
            .map(launch_data_from)
            .unwrap_or_else(|| {
                launch_data_from(&ec2::types::ResponseLaunchTemplateData::builder().build())
            }),
    };
    let listed = ListedVersion {
        description: v.version_description().map(str::to_string),
        version,
    };
    (
        v.launch_template_id().unwrap_or_default().to_string(),
        listed,
    )
}

/// An Auto Scaling group's tags.
pub(super) fn group_tags(g: &asg::types::AutoScalingGroup) -> tags::Tags {
    g.tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// An Auto Scaling group as listed: what it is set to, its tags and its
/// instances (a terminated one is gone), each with the launch template
/// version it reports it was launched from (AWS does; the test server in
/// front of moto does too, where moto alone reports the template's
/// current default for all).
pub(super) fn listed_fleet(g: &asg::types::AutoScalingGroup) -> ListedFleet {
    let instances = g
        .instances()
        .iter()
        .filter(|i| {
            i.lifecycle_state()
                .is_none_or(|l| l.as_str() != "Terminated")
        })
        .map(|i| ListedInstance {
            id: i.instance_id().unwrap_or_default().to_string(),
            version: i
                .launch_template()
                .and_then(|l| l.version())
                .and_then(|v| v.parse::<i64>().ok()),
            leaving: leaving(i),
        })
        .collect();
    ListedFleet {
        fleet: fleet_from(g),
        deleting: g.status().is_some(),
        tags: group_tags(g),
        instances,
    }
}

/// What the group is set to; what cutover's tags record, its instances and
/// its policy are the convention's to read (`convention::assemble`).
pub(super) fn fleet_from(g: &asg::types::AutoScalingGroup) -> observed::Fleet {
    observed::Fleet {
        name: g.auto_scaling_group_name().unwrap_or_default().into(),
        capacity: Capacity {
            min: g.min_size().unwrap_or(0) as u32,
            max: g.max_size().unwrap_or(0) as u32,
            desired: g.desired_capacity().unwrap_or(0) as u32,
        },
        launch_template_version: group_version(g),
        older: Vec::new(),
        scaling: None,
        health_check_grace_secs: g.health_check_grace_period().unwrap_or(0).max(0) as u32,
        warmup_secs: g.default_instance_warmup().map(|s| s.max(0) as u32),
        spot: g.mixed_instances_policy().is_some_and(|m| {
            m.instances_distribution()
                .and_then(|d| d.on_demand_percentage_above_base_capacity())
                == Some(0)
        }),
        instance_types: g
            .mixed_instances_policy()
            .and_then(|m| m.launch_template())
            .map(|t| {
                t.overrides()
                    .iter()
                    .filter_map(|o| o.instance_type().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        on_demand_base: g
            .mixed_instances_policy()
            .and_then(|m| m.instances_distribution())
            .and_then(|d| d.on_demand_base_capacity())
            .unwrap_or(0)
            .max(0) as u32,
        capacity_rebalance: g.capacity_rebalance().unwrap_or(false),
        release: None,
        rolled_back: None,
        rolled_back_why: None,
        held: None,
        held_why: None,
        held_by: None,
        subnets: g
            .vpc_zone_identifier()
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        instances: Vec::new(),
        target_groups: g
            .target_group_arns()
            .iter()
            .map(|a| a.as_str().into())
            .collect(),
    }
}

/// User data as the launch template holds it (base64), as text.
pub(super) fn decode_user_data(encoded: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The action that forwards to target groups.
pub(super) fn is_forward(a: &elb::types::Action) -> bool {
    a.r#type() == Some(&elb::types::ActionTypeEnum::Forward)
}

/// What a listener's default actions or a rule's actions hold for
/// cutover: the kinds of the actions before the forward, in order; the
/// forward; its session affinity (seconds, 0: off).
pub(super) struct ForwardSeen {
    pub kept: Vec<String>,
    pub forward: Forward,
    pub affinity_secs: u32,
}

pub(super) fn forward_seen(actions: &[elb::types::Action]) -> ForwardSeen {
    let (kept, forward) = kept_and_forward(actions);
    ForwardSeen {
        kept,
        forward,
        affinity_secs: affinity_from(actions),
    }
}

/// The kinds of the actions before the forward, in order, and the forward.
pub(super) fn kept_and_forward(actions: &[elb::types::Action]) -> (Vec<String>, Forward) {
    let mut actions = actions.to_vec();
    actions.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
    let kept = actions
        .iter()
        .filter(|a| runs_before_forward(a))
        .map(|a| a.r#type().map(|t| t.as_str()).unwrap_or("?").to_string())
        .collect();
    (kept, forward_from(&actions))
}

/// A login (authenticate-oidc or -cognito): the only actions that run
/// before a forward. A fixed response or a redirect ends the list, so a
/// forward replaces it.
pub(super) fn runs_before_forward(a: &elb::types::Action) -> bool {
    matches!(
        a.r#type(),
        Some(
            elb::types::ActionTypeEnum::AuthenticateOidc
                | elb::types::ActionTypeEnum::AuthenticateCognito
        )
    )
}

/// The forward among `actions`: (target group ARN, weight) each.
pub(super) fn forward_from(actions: &[elb::types::Action]) -> Forward {
    let mut forward = Vec::new();
    if let Some(a) = actions.iter().find(|a| is_forward(a)) {
        if let Some(fc) = a.forward_config() {
            for t in fc.target_groups() {
                if let Some(arn) = t.target_group_arn() {
                    forward.push((arn.into(), t.weight().unwrap_or(1).max(0) as u32));
                }
            }
        } else if let Some(arn) = a.target_group_arn() {
            forward.push((arn.into(), 1));
        }
    }
    forward
}

pub(super) fn listener_from(l: &elb::types::Listener) -> observed::Listener {
    let seen = forward_seen(l.default_actions());
    observed::Listener {
        arn: l.listener_arn().unwrap_or_default().into(),
        port: l.port().unwrap_or(0) as u16,
        protocol: protocol_from(l.protocol()),
        certificate_arn: l
            .certificates()
            .first()
            .and_then(|c| c.certificate_arn())
            .map(str::to_string),
        forward: seen.forward,
        affinity_secs: seen.affinity_secs,
        kept_actions: seen.kept,
        tags: None,
    }
}

/// The forward's group stickiness in seconds; 0 when it is off.
pub(super) fn affinity_from(actions: &[elb::types::Action]) -> u32 {
    actions
        .iter()
        .find(|a| is_forward(a))
        .and_then(|a| a.forward_config()?.target_group_stickiness_config())
        .filter(|s| s.enabled() == Some(true))
        .map(|s| s.duration_seconds().unwrap_or(0).max(0) as u32)
        .unwrap_or(0)
}

pub(super) fn health_from(d: &elb::types::TargetHealthDescription) -> TargetHealth {
    let h = d.target_health();
    TargetHealth {
        id: d
            .target()
            .and_then(|t| t.id())
            .unwrap_or_default()
            .to_string(),
        state: h
            .and_then(|h| h.state())
            .map(|s| TargetState::parse(s.as_str()))
            .unwrap_or(TargetState::Unknown),
        reason: h.and_then(|h| h.reason()).map(|r| r.as_str().to_string()),
        description: h.and_then(|h| h.description()).map(str::to_string),
    }
}

/// The root volume a launch template version sets: its one EBS mapping.
pub(super) fn root_volume_from(
    d: &ec2::types::ResponseLaunchTemplateData,
) -> Option<crate::model::RootVolume> {
    let ebs = d.block_device_mappings().iter().find_map(|m| m.ebs())?;
    Some(crate::model::RootVolume {
        size_gib: ebs.volume_size().unwrap_or(0).max(0) as u32,
        volume_type: ebs
            .volume_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        encrypted: ebs.encrypted().unwrap_or(false),
        iops: ebs.iops().map(|i| i.max(0) as u32),
    })
}

/// What a target-tracking configuration holds, when it is one cutover makes.
pub(super) fn scaling_from(
    t: &asg::types::TargetTrackingConfiguration,
) -> Option<crate::model::Scaling> {
    use asg::types::MetricType;
    let target = t.target_value()?.max(0.0).round() as u32;
    match t
        .predefined_metric_specification()?
        .predefined_metric_type()?
    {
        MetricType::AsgAverageCpuUtilization => Some(crate::model::Scaling::Cpu { target }),
        MetricType::AlbRequestCountPerTarget => {
            Some(crate::model::Scaling::RequestsPerTarget { target })
        }
        _ => None,
    }
}

/// The conditions that match what `rule` says.
pub(super) fn conditions(rule: &ListenerRule) -> Vec<elb::types::RuleCondition> {
    let mut out = Vec::new();
    if !rule.hosts.is_empty() {
        out.push(
            elb::types::RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    elb::types::HostHeaderConditionConfig::builder()
                        .set_values(Some(rule.hosts.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if !rule.paths.is_empty() {
        out.push(
            elb::types::RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    elb::types::PathPatternConditionConfig::builder()
                        .set_values(Some(rule.paths.clone()))
                        .build(),
                )
                .build(),
        );
    }
    for (name, values) in &rule.headers {
        out.push(
            elb::types::RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    elb::types::HttpHeaderConditionConfig::builder()
                        .http_header_name(name)
                        .set_values(Some(values.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if !rule.methods.is_empty() {
        out.push(
            elb::types::RuleCondition::builder()
                .field("http-request-method")
                .http_request_method_config(
                    elb::types::HttpRequestMethodConditionConfig::builder()
                        .set_values(Some(rule.methods.clone()))
                        .build(),
                )
                .build(),
        );
    }
    out
}

/// A live rule's priority and conditions as a [`ListenerRule`].
pub(super) fn rule_from(r: &elb::types::Rule) -> ListenerRule {
    let mut rule = ListenerRule {
        priority: r.priority().and_then(|p| p.parse().ok()).unwrap_or(0),
        hosts: vec![],
        paths: vec![],
        methods: vec![],
        headers: Default::default(),
    };
    for c in r.conditions() {
        let values = |config: Option<&[String]>| -> Vec<String> {
            match config {
                Some(v) if !v.is_empty() => v.to_vec(),
                _ => c.values().to_vec(),
            }
        };
        match c.field().unwrap_or_default() {
            "host-header" => rule.hosts = values(c.host_header_config().map(|h| h.values())),
            "path-pattern" => rule.paths = values(c.path_pattern_config().map(|p| p.values())),
            "http-request-method" => {
                rule.methods = values(c.http_request_method_config().map(|m| m.values()))
            }
            "http-header" => {
                if let Some(h) = c.http_header_config() {
                    let name = h.http_header_name().unwrap_or_default().to_string();
                    rule.headers.insert(name, h.values().to_vec());
                }
            }
            _ => {}
        }
    }
    rule
}

/// Each listener's rules as listed: the default rule left out (it is the
/// listener's default action).
pub(super) fn listed(rules: RulesOf) -> BTreeMap<String, Vec<ListedRule>> {
    rules
        .into_iter()
        .map(|(listener, rules)| {
            let listed = rules
                .into_iter()
                .filter(|(r, _)| r.is_default() != Some(true))
                .map(|(r, tags)| {
                    let seen = forward_seen(r.actions());
                    ListedRule {
                        arn: RuleArn::from(r.rule_arn().unwrap_or_default()),
                        rule: rule_from(&r),
                        forward: seen.forward,
                        affinity_secs: seen.affinity_secs,
                        kept_actions: seen.kept,
                        tags,
                    }
                })
                .collect();
            (listener, listed)
        })
        .collect()
}
