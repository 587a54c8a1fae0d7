//! The plan's `[hooks]`: a command run at a phase of the lifecycle.

use super::live_state::LiveState;
use super::{Detail, Executor, StepError};
use crate::model::plan::HookPhase;
use crate::model::Color;
use crate::shell::checks;
use std::time::Duration;

/// How long a `[hooks]` command may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl Executor<'_> {
    pub(super) async fn hook(
        &self,
        live: &LiveState,
        phase: HookPhase,
        color: Color,
        command: &[String],
        clears_contract: bool,
    ) -> Result<Detail, StepError> {
        if phase == HookPhase::AfterTeardown {
            self.check_shrink_safe(live, color).await?;
            self.wait_empty(live, color).await?;
        }
        let vars = vec![
            ("CUTOVER_APP", self.app.app.clone()),
            ("CUTOVER_COLOR", color.to_string()),
            ("CUTOVER_PHASE", phase.as_str().to_string()),
        ];
        checks::command(command, vars, &self.hidden_env, HOOK_TIMEOUT)
            .await
            .map_err(|f| StepError::of_check(f, phase.as_str(), color, None))?;
        if clears_contract {
            self.provider
                .set_contract_pending(&live.tg(color)?, None)
                .await?;
        }
        Ok(None)
    }

    /// Remembered before a teardown starts, on the colour's target group:
    /// `release`'s after_teardown hook is due (a crash between teardown and
    /// hook does not lose it); the hook clears the mark.
    pub(super) async fn mark_contract_pending(
        &self,
        live: &LiveState,
        color: Color,
        release: &str,
    ) -> Result<Detail, StepError> {
        self.provider
            .set_contract_pending(&live.tg(color)?, Some(release))
            .await?;
        Ok(None)
    }
}
