//! Teardown of a colour: it leaves its target group, drains, scales to
//! zero and goes; never while it serves production (`check_shrink_safe`).

use super::live_state::LiveState;
use super::wait::WaitStatus;
use super::{Detail, Executor, StepError};
use crate::model::observed::TargetState;
use crate::model::{Capacity, Color};

/// How long teardown may take to terminate the old colour's instances.
const EMPTY_TIMEOUT_SECS: u64 = 15 * 60;

impl Executor<'_> {
    /// Teardown, first part: the colour leaves its target group and drains.
    pub(super) async fn detach_fleet(
        &self,
        live: &mut LiveState,
        color: Color,
    ) -> Result<Detail, StepError> {
        self.check_shrink_safe(live, color).await?;
        let tg = live.tg(color)?;
        self.provider
            .detach_target_group(&live.fleet(color), &tg)
            .await?;
        if let Some(tgs) = live.fleets.get_mut(color) {
            tgs.retain(|t| t != &tg);
        }
        Ok(None)
    }

    /// Waits while `color`'s targets drain: until none is registered
    /// (ELB lists a deregistered target as `draining` for up to the
    /// deregistration delay, and ends it early once its requests are done),
    /// and never longer than the delay. A target that still looks
    /// registered (a read that lags the deregistration) keeps the wait
    /// going; only the delay ends it then.
    pub(super) async fn wait_drain(
        &self,
        live: &LiveState,
        color: Color,
        secs: u64,
    ) -> Result<Detail, StepError> {
        let tg = live.tg(color)?;
        self.poll(Some(secs), async |elapsed| {
            let drained = elapsed.min(secs);
            let left = if elapsed >= secs {
                0
            } else {
                let targets = self.provider.target_health(&tg).await?;
                targets
                    .iter()
                    .filter(|t| t.state != TargetState::Unused)
                    .count()
            };
            let status = WaitStatus::waiting(
                drained,
                secs,
                format!("draining: {drained}s of {secs}s, {left} targets still registered"),
            );
            Ok(if elapsed >= secs {
                status.then(None)
            } else if left == 0 {
                status.then(Some(format!("drained after {drained}s")))
            } else {
                status
            })
        })
        .await
    }

    /// Until a colour's fleet has no instances (or is gone).
    pub(super) async fn wait_empty(&self, live: &LiveState, color: Color) -> Result<(), StepError> {
        let fleet = live.fleet(color);
        self.poll(None, async |elapsed| {
            match self
                .provider
                .fleet_members(&fleet)
                .await?
                .map(|m| m.running)
            {
                None | Some(0) => Ok(WaitStatus::done(())),
                Some(running) if elapsed >= EMPTY_TIMEOUT_SECS => Err(StepError::StillRunning {
                    fleet: fleet.clone(),
                    instances: running,
                    waited_secs: EMPTY_TIMEOUT_SECS,
                }),
                Some(running) => Ok(WaitStatus::waiting(
                    0,
                    running as u64,
                    format!("{running} instances still terminating"),
                )),
            }
        })
        .await
    }

    /// A colour that has production weight is never detached, scaled down
    /// or deleted.
    /// Nor is one that any other listener or rule on the load balancer
    /// still weights (a listener the plan stopped naming, someone's rule),
    /// as a fresh read shows. The app's own listeners and rules are not
    /// asked: production's weights are the run's, and the test listener
    /// follows the colour being deployed.
    pub(super) async fn check_shrink_safe(
        &self,
        live: &LiveState,
        color: Color,
    ) -> Result<(), StepError> {
        if let Some(weights) = live.weights.filter(|w| w.get(color) > 0) {
            return Err(StepError::UnsafeTeardown {
                color,
                reason: format!("it has {}% of production traffic", weights.share(color)),
            });
        }
        let Some(tg) = live.target_groups.get(color).clone() else {
            return Ok(());
        };
        let own = |arn: &str| {
            live.listeners.values().any(|l| l.as_str() == arn)
                || live.rules.values().any(|l| l.as_str() == arn)
        };
        let forwards = self.provider.forwards_on(&live.load_balancer).await?;
        for forwarding in forwards.iter().filter(|f| !own(&f.arn)) {
            let total: u32 = forwarding.forward.iter().map(|(_, w)| w).sum();
            let mine: u32 = forwarding
                .forward
                .iter()
                .filter(|(a, _)| *a == tg)
                .map(|(_, w)| w)
                .sum();
            if mine > 0 {
                return Err(StepError::UnsafeTeardown {
                    color,
                    reason: format!(
                        "{} still sends it {}%",
                        forwarding.place,
                        (mine * 100).checked_div(total).unwrap_or(100)
                    ),
                });
            }
        }
        Ok(())
    }

    pub(super) async fn scale_to_zero(
        &self,
        live: &LiveState,
        color: Color,
    ) -> Result<Detail, StepError> {
        self.check_shrink_safe(live, color).await?;
        self.provider
            .set_capacity(&live.fleet(color), Capacity::ZERO)
            .await?;
        Ok(None)
    }

    pub(super) async fn delete_fleet(
        &self,
        live: &mut LiveState,
        color: Color,
    ) -> Result<Detail, StepError> {
        self.check_shrink_safe(live, color).await?;
        self.provider.delete_fleet(&live.fleet(color)).await?;
        *live.fleets.get_mut(color) = None;
        Ok(None)
    }
}
