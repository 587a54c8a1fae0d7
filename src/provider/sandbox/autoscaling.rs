//! EC2 Auto Scaling and launch templates: the colours' fleets, their
//! capacity, target groups and scaling policy, the template versions they
//! launch from, failed launches and rolled-back marks.

use super::world::{not_found, tagged, SbFleet, SbLaunchTemplate, SbTemplateVersion, World};
use crate::model::plan::FleetConfig;
use crate::model::{Capacity, Color, FleetName, Release, Scaling, TargetGroupArn, Timestamp};
use crate::provider::convention::tags::{self, Made};
use crate::provider::{AppRef, FailedLaunch, Members, ProviderError, Result};

/// Launch templates and fleets.
impl World {
    /// Adds a version for `release` to launch template `template_id`, or to
    /// the one named `name` (made when missing); returns the template's id
    /// and the version's number.
    pub(super) fn create_launch_template_version(
        &mut self,
        template_id: Option<&str>,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        let id = match template_id {
            Some(id) => id.to_string(),
            None => match self.launch_templates.iter().find(|(_, lt)| lt.name == name) {
                Some((id, _)) => id.clone(),
                None => {
                    let id = format!("lt-{:017x}", self.id());
                    self.launch_templates.insert(
                        id.clone(),
                        SbLaunchTemplate {
                            name: name.to_string(),
                            versions: Vec::new(),
                        },
                    );
                    id
                }
            },
        };
        let lt = self
            .launch_templates
            .get_mut(&id)
            .ok_or_else(|| not_found("launch template"))?;
        let number = lt.versions.len() as i64 + 1;
        let created_ms = self.now_ms();
        let lt = self
            .launch_templates
            .get_mut(&id)
            .ok_or_else(|| not_found("launch template"))?;
        lt.versions.push(SbTemplateVersion {
            number,
            description: tags::release_description(&release.fingerprint),
            data: release.data.clone(),
            created_ms,
        });
        Ok((id, number))
    }

    /// Makes `app`'s fleet of `color` as `c` says, launching from version
    /// `version` of `template_id` into target group `tg_arn`.
    pub(super) fn create_fleet(
        &mut self,
        app: &AppRef,
        color: Color,
        c: &FleetConfig,
        template_id: &str,
        version: i64,
        tg_arn: &TargetGroupArn,
    ) -> Result<()> {
        self.template_visible("CreateAutoScalingGroup", template_id, version)?;
        if self.fleets.contains_key(c.name.as_str()) {
            return Err(ProviderError::api(
                "CreateAutoScalingGroup",
                format!("AlreadyExists: {}", c.name),
            ));
        }
        let tags = tagged(app.tags(Made::Fleet {
            color,
            release: &c.release,
        }));
        self.fleets.insert(
            c.name.to_string(),
            SbFleet {
                template_id: template_id.to_string(),
                template_version: version,
                capacity: c.capacity,
                subnets: c.subnets.clone(),
                target_groups: vec![tg_arn.to_string()],
                tags,
                instances: Vec::new(),
                spot: c.spot,
                instance_types: c.instance_types.clone(),
                on_demand_base: c.on_demand_base,
                capacity_rebalance: c.spot,
                health_check_grace_secs: c.health_check_grace_secs,
                warmup_secs: c.warmup_secs,
                scaling: None,
                failed_activities: Vec::new(),
                activity_asked_ms: None,
            },
        );
        self.ask_scaling(c.name.as_str());
        Ok(())
    }

    /// Brings fleet `c.name` to `c`, launching from version `version` of
    /// `template_id`.
    pub(super) fn update_fleet(
        &mut self,
        c: &FleetConfig,
        template_id: &str,
        version: i64,
    ) -> Result<()> {
        self.template_visible("UpdateAutoScalingGroup", template_id, version)?;
        let f = self
            .fleets
            .get_mut(c.name.as_str())
            .ok_or_else(|| not_found("auto scaling group"))?;
        f.template_id = template_id.to_string();
        f.template_version = version;
        f.capacity = c.capacity;
        f.subnets = c.subnets.clone();
        f.spot = c.spot;
        f.instance_types = c.instance_types.clone();
        f.on_demand_base = c.on_demand_base;
        f.capacity_rebalance = c.spot;
        f.health_check_grace_secs = c.health_check_grace_secs;
        f.warmup_secs = c.warmup_secs;
        f.tags.insert(tags::RELEASE.into(), c.release.clone());
        self.ask_scaling(c.name.as_str());
        Ok(())
    }

    /// Deletes `fleet`; its instances leave their target groups.
    pub(super) fn delete_fleet(&mut self, fleet: &str) -> Result<()> {
        let now = self.now_ms();
        if let Some(f) = self.fleets.remove(fleet) {
            for tg in self.target_groups.values_mut() {
                for i in &f.instances {
                    tg.deregister(&i.id, now);
                }
            }
        }
        Ok(())
    }

    /// The instances of `fleet`, if it exists.
    pub(super) fn fleet_members(&self, fleet: &FleetName) -> Result<Option<Members>> {
        Ok(self.listed_fleet(fleet).as_ref().map(Members::of))
    }
}

/// Capacity, target groups and scaling.
impl World {
    /// Sets `fleet`'s capacity; a scaling activity carries it out.
    pub(super) fn set_capacity(&mut self, fleet: &str, capacity: Capacity) -> Result<()> {
        self.fleets
            .get_mut(fleet)
            .ok_or_else(|| not_found("auto scaling group"))?
            .capacity = capacity;
        self.ask_scaling(fleet);
        Ok(())
    }

    /// Sets `fleet`'s target-tracking policy (`None`: deletes it).
    pub(super) fn set_scaling(
        &mut self,
        fleet: &FleetName,
        scaling: Option<&Scaling>,
    ) -> Result<()> {
        self.fleets
            .get_mut(fleet.as_str())
            .ok_or_else(|| not_found("auto scaling group"))?
            .scaling = scaling.copied();
        Ok(())
    }

    /// Attaches target group `tg_arn` to `fleet`: its instances in service
    /// register with it.
    pub(super) fn attach_target_group(&mut self, fleet: &str, tg_arn: &str) -> Result<()> {
        let now = self.now_ms();
        let f = self
            .fleets
            .get_mut(fleet)
            .ok_or_else(|| not_found("auto scaling group"))?;
        if !f.target_groups.iter().any(|t| t == tg_arn) {
            f.target_groups.push(tg_arn.to_string());
        }
        let ids: Vec<String> = f.in_service().map(|i| i.id.clone()).collect();
        let tg = self
            .target_groups
            .get_mut(tg_arn)
            .ok_or_else(|| not_found("target group"))?;
        for id in ids {
            tg.targets.entry(id).or_insert(now);
        }
        Ok(())
    }

    /// Detaches target group `tg_arn` from `fleet`: its instances drain.
    pub(super) fn detach_target_group(&mut self, fleet: &str, tg_arn: &str) -> Result<()> {
        let now = self.now_ms();
        let f = self
            .fleets
            .get_mut(fleet)
            .ok_or_else(|| not_found("auto scaling group"))?;
        f.target_groups.retain(|t| t != tg_arn);
        let ids: Vec<String> = f.instances.iter().map(|i| i.id.clone()).collect();
        if let Some(tg) = self.target_groups.get_mut(tg_arn) {
            for id in ids {
                tg.deregister(&id, now);
            }
        }
        Ok(())
    }

    /// What Auto Scaling reports of `fleet`'s launches since `since`.
    pub(super) fn failed_launch(
        &self,
        fleet: &FleetName,
        since: Timestamp,
    ) -> Result<Option<FailedLaunch>> {
        // The newest failure, unless a launch after it went through.
        Ok(self.fleets.get(fleet.as_str()).and_then(|f| {
            f.failed_activities
                .last()
                .filter(|a| a.started_ms / 1000 > since)
                .filter(|a| f.in_service().all(|i| i.launched_ms < a.started_ms))
                .map(|a| FailedLaunch {
                    message: a.message.clone(),
                    description: a.description.clone(),
                })
        }))
    }

    /// Marks `fleet`'s release `fingerprint` (rolled back or held) at
    /// `at`, and why.
    pub(super) fn mark(
        &mut self,
        fleet: &FleetName,
        mark: tags::Mark,
        fingerprint: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<()> {
        let f = self
            .fleets
            .get_mut(fleet.as_str())
            .ok_or_else(|| not_found("auto scaling group"))?;
        let (key, why_key) = mark.keys();
        f.tags
            .insert(key.into(), tags::rolled_back_value(fingerprint, at));
        f.tags.insert(why_key.into(), tags::why_value(why));
        Ok(())
    }

    /// Takes `fleet`'s rolled-back mark off.
    pub(super) fn clear_mark(&mut self, fleet: &FleetName, mark: tags::Mark) -> Result<()> {
        let f = self
            .fleets
            .get_mut(fleet.as_str())
            .ok_or_else(|| not_found("auto scaling group"))?;
        let (key, why_key) = mark.keys();
        f.tags.remove(key);
        f.tags.remove(why_key);
        Ok(())
    }
}
