//! Carries out one [`Action`]: one arm each, a call to the file of its
//! concern, which holds the safety check that guards its mutation.

use super::live_state::LiveState;
use super::{Detail, Executor, StepError};
use crate::model::plan::{Action, Plan};

impl Executor<'_> {
    /// Carries out one action.
    // Long: one arm per Action, each a call; the work is in the files of
    // their concerns.
    pub(super) async fn run(
        &self,
        plan: &Plan,
        action: &Action,
        live: &mut LiveState,
    ) -> Result<Detail, StepError> {
        match action {
            Action::CreateTargetGroup { color, config } => {
                self.create_target_group(live, *color, config).await
            }
            Action::UpdateTargetGroup {
                color,
                health_check,
                attributes,
            } => {
                self.update_target_group(live, *color, health_check.as_ref(), attributes)
                    .await
            }
            Action::CreateLaunchTemplateVersion { name, release } => {
                self.create_version(live, name, release).await
            }
            Action::RecycleFleet { color } => self.recycle_fleet(live, *color).await,
            Action::EnsureFleet { color, config } => self.ensure_fleet(live, *color, config).await,
            Action::SetCapacity { color, capacity } => {
                self.set_capacity(live, *color, *capacity).await
            }
            Action::WaitHealthy {
                color,
                count,
                timeout_secs,
            } => self.wait_healthy(live, *color, *count, *timeout_secs).await,
            Action::EnsureListener { config, weights } => {
                self.ensure_listener(live, config, *weights).await
            }
            Action::SetWeights {
                weights,
                affinity_secs,
            } => self.set_weights(live, *weights, *affinity_secs).await,
            Action::DeleteRule { port } => self.delete_rule(live, *port).await,
            Action::TagListener { port, role } => self.tag_listener(live, *port, *role).await,
            Action::DeleteListener { port, arn } => self.delete_listener(live, *port, arn).await,
            Action::SetScaling { color, scaling } => {
                self.set_scaling(live, *color, scaling.as_ref()).await
            }
            Action::Bake {
                color,
                weight,
                secs,
            } => {
                self.judged_again(live, *color).await;
                self.bake(live, &plan.gates, plan.evidence, *color, *weight, *secs)
                    .await
            }
            Action::Watch { color, secs } => {
                self.watch(live, &plan.gates, plan.evidence, *color, *secs)
                    .await
            }
            Action::RecordActive { parameter, color } => {
                self.record_active(live, parameter, *color).await
            }
            Action::RecordPrevious { record } => self.record_previous(live, record).await,
            Action::Hook {
                phase,
                color,
                command,
                release,
            } => {
                self.hook(live, *phase, *color, command, release.is_some())
                    .await
            }
            Action::MarkContractPending { color, release } => {
                self.mark_contract_pending(live, *color, release).await
            }
            Action::Smoke { color, checks } => self.smoke(live, *color, checks).await,
            Action::AwaitPromotion { color } => Ok(Some(format!(
                "{color} is ready; `cutover promote` shifts traffic to it"
            ))),
            Action::DetachFleet { color } => self.detach_fleet(live, *color).await,
            Action::WaitDrain { color, secs } => self.wait_drain(live, *color, *secs).await,
            Action::ScaleToZero { color } => self.scale_to_zero(live, *color).await,
            Action::Flip {
                to,
                traffic,
                record_active,
                record,
            } => {
                self.flip(
                    live,
                    *to,
                    *traffic,
                    record_active.as_deref(),
                    record.as_ref(),
                )
                .await
            }
            Action::RememberRolledBack { color, release } => {
                self.remember_rolled_back(live, *color, release).await
            }
            Action::ClearRolledBack { color } => self.clear_rolled_back(live, *color).await,
            Action::DeleteFleet { color } => self.delete_fleet(live, *color).await,
        }
    }
}
