//! `[rollout]`: the steps, the bake, the health timeout (and whether it
//! fits the target groups' health check), session affinity, and the smoke
//! tests and gates, whose own rules are each kind's, in `crate::gate`.

use super::duration::parse_duration;
use super::located::Located;
use super::raw::RawRollout;
use super::{Validator, MAX_STICKY_SECS};
use crate::gate::{Check, RawCheck};
use crate::model::HealthCheck;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutSpec {
    pub steps: Vec<u32>,
    pub bake_secs: u64,
    pub health_timeout_secs: u64,
    /// Group stickiness during a shift (the weighted forward's); 0: off.
    pub session_affinity_secs: u32,
    pub auto_promote: bool,
    pub smoke: Vec<Check>,
    pub gates: Vec<Check>,
}

impl Validator<'_> {
    pub(super) fn rollout(&mut self, r: &RawRollout) -> RolloutSpec {
        let steps = match &r.steps {
            None => vec![10, 25, 50, 100],
            Some(steps) => self.steps(steps),
        };
        let bake_secs = self.duration("rollout.bake", r.bake.as_ref(), 300);
        let session_affinity_secs = match &r.session_affinity {
            None => 0,
            Some(v) => self.duration_in("rollout.session_affinity", Some(v), 1, 1, MAX_STICKY_SECS),
        };
        let health_timeout_secs =
            self.duration("rollout.health_timeout", r.health_timeout.as_ref(), 600);
        let smoke = r
            .smoke
            .iter()
            .flatten()
            .map(|c| RawCheck::check(c, "rollout.smoke", false, self))
            .collect();
        let gates = r
            .gates
            .iter()
            .flatten()
            .map(|c| RawCheck::check(c, "rollout.gates", true, self))
            .collect();

        RolloutSpec {
            steps,
            bake_secs,
            health_timeout_secs,
            session_affinity_secs,
            auto_promote: r.auto_promote.unwrap_or(true),
            smoke,
            gates,
        }
    }

    fn steps(&mut self, steps: &Located<Vec<Located<i64>>>) -> Vec<u32> {
        let list = steps.get_ref();
        if list.is_empty() {
            self.error(
                steps.span(),
                "`rollout.steps` is empty",
                "e.g. steps = [10, 25, 50, 100]",
            );
            return vec![100];
        }
        let mut out = Vec::new();
        let mut prev = 0;
        for s in list {
            let n = *s.get_ref();
            if !(1..=100).contains(&n) {
                self.error(
                    s.span(),
                    format!("step {n}% is outside 1–100"),
                    "each step is the new colour's share of production traffic, 1 to 100",
                );
            } else if n <= prev {
                self.error(
                    s.span(),
                    format!("step {n}% does not rise above the step before it ({prev}%)"),
                    "steps go strictly up, e.g. [10, 25, 50, 100]",
                );
            }
            prev = n;
            out.push(n.clamp(1, 100) as u32);
        }
        if (1..100).contains(list.last().expect("not empty").get_ref()) {
            let last = list.last().expect("not empty");
            self.error(
                last.span(),
                format!("the last step is {}%, not 100%", last.get_ref()),
                "end the steps at 100 so the new colour takes all traffic",
            );
        }
        out
    }

    /// A health timeout shorter than the time a target needs to turn
    /// healthy (healthy_threshold checks, interval apart) fails every
    /// release at once: a mistake in the plan, not a verdict on a release.
    pub(super) fn health_timeout_fits(
        &mut self,
        rollout: &RolloutSpec,
        hc: &HealthCheck,
        raw: &RawRollout,
    ) {
        let Some(v) = raw.health_timeout.as_ref() else {
            return;
        };
        let least = u64::from(hc.interval_secs) * u64::from(hc.healthy_threshold);
        if parse_duration(v.get_ref()).is_some() && rollout.health_timeout_secs < least {
            self.error(
                v.span(),
                format!(
                    "`rollout.health_timeout` is {:?}, shorter than a target needs to turn healthy: {} checks {}s apart take {least}s",
                    v.get_ref(),
                    hc.healthy_threshold,
                    hc.interval_secs
                ),
                format!(
                    "allow for booting too: at least \"{least}s\", and usually several minutes (the default is \"10m\")"
                ),
            );
        }
    }
}
