//! Metric gates (issue 20), the pure part: judging green's own traffic
//! against a ceiling and against blue's in the same minutes, from the
//! per-minute numbers CloudWatch publishes per target group. No evidence
//! is never a pass: a window counts only with enough requests, and a
//! percentile only where CloudWatch calls it significant.
//!
//! What CloudWatch publishes, and what this file relies on (ALB User Guide,
//! "CloudWatch metrics for your Application Load Balancer"): per target
//! group and minute, RequestCount, HTTPCode_Target_5XX_Count and
//! TargetConnectionErrorCount (sums) and TargetResponseTime (its pNN).
//! Count metrics are published only when non-zero, and nothing at all for
//! a minute without requests: a missing error count is 0 only in a minute
//! whose RequestCount is there. A percentile pNN is significant with at
//! least 10/(1−p) samples (CloudWatch User Guide, "Percentiles").

pub mod custom;
pub mod keys;
pub mod query;
pub mod read;

pub use custom::CustomMetric;
pub use keys::{EvidenceRules, GateMeasure, MetricGate, OnNoEvidence};

use crate::model::{Color, Timestamp};

/// One colour's numbers for one whole minute; `None`: nothing published.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Minute {
    /// The minute's start (seconds).
    pub at: Timestamp,
    pub requests: Option<f64>,
    pub target_5xx: Option<f64>,
    pub connection_errors: Option<f64>,
    /// The minute's latency percentile, in seconds.
    pub latency: Option<f64>,
    /// A custom gate's query: its value this minute.
    pub custom: Option<f64>,
}

/// What a metric gate measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// Target 5xx plus connection errors, per request.
    ErrorRate,
    /// TargetResponseTime at this percentile (e.g. 99.0).
    Latency { percentile: f64 },
    /// A custom query's value: per request of the colour (`per_request`),
    /// or its highest minute; shown as a percentage when the plan wrote
    /// its limits so.
    Custom { per_request: bool, percent: bool },
}

/// A metric gate's limits.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    /// Green's own ceiling (a fraction for an error rate, seconds for latency).
    pub max: Option<f64>,
    /// Green may exceed blue, same minutes, by at most this much.
    pub max_above_baseline: Option<f64>,
    /// Green at most this many times blue, same minutes.
    pub max_ratio: Option<f64>,
    /// Fewer requests in a window: no evidence yet.
    pub min_requests: u64,
}

/// A window of one colour, summed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub requests: f64,
    /// The error rate, the highest significant latency of its minutes, or
    /// a custom query's value per request or highest minute.
    pub value: f64,
}

/// Sums `minutes` for `measure`; `None` when they hold no evidence (no
/// requests, or no latency minute with enough samples to be significant).
pub fn window(measure: Measure, minutes: &[Minute]) -> Option<Window> {
    // A value that is not a finite number is no datapoint at all.
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0);
    let served: Vec<Minute> = minutes
        .iter()
        .filter(|m| finite(m.requests).is_some())
        .map(|m| Minute {
            requests: finite(m.requests),
            target_5xx: finite(m.target_5xx),
            connection_errors: finite(m.connection_errors),
            latency: finite(m.latency),
            custom: m.custom.filter(|v| v.is_finite()),
            ..*m
        })
        .collect();
    let requests: f64 = served.iter().filter_map(|m| m.requests).sum();
    if requests <= 0.0 {
        return None;
    }
    let value = match measure {
        Measure::ErrorRate => {
            // Zero counts are not published: 0 in a minute with requests.
            let errors: f64 = served
                .iter()
                .map(|m| m.target_5xx.unwrap_or(0.0) + m.connection_errors.unwrap_or(0.0))
                .sum();
            errors / requests
        }
        Measure::Latency { percentile } => {
            // The highest minute's pNN bounds the window's from above: if
            // no minute has more than (1 − p) of its requests above its
            // pNN, the window has no more than that above the highest. So
            // it fails closed, and a bad minute is not averaged away. It
            // counts when the window's requests make the percentile
            // significant (a minute at 10% of traffic rarely does alone).
            let timed: Vec<&Minute> = served.iter().filter(|m| m.latency.is_some()).collect();
            let samples: f64 = timed.iter().filter_map(|m| m.requests).sum();
            if samples < significant_samples(percentile) {
                return None;
            }
            timed
                .iter()
                .filter_map(|m| m.latency)
                .fold(None, |top: Option<f64>, v| {
                    Some(top.map_or(v, |t| t.max(v)))
                })?
        }
        Measure::Custom {
            per_request: true, ..
        } => {
            // A served minute without a datapoint counts 0: CloudWatch
            // publishes what the app put (PutMetricData), and an app that
            // counts failures puts nothing in a minute without one, as
            // the load balancer omits its zero counts. But a window with
            // no datapoint at all is no evidence: a misspelt name or
            // dimension matches nothing and would pass as 0 (`judge`
            // counts green's silence as 0 only where blue's datapoints in
            // the same minutes show the query matches what is published).
            if !served.iter().any(|m| m.custom.is_some()) {
                return None;
            }
            let sum: f64 = served.iter().map(|m| m.custom.unwrap_or(0.0)).sum();
            sum / requests
        }
        Measure::Custom {
            per_request: false, ..
        } => {
            // The highest minute, as for latency: a bad minute is not
            // averaged away. A minute without a datapoint adds nothing,
            // and a window without one is no evidence.
            minutes
                .iter()
                .filter_map(|m| m.custom.filter(|v| v.is_finite()))
                .fold(None, |top: Option<f64>, v| {
                    Some(top.map_or(v, |t| t.max(v)))
                })?
        }
    };
    Some(Window { requests, value })
}

/// The samples CloudWatch needs for percentile `p` to be significant.
pub fn significant_samples(percentile: f64) -> f64 {
    let p = (percentile / 100.0).clamp(0.0, 0.9999);
    // Less a hair: 10 / (1 − 0.9) is 100.00000000000001 in floating point.
    (10.0 / (1.0 - p) - 1e-9).ceil()
}

/// Where blue's numbers for a relative limit came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Baseline {
    /// Blue's own requests in the same minutes.
    SameMinutes(Window),
    /// Blue had none (at 100% and after): its minutes from the step before.
    StepBefore(Window),
    /// Blue has had no traffic to compare with: only the ceiling applies.
    None,
}

/// A verdict, with the numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// `why` names the limit and the numbers.
    Fail {
        why: String,
    },
    /// Not enough to judge: never a pass.
    NoEvidence {
        why: String,
    },
}

/// One evaluation of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub green: Option<Window>,
    pub baseline: Baseline,
}

/// A per-request custom gate whose query has datapoints for blue in
/// green's minutes and none for green: the query matches what the app
/// publishes, and green had nothing to count (an app puts no datapoint in
/// a minute without a failure), so green's served minutes count 0.
fn published_for_blue_only(measure: Measure, green: &[Minute], blue: &[Minute]) -> bool {
    matches!(
        measure,
        Measure::Custom {
            per_request: true,
            ..
        }
    ) && !green.iter().any(|m| m.custom.is_some())
        && blue
            .iter()
            .any(|b| b.custom.is_some() && green.iter().any(|g| g.at == b.at))
}

/// Judges green's (the `judged` colour's) minutes against `limits`: its own ceiling, and blue's
/// same minutes (or, without them, `blue_before`, blue's minutes from the
/// step before) for a relative limit.
pub fn judge(
    judged: Color,
    measure: Measure,
    limits: &Limits,
    green: &[Minute],
    blue: &[Minute],
    blue_before: &[Minute],
) -> Judgement {
    let enough = |w: &Window| w.requests >= limits.min_requests.max(1) as f64;
    let zeros: Vec<Minute>;
    let green = if published_for_blue_only(measure, green, blue) {
        zeros = green
            .iter()
            .map(|m| Minute {
                custom: m.requests.map(|_| 0.0),
                ..*m
            })
            .collect();
        &zeros
    } else {
        green
    };
    let green_window = window(measure, green);
    // The same minutes: blue's where green has one too.
    let same: Vec<Minute> = blue
        .iter()
        .filter(|b| green.iter().any(|g| g.at == b.at))
        .copied()
        .collect();
    let baseline = match (window(measure, &same), window(measure, blue_before)) {
        (Some(b), _) if enough(&b) => Baseline::SameMinutes(b),
        (_, Some(b)) if enough(&b) => Baseline::StepBefore(b),
        _ => Baseline::None,
    };
    let judgement = |verdict| Judgement {
        verdict,
        green: green_window,
        baseline,
    };
    let Some(g) = green_window.filter(enough) else {
        let served: f64 = green
            .iter()
            .filter_map(|m| m.requests)
            .filter(|r| r.is_finite())
            .sum();
        let why = match measure {
            Measure::Latency { percentile } if served >= limits.min_requests.max(1) as f64 => {
                format!(
                    "{judged} served {} in the window, too few for its p{percentile} to be significant (CloudWatch: {} or more)",
                    requests_text(served),
                    requests_text(significant_samples(percentile))
                )
            }
            Measure::Custom { .. } if served >= limits.min_requests.max(1) as f64 => {
                format!(
                    "{judged} served {} in the window, and its query has no datapoint in it (a metric nobody publishes, or a name or dimension that does not match what is published)",
                    requests_text(served)
                )
            }
            _ => format!(
                "{judged} served {} in the window, fewer than min_requests {}",
                requests_text(served),
                limits.min_requests
            ),
        };
        return judgement(Verdict::NoEvidence { why });
    };
    judgement(verdict(judged, measure, limits, g, baseline))
}

/// Green's window `g`, with enough requests, against the limits.
fn verdict(
    judged: Color,
    measure: Measure,
    limits: &Limits,
    g: Window,
    baseline: Baseline,
) -> Verdict {
    let base = judged.other();
    let shown = |v: f64| value_text(measure, v);
    // Fail closed: a limit that is not a number fails every value.
    let over = |value: f64, limit: f64| {
        !matches!(
            value.partial_cmp(&limit),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        )
    };
    if let Some(max) = limits.max.filter(|max| over(g.value, *max)) {
        return Verdict::Fail {
            why: format!(
                "{judged} {} of {} is over its ceiling {}",
                shown(g.value),
                requests_text(g.requests),
                limit_text(measure, max)
            ),
        };
    }
    let relative = limits.max_above_baseline.is_some() || limits.max_ratio.is_some();
    let b = match baseline {
        Baseline::SameMinutes(b) | Baseline::StepBefore(b) => b,
        Baseline::None if relative && limits.max.is_none() => {
            return Verdict::NoEvidence {
                why: format!(
                "{base} has had no traffic to compare with, and the gate has no ceiling of its own"
            ),
            }
        }
        Baseline::None => return Verdict::Pass,
    };
    let versus = || {
        format!(
            "{judged} {} of {} vs {base} {} of {}",
            shown(g.value),
            requests_text(g.requests),
            shown(b.value),
            requests_text(b.requests)
        )
    };
    if let Some(above) = limits
        .max_above_baseline
        .filter(|above| over(g.value - b.value, *above))
    {
        return Verdict::Fail {
            why: format!(
                "{}: more than {} above {base}",
                versus(),
                limit_text(measure, above)
            ),
        };
    }
    // Blue at 0: any of green's is more than any ratio of it.
    if let Some(ratio) = limits
        .max_ratio
        .filter(|ratio| g.value > 0.0 && over(g.value, ratio * b.value))
    {
        return Verdict::Fail {
            why: format!("{}: more than {ratio} × {base}", versus()),
        };
    }
    Verdict::Pass
}

/// Whether green's measured share of requests is far below the weight
/// written: `Some(why)` when the split is not real (weights that did not
/// take, a rule that does not match, stickiness that keeps everyone on
/// blue). Test-listener traffic counts in green's numbers, so only a share
/// far *below* counts. The tolerance is four standard deviations of the
/// share a fair split would give this many requests, tripled when sessions
/// keep their colour (requests then come in clumps), at least two points
/// and at most half the weight. `None` also when there are too few requests to tell.
pub fn share_far_below(
    judged: Color,
    weight: u32,
    green: f64,
    blue: f64,
    affinity: bool,
) -> Option<String> {
    // An empty sum is −0.0: not a share to show.
    let (green, blue) = (green.max(0.0) + 0.0, blue.max(0.0) + 0.0);
    let total = green + blue;
    if weight == 0 || total < 100.0 {
        return None;
    }
    let expected = f64::from(weight.min(100)) / 100.0;
    let measured = green / total;
    let sd = (expected * (1.0 - expected) / total).sqrt();
    // At least two points, but at most half the weight: at 1% a share of
    // none must still show.
    let tolerance = (4.0 * sd * if affinity { 3.0 } else { 1.0 })
        .max(0.02)
        .min(expected / 2.0);
    (measured < expected - tolerance).then(|| {
        format!(
            "{judged} served {:.1}% of {} where its weight is {weight}% (tolerance {:.1} points)",
            measured * 100.0,
            requests_text(total),
            tolerance * 100.0
        )
    })
}

/// How far back plan time looks for blue's traffic: five whole minutes
/// ending where CloudWatch's minutes are whole (two minutes back).
pub const BASELINE_LOOKBACK_SECS: i64 = 300;

/// At plan time, before traffic moves: blue (`from`) served `requests` in
/// the last [`BASELINE_LOOKBACK_SECS`]; a gate with a limit relative to
/// blue needs `min_requests` of blue's in a window to compare with. Too
/// few: the gate will fall back to its ceiling, or hold without one.
pub fn baseline_warning(
    gates: &[&MetricGate],
    from: crate::model::Color,
    requests: f64,
) -> Option<String> {
    // What blue's recent rate gives one window of each gate, against what
    // the window needs: its request floor, and for a percentile the
    // samples CloudWatch needs to call it significant.
    let per_window =
        |g: &MetricGate| requests * g.window_secs as f64 / BASELINE_LOOKBACK_SECS as f64;
    let needs = |g: &MetricGate| {
        let floor = g.min_requests.max(1) as f64;
        g.percentile().map_or(floor, |p| {
            floor.max(significant_samples(f64::from(p) / 100.0))
        })
    };
    let short: Vec<&&MetricGate> = gates
        .iter()
        .filter(|g| g.relative() && per_window(g) < needs(g))
        .collect();
    if short.is_empty() {
        return None;
    }
    let wanted: Vec<String> = short
        .iter()
        .map(|g| {
            format!(
                "{} needs {} in its {} window, about {} at this rate",
                g.measure.name(),
                requests_text(needs(g)),
                crate::model::format_duration(g.window_secs),
                requests_text(per_window(g).floor())
            )
        })
        .collect();
    let to = from.other();
    let fallback = if short.iter().all(|g| g.max.is_some()) {
        format!("only their own ceilings will judge {to}")
    } else {
        "a gate without a ceiling of its own will hold the release for lack of evidence".to_string()
    };
    Some(format!(
        "{from} served {} in the last {} CloudWatch has whole, too few for the metric gates that compare {to} with it ({}): unless {from} gets more traffic, {fallback}",
        requests_text(requests),
        crate::model::format_duration(BASELINE_LOOKBACK_SECS as u64),
        wanted.join("; ")
    ))
}

/// One evaluation in words, with its numbers: "green 0.40% of 1,204
/// requests vs blue 0.30% of 10,870 requests: pass".
pub fn evaluation_text(judged: Color, measure: Measure, limits: &Limits, j: &Judgement) -> String {
    let base = judged.other();
    let shown = |w: &Window| {
        format!(
            "{} of {}",
            value_text(measure, w.value),
            requests_text(w.requests)
        )
    };
    let green = j
        .green
        .as_ref()
        // Without a window, the verdict's why says what green served.
        .map_or(judged.to_string(), |w| format!("{judged} {}", shown(w)));
    let relative = limits.max_above_baseline.is_some() || limits.max_ratio.is_some();
    let blue = match (&j.baseline, relative) {
        (Baseline::SameMinutes(b), _) => format!(" vs {base} {}", shown(b)),
        (Baseline::StepBefore(b), _) => {
            format!(" vs {base}'s minutes before this step {}", shown(b))
        }
        (Baseline::None, true) => {
            format!(" ({base} has had no traffic to compare with: only the ceiling applies)")
        }
        (Baseline::None, false) => String::new(),
    };
    let verdict = match &j.verdict {
        Verdict::Pass => "pass".to_string(),
        Verdict::Fail { why } => format!("FAIL: {why}"),
        Verdict::NoEvidence { why } => format!("no evidence yet: {why}"),
    };
    format!("{green}{blue}: {verdict}")
}

fn value_text(measure: Measure, v: f64) -> String {
    match measure {
        Measure::ErrorRate => format!("{:.2}%", v * 100.0),
        Measure::Latency { percentile } => format!("p{percentile} {:.0} ms", v * 1000.0),
        Measure::Custom {
            per_request,
            percent,
        } => {
            let number = if percent {
                format!("{:.2}%", v * 100.0)
            } else {
                number_text(v)
            };
            if per_request {
                format!("{number} per request")
            } else {
                format!("{number} (highest minute)")
            }
        }
    }
}

/// A limit: a value without what it is of ("1.00%", "5").
fn limit_text(measure: Measure, v: f64) -> String {
    match measure {
        Measure::Custom { percent: true, .. } => format!("{:.2}%", v * 100.0),
        Measure::Custom { percent: false, .. } => number_text(v),
        Measure::ErrorRate | Measure::Latency { .. } => value_text(measure, v),
    }
}

/// A custom value: four decimals at most, and a small one in scientific
/// notation rather than "0".
pub fn number_text(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s {
        "0" | "-0" if v != 0.0 => format!("{v:.2e}"),
        "-0" => "0".to_string(),
        s => s.to_string(),
    }
}

/// "1,204 requests".
fn requests_text(n: f64) -> String {
    // + 0.0: an empty sum is −0.0.
    let digits = format!("{:.0}", n.max(0.0) + 0.0);
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{out} requests")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(requests: Option<f64>, errors: Option<f64>, latency: Option<f64>) -> Minute {
        Minute {
            requests,
            target_5xx: errors,
            latency,
            ..Minute::default()
        }
    }

    fn error_gate() -> Limits {
        Limits {
            max: Some(0.01),
            max_above_baseline: Some(0.005),
            min_requests: 300,
            ..Limits::default()
        }
    }

    #[test]
    fn a_missing_error_count_is_zero_only_in_a_minute_with_requests() {
        let minutes = [
            minute(Some(1000.0), None, None),
            minute(None, Some(50.0), None),
            minute(Some(1000.0), Some(20.0), None),
        ];
        let w = window(Measure::ErrorRate, &minutes).unwrap();
        assert_eq!(w.requests, 2000.0);
        assert_eq!(w.value, 0.01);
        assert_eq!(
            window(Measure::ErrorRate, &[minute(None, None, None)]),
            None
        );
    }

    #[test]
    fn too_few_requests_is_no_evidence_never_a_pass() {
        let green = [minute(Some(120.0), None, None)];
        let blue = [minute(Some(5000.0), None, None)];
        let j = judge(
            Color::Green,
            Measure::ErrorRate,
            &error_gate(),
            &green,
            &blue,
            &[],
        );
        assert_eq!(
            j.verdict,
            Verdict::NoEvidence {
                why: "green served 120 requests in the window, fewer than min_requests 300".into()
            }
        );
        let silent = judge(
            Color::Green,
            Measure::ErrorRate,
            &error_gate(),
            &[],
            &blue,
            &[],
        );
        assert!(matches!(silent.verdict, Verdict::NoEvidence { .. }));
    }

    #[test]
    fn green_is_judged_against_its_ceiling_and_blue_in_the_same_minutes() {
        let blue = [minute(Some(10870.0), Some(33.0), None)];
        let good = [minute(Some(1204.0), Some(5.0), None)];
        let j = judge(
            Color::Green,
            Measure::ErrorRate,
            &error_gate(),
            &good,
            &blue,
            &[],
        );
        assert_eq!(j.verdict, Verdict::Pass);
        assert!(matches!(j.baseline, Baseline::SameMinutes(_)));

        let over = [minute(Some(1204.0), Some(24.0), None)];
        let j = judge(
            Color::Green,
            Measure::ErrorRate,
            &error_gate(),
            &over,
            &blue,
            &[],
        );
        assert_eq!(
            j.verdict,
            Verdict::Fail {
                why: "green 1.99% of 1,204 requests is over its ceiling 1.00%".into()
            }
        );

        // Under the ceiling, but 0.6 points above blue.
        let above = [minute(Some(1000.0), Some(9.0), None)];
        let j = judge(
            Color::Green,
            Measure::ErrorRate,
            &error_gate(),
            &above,
            &blue,
            &[],
        );
        assert_eq!(
            j.verdict,
            Verdict::Fail {
                why: "green 0.90% of 1,000 requests vs blue 0.30% of 10,870 requests: more than 0.50% above blue".into()
            }
        );
    }

    #[test]
    fn without_blue_now_the_step_before_is_the_baseline_and_without_any_only_the_ceiling() {
        let limits = Limits {
            max_ratio: Some(1.25),
            min_requests: 300,
            ..Limits::default()
        };
        let p99 = Measure::Latency { percentile: 99.0 };
        let green = [minute(Some(6000.0), None, Some(0.300))];
        let before = [minute(Some(5000.0), None, Some(0.200))];
        let j = judge(Color::Green, p99, &limits, &green, &[], &before);
        assert!(matches!(j.baseline, Baseline::StepBefore(_)));
        assert!(matches!(j.verdict, Verdict::Fail { .. }), "{j:?}");

        // No blue at all and no ceiling: nothing proves green good.
        let j = judge(Color::Green, p99, &limits, &green, &[], &[]);
        assert!(matches!(j.verdict, Verdict::NoEvidence { .. }), "{j:?}");
        // With a ceiling, the ceiling alone judges.
        let ceiling = Limits {
            max: Some(0.5),
            ..limits
        };
        assert_eq!(
            judge(Color::Green, p99, &ceiling, &green, &[], &[]).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn a_percentile_counts_only_where_cloudwatch_calls_it_significant() {
        assert_eq!(significant_samples(99.0), 1000.0);
        assert_eq!(significant_samples(90.0), 100.0);
        let p99 = Measure::Latency { percentile: 99.0 };
        // 900 requests: p99 is not significant.
        assert_eq!(window(p99, &[minute(Some(900.0), None, Some(2.0))]), None);
        // A minute without a latency datapoint adds no samples.
        assert_eq!(
            window(
                p99,
                &[
                    minute(Some(900.0), None, Some(2.0)),
                    minute(Some(900.0), None, None)
                ]
            ),
            None
        );
        let w = window(
            p99,
            &[
                minute(Some(900.0), None, Some(2.0)),
                minute(Some(1500.0), None, Some(0.25)),
                minute(Some(1200.0), None, Some(0.21)),
            ],
        )
        .unwrap();
        // Together significant; the slow minute is not averaged away.
        assert_eq!(w.value, 2.0);
    }

    #[test]
    fn what_is_not_a_number_or_blue_at_zero_never_lets_green_pass() {
        let ratio = Limits {
            max_ratio: Some(2.0),
            min_requests: 300,
            ..Limits::default()
        };
        let blue = [minute(Some(5000.0), None, None)];
        let green = [minute(Some(1000.0), Some(3.0), None)];
        let j = judge(Color::Green, Measure::ErrorRate, &ratio, &green, &blue, &[]);
        assert!(matches!(j.verdict, Verdict::Fail { .. }), "{j:?}");
        let nan = [minute(Some(f64::NAN), Some(1.0), None)];
        let j = judge(Color::Green, Measure::ErrorRate, &ratio, &nan, &blue, &[]);
        assert!(matches!(j.verdict, Verdict::NoEvidence { .. }), "{j:?}");
        let p99 = Measure::Latency { percentile: 99.0 };
        let slow = [minute(Some(5000.0), None, Some(f64::NAN))];
        assert_eq!(window(p99, &slow), None);
        let broken = Limits {
            max: Some(f64::NAN),
            min_requests: 300,
            ..Limits::default()
        };
        let j = judge(
            Color::Green,
            Measure::ErrorRate,
            &broken,
            &green,
            &blue,
            &[],
        );
        assert!(matches!(j.verdict, Verdict::Fail { .. }), "{j:?}");
    }

    #[test]
    fn blue_counts_only_in_the_minutes_green_has() {
        let at = |at: i64, requests: f64, errors: f64| Minute {
            at,
            requests: Some(requests),
            target_5xx: Some(errors),
            ..Minute::default()
        };
        let green = [at(60, 1000.0, 9.0)];
        // Blue's bad minute before green had traffic does not loosen the limit.
        let blue = [at(0, 5000.0, 500.0), at(60, 5000.0, 5.0)];
        let j = judge(
            Color::Green,
            Measure::ErrorRate,
            &error_gate(),
            &green,
            &blue,
            &[],
        );
        assert!(matches!(j.verdict, Verdict::Fail { .. }), "{j:?}");
    }

    fn custom(requests: Option<f64>, value: Option<f64>) -> Minute {
        Minute {
            requests,
            custom: value,
            ..Minute::default()
        }
    }

    #[test]
    fn a_custom_value_per_request_counts_a_served_minute_without_a_datapoint_as_zero() {
        let per_request = Measure::Custom {
            per_request: true,
            percent: true,
        };
        let minutes = [
            custom(Some(1000.0), Some(30.0)),
            custom(Some(1000.0), None),
            // Not served: its datapoint has no requests to be per.
            custom(None, Some(500.0)),
        ];
        let w = window(per_request, &minutes).unwrap();
        assert_eq!((w.requests, w.value), (2000.0, 0.015));
        let limits = Limits {
            max_ratio: Some(1.5),
            min_requests: 300,
            ..Limits::default()
        };
        let blue = [custom(Some(9000.0), Some(45.0))];
        let j = judge(
            Color::Green,
            per_request,
            &limits,
            &minutes[..1],
            &blue,
            &[],
        );
        assert_eq!(
            evaluation_text(Color::Green, per_request, &limits, &j),
            "green 3.00% per request of 1,000 requests vs blue 0.50% per request of 9,000 requests: FAIL: green 3.00% per request of 1,000 requests vs blue 0.50% per request of 9,000 requests: more than 1.5 × blue"
        );
    }

    #[test]
    fn a_per_request_query_with_no_datapoint_anywhere_is_no_evidence_never_zero() {
        let per_request = Measure::Custom {
            per_request: true,
            percent: true,
        };
        let limits = Limits {
            max: Some(0.01),
            min_requests: 300,
            ..Limits::default()
        };
        let silent_green = [custom(Some(1000.0), None)];
        // Nothing published for either colour: a misspelt name or
        // dimension matches nothing; 0% would be a pass on silence.
        let silent_blue = [custom(Some(9000.0), None)];
        let j = judge(
            Color::Green,
            per_request,
            &limits,
            &silent_green,
            &silent_blue,
            &[],
        );
        assert!(matches!(j.verdict, Verdict::NoEvidence { .. }), "{j:?}");
        // Blue's datapoints show the query matches what the app publishes:
        // green's served minute without one counts 0.
        let counting_blue = [custom(Some(9000.0), Some(45.0))];
        let j = judge(
            Color::Green,
            per_request,
            &limits,
            &silent_green,
            &counting_blue,
            &[],
        );
        assert_eq!(j.verdict, Verdict::Pass, "{j:?}");
        assert_eq!(j.green.map(|w| w.value), Some(0.0));
    }

    #[test]
    fn a_custom_value_is_its_highest_minute_and_without_a_datapoint_no_evidence() {
        let highest = Measure::Custom {
            per_request: false,
            percent: false,
        };
        let minutes = [
            custom(Some(1000.0), Some(0.25)),
            custom(Some(1000.0), None),
            custom(Some(1000.0), Some(1.75)),
        ];
        let w = window(highest, &minutes).unwrap();
        assert_eq!((w.requests, w.value), (3000.0, 1.75));
        let limits = Limits {
            max: Some(1.0),
            min_requests: 300,
            ..Limits::default()
        };
        let j = judge(Color::Green, highest, &limits, &minutes, &[], &[]);
        assert_eq!(
            j.verdict,
            Verdict::Fail {
                why: "green 1.75 (highest minute) of 3,000 requests is over its ceiling 1".into()
            }
        );
        let silent = [custom(Some(1000.0), None)];
        assert_eq!(window(highest, &silent), None);
        let j = judge(Color::Green, highest, &limits, &silent, &[], &[]);
        assert!(
            matches!(&j.verdict, Verdict::NoEvidence { why } if why.contains("no datapoint")),
            "{j:?}"
        );
        assert_eq!(number_text(0.000_012), "1.20e-5");
        assert_eq!(number_text(1234.5), "1234.5");
    }

    #[test]
    fn plan_time_warns_when_blue_has_too_little_traffic_for_a_relative_gate() {
        let gate = |max: Option<u64>, ratio: Option<u64>| MetricGate {
            measure: GateMeasure::ErrorRate,
            max,
            max_above_baseline: None,
            max_ratio_milli: ratio,
            min_requests: 300,
            window_secs: 180,
        };
        let relative = gate(Some(10_000), Some(1250));
        let ceiling_only = gate(Some(10_000), None);
        let blue = crate::model::Color::Blue;
        assert_eq!(baseline_warning(&[&relative], blue, 5000.0), None);
        // Judged per window: 750 in five minutes is 150 in a 1m window.
        let one_minute = MetricGate {
            window_secs: 60,
            ..relative.clone()
        };
        assert!(baseline_warning(&[&one_minute], blue, 750.0).is_some());
        // A p99 needs 1,000 samples in its window to be significant.
        let p99 = MetricGate {
            measure: GateMeasure::Latency { percentile: 9900 },
            ..relative.clone()
        };
        assert!(baseline_warning(&[&p99], blue, 1000.0).unwrap().contains(
            "latency p99 needs 1,000 requests in its 3m window, about 600 requests at this rate"
        ));
        assert_eq!(baseline_warning(&[&ceiling_only], blue, 0.0), None);
        let warned = baseline_warning(&[&relative, &ceiling_only], blue, 12.0).unwrap();
        assert_eq!(
            warned,
            "blue served 12 requests in the last 5m CloudWatch has whole, too few for the metric gates that compare green with it (error_rate needs 300 requests in its 3m window, about 7 requests at this rate): unless blue gets more traffic, only their own ceilings will judge green"
        );
        let no_ceiling = gate(None, Some(1250));
        assert!(baseline_warning(&[&no_ceiling], blue, 0.0)
            .unwrap()
            .ends_with("will hold the release for lack of evidence"));
    }

    #[test]
    fn a_split_that_did_not_take_is_far_below_its_weight() {
        // 10%: 1,000 of 10,000 is fair, 950 within noise, 300 is not.
        assert_eq!(
            share_far_below(Color::Green, 10, 1000.0, 9000.0, false),
            None
        );
        assert_eq!(
            share_far_below(Color::Green, 10, 950.0, 9050.0, false),
            None
        );
        let why = share_far_below(Color::Green, 10, 300.0, 9700.0, false).unwrap();
        assert_eq!(
            why,
            "green served 3.0% of 10,000 requests where its weight is 10% (tolerance 2.0 points)"
        );
        // More than the weight (test traffic) is never wrong; too few to tell.
        assert_eq!(
            share_far_below(Color::Green, 10, 3000.0, 7000.0, false),
            None
        );
        assert_eq!(share_far_below(Color::Green, 10, 0.0, 50.0, false), None);
        // Sessions keep their colour: clumps, a wider tolerance.
        assert!(share_far_below(Color::Green, 25, 1800.0, 8200.0, false).is_some());
        assert_eq!(
            share_far_below(Color::Green, 25, 2200.0, 7800.0, true),
            None
        );
        // A small weight that never took still shows: 1% of 20,000 is 200.
        assert!(share_far_below(Color::Green, 1, 0.0, 20000.0, false).is_some());
        assert_eq!(
            share_far_below(Color::Green, 1, 190.0, 19810.0, false),
            None
        );
    }
}
