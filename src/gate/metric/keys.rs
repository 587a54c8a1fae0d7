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
//! A gate with a `query` instead of `metric` is a custom one
//! (`custom.rs`): the same limits, as numbers or percentages of its value.
//!
//! Values are kept in whole units (millionths: parts per million of a
//! rate, microseconds of a time, millionths of a custom value; thousandths
//! of a ratio) so that a plan compares and saves exactly.

use super::custom::{self, CustomMetric, RawCustom, RawQuery};
use super::query::Stat;
use super::{Limits, Measure};
use crate::gate::Rules;
use crate::spec::located::Located;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::ops::Range;

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

/// The most a custom limit may be: its millionths fit in a u64 with room.
const MAX_CUSTOM_VALUE: f64 = 1e12;

/// A metric gate, as the plan sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricGate {
    pub measure: GateMeasure,
    /// Green's ceiling: parts per million (error rate), microseconds
    /// (latency) or millionths (a custom value).
    pub max: Option<u64>,
    /// Green over blue in the same minutes, at most: in the same units.
    pub max_above_baseline: Option<u64>,
    /// Green at most this many thousandths of blue (1.25 → 1250).
    pub max_ratio_milli: Option<u64>,
    pub min_requests: u64,
    pub window_secs: u64,
}

/// What a metric gate measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateMeasure {
    /// Target 5xx and connection errors per request.
    ErrorRate,
    /// TargetResponseTime at a percentile, in hundredths (99 → 9900).
    Latency { percentile: u32 },
    /// A custom query's value (`custom.rs`).
    Custom(CustomMetric),
}

impl GateMeasure {
    /// How output names it: "error_rate", "latency p99", a custom gate's name.
    pub fn name(&self) -> String {
        match self {
            GateMeasure::ErrorRate => "error_rate".into(),
            GateMeasure::Latency { percentile } => {
                format!("latency {}", Stat::Percentile(*percentile).text())
            }
            GateMeasure::Custom(c) => c.name.clone(),
        }
    }
}

impl MetricGate {
    /// What judging takes, in the judging's units (fractions, seconds).
    pub fn measure(&self) -> Measure {
        match &self.measure {
            GateMeasure::ErrorRate => Measure::ErrorRate,
            GateMeasure::Latency { percentile } => Measure::Latency {
                percentile: f64::from(*percentile) / 100.0,
            },
            GateMeasure::Custom(c) => Measure::Custom {
                per_request: c.per_request,
                percent: c.percent,
            },
        }
    }

    pub fn limits(&self) -> Limits {
        // Parts per million are fractions, microseconds seconds, millionths
        // a custom value: all / 10⁶.
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
            GateMeasure::Latency { percentile } => Some(percentile),
            GateMeasure::ErrorRate | GateMeasure::Custom(_) => None,
        }
    }

    /// The custom query it reads, if any.
    pub fn custom(&self) -> Option<&CustomMetric> {
        match &self.measure {
            GateMeasure::Custom(c) => Some(c),
            GateMeasure::ErrorRate | GateMeasure::Latency { .. } => None,
        }
    }

    /// Whether it compares green with blue.
    pub fn relative(&self) -> bool {
        self.max_above_baseline.is_some() || self.max_ratio_milli.is_some()
    }

    /// "metric error_rate (max 1%, max_above_baseline 0.5%; 3m windows of
    /// 300 requests)"; a custom gate's says its query first: "metric
    /// checkout failures (Shop CheckoutFailures Sum, Color={color}, per
    /// request; max_ratio 1.5; 3m windows of 300 requests)".
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
        let query = match &self.measure {
            GateMeasure::Custom(c) => format!("{}; ", c.describe()),
            GateMeasure::ErrorRate | GateMeasure::Latency { .. } => String::new(),
        };
        format!(
            "metric {} ({query}{}; {} windows of {} requests)",
            self.measure.name(),
            limits.join(", "),
            crate::model::format_duration(self.window_secs),
            self.min_requests
        )
    }

    fn value_text(&self, v: u64) -> String {
        match &self.measure {
            GateMeasure::ErrorRate => format!("{}%", trimmed(v as f64 / 10_000.0, 4)),
            GateMeasure::Latency { .. } => format!("{}ms", trimmed(v as f64 / 1000.0, 4)),
            GateMeasure::Custom(c) if c.percent => {
                format!("{}%", trimmed(v as f64 / 10_000.0, 4))
            }
            GateMeasure::Custom(_) => trimmed(v as f64 / 1_000_000.0, 6),
        }
    }
}

/// 0.5 → "0.5", 1.0 → "1", with at most `decimals`.
fn trimmed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A limit as the plan writes it: "1%", "250ms", or (a custom gate) a
/// number, 0.02, 5 or "0.5%".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawLimit {
    Number(f64),
    Text(String),
}

impl std::fmt::Display for RawLimit {
    /// As the plan wrote it: 0.01, "1%".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawLimit::Number(n) => write!(f, "{n}"),
            RawLimit::Text(t) => write!(f, "{t:?}"),
        }
    }
}

impl JsonSchema for RawLimit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number"] })
    }

    fn inline_schema() -> bool {
        true
    }
}

/// A metric gate's keys, as the plan file has them: `metric` (a built-in
/// gate) or `query` (a custom one).
pub struct RawMetric<'a> {
    pub metric: Option<&'a Located<String>>,
    pub query: Option<&'a Located<RawQuery>>,
    pub name: Option<&'a Located<String>>,
    pub per_request: Option<&'a Located<bool>>,
    pub max: Option<&'a Located<RawLimit>>,
    pub max_above_baseline: Option<&'a Located<RawLimit>>,
    pub max_ratio: Option<&'a Located<f64>>,
    pub min_requests: Option<&'a Located<i64>>,
    pub percentile: Option<&'a Located<f64>>,
    pub window: Option<&'a Located<String>>,
}

/// The gate a `metric` or `query` key sets, its values held to their
/// rules. `key` names the list ("rollout.gates"); `table` is the whole
/// table's place.
pub fn gate(raw: &RawMetric, key: &str, table: Range<usize>, rules: &mut dyn Rules) -> MetricGate {
    let measure = measure(raw, key, rules);
    let value = |v: Option<&Located<RawLimit>>, name: &str, rules: &mut dyn Rules| {
        v.and_then(|v| value(v, &measure, &format!("{key}.{name}"), rules))
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

/// What the gate measures: a built-in metric, or a custom query.
fn measure(raw: &RawMetric, key: &str, rules: &mut dyn Rules) -> GateMeasure {
    let Some(metric) = raw.metric else {
        if let Some(p) = raw.percentile {
            rules.error(
                p.span(),
                format!("`{key}.percentile` is for a latency gate, and a gate with a `query` names its percentile in the query's `stat`"),
                "remove `percentile`, e.g. stat = \"p99\" in the query".into(),
            );
        }
        let Some(query) = raw.query else {
            return GateMeasure::ErrorRate;
        };
        let relative = [
            (
                "max_above_baseline",
                raw.max_above_baseline.map(Located::span),
            ),
            ("max_ratio", raw.max_ratio.map(Located::span)),
        ];
        let percent = [raw.max, raw.max_above_baseline]
            .into_iter()
            .flatten()
            .any(|v| matches!(v.get_ref(), RawLimit::Text(t) if t.trim().ends_with('%')));
        let custom = RawCustom {
            query,
            name: raw.name,
            per_request: raw.per_request,
            relative: relative
                .into_iter()
                .filter_map(|(name, span)| Some((name, span?)))
                .collect(),
            percent,
        };
        return GateMeasure::Custom(custom::custom(&custom, key, rules));
    };
    for (name, span) in [
        ("name", raw.name.map(Located::span)),
        ("per_request", raw.per_request.map(Located::span)),
    ] {
        if let Some(span) = span {
            rules.error(
                span,
                format!("`{key}.{name}` belongs to a gate with a `query`, and this one measures `metric`"),
                format!("remove `{name}`, or read your own metric with a `query`"),
            );
        }
    }
    let measure = match metric.get_ref().as_str() {
        "error_rate" => GateMeasure::ErrorRate,
        "latency" => GateMeasure::Latency {
            percentile: raw
                .percentile
                .map_or(DEFAULT_PERCENTILE, |p| percentile(p, key, rules)),
        },
        other => {
            rules.error(
                metric.span(),
                format!("`{key}.metric` is {other:?}, which cutover does not measure"),
                "use \"error_rate\" (target 5xx and connection errors per request) or \"latency\" (with `percentile`), or read any CloudWatch metric with a `query`".into(),
            );
            GateMeasure::ErrorRate
        }
    };
    if let (GateMeasure::ErrorRate, Some(p)) = (&measure, raw.percentile) {
        rules.error(
            p.span(),
            format!("`{key}.percentile` is for a latency gate, and this one measures error_rate"),
            "remove `percentile`, or set metric = \"latency\"".into(),
        );
    }
    measure
}

/// A limit in millionths of the measure's unit: "1%" for an error rate
/// (parts per million), "250ms" or "1.5s" for latency (microseconds), a
/// number or "0.5%" for a custom value.
fn value(
    v: &Located<RawLimit>,
    measure: &GateMeasure,
    key: &str,
    rules: &mut dyn Rules,
) -> Option<u64> {
    let text = match v.get_ref() {
        RawLimit::Text(t) => t.trim(),
        RawLimit::Number(_) => "",
    };
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
        GateMeasure::Custom(_) => return custom_value(v, key, rules),
    };
    if parsed.is_none() {
        let (what, example) = match measure {
            GateMeasure::Latency { .. } => {
                ("a time in milliseconds or seconds", "\"250ms\" or \"1.5s\"")
            }
            _ => ("a percentage from 0% to 100%", "\"1%\" or \"0.5%\""),
        };
        rules.error(
            v.span(),
            format!("`{key}` is {}, not {what}", v.get_ref()),
            format!("e.g. {example}"),
        );
    }
    parsed
}

/// A custom gate's limit: a number (5, 0.02) or a percentage ("0.5%",
/// divided by 100), in millionths.
fn custom_value(v: &Located<RawLimit>, key: &str, rules: &mut dyn Rules) -> Option<u64> {
    let number = match v.get_ref() {
        RawLimit::Number(n) => Some(*n),
        RawLimit::Text(t) => match t.trim().strip_suffix('%') {
            Some(n) => n.trim().parse::<f64>().ok().map(|n| n / 100.0),
            None => t.trim().parse::<f64>().ok(),
        },
    };
    let millionths = number
        .filter(|n| n.is_finite() && (0.0..=MAX_CUSTOM_VALUE).contains(n))
        .map(|n| (n * 1_000_000.0).round());
    match (number, millionths) {
        (Some(n), Some(m)) if m == 0.0 && n > 0.0 => {
            rules.error(
                v.span(),
                format!(
                    "`{key}` is {}, finer than the millionth cutover keeps",
                    v.get_ref()
                ),
                "use a limit of at least 0.000001 (or \"0.0001%\"), or 0".into(),
            );
            None
        }
        (_, Some(m)) => Some(m as u64),
        (_, None) => {
            rules.error(
                v.span(),
                format!(
                    "`{key}` is {}, not a number from 0 to {MAX_CUSTOM_VALUE:e} or a percentage",
                    v.get_ref()
                ),
                "e.g. 5, 0.02 or \"0.5%\" (a percentage is divided by 100)".into(),
            );
            None
        }
    }
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
