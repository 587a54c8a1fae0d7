//! `[rollout]`: the steps, the bake, the health timeout (and whether it
//! fits the target groups' health check), session affinity, and the smoke
//! tests and gates, whose own rules are each kind's, in `crate::gate`.

use super::duration::parse_duration;
use super::located::Located;
use super::raw::RawRollout;
use super::teardown::TeardownSpec;
use super::{PlanKey, Validator, MAX_STICKY_SECS};
use crate::gate::metric::read::{LAG_SECS, PERIOD_SECS};
use crate::gate::metric::{MetricGate, OnNoEvidence};
use crate::gate::{Check, CheckKind, RawCheck};
use crate::model::{HealthCheck, TeardownPolicy};

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
    /// What a step without evidence from a metric gate by
    /// `evidence_timeout_secs` comes to.
    pub on_no_evidence: OnNoEvidence,
    /// From a step's start; 0 when the plan has no metric gate.
    pub evidence_timeout_secs: u64,
    /// After promotion, the gates go on being judged this long; 0: no watch.
    pub watch_secs: u64,
    /// When a release may be deployed; `None`: any time.
    pub window: Option<super::window::Window>,
}

impl RolloutSpec {
    /// The names of the plan's alarm gates, in the plan's order.
    pub fn alarms(&self) -> impl Iterator<Item = &str> {
        self.gates.iter().filter_map(|g| match &g.kind {
            CheckKind::Alarm(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The plan's metric gates.
    pub fn metric_gates(&self) -> impl Iterator<Item = &MetricGate> {
        self.gates.iter().filter_map(|g| match &g.kind {
            CheckKind::Metric(m) => Some(m),
            _ => None,
        })
    }

    /// The least time a step takes: its bake, or longer when a metric
    /// gate needs more to judge one window (the window, CloudWatch's two
    /// minutes, and up to a minute until the step's first whole minute).
    pub fn step_minimum_secs(&self) -> u64 {
        self.judging_secs()
            .map_or(self.bake_secs, |j| j.max(self.bake_secs))
    }

    /// The least time every metric gate needs to judge its first window;
    /// `None` without metric gates.
    pub fn judging_secs(&self) -> Option<u64> {
        self.metric_gates().map(judging_secs).max()
    }
}

/// The least time a metric gate needs to judge its first window in a step.
pub fn judging_secs(gate: &MetricGate) -> u64 {
    gate.window_secs + LAG_SECS as u64 + PERIOD_SECS as u64
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
        // Each alarm gate's name, where preflight points when it is missing.
        let alarms = r
            .gates
            .iter()
            .flatten()
            .filter_map(|c| c.get_ref().alarm.as_ref());
        for (i, name) in alarms.enumerate() {
            self.place(PlanKey::Alarm(i), name.span());
        }

        let on_no_evidence = match r.on_no_evidence.as_ref() {
            None => OnNoEvidence::Hold,
            Some(v) => match v.get_ref().as_str() {
                "hold" => OnNoEvidence::Hold,
                "rollback" => OnNoEvidence::Rollback,
                other => {
                    self.error(
                        v.span(),
                        format!("`rollout.on_no_evidence` is {other:?}: cutover never proceeds on silence"),
                        "use \"hold\" (production stays at the step until `cutover promote` or `cutover rollback`) or \"rollback\" (production goes home)",
                    );
                    OnNoEvidence::Hold
                }
            },
        };
        let mut rollout = RolloutSpec {
            steps,
            bake_secs,
            health_timeout_secs,
            session_affinity_secs,
            auto_promote: r.auto_promote.unwrap_or(true),
            smoke,
            gates,
            on_no_evidence,
            evidence_timeout_secs: 0,
            watch_secs: self.duration("rollout.watch", r.watch.as_ref(), 0),
            window: r.window.as_ref().and_then(|w| self.window(w.get_ref())),
        };
        rollout.evidence_timeout_secs = self.evidence_timeout(&rollout, r);
        self.watch_judges(&rollout, r);
        rollout
    }

    /// `rollout.window`, each part checked where it is written.
    fn window(&mut self, w: &super::raw::RawWindow) -> Option<super::window::Window> {
        use super::window::{closest_zone, known_zone, parse_days, parse_hours};
        let days = parse_days(w.days.get_ref()).map_err(|e| {
            self.error(
                w.days.span(),
                format!("`rollout.window.days`: {e}"),
                "name days as Mon, Tue, Wed, Thu, Fri, Sat, Sun: \"Mon-Fri\" or \"Mon,Wed,Fri\"",
            )
        });
        let hours = parse_hours(w.hours.get_ref()).map_err(|e| {
            self.error(
                w.hours.span(),
                format!("`rollout.window.hours`: {e}"),
                "write the local hours as \"09:00-16:00\"",
            )
        });
        let zone = w.timezone.get_ref();
        if !known_zone(zone) {
            self.error(
                w.timezone.span(),
                format!("`rollout.window.timezone`: {zone:?} is not an IANA time zone"),
                match closest_zone(zone) {
                    Some(close) => format!("did you mean {close:?}?"),
                    None => "name one as the IANA database does: \"Europe/Berlin\", \"America/New_York\", \"UTC\"".into(),
                },
            );
            return None;
        }
        let (days, (from, to)) = (days.ok()?, hours.ok()?);
        Some(super::window::Window {
            days,
            from,
            to,
            timezone: zone.clone(),
            text: format!("{} {} {zone}", w.days.get_ref(), w.hours.get_ref()),
        })
    }

    /// The bound on a step without evidence: the plan's, no shorter than
    /// a gate needs to judge; by default three times the step's least time.
    fn evidence_timeout(&mut self, rollout: &RolloutSpec, r: &RawRollout) -> u64 {
        let needed = rollout.judging_secs();
        let default = needed.map_or(0, |_| 3 * rollout.step_minimum_secs());
        let secs = self.duration(
            "rollout.evidence_timeout",
            r.evidence_timeout.as_ref(),
            default,
        );
        match (r.evidence_timeout.as_ref(), needed) {
            (Some(v), None) => {
                self.error(
                    v.span(),
                    "`rollout.evidence_timeout` bounds the wait for metric gates, and this plan has none",
                    "remove it, or add a [[rollout.gates]] table with `metric`",
                );
                0
            }
            (Some(v), Some(needed)) if parse_duration(v.get_ref()).is_some() && secs < needed => {
                self.error(
                    v.span(),
                    format!(
                        "`rollout.evidence_timeout` is {:?}, shorter than a metric gate needs to judge one window: {} (its window, CloudWatch's two minutes and up to a minute to the step's first whole minute)",
                        v.get_ref(),
                        crate::model::format_duration(needed)
                    ),
                    format!(
                        "at least \"{}\"; the default is three times the step's least time",
                        crate::model::duration_key(needed)
                    ),
                );
                default
            }
            _ => secs,
        }
    }

    /// A watch with metric gates lasts long enough for each to judge a
    /// window: a shorter one ends before any could, and would promise a
    /// safeguard it cannot give.
    fn watch_judges(&mut self, rollout: &RolloutSpec, r: &RawRollout) {
        let (Some(v), Some(needed)) = (r.watch.as_ref(), rollout.judging_secs()) else {
            return;
        };
        if rollout.watch_secs == 0 || rollout.watch_secs >= needed {
            return;
        }
        self.error(
            v.span(),
            format!(
                "`rollout.watch` is {:?}, shorter than a metric gate needs to judge one window: {} (its window, CloudWatch's two minutes and up to a minute to the first whole minute after promotion)",
                v.get_ref(),
                crate::model::format_duration(needed)
            ),
            format!(
                "at least \"{}\", or leave `watch` out",
                crate::model::duration_key(needed)
            ),
        );
    }

    /// The watch ends before the old colour it would roll back to is torn
    /// down (a kept colour is never torn down).
    pub(super) fn watch_fits(
        &mut self,
        rollout: &RolloutSpec,
        teardown: &TeardownSpec,
        r: &RawRollout,
    ) {
        let Some(v) = r.watch.as_ref() else { return };
        if teardown.policy == TeardownPolicy::Keep || rollout.watch_secs <= teardown.delay_secs {
            return;
        }
        // As a plan file writes it ("1h30m"), to copy.
        let delay = crate::model::format_duration(teardown.delay_secs).replace(' ', "");
        self.error(
            v.span(),
            format!(
                "`rollout.watch` is {:?}, longer than `teardown.delay` (\"{delay}\"): the old colour would be torn down while the watch may still roll back to it",
                v.get_ref()
            ),
            format!("watch = \"{delay}\" at most, or a longer `teardown.delay`"),
        );
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
