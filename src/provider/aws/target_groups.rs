//! Target groups: the colours' groups, their health checks, attributes,
//! targets' health and contract-pending marks.

use super::convert::{elb_tags, health_from, load_balancer_name, protocol};
use super::errors::{code_of, err};
use super::observe::{by_name, fan_out, Listed, ELB_NAMES, TG_PAGE};
use super::Aws;
use crate::model::observed::{Managed, ManagedKind, Reads, TargetHealth};
use crate::model::plan::TargetGroupConfig;
use crate::model::{Color, HealthCheck, TargetGroupArn, TgAttributes};
use crate::provider::convention::tags::{self, Made};
use crate::provider::{AppRef, ProviderError, Result};
use aws_sdk_elasticloadbalancingv2 as elb;
use std::collections::{BTreeMap, BTreeSet};

impl Aws {
    /// The target group `name`, when its tags say it is `app`'s `color`.
    pub(super) async fn own_target_group(
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
    pub(super) async fn target_groups_named(
        &self,
        names: &[String],
    ) -> Result<Vec<elb::types::TargetGroup>> {
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
    pub(super) async fn region_target_groups(&self) -> Result<Vec<elb::types::TargetGroup>> {
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
    pub(super) async fn describe_target_groups(
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

    /// Each target group's target health and attributes, as `reads` says.
    pub(super) async fn target_group_details(
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

    pub(super) async fn attributes(&self, arn: &str) -> Result<TgAttributes> {
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

    pub(super) async fn target_health(&self, arn: &TargetGroupArn) -> Result<Vec<TargetHealth>> {
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

    pub(super) async fn create_target_group(
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
            Ok(out) => {
                let made = out.target_groups().first().ok_or_else(|| {
                    ProviderError::api("CreateTargetGroup", "no target group in the response")
                })?;
                // AWS answers a create with the settings of an existing group
                // with that group, whoever made it (ELBv2 API Reference,
                // CreateTargetGroup: "If you attempt to create multiple
                // target groups with the same settings, each call succeeds"),
                // and does not tag it: one made by someone else between
                // the plan's read and this call is not taken.
                let arn = made.target_group_arn().unwrap_or_default().to_string();
                let tags = self.tags_of(vec![arn.clone()]).await?;
                let theirs = tags.get(&arn).cloned().unwrap_or_default();
                // Tags are eventually consistent too: none yet is tried
                // again shortly (bounded), as a resource not visible yet.
                if theirs.is_empty() {
                    return Err(ProviderError::NotVisibleYet {
                        operation: "DescribeTags".into(),
                        message: format!(
                            "target group {}, which CreateTargetGroup answered with, has no tags: AWS has not shown them yet, or someone else made it with the same settings; cutover does not adopt a group it cannot tell is its own: if this lasts, rename or delete that group",
                            c.name
                        ),
                    });
                }
                if let Some(holder) = tags::held_by_other(&theirs, &app.app, color) {
                    return Err(ProviderError::api(
                        "CreateTargetGroup",
                        format!("AWS answered with target group {}, which exists already and is not {}'s {color}: {holder}; cutover does not adopt it, so nothing was registered in it: rename or delete it, or give the app another `app.name`", c.name, app.app),
                    ));
                }
                TargetGroupArn::from(arn.as_str())
            }
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

    pub(super) async fn modify_health_check(
        &self,
        arn: &TargetGroupArn,
        hc: &HealthCheck,
    ) -> Result<()> {
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

    pub(super) async fn set_attributes(
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

    pub(super) async fn set_contract_pending(
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
}
