//! A colour's healthy targets: how many run its release, how many it
//! needs to serve production, and the wait until it has them.

use super::live_state::LiveState;
use super::wait::WaitStatus;
use super::{Detail, Executor, StepError};
use crate::model::observed::{healthy_count, TargetHealth, TargetState};
use crate::model::Color;

/// How far before this run's fleet step a failed launch may have started,
/// by the clock of this machine, and still be this run's.
const LAUNCH_CLOCK_SLACK_SECS: i64 = 5;

impl Executor<'_> {
    /// Until `count` targets are healthy and none is not, or the timeout.
    /// A scaling activity that fails to launch an instance ends the wait at
    /// once with Auto Scaling's reason, rather than as "0 of 2 healthy"
    /// when the timeout runs out.
    pub(super) async fn wait_healthy(
        &self,
        live: &LiveState,
        color: Color,
        count: u32,
        timeout_secs: u64,
    ) -> Result<Detail, StepError> {
        // This run's launches start after its fleet step (the slack allows
        // for a clock a little ahead of AWS's); when the run left the fleet
        // as it was, Auto Scaling's launches from now on. A failure from
        // before, a run that failed a moment ago, is not this one's.
        let since = match live.fleet_set_at.get(color) {
            Some(at) => at - LAUNCH_CLOCK_SLACK_SECS,
            None => self.provider.now(),
        };
        let fleet = live.fleet(color);
        // A role that may not read scaling activities waits on health alone.
        let mut ask = true;
        self.poll(None, async |elapsed| {
            let (healthy, targets) = self.healthy(live, color).await?;
            // Targets on their way out (a recycled colour's old instances)
            // get no new traffic and do not hold the release up.
            let all_ok = targets
                .iter()
                .filter(|t| !matches!(t.state, TargetState::Draining | TargetState::Unused))
                .all(|t| t.state.is_healthy());
            let said = format!("{healthy} of {count} healthy");
            let status = WaitStatus::waiting(healthy as u64, count as u64, said.clone());
            if healthy >= count && all_ok {
                return Ok(status.then(Some(said)));
            }
            let failed = if ask {
                match self.provider.failed_launch(&fleet, since).await {
                    Err(e) if e.is_denied() => {
                        ask = false;
                        None
                    }
                    found => found?,
                }
            } else {
                None
            };
            if let Some(failed) = failed {
                return Err(StepError::LaunchFailed {
                    fleet: fleet.clone(),
                    message: failed.message,
                    description: failed.description,
                });
            }
            if elapsed >= timeout_secs {
                return Err(StepError::NotHealthy {
                    color,
                    healthy,
                    wanted: count,
                    timeout_secs,
                    targets,
                });
            }
            Ok(status)
        })
        .await
    }

    /// Healthy targets of `color` that run its release: a target counts
    /// only if its instance was launched from the group's launch template
    /// version. A new version never replaces running instances, so an
    /// older instance left in the target group is not the release, however
    /// healthy. Returns the count and the targets as AWS reports them.
    pub(super) async fn healthy(
        &self,
        live: &LiveState,
        color: Color,
    ) -> Result<(u32, Vec<TargetHealth>), StepError> {
        let (tg, fleet) = (live.tg(color)?, live.fleet(color));
        let (targets, members) = futures::try_join!(
            self.provider.target_health(&tg),
            self.provider.fleet_members(&fleet)
        )?;
        let current = members.map(|m| m.current).unwrap_or_default();
        let release: Vec<TargetHealth> = targets
            .iter()
            .filter(|t| current.contains(&t.id))
            .cloned()
            .collect();
        Ok((healthy_count(&release), targets))
    }

    /// How many healthy targets `color` needs to serve production: the
    /// colour going home needs its own capacity, any other the plan's.
    pub(super) fn wanted(&self, live: &LiveState, color: Color) -> u32 {
        match live.home {
            Some((home, capacity)) if home == color => capacity,
            _ => self.desired,
        }
    }
}
