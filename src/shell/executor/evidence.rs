//! Metric gates during a bake: one read of both colours' numbers per poll
//! (every gate at once), each gate judged on its newest whole window as
//! CloudWatch fills it in, green's share of the requests held to the
//! weight written, and the step's bound on silence. No evidence is never a
//! pass (DESIGN invariant 14); a throttled read is no evidence, never a
//! verdict.

use super::live_state::LiveState;
use super::{Executor, StepError};
use crate::gate::metric::query::CustomQuery;
use crate::gate::metric::read::{self, MetricQuery, Sample};
use crate::gate::metric::{self, EvidenceRules, MetricGate, Verdict};
use crate::gate::{Check, CheckKind};
use crate::model::report::{BaselineValue, Evaluation, ReportLimits, WindowValue};
use crate::model::{format_hour_minute, Color, Timestamp};
use crate::provider::convention::tags::Mark;
use crate::shell::progress::Event;

/// How often the bake reads metrics (provider seconds): CloudWatch
/// publishes a minute at a time, so twice a minute is enough.
pub(super) const METRIC_INTERVAL_SECS: i64 = 30;

/// A step's metric gates and what they have judged.
pub(super) struct Evidence<'g> {
    gates: Vec<GateState<'g>>,
    /// The custom gates' queries, each once (gates may share one).
    custom: Vec<CustomQuery>,
    rules: EvidenceRules,
    color: Color,
    weight: u32,
    /// When the step's weights were in place (the bake began).
    started: Timestamp,
    /// Blue's minutes before this stand in when it has none in the same
    /// minutes (at 100%, and during the watch).
    baseline_before: Timestamp,
    read_at: Option<Timestamp>,
    /// The last read's words, for the progress line.
    pub said: String,
}

struct GateState<'g> {
    gate: &'g MetricGate,
    /// Its query's index in [`Evidence::custom`], for a custom gate.
    custom: Option<usize>,
    /// The end of the newest window judged.
    judged_until: Option<Timestamp>,
    passed: bool,
    /// Why the newest window was no evidence.
    wanting: Option<String>,
}

impl<'g> Evidence<'g> {
    pub fn new(
        gates: &'g [Check],
        rules: EvidenceRules,
        color: Color,
        weight: u32,
        started: Timestamp,
        baseline_before: Timestamp,
    ) -> Evidence<'g> {
        let mut custom: Vec<CustomQuery> = Vec::new();
        let gates = gates
            .iter()
            .filter_map(|c| match &c.kind {
                CheckKind::Metric(m) => Some(GateState {
                    gate: m,
                    custom: m.custom().map(|c| {
                        custom
                            .iter()
                            .position(|q| *q == c.query)
                            .unwrap_or_else(|| {
                                custom.push(c.query.clone());
                                custom.len() - 1
                            })
                    }),
                    judged_until: None,
                    passed: false,
                    wanting: None,
                }),
                _ => None,
            })
            .collect::<Vec<_>>();
        Evidence {
            custom,
            said: if gates.is_empty() {
                String::new()
            } else {
                "metric gates: waiting for the step's first whole minutes".into()
            },
            gates,
            rules,
            color,
            weight,
            started,
            baseline_before,
            read_at: None,
        }
    }

    /// What the metric gates came to, when the bake or watch ends.
    pub fn verdict(&self, watch: bool) -> String {
        if !watch {
            return "every metric gate judged a window: pass".to_string();
        }
        let judged = self.gates.iter().filter(|g| g.passed).count();
        match judged {
            0 => "no metric gate had evidence during the watch; nothing failed".to_string(),
            n if n == self.gates.len() => "every metric gate passed during the watch".to_string(),
            n => format!(
                "{n} of {} metric gates had evidence during the watch and passed; nothing failed",
                self.gates.len()
            ),
        }
    }

    /// Every metric gate has judged a whole window of this step with evidence.
    pub fn complete(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }

    pub fn any(&self) -> bool {
        !self.gates.is_empty()
    }

    /// The step's first whole minute at its weights.
    fn first_minute(&self) -> Timestamp {
        read::minute_from(self.started)
    }

    /// The silence has lasted past the bound: the step ends without a pass.
    pub fn out_of_time(&self, now: Timestamp) -> Option<StepError> {
        if self.complete() || now - self.started < self.rules.timeout_secs as i64 {
            return None;
        }
        let waiting = self.gates.iter().find(|g| !g.passed)?;
        let gate = waiting.gate.describe();
        let why = waiting
            .wanting
            .clone()
            .unwrap_or_else(|| "no whole window of the step was published in time".to_string());
        Some(match self.rules.on_no_evidence {
            metric::OnNoEvidence::Hold => StepError::Held {
                color: self.color,
                weight: self.weight,
                gate,
                since: self.started,
                why,
            },
            metric::OnNoEvidence::Rollback => StepError::NoEvidence {
                color: self.color,
                weight: self.weight,
                gate,
                since: self.started,
                why,
            },
        })
    }
}

/// Minutes in `[from, until)`.
fn between(minutes: &[Sample], from: Timestamp, until: Timestamp) -> Vec<&Sample> {
    minutes
        .iter()
        .filter(|m| m.at >= from && m.at < until)
        .collect()
}

impl Executor<'_> {
    /// A held release is judged again: its held mark comes off (a mark
    /// that stays is harmless, `status` reads it only while production is
    /// split onto that release, and a new hold writes a new one).
    pub(super) async fn judged_again(&self, live: &mut LiveState, color: Color) {
        if live.held != Some(color) {
            return;
        }
        live.held = None;
        if let Err(e) = self
            .provider
            .clear_mark(&live.fleet(color), Mark::Held)
            .await
        {
            self.reporter.event(Event::Warning(format!(
                "the held mark on {} stays: {e}",
                live.fleet(color)
            )));
        }
    }

    /// A held release is marked on its fleet, with why, so that `status`
    /// and `drift` say it.
    pub(super) async fn mark_held(
        &self,
        live: &LiveState,
        color: Color,
        release: &str,
        e: &StepError,
    ) {
        let (since, said) = match e {
            StepError::Held {
                gate, since, why, ..
            } => (*since, format!("no evidence from {gate}: {why}")),
            StepError::Halted { why } => (self.provider.now(), why.clone()),
            _ => return,
        };
        if let Err(e) = self
            .provider
            .mark(&live.fleet(color), Mark::Held, release, since, &said)
            .await
        {
            self.reporter.event(Event::Warning(format!(
                "the release is held, but marking {} so failed: {e}",
                live.fleet(color)
            )));
        }
    }

    /// One poll of the metric gates: reads when a whole window is new and
    /// the last read is [`METRIC_INTERVAL_SECS`] old, checks that the split
    /// is real, and judges each gate's newest window. A failed gate or a
    /// split far below its weight ends the step.
    pub(super) async fn judge_traffic(
        &self,
        live: &LiveState,
        ev: &mut Evidence<'_>,
    ) -> Result<(), StepError> {
        let now = self.provider.now();
        let Some(until) = ev.due(now) else {
            return Ok(());
        };
        let (q, green, blue) = ev.query(live, until)?;
        let data = match self.provider.read_metrics(&q).await {
            Ok(data) => data,
            // Throttled (past the SDK's retries): no evidence this poll.
            Err(e) if e.is_throttled() => {
                ev.read_at = Some(now);
                let why = format!("reading the metrics was throttled ({})", e.aws_said());
                self.no_evidence_this_poll(ev, why);
                return Ok(());
            }
            Err(e) => return Err(StepError::Provider(e)),
        };
        ev.read_at = Some(now);
        if !data.incomplete.is_empty() {
            let why = format!(
                "CloudWatch answered only part ({})",
                data.incomplete.join(", ")
            );
            self.no_evidence_this_poll(ev, why);
            return Ok(());
        }
        let none = Vec::new();
        let green = data.minutes.get(&green).unwrap_or(&none);
        let blue = blue.and_then(|b| data.minutes.get(&b)).unwrap_or(&none);
        ev.split_is_real(green, blue, until)?;
        let (evaluations, failed) = ev.judge(green, blue, until, now);
        for e in evaluations {
            self.reporter.event(Event::Evaluation(Box::new(e)));
        }
        failed.map_or(Ok(()), Err)
    }

    fn no_evidence_this_poll(&self, ev: &mut Evidence<'_>, why: String) {
        ev.said = format!("{why}: no evidence this poll");
        self.reporter.event(Event::Note(ev.said.clone()));
    }
}

impl Evidence<'_> {
    /// The end of the windows to judge, when a read is due: the last read
    /// is old enough and some gate has a whole window it has not judged.
    fn due(&self, now: Timestamp) -> Option<Timestamp> {
        if !self.any() || self.read_at.is_some_and(|t| now - t < METRIC_INTERVAL_SECS) {
            return None;
        }
        let until = read::judged_until(now);
        let first = self.first_minute();
        self.gates
            .iter()
            .any(|g| {
                until - g.gate.window_secs as i64 >= first
                    && g.judged_until.is_none_or(|t| until > t)
            })
            .then_some(until)
    }

    /// The one read that covers every gate of both colours, with the
    /// colours' target group dimensions (blue's when it has one).
    fn query(
        &self,
        live: &LiveState,
        until: Timestamp,
    ) -> Result<(MetricQuery, String, Option<String>), StepError> {
        let dimension = |c: Color| {
            live.target_groups
                .get(c)
                .as_ref()
                .and_then(|a| read::target_group_dimension(a.as_str()))
                .map(str::to_string)
        };
        let (Some(lb), Some(green)) = (
            read::load_balancer_dimension(live.load_balancer.as_str()),
            dimension(self.color),
        ) else {
            return Err(StepError::Missing(format!(
                "the metric gates need {}'s target group and the load balancer, and this run does not know them",
                self.color
            )));
        };
        let blue = dimension(self.color.other());
        let longest = self.gates.iter().map(|g| g.gate.window_secs as i64).max();
        let mut percentiles: Vec<u32> = self
            .gates
            .iter()
            .filter_map(|g| g.gate.percentile())
            .collect();
        percentiles.sort_unstable();
        percentiles.dedup();
        let q = MetricQuery {
            load_balancer: lb.to_string(),
            target_groups: [
                Some((self.color, green.clone())),
                blue.clone().map(|b| (self.color.other(), b)),
            ]
            .into_iter()
            .flatten()
            .collect(),
            percentiles,
            custom: self.custom.clone(),
            start: read::minute_of(self.started.min(self.baseline_before)) - longest.unwrap_or(0),
            end: until,
        };
        Ok((q, green, blue))
    }

    /// Green's share of the step's requests is not far below its weight.
    fn split_is_real(
        &self,
        green: &[Sample],
        blue: &[Sample],
        until: Timestamp,
    ) -> Result<(), StepError> {
        let first = self.first_minute();
        let requests = |m: &[Sample]| -> f64 {
            between(m, first, until)
                .iter()
                .filter_map(|s| s.requests)
                .sum()
        };
        match metric::share_far_below(
            self.color,
            self.weight,
            requests(green),
            requests(blue),
            self.rules.affinity,
        ) {
            Some(why) => Err(StepError::SplitNotReal {
                color: self.color,
                weight: self.weight,
                why,
            }),
            None => Ok(()),
        }
    }

    /// Judges each gate's newest whole window not yet judged (at `now`);
    /// the evaluations to show, and the first gate that failed.
    fn judge(
        &mut self,
        green: &[Sample],
        blue: &[Sample],
        until: Timestamp,
        now: Timestamp,
    ) -> (Vec<Evaluation>, Option<StepError>) {
        let first = self.first_minute();
        let before = read::minute_of(self.baseline_before);
        let mut lines = Vec::new();
        let mut said = Vec::new();
        for g in &mut self.gates {
            let window = g.gate.window_secs as i64;
            if until - window < first || g.judged_until.is_some_and(|t| until <= t) {
                continue;
            }
            let (p, c) = (g.gate.percentile(), g.custom);
            let minutes = |m: &[Sample], from, to| -> Vec<metric::Minute> {
                between(m, from, to)
                    .iter()
                    .map(|s| s.minute(p, c))
                    .collect()
            };
            let judged = metric::judge(
                self.color,
                g.gate.measure(),
                &g.gate.limits(),
                &minutes(green, until - window, until),
                &minutes(blue, until - window, until),
                &minutes(blue, before - window, before),
            );
            g.judged_until = Some(until);
            let (measure, limits) = (g.gate.measure(), g.gate.limits());
            let words = metric::evaluation_text(self.color, measure, &limits, &judged);
            let name = g.gate.measure.name();
            let line = format!("{name} {}: {words}", window_text(until - window, until));
            let evaluation = evaluation(
                g.gate,
                &judged,
                (self.color, self.weight),
                (until - window, until, now),
                line.clone(),
            );
            let short = match judged.verdict {
                Verdict::Pass => {
                    g.passed = true;
                    g.wanting = None;
                    "pass"
                }
                Verdict::NoEvidence { why } => {
                    g.wanting = Some(why);
                    "no evidence yet"
                }
                Verdict::Fail { .. } => {
                    // Shown as it happens, like every evaluation, and then
                    // the step ends on it.
                    let failed = StepError::CheckFailed {
                        phase: "gate",
                        color: self.color,
                        weight: Some(self.weight),
                        what: format!("{}, {}", g.gate.describe(), line),
                        output: String::new(),
                    };
                    lines.push(evaluation);
                    return (lines, Some(failed));
                }
            };
            said.push(format!("{} {short}", g.gate.measure.name()));
            lines.push(evaluation);
        }
        if !said.is_empty() {
            self.said = format!(
                "{} (window to {} UTC)",
                said.join(", "),
                format_hour_minute(until)
            );
        }
        (lines, None)
    }
}

/// An evaluation as the run's record keeps it: the gate, the window
/// (from, until) judged at `at`, both colours' numbers, the limits and the
/// verdict, and `text`, the line shown.
fn evaluation(
    gate: &MetricGate,
    judged: &metric::Judgement,
    (color, weight): (Color, u32),
    (from, until, at): (Timestamp, Timestamp, Timestamp),
    text: String,
) -> Evaluation {
    let limits = gate.limits();
    let (verdict, why) = match &judged.verdict {
        Verdict::Pass => ("pass", None),
        Verdict::Fail { why } => ("fail", Some(why.clone())),
        Verdict::NoEvidence { why } => ("no_evidence", Some(why.clone())),
    };
    let value = |w: &metric::Window| WindowValue {
        requests: w.requests,
        value: w.value,
    };
    let blue = match judged.baseline {
        metric::Baseline::SameMinutes(w) => Some(("same_minutes", w)),
        metric::Baseline::StepBefore(w) => Some(("step_before", w)),
        metric::Baseline::None => None,
    };
    Evaluation {
        at,
        gate: gate.measure.name(),
        described: gate.describe(),
        color,
        weight,
        window_start: from,
        window_end: until,
        unit: match gate.measure() {
            metric::Measure::ErrorRate => "fraction",
            metric::Measure::Latency { .. } => "seconds",
            metric::Measure::Custom { .. } => "value",
        }
        .into(),
        green: judged.green.as_ref().map(value),
        blue: blue.map(|(from, w)| BaselineValue {
            requests: w.requests,
            value: w.value,
            from: from.into(),
        }),
        limits: ReportLimits {
            max: limits.max,
            max_above_baseline: limits.max_above_baseline,
            max_ratio: limits.max_ratio,
            min_requests: limits.min_requests,
        },
        verdict: verdict.into(),
        why,
        text,
    }
}

/// "16:03–16:06 UTC".
fn window_text(from: Timestamp, until: Timestamp) -> String {
    format!(
        "{}–{} UTC",
        format_hour_minute(from),
        format_hour_minute(until)
    )
}
