//! Observing apps: what cutover owns, read with as few round trips and
//! calls as AWS allows, into one listing that `convention::assemble` makes
//! each app's snapshot from. Round one is batched across every app
//! observed together; round two reads what needs an ARN or id from round
//! one; then the listeners' tags and the rules the snapshots hold. One app
//! is the case of one. What each command reads is its `Reads`.
//!
//! The fewest calls the APIs allow for N apps (each with a load balancer of
//! its own, two colours, in sync), and what cutover makes:
//!
//! | what                      | call                              | calls                         |
//! |---------------------------|-----------------------------------|-------------------------------|
//! | load balancers            | DescribeLoadBalancers             | N / 20                        |
//! | target groups             | DescribeTargetGroups              | 2N / 20, or the region / 400  |
//! | Auto Scaling groups       | DescribeAutoScalingGroups         | 2N / 100                      |
//! | state, lock, previous,    | GetParameters                     | (4N + 1) / 10; drift 3N / 10  |
//! | freezes (app's, region's) |                                   |                               |
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

use super::convert::{listed, listed_fleet, target_group_from, Template};
use super::errors::err;
use super::Aws;
use crate::model::observed::{self, Managed, Observed, Reads, TargetHealth};
use crate::model::{names, Color, TgAttributes};
use crate::provider::convention;
use crate::provider::convention::listing::{
    ListedParameter, ListedTargetGroup, ListedTemplate, ListedVersion, Listing,
};
use crate::provider::{AppRef, ProviderError, Result};
use aws_sdk_autoscaling as asg;
use aws_sdk_elasticloadbalancingv2 as elb;
use std::collections::{BTreeMap, BTreeSet};

/// The most names DescribeLoadBalancers and DescribeTargetGroups take.
pub(super) const ELB_NAMES: usize = 20;

/// The most target groups one DescribeTargetGroups page holds.
pub(super) const TG_PAGE: i32 = 400;

/// The most Auto Scaling group names one call takes (its MaxRecords).
pub(super) const ASG_NAMES: usize = 100;

/// Most policy names DescribePolicies takes in one call.
pub(super) const POLICY_NAMES: usize = 50;

/// The most names GetParameters takes.
pub(super) const SSM_NAMES: usize = 10;

/// The most resources DescribeTags takes.
pub(super) const TAG_ARNS: usize = 20;

/// The most values of one EC2 filter, and the most results of an EC2 page.
pub(super) const EC2_PAGE: usize = 200;

/// Templates read one by one at most; more are read with one `$Latest`
/// across the region (a page holds 200).
pub(super) const TEMPLATES_ONE_BY_ONE: usize = 2;

/// Calls of one kind in flight at once (listeners, attributes, …): enough
/// to hide the round trip, few enough not to be throttled. The SDK's
/// adaptive retry slows every call down when AWS throttles anyway.
pub(super) const FAN_OUT: usize = 8;

/// What round one found, for every app in the batch.
pub(super) struct RoundOne {
    pub(super) load_balancers: BTreeMap<String, observed::LoadBalancer>,
    pub(super) target_groups: Vec<elb::types::TargetGroup>,
    pub(super) groups: Vec<asg::types::AutoScalingGroup>,
    pub(super) templates: BTreeMap<String, Template>,
    pub(super) parameters: BTreeMap<String, (String, i64)>,
    /// cutover's scaling policies, by group name.
    pub(super) policies: BTreeMap<String, crate::model::Scaling>,
}

/// What round two found.
pub(super) struct RoundTwo {
    pub(super) listeners: BTreeMap<String, Vec<observed::Listener>>,
    pub(super) versions: BTreeMap<String, Vec<ListedVersion>>,
    pub(super) target_groups: BTreeMap<String, (Vec<TargetHealth>, TgAttributes)>,
    /// The target groups' tags; `None`: not read. A group asked about and
    /// not answered for has none.
    pub(super) tags: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

/// The region's target groups as one observation listed them, with the
/// tags it read: `list_managed` right after (drift) needs no second listing.
#[derive(Default)]
pub(super) struct Listed {
    pub(super) target_groups: Vec<elb::types::TargetGroup>,
    pub(super) tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// Runs `calls` with at most [`FAN_OUT`] in flight; results in order, the
/// first error ends it.
pub(super) async fn fan_out<T, F>(calls: impl IntoIterator<Item = F>) -> Result<Vec<T>>
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

pub(super) fn no_snapshot() -> ProviderError {
    ProviderError::api("Observe", "no snapshot was made")
}

/// Everything `describe` finds for `names`, [`ELB_NAMES`] a call. Elastic
/// Load Balancing fails a whole call when one name is missing (`None`), so
/// then each name of that call is asked alone.
pub(super) async fn by_name<T, F, Fut>(names: &[String], describe: F) -> Result<Vec<T>>
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
pub(super) fn rules_to_read(apps: &[AppRef], listing: &Listing) -> Vec<String> {
    apps.iter()
        .flat_map(|app| convention::rules_to_read(app, listing))
        .map(|arn| arn.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What both rounds found, in the cloud's own terms.
pub(super) fn listing(now: i64, found: RoundOne, details: RoundTwo) -> Listing {
    let target_groups = found
        .target_groups
        .iter()
        .map(|tg| {
            let arn = tg.target_group_arn().unwrap_or_default();
            let (targets, attributes) = details.target_groups.get(arn).cloned().unwrap_or_default();
            ListedTargetGroup {
                group: target_group_from(tg, targets, attributes),
                tags: (details.tags.as_ref()).map(|t| t.get(arn).cloned().unwrap_or_default()),
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
    pub(super) async fn observe_together(
        &self,
        apps: &[AppRef],
        reads: Reads,
    ) -> Result<Vec<Observed>> {
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
        listing.rules.extend(listed(rules));
        for arn in tagged {
            let t = tags.get(&arn).cloned().unwrap_or_default();
            listing.listener_tags.insert(arn, t);
        }
        // The app's stray listeners, known by their tags now: whatever
        // else they serve (other apps' rules), read only when there are.
        let strays = rules_to_read(apps, &listing);
        if !strays.is_empty() {
            listing.rules.extend(listed(self.rules_on(strays).await?));
        }
        Ok(apps
            .iter()
            .map(|app| convention::assemble(app, &listing))
            .collect())
    }

    pub(super) async fn round_one(&self, apps: &[AppRef], reads: Reads) -> Result<RoundOne> {
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
        let params = unique(&mut apps.iter().flat_map(|a| a.parameters(reads)));
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
        Ok(RoundOne {
            load_balancers,
            target_groups,
            groups,
            templates,
            parameters,
            policies,
        })
    }

    pub(super) async fn round_two(&self, found: &RoundOne, reads: Reads) -> Result<RoundTwo> {
        let listeners = fan_out(
            found
                .load_balancers
                .values()
                .map(|lb| async move { Ok((lb.arn.0.clone(), self.listeners(&lb.arn).await?)) }),
        );
        let details = self.target_group_details(&found.target_groups, reads);
        let tags = async {
            if reads.settings {
                self.target_group_tags(&found.target_groups).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (listeners, versions, details, tags) =
            futures::try_join!(listeners, self.versions(found), details, tags)?;
        if let Some(listed) = self.listed.lock().expect("lock").as_mut() {
            listed.tags.extend(tags.clone().unwrap_or_default());
        }
        let arns = found
            .target_groups
            .iter()
            .map(|t| t.target_group_arn().unwrap_or_default().to_string());
        Ok(RoundTwo {
            listeners: listeners.into_iter().collect(),
            versions,
            target_groups: arns.zip(details).collect(),
            tags,
        })
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

    pub(super) async fn list_managed(&self) -> Result<Vec<Managed>> {
        let (mut out, tgs) =
            futures::try_join!(self.managed_groups(), self.managed_target_groups())?;
        out.extend(tgs);
        Ok(out)
    }
}
