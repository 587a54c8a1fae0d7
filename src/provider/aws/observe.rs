//! Observing apps: what cutover owns, read with as few round trips and
//! calls as AWS allows. Round one is batched across every app observed
//! together; round two reads what needs an ARN or id from round one. One
//! app is the case of one. What each command reads is its `Reads`.
//!
//! The fewest calls the APIs allow for N apps (each with a load balancer of
//! its own, two colours, in sync), and what cutover makes:
//!
//! | what                      | call                              | calls                         |
//! |---------------------------|-----------------------------------|-------------------------------|
//! | load balancers            | DescribeLoadBalancers             | N / 20                        |
//! | target groups             | DescribeTargetGroups              | 2N / 20, or the region / 400  |
//! | Auto Scaling groups       | DescribeAutoScalingGroups         | 2N / 100                      |
//! | state, lock, previous     | GetParameters                     | 3N / 10                       |
//! | launch templates          | DescribeLaunchTemplates           | N / 200                       |
//! | listeners                 | DescribeListeners                 | one per load balancer         |
//! | release data              | DescribeLaunchTemplateVersions    | the region's `$Latest` / 200  |
//! | target-group attributes   | DescribeTargetGroupAttributes     | one per target group (2N)     |
//! | target-group tags         | DescribeTags                      | 2N / 20                       |
//! | scaling policies          | DescribePolicies                  | 2N / 50                       |
//! | target health (not drift) | DescribeTargetHealth              | one per target group          |
//!
//! Listeners and attributes cannot be batched: about 3.5 calls an app for
//! drift is the floor, and `cutover -v drift` prints the count. A version
//! a fleet runs that is not its template's latest (a rolled-back colour)
//! costs one more call for that template; a rule on a shared listener one
//! DescribeRules for that listener.

use super::{err, protocol_from, Aws};
use crate::model::observed::{
    self, Managed, ManagedKind, Observed, Reads, TargetHealth, TargetState,
};
use crate::model::{
    names, Capacity, Color, Forward, HealthCheck, LoadBalancerArn, TargetGroupArn, TgAttributes,
};
use crate::provider::convention::listing::{
    ListedFleet, ListedInstance, ListedParameter, ListedTargetGroup, ListedTemplate, ListedVersion,
    Listing,
};
use crate::provider::convention::{self, tags};
use crate::provider::{AppRef, Provider, ProviderError, Result};
use aws_sdk_autoscaling as asg;
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use std::collections::{BTreeMap, BTreeSet};

/// The most names DescribeLoadBalancers and DescribeTargetGroups take.
const ELB_NAMES: usize = 20;
/// The most target groups one DescribeTargetGroups page holds.
const TG_PAGE: i32 = 400;
/// The most Auto Scaling group names one call takes (its MaxRecords).
const ASG_NAMES: usize = 100;
/// Most policy names DescribePolicies takes in one call.
const POLICY_NAMES: usize = 50;
/// The most names GetParameters takes.
const SSM_NAMES: usize = 10;
/// The most resources DescribeTags takes.
const TAG_ARNS: usize = 20;
/// The most values of one EC2 filter, and the most results of an EC2 page.
const EC2_PAGE: usize = 200;
/// Templates read one by one at most; more are read with one `$Latest`
/// across the region (a page holds 200).
const TEMPLATES_ONE_BY_ONE: usize = 2;
/// Calls of one kind in flight at once (listeners, attributes, …): enough
/// to hide the round trip, few enough not to be throttled. The SDK's
/// adaptive retry slows every call down when AWS throttles anyway.
const FAN_OUT: usize = 8;

/// A launch template of an app: its id and latest version.
#[derive(Debug, Clone)]
struct Template {
    id: String,
    latest: i64,
}

/// What round one found, for every app in the batch.
struct Found {
    load_balancers: BTreeMap<String, observed::LoadBalancer>,
    target_groups: Vec<elb::types::TargetGroup>,
    groups: Vec<asg::types::AutoScalingGroup>,
    templates: BTreeMap<String, Template>,
    parameters: BTreeMap<String, (String, i64)>,
    /// cutover's scaling policies, by group name.
    policies: BTreeMap<String, crate::model::Scaling>,
}

/// What round two found.
struct Details {
    listeners: BTreeMap<String, Vec<observed::Listener>>,
    versions: BTreeMap<String, Vec<ListedVersion>>,
    target_groups: BTreeMap<String, (Vec<TargetHealth>, TgAttributes)>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// The region's target groups as one observation listed them, with the
/// tags it read: `list_managed` right after (drift) needs no second listing.
#[derive(Default)]
pub(super) struct Listed {
    target_groups: Vec<elb::types::TargetGroup>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// Runs `calls` with at most [`FAN_OUT`] in flight; results in order, the
/// first error ends it.
async fn fan_out<T, F>(calls: impl IntoIterator<Item = F>) -> Result<Vec<T>>
where
    F: std::future::Future<Output = Result<T>>,
{
    use futures::{StreamExt, TryStreamExt};
    // Collected first: a stream over a closure's futures is not `Send` for
    // every lifetime the async trait asks of it.
    let calls: Vec<F> = calls.into_iter().collect();
    futures::stream::iter(calls)
        .buffered(FAN_OUT)
        .try_collect()
        .await
}

impl Aws {
    /// Observes `apps` together, reading what `reads` says. When a batched
    /// read fails, each app is read on its own, so one app's failure (a
    /// load balancer the role may not read) is that app's alone.
    pub(super) async fn observe_batch(
        &self,
        apps: &[AppRef],
        reads: Reads,
    ) -> Vec<Result<Observed>> {
        match self.observe_together(apps, reads).await {
            Ok(all) => all.into_iter().map(Ok).collect(),
            Err(e) if apps.len() <= 1 => apps.iter().map(|_| Err(e.clone())).collect(),
            Err(_) => {
                let alone = apps
                    .iter()
                    .map(|app| self.observe_together(std::slice::from_ref(app), reads));
                futures::future::join_all(alone)
                    .await
                    .into_iter()
                    .map(|r| r.and_then(|mut one| one.pop().ok_or_else(no_snapshot)))
                    .collect()
            }
        }
    }

    /// Both rounds for `apps`, then the listeners' tags and the rules the
    /// snapshots hold; a snapshot is whole or it is not made.
    async fn observe_together(&self, apps: &[AppRef], reads: Reads) -> Result<Vec<Observed>> {
        let now = self.now_secs();
        let found = self.round_one(apps, reads).await?;
        let details = self.round_two(&found, reads).await?;
        let mut listing = listing(now, found, details);
        // Whose each listener is: its tags, 20 listeners a DescribeTags,
        // beside the rules (with the settings: plan, apply, drift).
        let tagged: Vec<String> = if reads.settings {
            listing
                .listeners
                .values()
                .flatten()
                .map(|l| l.arn.to_string())
                .collect()
        } else {
            Vec::new()
        };
        let (rules, tags) = futures::try_join!(
            self.rules_on(rules_to_read(apps, &listing)),
            self.tags_of(tagged.clone())
        )?;
        listing.rules.extend(super::rules::listed(rules));
        for arn in tagged {
            let t = tags.get(&arn).cloned().unwrap_or_default();
            listing.listener_tags.insert(arn, t);
        }
        // The app's stray listeners, known by their tags now: whatever
        // else they serve (other apps' rules), read only when there are.
        let strays = rules_to_read(apps, &listing);
        if !strays.is_empty() {
            listing
                .rules
                .extend(super::rules::listed(self.rules_on(strays).await?));
        }
        Ok(apps
            .iter()
            .map(|app| convention::assemble(app, &listing))
            .collect())
    }

    async fn round_one(&self, apps: &[AppRef], reads: Reads) -> Result<Found> {
        let unique = |it: &mut dyn Iterator<Item = String>| -> Vec<String> {
            it.collect::<BTreeSet<_>>().into_iter().collect()
        };
        let lbs = unique(&mut apps.iter().map(|a| a.load_balancer.clone()));
        let colour_names = unique(&mut apps.iter().flat_map(|a| Color::ALL.map(|c| a.fleet(c).0)));
        let templates = if reads.launch {
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
        let policy_groups = if reads.settings {
            colour_names.clone()
        } else {
            vec![]
        };
        let (load_balancers, target_groups, groups, templates, parameters, policies) = futures::try_join!(
            self.load_balancers(&lbs),
            self.target_groups_named(&colour_names),
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

    async fn round_two(&self, found: &Found, reads: Reads) -> Result<Details> {
        let listeners = fan_out(
            found
                .load_balancers
                .values()
                .map(|lb| async move { Ok((lb.arn.0.clone(), self.listeners(&lb.arn).await?)) }),
        );
        let details = self.target_group_details(&found.target_groups, reads);
        let tags = async {
            if reads.settings {
                self.target_group_tags(&found.target_groups).await
            } else {
                Ok(BTreeMap::new())
            }
        };
        let (listeners, versions, details, tags) =
            futures::try_join!(listeners, self.versions(found), details, tags)?;
        if let Some(listed) = self.listed.lock().expect("lock").as_mut() {
            listed.tags.extend(tags.clone());
        }
        let arns = found
            .target_groups
            .iter()
            .map(|t| t.target_group_arn().unwrap_or_default().to_string());
        Ok(Details {
            listeners: listeners.into_iter().collect(),
            versions,
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

    /// Target groups by name for an observation: up to 20 names asked by
    /// name; more from the region's listing, 400 a page (asked by name,
    /// every call with a colour not built yet fails whole and each of its
    /// names is asked again alone). The listing is kept for `list_managed`.
    async fn target_groups_named(&self, names: &[String]) -> Result<Vec<elb::types::TargetGroup>> {
        if names.len() <= ELB_NAMES {
            return self.target_groups(names).await;
        }
        let all = self.region_target_groups().await?;
        let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let ours = all
            .iter()
            .filter(|t| wanted.contains(t.target_group_name().unwrap_or_default()))
            .cloned()
            .collect();
        *self.listed.lock().expect("lock") = Some(Listed {
            target_groups: all,
            tags: BTreeMap::new(),
        });
        Ok(ours)
    }

    /// Every target group of the region.
    async fn region_target_groups(&self) -> Result<Vec<elb::types::TargetGroup>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.count("DescribeTargetGroups");
            let page = self
                .elb
                .describe_target_groups()
                .page_size(TG_PAGE)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| err("DescribeTargetGroups", e))?;
            out.extend_from_slice(page.target_groups());
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
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
        Ok(fan_out(chunks).await?.concat())
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
        Ok(fan_out(chunks).await?.into_iter().flatten().collect())
    }

    /// Launch templates by name: id and latest version, 200 names a call.
    async fn launch_templates(&self, names: &[String]) -> Result<BTreeMap<String, Template>> {
        let chunks = names.chunks(EC2_PAGE).map(|chunk| async move {
            let mut pages = self
                .ec2
                .describe_launch_templates()
                .filters(
                    ec2::types::Filter::builder()
                        .name("launch-template-name")
                        .set_values(Some(chunk.to_vec()))
                        .build(),
                )
                .max_results(EC2_PAGE as i32)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.count("DescribeLaunchTemplates");
                let page = page.map_err(|e| err("DescribeLaunchTemplates", e))?;
                out.extend(page.launch_templates().iter().filter_map(|t| {
                    let template = Template {
                        id: t.launch_template_id()?.to_string(),
                        latest: t.latest_version_number()?,
                    };
                    Some((t.launch_template_name()?.to_string(), template))
                }));
            }
            Ok::<_, ProviderError>(out)
        });
        Ok(fan_out(chunks).await?.into_iter().flatten().collect())
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
        Ok(fan_out(chunks).await?.into_iter().flatten().collect())
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

    /// Every version of template `id`.
    pub(super) async fn launch_template_versions(
        &self,
        id: &str,
    ) -> Result<Vec<observed::LaunchTemplateVersion>> {
        let all = self.describe_versions(Some(id), vec![]).await?;
        Ok(all.iter().map(|(_, v)| convention::version(v)).collect())
    }

    /// Versions `versions` of template `id` (all when empty), or with no
    /// `id` the `versions` (`$Latest`) of every template in the region; each
    /// with its template's id.
    async fn describe_versions(
        &self,
        id: Option<&str>,
        versions: Vec<String>,
    ) -> Result<Vec<(String, ListedVersion)>> {
        let mut pages = self
            .ec2
            .describe_launch_template_versions()
            .set_launch_template_id(id.map(str::to_string))
            .set_versions((!versions.is_empty()).then_some(versions))
            .max_results(EC2_PAGE as i32)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            self.count("DescribeLaunchTemplateVersions");
            let page = page.map_err(|e| err("DescribeLaunchTemplateVersions", e))?;
            out.extend(page.launch_template_versions().iter().map(version_from));
        }
        Ok(out)
    }

    /// The versions a decision uses, by template id: each template's latest
    /// and the versions its fleets run. Many templates: the region's
    /// `$Latest` in one paged call, then one call for each template with a
    /// fleet on an older version. Few: one call each.
    async fn versions(&self, found: &Found) -> Result<BTreeMap<String, Vec<ListedVersion>>> {
        let running: Vec<(String, i64)> = found
            .groups
            .iter()
            .filter_map(|g| Some((group_template(g, &found.templates)?, group_version(g)?)))
            .collect();
        let wanted: BTreeMap<&str, BTreeSet<i64>> = found
            .templates
            .values()
            .map(|t| {
                let fleets = running
                    .iter()
                    .filter(|(id, _)| *id == t.id)
                    .map(|(_, v)| *v);
                (
                    t.id.as_str(),
                    observed::versions_read(Some(t.latest), fleets),
                )
            })
            .collect();
        let mut out: BTreeMap<String, Vec<ListedVersion>> = BTreeMap::new();
        if wanted.len() > TEMPLATES_ONE_BY_ONE {
            for (id, v) in self.describe_versions(None, vec!["$Latest".into()]).await? {
                if wanted.contains_key(id.as_str()) {
                    out.entry(id).or_default().push(v);
                }
            }
        }
        let rest = wanted.into_iter().filter_map(|(id, numbers)| {
            let have = out.get(id).map(Vec::as_slice).unwrap_or_default();
            let missing: Vec<String> = numbers
                .into_iter()
                .filter(|n| !have.iter().any(|v| v.version.number == *n))
                .map(|n| n.to_string())
                .collect();
            (!missing.is_empty()).then_some((id.to_string(), missing))
        });
        let read = fan_out(rest.map(|(id, missing)| async move {
            // A version deleted by hand fails the call: read them all then.
            let found = match self.describe_versions(Some(&id), missing).await {
                Err(e) if super::code_of(&e).is_some_and(|c| c.contains("VersionNotFound")) => {
                    self.describe_versions(Some(&id), vec![]).await?
                }
                other => other?,
            };
            Ok((id, found.into_iter().map(|(_, v)| v).collect::<Vec<_>>()))
        }))
        .await?;
        for (id, versions) in read {
            out.entry(id).or_default().extend(versions);
        }
        Ok(out)
    }

    /// Each target group's target health and attributes, as `reads` says.
    async fn target_group_details(
        &self,
        tgs: &[elb::types::TargetGroup],
        reads: Reads,
    ) -> Result<Vec<(Vec<TargetHealth>, TgAttributes)>> {
        fan_out(tgs.iter().map(|tg| async move {
            let arn = tg.target_group_arn().unwrap_or_default();
            let typed = TargetGroupArn::from(arn);
            let health = async {
                if reads.health {
                    self.target_health(&typed).await
                } else {
                    Ok(Vec::new())
                }
            };
            let attributes = async {
                if reads.settings {
                    self.attributes(arn).await
                } else {
                    Ok(TgAttributes::default())
                }
            };
            futures::try_join!(health, attributes)
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
        Ok(fan_out(chunks).await?.into_iter().flatten().collect())
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

    /// Target groups tagged as cutover's: listed, then their tags read 20
    /// at a time. The listing and the tags an observation just made (drift
    /// over many apps) are used again, not read a second time.
    pub(super) async fn managed_target_groups(&self) -> Result<Vec<Managed>> {
        let listed = self.listed.lock().expect("lock").take();
        let Listed {
            target_groups,
            mut tags,
        } = match listed {
            Some(listed) => listed,
            None => Listed {
                target_groups: self.region_target_groups().await?,
                tags: BTreeMap::new(),
            },
        };
        let unread = target_groups
            .iter()
            .filter_map(|t| t.target_group_arn())
            .filter(|a| !tags.contains_key(*a))
            .map(str::to_string)
            .collect();
        tags.extend(self.tags_of(unread).await?);
        Ok(target_groups
            .iter()
            .filter_map(|t| {
                let used_by = t
                    .load_balancer_arns()
                    .first()
                    .and_then(|a| load_balancer_name(a));
                let name = t.target_group_name()?;
                tags::managed(
                    ManagedKind::TargetGroup,
                    name,
                    tags.get(t.target_group_arn()?)?,
                    used_by,
                )
            })
            .collect())
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
        let found = fan_out(alone).await?;
        Ok::<_, ProviderError>(found.into_iter().flatten().collect())
    });
    let found = fan_out(chunks).await?;
    Ok(found.into_iter().flatten().collect())
}

/// The listeners whose rules the snapshots of `apps` hold and `listing`
/// does not yet.
fn rules_to_read(apps: &[AppRef], listing: &Listing) -> Vec<String> {
    apps.iter()
        .flat_map(|app| convention::rules_to_read(app, listing))
        .map(|arn| arn.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What both rounds found, in the cloud's own terms.
fn listing(now: i64, found: Found, details: Details) -> Listing {
    let target_groups = found
        .target_groups
        .iter()
        .map(|tg| {
            let arn = tg.target_group_arn().unwrap_or_default();
            let (targets, attributes) = details.target_groups.get(arn).cloned().unwrap_or_default();
            ListedTargetGroup {
                group: target_group_from(tg, targets, attributes),
                tags: details.tags.get(arn).cloned(),
            }
        })
        .collect();
    let templates = found
        .templates
        .into_iter()
        .map(|(name, t)| {
            let versions = details.versions.get(&t.id).cloned().unwrap_or_default();
            (name, ListedTemplate { id: t.id, versions })
        })
        .collect();
    Listing {
        now,
        load_balancers: found.load_balancers,
        listeners: details.listeners,
        listener_tags: BTreeMap::new(),
        target_groups,
        fleets: found.groups.iter().map(listed_fleet).collect(),
        templates,
        parameters: found
            .parameters
            .into_iter()
            .map(|(name, (value, modified))| (name, ListedParameter { value, modified }))
            .collect(),
        policies: found.policies,
        rules: BTreeMap::new(),
    }
}

fn target_group_from(
    tg: &elb::types::TargetGroup,
    targets: Vec<TargetHealth>,
    attributes: TgAttributes,
) -> observed::TargetGroup {
    let arn = tg.target_group_arn().unwrap_or_default();
    observed::TargetGroup {
        contract_pending: None,
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
fn group_launch_template(
    g: &asg::types::AutoScalingGroup,
) -> Option<&asg::types::LaunchTemplateSpecification> {
    g.launch_template().or_else(|| {
        g.mixed_instances_policy()?
            .launch_template()?
            .launch_template_specification()
    })
}

/// The group's launch template version.
fn group_version(g: &asg::types::AutoScalingGroup) -> Option<i64> {
    group_launch_template(g)?.version()?.parse().ok()
}

/// The id of the group's launch template, of those in `templates` when
/// the group names it by name.
fn group_template(
    g: &asg::types::AutoScalingGroup,
    templates: &BTreeMap<String, Template>,
) -> Option<String> {
    let spec = group_launch_template(g)?;
    spec.launch_template_id()
        .map(str::to_string)
        .or_else(|| Some(templates.get(spec.launch_template_name()?)?.id.clone()))
}

/// A version as listed (its description as written), with its template's id.
fn version_from(v: &ec2::types::LaunchTemplateVersion) -> (String, ListedVersion) {
    let data = v.launch_template_data();
    let version = observed::LaunchTemplateVersion {
        number: v.version_number().unwrap_or(0),
        fingerprint: None,
        image_id: data.and_then(|d| d.image_id()).map(str::to_string),
        instance_type: data
            .and_then(|d| d.instance_type())
            .map(|t| t.as_str().to_string()),
        user_data: data.and_then(|d| d.user_data()).and_then(decode_user_data),
        imdsv2: data
            .and_then(|d| d.metadata_options()?.http_tokens().cloned())
            .map(|t| t == ec2::types::LaunchTemplateHttpTokensState::Required),
        root_volume: data.and_then(root_volume_from),
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
fn group_tags(g: &asg::types::AutoScalingGroup) -> tags::Tags {
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
fn fleet_from(g: &asg::types::AutoScalingGroup) -> observed::Fleet {
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
        tags: None,
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
