//! A metric gate's plan keys and the rules they are held to:
//!
//! ```toml
//! [[rollout.gates]]
//! metric = "error_rate"       # or "latency" (with `percentile`)
//! max = "1%"                  # green's own ceiling ("250ms" for latency)
//! max_above_baseline = "0.5%" # green over blue, same minutes, at most this
//! max_ratio = 1.25            # green at most this many times blue
//! min_requests = 300          # fewer in a window: no evidence yet
//! window = "3m"               # whole minutes judged together
//! ```
//!
//! Values are kept in whole units (parts per million, microseconds,
//! thousandths) so that a plan compares and saves exactly.

use super::{Limits, Measure};
use crate::gate::Rules;
use crate::spec::located::Located;
use serde::{Deserialize, Serialize};

/// The request floor when the plan sets none.
pub const DEFAULT_MIN_REQUESTS: u64 = 100;
/// The window when the plan sets none.
pub const DEFAULT_WINDOW_SECS: u64 = 180;
/// The percentile when a latency gate sets none.
pub const DEFAULT_PERCENTILE: u32 = 9900;

/// `[rollout] on_no_evidence`: never a pass (DESIGN invariant 14).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnNoEvidence {
    /// Production stays at the step's weights; the run exits 1.
    #[default]
    Hold,
    /// Production goes home, exit 3, no verdict on the release.
    Rollback,
}

/// How a run's bakes treat metric gates (from `[rollout]`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct EvidenceRules {
    pub on_no_evidence: OnNoEvidence,
    /// How long a step may go without every metric gate judging, from its start.
    pub timeout_secs: u64,
    /// Sessions keep their colour during the shift (requests come in clumps).
    pub affinity: bool,
}

/// A metric gate, as the plan sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricGate {
    pub measure: GateMeasure,
    /// Green's ceiling: parts per million (error rate) or microseconds (latency).
    pub max: Option<u64>,
    /// Green over blue in the same minutes, at most: in the same units.
    pub max_above_baseline: Option<u64>,
    /// Green at most this many thousandths of blue (1.25 → 1250).
    pub max_ratio_milli: Option<u64>,
    pub min_requests: u64,
    pub window_secs: u64,
}

/// What a metric gate measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateMeasure {
    /// Target 5xx and connection errors per request.
    ErrorRate,
    /// TargetResponseTime at a percentile, in hundredths (99 → 9900).
    Latency { percentile: u32 },
}

impl GateMeasure {
    /// The plan's name for it: "error_rate", "latency p99".
    pub fn name(self) -> String {
        match self {
            GateMeasure::ErrorRate => "error_rate".into(),
            GateMeasure::Latency { percentile } => {
                format!(
                    "latency {}",
                    super::read::Stat::Percentile(percentile).text()
                )
            }
        }
    }
}

impl MetricGate {
    /// What judging takes, in the judging's units (fractions, seconds).
    pub fn measure(&self) -> Measure {
        match self.measure {
            GateMeasure::ErrorRate => Measure::ErrorRate,
            GateMeasure::Latency { percentile } => Measure::Latency {
                percentile: f64::from(percentile) / 100.0,
            },
        }
    }

    pub fn limits(&self) -> Limits {
        // Parts per million are fractions, microseconds seconds: both / 10⁶.
        let unit = |v: u64| v as f64 / 1_000_000.0;
        Limits {
            max: self.max.map(unit),
            max_above_baseline: self.max_above_baseline.map(unit),
            max_ratio: self.max_ratio_milli.map(|r| r as f64 / 1000.0),
            min_requests: self.min_requests,
        }
    }

    /// The latency percentile it reads, if any.
    pub fn percentile(&self) -> Option<u32> {
        match self.measure {
            GateMeasure::ErrorRate => None,
            GateMeasure::Latency { percentile } => Some(percentile),
        }
    }

    /// Whether it compares green with blue.
    pub fn relative(&self) -> bool {
        self.max_above_baseline.is_some() || self.max_ratio_milli.is_some()
    }

    /// "metric error_rate (max 1%, max_above_baseline 0.5%, 3m windows of 300 requests)".
    pub fn describe(&self) -> String {
        let mut limits = Vec::new();
        if let Some(v) = self.max {
            limits.push(format!("max {}", self.value_text(v)));
        }
        if let Some(v) = self.max_above_baseline {
            limits.push(format!("max_above_baseline {}", self.value_text(v)));
        }
        if let Some(r) = self.max_ratio_milli {
            limits.push(format!("max_ratio {}", r as f64 / 1000.0));
        }
        format!(
            "metric {} ({}; {} windows of {} requests)",
            self.measure.name(),
            limits.join(", "),
            crate::model::format_duration(self.window_secs),
            self.min_requests
        )
    }

    fn value_text(&self, v: u64) -> String {
        match self.measure {
            GateMeasure::ErrorRate => format!("{}%", trimmed(v as f64 / 10_000.0)),
            GateMeasure::Latency { .. } => format!("{}ms", trimmed(v as f64 / 1000.0)),
        }
    }
}

/// 0.5 → "0.5", 1.0 → "1".
fn trimmed(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A metric gate's keys, as the plan file has them.
pub struct RawMetric<'a> {
    pub metric: &'a Located<String>,
    pub max: Option<&'a Located<String>>,
    pub max_above_baseline: Option<&'a Located<String>>,
    pub max_ratio: Option<&'a Located<f64>>,
    pub min_requests: Option<&'a Located<i64>>,
    pub percentile: Option<&'a Located<f64>>,
    pub window: Option<&'a Located<String>>,
}

/// The gate a `metric` key sets, its values held to their rules. `key`
/// names the list ("rollout.gates"); `table` is the whole table's place.
pub fn gate(
    raw: &RawMetric,
    key: &str,
    table: std::ops::Range<usize>,
    rules: &mut dyn Rules,
) -> MetricGate {
    let measure = match raw.metric.get_ref().as_str() {
        "error_rate" => GateMeasure::ErrorRate,
        "latency" => GateMeasure::Latency {
            percentile: raw
                .percentile
                .map_or(DEFAULT_PERCENTILE, |p| percentile(p, key, rules)),
        },
        other => {
            rules.error(
                raw.metric.span(),
                format!("`{key}.metric` is {other:?}, which cutover does not measure"),
                "use \"error_rate\" (target 5xx and connection errors per request) or \"latency\" (with `percentile`)".into(),
            );
            GateMeasure::ErrorRate
        }
    };
    if let (GateMeasure::ErrorRate, Some(p)) = (measure, raw.percentile) {
        rules.error(
            p.span(),
            format!("`{key}.percentile` is for a latency gate, and this one measures error_rate"),
            "remove `percentile`, or set metric = \"latency\"".into(),
        );
    }
    let value = |v: Option<&Located<String>>, name: &str, rules: &mut dyn Rules| {
        v.and_then(|v| value(v, measure, &format!("{key}.{name}"), rules))
    };
    let max = value(raw.max, "max", rules);
    let max_above_baseline = value(raw.max_above_baseline, "max_above_baseline", rules);
    let max_ratio_milli = raw.max_ratio.and_then(|r| ratio(r, key, rules));
    if raw.max.is_none() && raw.max_above_baseline.is_none() && raw.max_ratio.is_none() {
        rules.error(
            table.clone(),
            format!("this [[{key}]] metric gate sets no limit, so nothing could fail it"),
            "set `max` (green's own ceiling), `max_above_baseline` or `max_ratio` (against blue in the same minutes)".into(),
        );
    }
    let min_requests = match raw.min_requests {
        None => DEFAULT_MIN_REQUESTS,
        Some(n) => u64::from(rules.range(&format!("{key}.min_requests"), n, 1, 100_000_000, "")),
    };
    let window_secs = rules.duration(&format!("{key}.window"), raw.window, DEFAULT_WINDOW_SECS);
    let window_secs = match raw.window {
        Some(w) if window_secs % 60 != 0 || !(60..=3600).contains(&window_secs) => {
            rules.error(
                w.span(),
                format!(
                    "`{key}.window` is {:?}: CloudWatch publishes whole minutes, so a window is 1 to 60 whole minutes",
                    w.get_ref()
                ),
                "e.g. window = \"3m\"".into(),
            );
            DEFAULT_WINDOW_SECS
        }
        _ => window_secs,
    };
    MetricGate {
        measure,
        max,
        max_above_baseline,
        max_ratio_milli,
        min_requests,
        window_secs,
    }
}

/// A limit: "1%" for an error rate (parts per million), "250ms" or "1.5s"
/// for latency (microseconds).
fn value(
    v: &Located<String>,
    measure: GateMeasure,
    key: &str,
    rules: &mut dyn Rules,
) -> Option<u64> {
    let text = v.get_ref().trim();
    let parsed = match measure {
        GateMeasure::ErrorRate => text
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok())
            .filter(|n| (0.0..=100.0).contains(n))
            .map(|n| (n * 10_000.0).round() as u64),
        GateMeasure::Latency { .. } => {
            let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
                (n, 1000.0)
            } else if let Some(n) = text.strip_suffix('s') {
                (n, 1_000_000.0)
            } else {
                (text, f64::NAN)
            };
            number
                .trim()
                .parse::<f64>()
                .ok()
                .map(|n| n * scale)
                .filter(|n| n.is_finite() && (0.0..=3_600_000_000.0).contains(n))
                .map(|n| n.round() as u64)
        }
    };
    if parsed.is_none() {
        let (what, example) = match measure {
            GateMeasure::ErrorRate => ("a percentage from 0% to 100%", "\"1%\" or \"0.5%\""),
            GateMeasure::Latency { .. } => {
                ("a time in milliseconds or seconds", "\"250ms\" or \"1.5s\"")
            }
        };
        rules.error(
            v.span(),
            format!("`{key}` is {:?}, not {what}", v.get_ref()),
            format!("e.g. {example}"),
        );
    }
    parsed
}

/// A ratio to blue: at least 1 (below it a green as good as blue fails).
fn ratio(v: &Located<f64>, key: &str, rules: &mut dyn Rules) -> Option<u64> {
    let r = *v.get_ref();
    if !(1.0..=1000.0).contains(&r) {
        rules.error(
            v.span(),
            format!("`{key}.max_ratio` is {r}, outside 1–1000"),
            "a ratio to blue's value in the same minutes, e.g. 1.25 (green at most 25% worse); below 1 even a green as good as blue would fail".into(),
        );
        return None;
    }
    Some((r * 1000.0).round() as u64)
}

/// A percentile from 50 to 99.99, in hundredths.
fn percentile(v: &Located<f64>, key: &str, rules: &mut dyn Rules) -> u32 {
    let p = *v.get_ref();
    let hundredths = (p * 100.0).round();
    if !(50.0..=99.99).contains(&p) || (hundredths - p * 100.0).abs() > 1e-6 {
        rules.error(
            v.span(),
            format!("`{key}.percentile` is {p}, not a percentile from 50 to 99.99 with at most two decimals"),
            "e.g. percentile = 99 (p99) or 99.9".into(),
        );
        return DEFAULT_PERCENTILE;
    }
    hundredths as u32
}
