//! The watch after promotion (`rollout.watch`): the promoted colour's
//! gates go on being judged at 100% while the colour it replaced still
//! runs at its capacity; a verdict against it sends production back there
//! as a rollback does (one flip with the active colour, the promotion
//! record and the rolled-back tag), exit 3.

use super::bake::Observe;
use super::live_state::LiveState;
use super::{Detail, Executor};
use crate::gate::metric::EvidenceRules;
use crate::gate::Check;
use crate::model::outcome::Abort;
use crate::model::plan::{Action, Plan, PlanKind};
use crate::model::Color;

impl Executor<'_> {
    /// Watch `color` for `secs` after its promotion. A relative metric
    /// limit compares with blue's minutes before production went all to
    /// `color` (this run's last weight write), since blue serves nothing now.
    pub(super) async fn watch(
        &self,
        live: &LiveState,
        gates: &[Check],
        evidence: EvidenceRules,
        color: Color,
        secs: u64,
    ) -> Result<Detail, super::StepError> {
        let now = self.provider.now();
        let o = Observe {
            color,
            weight: 100,
            secs,
            watch: true,
            baseline_before: live.weights_lag.map_or(now, |(_, at)| at),
        };
        self.observe(live, gates, evidence, o).await
    }

    /// A verdict during the watch: production back on the colour it came
    /// from, provided that colour can serve it (as the way home during a
    /// shift: all its targets healthy, or after the health timeout at
    /// least one), with that colour recorded as active again and the
    /// promotion record naming it, in one flip. The release is remembered
    /// as rolled back by the caller, as any verdict is.
    pub(super) async fn back_from_watch(
        &self,
        plan: &Plan,
        live: &mut LiveState,
        abort: &mut Abort,
    ) {
        let (Some(to), PlanKind::Release { release, .. }) = (plan.rollback_to, &plan.kind) else {
            return;
        };
        let from = to.other();
        abort.during_watch = true;
        // What the report says comes from the way back, not the promotion.
        abort.after_promotion = false;
        match self.home_healthy(live, to).await {
            Ok((healthy, wanted)) => {
                abort.home_short = (healthy < wanted).then_some((healthy, wanted));
            }
            Err(e) => {
                // Production is all on `from`, not split: say so, not what
                // the way home during a shift would say.
                let why = match e {
                    super::error::RestoreError::Unhealthy {
                        healthy,
                        wanted,
                        waited_secs,
                        ..
                    } => format!(
                        "{to} has {healthy} of its {wanted} targets healthy after waiting {} for Auto Scaling to replace them; `cutover rollback --force` sends production there anyway",
                        crate::model::format_duration(waited_secs)
                    ),
                    e => e.to_string(),
                };
                abort.rollback_error = Some(format!(
                    "{from} stays live and active: going back to {to} is not safe ({why})"
                ));
                return;
            }
        }
        if let Some(interrupt) = &self.interrupt {
            interrupt.set_going_home(true);
        }
        let parameter = self.app.state_parameter.clone();
        let record = crate::decide::rollback::record_left(
            &parameter,
            to,
            from,
            Some(release.fingerprint.clone()),
            self.desired,
        );
        match self
            .flip(live, to, true, Some(&parameter), Some(&record))
            .await
        {
            Ok(_) => abort.rolled_back_to = Some(to),
            Err(e) => abort.rollback_error = Some(e.to_string()),
        }
        if let Some(interrupt) = &self.interrupt {
            interrupt.set_going_home(false);
        }
        if abort.rolled_back_to.is_some() {
            self.scaling_back(plan, live, to).await;
        }
    }

    /// After the flip back: the scaling policy the promotion put on the
    /// promoted colour goes back to `home`, which serves again (the
    /// promotion took it off there), and off the idle one. Traffic does
    /// not wait for it; a failure is said, and `cutover plan` shows it.
    async fn scaling_back(&self, plan: &Plan, live: &LiveState, home: Color) {
        let policy = plan.steps.iter().find_map(|s| match &s.action {
            Action::SetScaling {
                color,
                scaling: Some(scaling),
            } if *color == home.other() => Some(*scaling),
            _ => None,
        });
        let Some(policy) = policy else { return };
        for (color, scaling) in [(home, Some(&policy)), (home.other(), None)] {
            if let Err(e) = self.set_scaling(live, color, scaling).await {
                self.reporter.event(super::Event::Warning(format!(
                    "production is back on {home}, but moving the scaling policy there failed ({e}); `cutover plan` shows what is left"
                )));
                return;
            }
        }
    }
}
