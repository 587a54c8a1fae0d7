//! Observing apps: what cutover owns, read with as few round trips as AWS
//! allows. Round one is batched across every app observed together (load
//! balancers and target groups 20 names a call, Auto Scaling groups 100,
//! parameters 10, launch templates by a name filter); round two reads what
//! needs an ARN or id from round one (listeners once per load balancer,
//! target health per target group, tags 20 target groups a call). One app
//! is the case of one.

use super::{err, protocol_from, Aws};
use crate::model::observed::{self, Managed, ManagedKind, Observed, TargetHealth, TargetState};
use crate::model::{
    names, tags, Capacity, Color, Forward, HealthCheck, LoadBalancerArn, TargetGroupArn,
    TgAttributes,
};
use crate::provider::{fingerprint_from_description, AppRef, Provider, ProviderError, Result};
use aws_sdk_autoscaling as asg;
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use std::collections::{BTreeMap, BTreeSet};

/// The most names DescribeLoadBalancers and DescribeTargetGroups take.
const ELB_NAMES: usize = 20;
/// The most Auto Scaling group names one call takes (its MaxRecords).
const ASG_NAMES: usize = 100;
/// Most policy names DescribePolicies takes in one call.
const POLICY_NAMES: usize = 50;
/// The most names GetParameters takes.
const SSM_NAMES: usize = 10;
/// The most resources DescribeTags takes.
const TAG_ARNS: usize = 20;

/// What round one found, for every app in the batch.
struct Found {
    load_balancers: BTreeMap<String, observed::LoadBalancer>,
    target_groups: Vec<elb::types::TargetGroup>,
    groups: Vec<asg::types::AutoScalingGroup>,
    templates: BTreeMap<String, String>,
    parameters: BTreeMap<String, (String, i64)>,
    /// cutover's scaling policies, by group name.
    policies: BTreeMap<String, crate::model::Scaling>,
}

/// What round two found.
struct Details {
    listeners: BTreeMap<String, Vec<observed::Listener>>,
    versions: BTreeMap<String, Vec<observed::LaunchTemplateVersion>>,
    target_groups: BTreeMap<String, (Vec<TargetHealth>, TgAttributes)>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
}

impl Aws {
    /// Observes `apps` together. `full = false` leaves out what a rollback
    /// does not need (launch templates, target group attributes and tags):
    /// fewer calls before the flip. When a batched read fails, each app is
    /// read on its own, so one app's failure (a load balancer the role may
    /// not read) is that app's alone.
    pub(super) async fn observe_batch(&self, apps: &[AppRef], full: bool) -> Vec<Result<Observed>> {
        match self.observe_together(apps, full).await {
            Ok(all) => all.into_iter().map(Ok).collect(),
            Err(e) if apps.len() <= 1 => apps.iter().map(|_| Err(e.clone())).collect(),
            Err(_) => {
                let alone = apps
                    .iter()
                    .map(|app| self.observe_together(std::slice::from_ref(app), full));
                futures::future::join_all(alone)
                    .await
                    .into_iter()
                    .map(|r| r.and_then(|mut one| one.pop().ok_or_else(no_snapshot)))
                    .collect()
            }
        }
    }

    /// Both rounds for `apps`; a snapshot is whole or it is not made.
    async fn observe_together(&self, apps: &[AppRef], full: bool) -> Result<Vec<Observed>> {
        let now = self.now_secs();
        let found = self.round_one(apps, full).await?;
        let details = self.round_two(&found, full).await?;
        let snapshots: Vec<Observed> = apps
            .iter()
            .map(|app| assemble(app, now, &found, &details))
            .collect();
        let ports: Vec<Vec<u16>> = apps
            .iter()
            .zip(&snapshots)
            .map(|(app, obs)| app.rule_ports_to_read(&obs.listeners, &own_target_groups(obs)))
            .collect();
        let listeners = snapshots
            .iter()
            .zip(&ports)
            .flat_map(|(obs, ports)| {
                obs.listeners
                    .iter()
                    .filter(|l| ports.contains(&l.port))
                    .map(|l| l.arn.to_string())
            })
            .collect::<BTreeSet<_>>();
        let rules = self.rules_on(listeners.into_iter().collect()).await?;
        Ok(apps
            .iter()
            .zip(snapshots)
            .zip(ports)
            .map(|((app, mut obs), ports)| {
                (obs.rules, obs.other_rules) =
                    super::rules::rules_for(&app.app, &obs.listeners, &ports, &rules);
                obs
            })
            .collect())
    }

    async fn round_one(&self, apps: &[AppRef], full: bool) -> Result<Found> {
        let unique = |it: &mut dyn Iterator<Item = String>| -> Vec<String> {
            it.collect::<BTreeSet<_>>().into_iter().collect()
        };
        let lbs = unique(&mut apps.iter().map(|a| a.load_balancer.clone()));
        let colour_names = unique(&mut apps.iter().flat_map(|a| Color::ALL.map(|c| a.fleet(c).0)));
        let templates = if full {
            unique(&mut apps.iter().map(|a| names::launch_template(&a.app)))
        } else {
            vec![]
        };
        let params = unique(&mut apps.iter().flat_map(|a| {
            [
                a.state_parameter.clone(),
                names::lock_parameter(&a.state_parameter),
                names::previous_parameter(&a.state_parameter),
            ]
        }));
        let policy_groups = if full { colour_names.clone() } else { vec![] };
        let (load_balancers, target_groups, groups, templates, parameters, policies) = futures::try_join!(
            self.load_balancers(&lbs),
            self.target_groups(&colour_names),
            self.groups(&colour_names),
            self.launch_templates(&templates),
            self.parameters(&params),
            self.policies(&policy_groups),
        )?;
        Ok(Found {
            load_balancers,
            target_groups,
            groups,
            templates,
            parameters,
            policies,
        })
    }

    async fn round_two(&self, found: &Found, full: bool) -> Result<Details> {
        let listeners =
            futures::future::try_join_all(found.load_balancers.values().map(|lb| async move {
                Ok::<_, ProviderError>((lb.arn.0.clone(), self.listeners(&lb.arn).await?))
            }));
        let versions =
            futures::future::try_join_all(found.templates.values().map(|id| async move {
                Ok::<_, ProviderError>((id.clone(), self.launch_template_versions(id).await?))
            }));
        let details = self.target_group_details(&found.target_groups, full);
        let tags = async {
            if full {
                self.target_group_tags(&found.target_groups).await
            } else {
                Ok(BTreeMap::new())
            }
        };
        let (listeners, versions, details, tags) =
            futures::try_join!(listeners, versions, details, tags)?;
        let arns = found
            .target_groups
            .iter()
            .map(|t| t.target_group_arn().unwrap_or_default().to_string());
        Ok(Details {
            listeners: listeners.into_iter().collect(),
            versions: versions.into_iter().collect(),
            target_groups: arns.zip(details).collect(),
            tags,
        })
    }

    /// Load balancers by name.
    async fn load_balancers(
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

    /// Target groups by name (a colour not built yet has none).
    pub(super) async fn target_groups(
        &self,
        names: &[String],
    ) -> Result<Vec<elb::types::TargetGroup>> {
        by_name(names, |chunk| self.describe_target_groups(chunk)).await
    }

    /// `None` when one of `names` does not exist.
    async fn describe_target_groups(
        &self,
        names: Vec<String>,
    ) -> Result<Option<Vec<elb::types::TargetGroup>>> {
        self.count("DescribeTargetGroups");
        let sent = self
            .elb
            .describe_target_groups()
            .set_names(Some(names))
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some(out.target_groups().to_vec())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_target_group_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(err("DescribeTargetGroups", e)),
        }
    }

    /// Auto Scaling groups by name (missing names are simply not returned).
    async fn groups(&self, names: &[String]) -> Result<Vec<asg::types::AutoScalingGroup>> {
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
        Ok(futures::future::try_join_all(chunks).await?.concat())
    }

    /// cutover's target-tracking policies on groups `groups`, by group: one
    /// DescribePolicies for up to 50 policy names.
    async fn policies(&self, groups: &[String]) -> Result<BTreeMap<String, crate::model::Scaling>> {
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
        Ok(futures::future::try_join_all(chunks)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Launch template ids by name.
    async fn launch_templates(&self, names: &[String]) -> Result<BTreeMap<String, String>> {
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut pages = self
            .ec2
            .describe_launch_templates()
            .filters(
                ec2::types::Filter::builder()
                    .name("launch-template-name")
                    .set_values(Some(names.to_vec()))
                    .build(),
            )
            .into_paginator()
            .send();
        let mut out = BTreeMap::new();
        while let Some(page) = pages.next().await {
            self.count("DescribeLaunchTemplates");
            let page = page.map_err(|e| err("DescribeLaunchTemplates", e))?;
            for t in page.launch_templates() {
                if let (Some(name), Some(id)) = (t.launch_template_name(), t.launch_template_id()) {
                    out.insert(name.to_string(), id.to_string());
                }
            }
        }
        Ok(out)
    }

    /// SSM String parameters by name: (value, last modified, seconds).
    async fn parameters(&self, names: &[String]) -> Result<BTreeMap<String, (String, i64)>> {
        let chunks = names.chunks(SSM_NAMES).map(|chunk| async move {
            self.count("GetParameters");
            let out = self
                .ssm
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| err("GetParameters", e))?;
            Ok::<_, ProviderError>(
                out.parameters()
                    .iter()
                    .filter_map(|p| {
                        let since = p.last_modified_date().map(|d| d.secs()).unwrap_or(0);
                        Some((p.name()?.to_string(), (p.value()?.to_string(), since)))
                    })
                    .collect::<Vec<_>>(),
            )
        });
        Ok(futures::future::try_join_all(chunks)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Every listener of a load balancer.
    async fn listeners(&self, lb_arn: &LoadBalancerArn) -> Result<Vec<observed::Listener>> {
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

    pub(super) async fn launch_template_id(&self, name: &str) -> Result<Option<String>> {
        self.count("DescribeLaunchTemplates");
        let out = self
            .ec2
            .describe_launch_templates()
            .filters(
                ec2::types::Filter::builder()
                    .name("launch-template-name")
                    .values(name)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err("DescribeLaunchTemplates", e))?;
        Ok(out
            .launch_templates()
            .first()
            .and_then(|t| t.launch_template_id().map(str::to_string)))
    }

    pub(super) async fn launch_template_versions(
        &self,
        id: &str,
    ) -> Result<Vec<observed::LaunchTemplateVersion>> {
        let mut pages = self
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(id)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        loop {
            let Some(page) = pages.next().await else {
                break;
            };
            self.count("DescribeLaunchTemplateVersions");
            let page = page.map_err(|e| err("DescribeLaunchTemplateVersions", e))?;
            for v in page.launch_template_versions() {
                let data = v.launch_template_data();
                versions.push(observed::LaunchTemplateVersion {
                    number: v.version_number().unwrap_or(0),
                    fingerprint: v
                        .version_description()
                        .and_then(fingerprint_from_description),
                    image_id: data.and_then(|d| d.image_id()).map(str::to_string),
                    instance_type: data
                        .and_then(|d| d.instance_type())
                        .map(|t| t.as_str().to_string()),
                    user_data: data.and_then(|d| d.user_data()).and_then(decode_user_data),
                    imdsv2: data
                        .and_then(|d| d.metadata_options()?.http_tokens().cloned())
                        .map(|t| t == ec2::types::LaunchTemplateHttpTokensState::Required),
                    root_volume: data.and_then(root_volume_from),
                });
            }
        }
        Ok(versions)
    }

    /// Each target group's target health and (with `full`) attributes.
    async fn target_group_details(
        &self,
        tgs: &[elb::types::TargetGroup],
        full: bool,
    ) -> Result<Vec<(Vec<TargetHealth>, TgAttributes)>> {
        futures::future::try_join_all(tgs.iter().map(|tg| async move {
            let arn = tg.target_group_arn().unwrap_or_default();
            let typed = TargetGroupArn::from(arn);
            let delay = async {
                if full {
                    self.attributes(arn).await
                } else {
                    Ok(TgAttributes::default())
                }
            };
            futures::try_join!(self.target_health(&typed), delay)
        }))
        .await
    }

    /// Tags of the target groups, by ARN, 20 target groups a call.
    pub(super) async fn target_group_tags(
        &self,
        tgs: &[elb::types::TargetGroup],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let arns: Vec<String> = tgs
            .iter()
            .filter_map(|t| t.target_group_arn().map(str::to_string))
            .collect();
        self.tags_of(arns).await
    }

    /// Each load balancing resource's tags (target groups, rules), by ARN.
    pub(super) async fn tags_of(
        &self,
        arns: Vec<String>,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let chunks = arns.chunks(TAG_ARNS).map(|chunk| async move {
            self.count("DescribeTags");
            let out = self
                .elb
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| err("DescribeTags", e))?;
            Ok::<_, ProviderError>(
                out.tag_descriptions()
                    .iter()
                    .map(|d| {
                        let tags = d
                            .tags()
                            .iter()
                            .filter_map(|t| {
                                Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                            })
                            .collect();
                        (d.resource_arn().unwrap_or_default().to_string(), tags)
                    })
                    .collect::<Vec<_>>(),
            )
        });
        Ok(futures::future::try_join_all(chunks)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    async fn attributes(&self, arn: &str) -> Result<TgAttributes> {
        self.count("DescribeTargetGroupAttributes");
        let out = self
            .elb
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| err("DescribeTargetGroupAttributes", e))?;
        Ok(TgAttributes::from_aws(
            out.attributes()
                .iter()
                .filter_map(|a| Some((a.key()?, a.value()?))),
        ))
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
                let tag = |k: &str| {
                    g.tags()
                        .iter()
                        .find(|t| t.key() == Some(k))
                        .and_then(|t| t.value())
                };
                out.push(Managed {
                    kind: ManagedKind::AutoScalingGroup,
                    name: g.auto_scaling_group_name().unwrap_or_default().to_string(),
                    app: tag(tags::APP).unwrap_or_default().to_string(),
                    load_balancer: tag(tags::LOAD_BALANCER).map(str::to_string),
                });
            }
        }
        Ok(out)
    }

    /// Target groups tagged as cutover's: listed, then their tags read 20 at a time.
    pub(super) async fn managed_target_groups(&self) -> Result<Vec<Managed>> {
        let mut out = Vec::new();
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.count("DescribeTargetGroups");
            let page = self
                .elb
                .describe_target_groups()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| err("DescribeTargetGroups", e))?;
            arns.extend(page.target_groups().iter().filter_map(|t| {
                Some((
                    t.target_group_arn()?.to_string(),
                    t.target_group_name()?.to_string(),
                    t.load_balancer_arns()
                        .first()
                        .and_then(|a| load_balancer_name(a)),
                ))
            }));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        for chunk in arns.chunks(20) {
            self.count("DescribeTags");
            let tagged = self
                .elb
                .describe_tags()
                .set_resource_arns(Some(chunk.iter().map(|(a, _, _)| a.clone()).collect()))
                .send()
                .await
                .map_err(|e| err("DescribeTags", e))?;
            for d in tagged.tag_descriptions() {
                let tag = |k: &str| {
                    d.tags()
                        .iter()
                        .find(|t| t.key() == Some(k))
                        .and_then(|t| t.value())
                };
                if tag(tags::MANAGED).is_some() {
                    let (name, used_by) = chunk
                        .iter()
                        .find(|(a, _, _)| Some(a.as_str()) == d.resource_arn())
                        .map(|(_, n, lb)| (n.clone(), lb.clone()))
                        .unwrap_or_default();
                    out.push(Managed {
                        kind: ManagedKind::TargetGroup,
                        name,
                        app: tag(tags::APP).unwrap_or_default().to_string(),
                        load_balancer: tag(tags::LOAD_BALANCER).map(str::to_string).or(used_by),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// A load balancer's name from its ARN ("…:loadbalancer/app/<name>/<id>").
fn load_balancer_name(arn: &str) -> Option<String> {
    let rest = arn.split(":loadbalancer/").nth(1)?;
    rest.split('/').nth(1).map(str::to_string)
}

fn no_snapshot() -> ProviderError {
    ProviderError::api("Observe", "no snapshot was made")
}

/// Everything `describe` finds for `names`, [`ELB_NAMES`] a call. Elastic
/// Load Balancing fails a whole call when one name is missing (`None`), so
/// then each name of that call is asked alone.
async fn by_name<T, F, Fut>(names: &[String], describe: F) -> Result<Vec<T>>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Vec<T>>>>,
{
    let describe = &describe;
    let chunks = names.chunks(ELB_NAMES).map(|chunk| async move {
        if let Some(found) = describe(chunk.to_vec()).await? {
            return Ok(found);
        }
        let alone = chunk.iter().map(|n| async move {
            Ok::<_, ProviderError>(describe(vec![n.clone()]).await?.unwrap_or_default())
        });
        let found = futures::future::try_join_all(alone).await?;
        Ok::<_, ProviderError>(found.into_iter().flatten().collect())
    });
    let found = futures::future::try_join_all(chunks).await?;
    Ok(found.into_iter().flatten().collect())
}

/// The app's own target groups in a snapshot.
fn own_target_groups(obs: &Observed) -> Vec<TargetGroupArn> {
    Color::ALL
        .into_iter()
        .filter_map(|c| obs.tg_arn(c).cloned())
        .collect()
}

/// One app's snapshot, from what both rounds found.
fn assemble(app: &AppRef, now: i64, found: &Found, details: &Details) -> Observed {
    let load_balancer = found.load_balancers.get(&app.load_balancer).cloned();
    let listeners = load_balancer
        .as_ref()
        .and_then(|lb| details.listeners.get(lb.arn.as_str()))
        .map(|ls| {
            ls.iter()
                .filter(|l| app.listener_ports.contains(&l.port))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut obs = Observed {
        now,
        load_balancer,
        listeners,
        ..Observed::default()
    };
    for tg in &found.target_groups {
        let Some(c) = color_named(app, tg.target_group_name().unwrap_or_default()) else {
            continue;
        };
        let arn = tg.target_group_arn().unwrap_or_default();
        let (targets, attributes) = details.target_groups.get(arn).cloned().unwrap_or_default();
        *obs.target_groups.get_mut(c) =
            Some(target_group_from(tg, targets, attributes, &details.tags));
    }
    // A group being deleted ("Delete in progress") is as good as gone.
    for g in found.groups.iter().filter(|g| g.status().is_none()) {
        if let Some(c) = color_named(app, g.auto_scaling_group_name().unwrap_or_default()) {
            let mut fleet = fleet_from(g);
            fleet.scaling = found.policies.get(fleet.name.as_str()).copied();
            *obs.fleets.get_mut(c) = Some(fleet);
        }
    }
    obs.launch_template = found
        .templates
        .get(&names::launch_template(&app.app))
        .map(|id| observed::LaunchTemplate {
            id: id.clone(),
            versions: details.versions.get(id).cloned().unwrap_or_default(),
        });
    obs.active = found
        .parameters
        .get(&app.state_parameter)
        .and_then(|(v, since)| {
            Some(observed::Active {
                color: Color::parse(v)?,
                since: *since,
            })
        });
    obs.lock = found
        .parameters
        .get(&names::lock_parameter(&app.state_parameter))
        .map(|(v, _)| v.clone());
    obs.previous = found
        .parameters
        .get(&names::previous_parameter(&app.state_parameter))
        .and_then(|(v, _)| observed::Previous::parse(v));
    obs
}

/// Which colour's resource `name` is ("<app>-blue", "<app>-green").
fn color_named(app: &AppRef, name: &str) -> Option<Color> {
    Color::ALL
        .into_iter()
        .find(|c| app.fleet(*c).as_str() == name)
}

fn target_group_from(
    tg: &elb::types::TargetGroup,
    targets: Vec<TargetHealth>,
    attributes: TgAttributes,
    tg_tags: &BTreeMap<String, BTreeMap<String, String>>,
) -> observed::TargetGroup {
    let arn = tg.target_group_arn().unwrap_or_default();
    observed::TargetGroup {
        contract_pending: tg_tags
            .get(arn)
            .and_then(|t| t.get(tags::CONTRACT_PENDING))
            .filter(|v| !v.is_empty())
            .cloned(),
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
    }
}

/// Scaled in and on its way out: Terminating, Terminating:Wait,
/// Terminating:Proceed or Terminated.
pub(super) fn leaving(i: &asg::types::Instance) -> bool {
    i.lifecycle_state()
        .is_some_and(|l| l.as_str().starts_with("Terminat"))
}

/// The group's launch template version (plain or in a mixed instances policy).
fn group_version(g: &asg::types::AutoScalingGroup) -> Option<i64> {
    g.launch_template()
        .or_else(|| {
            g.mixed_instances_policy()?
                .launch_template()?
                .launch_template_specification()
        })
        .and_then(|l| l.version())
        .and_then(|v| v.parse().ok())
}

/// Instances launched from another launch template version than the
/// group's, as each instance reports it (AWS reports the version an
/// instance was launched from; the test server in front of moto does too,
/// where moto alone reports the template's current default for all).
/// Terminating instances are leaving and not counted either way.
pub(super) fn older_instances(g: &asg::types::AutoScalingGroup) -> Vec<String> {
    let Some(version) = group_version(g) else {
        return Vec::new();
    };
    g.instances()
        .iter()
        .filter(|i| !leaving(i))
        .filter(|i| {
            i.launch_template()
                .and_then(|l| l.version())
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v != version)
        })
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

fn fleet_from(g: &asg::types::AutoScalingGroup) -> observed::Fleet {
    let tag = |k: &str| {
        g.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    observed::Fleet {
        name: g.auto_scaling_group_name().unwrap_or_default().into(),
        capacity: Capacity {
            min: g.min_size().unwrap_or(0) as u32,
            max: g.max_size().unwrap_or(0) as u32,
            desired: g.desired_capacity().unwrap_or(0) as u32,
        },
        launch_template_version: group_version(g),
        older: older_instances(g),
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
        release: tag(tags::RELEASE),
        rolled_back: tag(tags::ROLLED_BACK).and_then(|v| tags::parse_rolled_back(&v)),
        subnets: g
            .vpc_zone_identifier()
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        instances: g
            .instances()
            .iter()
            .filter(|i| !leaving(i))
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect(),
        target_groups: g
            .target_group_arns()
            .iter()
            .map(|a| a.as_str().into())
            .collect(),
    }
}

/// User data as the launch template holds it (base64), as text.
fn decode_user_data(encoded: &str) -> Option<String> {
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
fn kept_and_forward(actions: &[elb::types::Action]) -> (Vec<String>, Forward) {
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
    }
}

/// The forward's group stickiness in seconds; 0 when it is off.
fn affinity_from(actions: &[elb::types::Action]) -> u32 {
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
fn root_volume_from(
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
fn scaling_from(t: &asg::types::TargetTrackingConfiguration) -> Option<crate::model::Scaling> {
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
