//! Building a colour for a release: its target group, the launch template
//! version of the release, its fleet (recycled when it runs an older
//! release) and the fleet's scaling.

use super::live_state::LiveState;
use super::{Detail, Executor, StepError};
use crate::model::plan::{FleetConfig, TargetGroupConfig};
use crate::model::{AttributeChanges, Capacity, Color, HealthCheck, Release};

impl Executor<'_> {
    pub(super) async fn create_target_group(
        &self,
        live: &mut LiveState,
        color: Color,
        config: &TargetGroupConfig,
    ) -> Result<Detail, StepError> {
        let arn = self
            .provider
            .create_target_group(&self.app, color, config)
            .await?;
        *live.target_groups.get_mut(color) = Some(arn);
        Ok(None)
    }

    pub(super) async fn update_target_group(
        &self,
        live: &LiveState,
        color: Color,
        health_check: Option<&HealthCheck>,
        attributes: &AttributeChanges,
    ) -> Result<Detail, StepError> {
        let arn = live.tg(color)?;
        if let Some(hc) = health_check {
            self.provider.modify_health_check(&arn, hc).await?;
        }
        if !attributes.is_empty() {
            self.provider.set_attributes(&arn, attributes).await?;
        }
        Ok(None)
    }

    pub(super) async fn create_version(
        &self,
        live: &mut LiveState,
        name: &str,
        release: &Release,
    ) -> Result<Detail, StepError> {
        let (id, version) = self
            .provider
            .create_launch_template_version(&self.app, live.template_id.as_deref(), name, release)
            .await?;
        live.template_id = Some(id);
        live.versions.insert(release.fingerprint.clone(), version);
        Ok(Some(format!("version {version}")))
    }

    /// An idle fleet running an older release leaves its target group and
    /// goes to zero, and the run waits until its instances are gone, so the
    /// new release starts on fresh instances. Auto Scaling acts after the
    /// call: a capacity of 0 then N before its activity runs would keep the
    /// old instances, and a new launch template version never replaces
    /// running ones.
    pub(super) async fn recycle_fleet(
        &self,
        live: &mut LiveState,
        color: Color,
    ) -> Result<Detail, StepError> {
        self.check_shrink_safe(live, color).await?;
        let fleet = live.fleet(color);
        if live.attached(color) {
            self.provider
                .detach_target_group(&fleet, &live.tg(color)?)
                .await?;
        }
        self.provider.set_capacity(&fleet, Capacity::ZERO).await?;
        *live.fleets.get_mut(color) = Some(Vec::new());
        self.wait_empty(live, color).await?;
        Ok(None)
    }

    pub(super) async fn ensure_fleet(
        &self,
        live: &mut LiveState,
        color: Color,
        config: &FleetConfig,
    ) -> Result<Detail, StepError> {
        let tg = live.tg(color)?;
        let template = live
            .template_id
            .clone()
            .ok_or_else(|| StepError::Missing("the launch template does not exist".into()))?;
        let version = *live.versions.get(&config.release).ok_or_else(|| {
            StepError::Missing(format!(
                "no launch template version holds release {}",
                config.release
            ))
        })?;
        let provider = self.provider;
        *live.fleet_set_at.get_mut(color) = Some(provider.now());
        match live.fleets.get(color) {
            None => {
                provider
                    .create_fleet(&self.app, color, config, &template, version, &tg)
                    .await?
            }
            Some(attached) => {
                if !attached.contains(&tg) {
                    provider.attach_target_group(&config.name, &tg).await?;
                }
                provider.update_fleet(config, &template, version).await?;
            }
        }
        *live.fleets.get_mut(color) = Some(vec![tg]);
        Ok(None)
    }

    pub(super) async fn set_scaling(
        &self,
        live: &LiveState,
        color: Color,
        scaling: Option<&crate::model::Scaling>,
    ) -> Result<Detail, StepError> {
        let (fleet, tg) = (live.fleet(color), live.tg(color)?);
        self.provider
            .set_scaling(&fleet, scaling, &live.load_balancer, &tg)
            .await?;
        Ok(None)
    }

    pub(super) async fn set_capacity(
        &self,
        live: &LiveState,
        color: Color,
        capacity: Capacity,
    ) -> Result<Detail, StepError> {
        self.provider
            .set_capacity(&live.fleet(color), capacity)
            .await?;
        Ok(None)
    }
}
