//! Bakes, smoke tests and gates: watching a colour at a weight, and
//! running the plan's checks against it. Each kind of check says itself
//! what it needs (`How`): a run by the shell or a read from the cloud.

use super::evidence::Evidence;
use super::live_state::LiveState;
use super::wait::WaitStatus;
use super::{Detail, Executor, StepError};
use crate::gate::metric::EvidenceRules;
use crate::gate::{Check, CheckEnv, How};
use crate::model::{Color, Timestamp};
use crate::shell::checks;

/// How often command, HTTP and alarm gates run during a bake (target health
/// is checked at every poll).
const GATE_INTERVAL_SECS: u64 = 10;

/// What a bake or a watch observes: `color` at `weight`% for `secs`.
pub(super) struct Observe {
    pub color: Color,
    pub weight: u32,
    pub secs: u64,
    /// The watch after promotion (`rollout.watch`): it ends on time,
    /// evidence or not (the release was promoted on evidence), and
    /// silence is no failure.
    pub watch: bool,
    /// A relative limit without blue in the same minutes compares with
    /// blue's minutes before this (provider clock).
    pub baseline_before: Timestamp,
}

impl Executor<'_> {
    /// Observe `color` at `weight`% for `secs`: both serving colours keep
    /// their full healthy capacity at every poll, and the plan's gates pass
    /// every [`GATE_INTERVAL_SECS`] and at the end.
    pub(super) async fn bake(
        &self,
        live: &LiveState,
        gates: &[Check],
        evidence: EvidenceRules,
        color: Color,
        weight: u32,
        secs: u64,
    ) -> Result<Detail, StepError> {
        let now = self.provider.now();
        let o = Observe {
            color,
            weight,
            secs,
            watch: false,
            baseline_before: now,
        };
        self.observe(live, gates, evidence, o).await
    }

    /// A bake or a watch: the health gate of the colours with traffic at
    /// every poll, the other gates every [`GATE_INTERVAL_SECS`], the metric
    /// gates as CloudWatch fills in their windows.
    pub(super) async fn observe(
        &self,
        live: &LiveState,
        gates: &[Check],
        evidence: EvidenceRules,
        o: Observe,
    ) -> Result<Detail, StepError> {
        let Observe {
            color,
            weight,
            secs,
            watch,
            ..
        } = o;
        let mut gates_run_at: Option<u64> = None;
        let mut ev = Evidence::new(
            gates,
            evidence,
            color,
            weight,
            self.provider.now(),
            o.baseline_before,
        );
        // Metric gates may keep a bake past its time: the loop's naps stay
        // whole. A watch ends on time.
        let until = (!ev.any() || watch).then_some(secs);
        self.poll(until, async |elapsed| {
            self.check_weights_unchanged(live).await?;
            // Evidence against the release first: when the new colour fails
            // too, that is the verdict, whatever the old colour's state.
            self.check_health_gate(live, color, true, weight).await?;
            let due = gates_run_at.is_none_or(|t| elapsed.saturating_sub(t) >= GATE_INTERVAL_SECS)
                || elapsed >= secs;
            if due
                && gates
                    .iter()
                    .any(|g| !matches!(g.kind.how(), How::Traffic(_)))
            {
                self.run_checks(live, color, Some(weight), gates, "gate")
                    .await?;
                gates_run_at = Some(elapsed);
            }
            self.judge_traffic(live, &mut ev).await?;
            let old = color.other();
            if live.weights.is_some_and(|w| w.get(old) > 0) {
                self.check_health_gate(live, old, false, weight).await?;
            }
            if let (false, Some(silence)) = (watch, ev.out_of_time(self.provider.now())) {
                return Err(silence);
            }
            let baked = elapsed.min(secs);
            let status = WaitStatus::waiting(baked, secs, progress(&o, &ev, baked, elapsed));
            Ok(if elapsed >= secs && (watch || ev.complete()) {
                status.then(ev.any().then(|| ev.verdict(watch)))
            } else {
                status
            })
        })
        .await
    }

    /// The always-on gate: `color` keeps its full healthy capacity. The
    /// new colour (`is_new`) losing it is a verdict on the release; the
    /// colour production came from losing it is not.
    async fn check_health_gate(
        &self,
        live: &LiveState,
        color: Color,
        is_new: bool,
        weight: u32,
    ) -> Result<(), StepError> {
        let (healthy, targets) = self.healthy(live, color).await?;
        let wanted = self.wanted(live, color);
        if healthy >= wanted {
            return Ok(());
        }
        Err(if is_new {
            StepError::HealthLost {
                color,
                weight,
                healthy,
                wanted,
                targets,
            }
        } else {
            StepError::OldColorLost {
                color,
                weight,
                healthy,
                wanted,
                targets,
            }
        })
    }

    /// Runs checks against `color`; the first failure ends the step.
    async fn run_checks(
        &self,
        live: &LiveState,
        color: Color,
        weight: Option<u32>,
        list: &[Check],
        phase: &'static str,
    ) -> Result<(), StepError> {
        let env = CheckEnv {
            app: self.app.app.clone(),
            color: color.to_string(),
            target_group_arn: live
                .target_groups
                .get(color)
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            test_url: self.test_url.clone(),
            weight,
            hidden_env: self.hidden_env.clone(),
        };
        for check in list {
            let result = match check.kind.how() {
                How::Run(run) => checks::run(&run, check.timeout_secs, &env).await,
                // A gate that reads the cloud: what it reads not existing
                // is the plan's mistake, and a read that fails is AWS's
                // failure; neither is evidence against the release.
                How::Read(read) => match self.provider.read_gate(&read).await {
                    Ok(reading) => check.kind.judge(&reading),
                    Err(crate::provider::ProviderError::NotFound(e)) => Err(check.kind.missing(&e)),
                    Err(e) => return Err(StepError::Provider(e)),
                },
                // Judged from the traffic, all together (`evidence.rs`).
                How::Traffic(_) => Ok(()),
            };
            if let Err(f) = result {
                return Err(StepError::of_check(f, phase, color, weight));
            }
        }
        Ok(())
    }

    /// The plan's smoke tests against `color`, before it has production
    /// traffic.
    pub(super) async fn smoke(
        &self,
        live: &LiveState,
        color: Color,
        list: &[Check],
    ) -> Result<Detail, StepError> {
        self.run_checks(live, color, None, list, "smoke test")
            .await?;
        Ok(Some(format!("{} passed", list.len())))
    }
}

/// The progress line of a bake or a watch.
fn progress(o: &Observe, ev: &Evidence<'_>, baked: u64, elapsed: u64) -> String {
    let (color, weight, secs) = (o.color, o.weight, o.secs);
    match (ev.any(), o.watch, elapsed >= o.secs) {
        (false, false, _) => format!("{color} at {weight}%: {baked}s of {secs}s, gates passing"),
        (false, true, _) => {
            format!("watching {color} after promotion: {baked}s of {secs}s, gates passing")
        }
        (true, true, _) => format!(
            "watching {color} after promotion: {baked}s of {secs}s; {}",
            ev.said
        ),
        (true, false, false) => format!("{color} at {weight}%: {baked}s of {secs}s; {}", ev.said),
        (true, false, true) => format!(
            "{color} at {weight}%: baked {secs}s, waiting for every metric gate to judge a window; {}",
            ev.said
        ),
    }
}
