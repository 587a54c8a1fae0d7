//! What a metric gate asks CloudWatch for, as data: the statistics, a
//! custom gate's query as the plan writes it (placeholders and all), and
//! the one request per target group it becomes once its placeholders are
//! filled. Filling is done here, once, for every provider: the AWS
//! provider sends the [`Request`], the sandbox answers it.
//!
//! Placeholders (`{color}`, `{target_group}`, `{load_balancer}`) are
//! `{name}` with a lower-case name; anything else in braces is left as
//! written, so a SEARCH schema such as `{AWS/EC2,InstanceId}` or
//! `{Shop,Color}` passes through untouched.

use crate::model::Color;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// The statistic a query reads, as CloudWatch names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    Sum,
    Average,
    Minimum,
    Maximum,
    SampleCount,
    /// A percentile in hundredths (99.9 → 9990).
    Percentile(u32),
}

impl Stat {
    /// CloudWatch's spelling: "Sum", "SampleCount", "p99", "p99.9".
    pub fn text(self) -> String {
        match self {
            Stat::Sum => "Sum".into(),
            Stat::Average => "Average".into(),
            Stat::Minimum => "Minimum".into(),
            Stat::Maximum => "Maximum".into(),
            Stat::SampleCount => "SampleCount".into(),
            Stat::Percentile(h) => percentile_stat(h),
        }
    }

    /// The statistic CloudWatch's spelling names: the five plain ones, and
    /// `pNN` or `pNN.N` (at most two decimals, above 0 and below 100).
    pub fn parse(text: &str) -> Option<Stat> {
        let plain = [
            Stat::Sum,
            Stat::Average,
            Stat::Minimum,
            Stat::Maximum,
            Stat::SampleCount,
        ];
        if let Some(s) = plain.into_iter().find(|s| s.text() == text) {
            return Some(s);
        }
        let number = text.strip_prefix('p')?;
        let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
        if number.is_empty()
            || decimals > 2
            || !number.chars().all(|c| c.is_ascii_digit() || c == '.')
        {
            return None;
        }
        let p: f64 = number.parse().ok()?;
        let hundredths = (p * 100.0).round();
        (p > 0.0 && p < 100.0).then_some(Stat::Percentile(hundredths as u32))
    }

    /// Whether it counts (Sum, SampleCount): a colour's figure grows with
    /// its traffic, so two colours at unequal weights do not compare.
    pub fn counts(self) -> bool {
        matches!(self, Stat::Sum | Stat::SampleCount)
    }
}

/// "p99", "p99.9", "p99.99" for 9900, 9990, 9999 hundredths.
fn percentile_stat(hundredths: u32) -> String {
    let whole = hundredths / 100;
    match hundredths % 100 {
        0 => format!("p{whole}"),
        f if f % 10 == 0 => format!("p{whole}.{}", f / 10),
        f => format!("p{whole}.{f:02}"),
    }
}

/// A custom gate's query, as the plan writes it: its dimension values and
/// expression may hold placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomQuery {
    /// One metric, one statistic per minute (MetricStat).
    Metric {
        namespace: String,
        metric_name: String,
        /// Dimension name → value (placeholders filled per colour).
        dimensions: BTreeMap<String, String>,
        stat: Stat,
    },
    /// Metric math (SEARCH wrapped to one series, say) evaluated by
    /// CloudWatch per minute.
    Expression(String),
}

impl CustomQuery {
    /// The request for one target group, its placeholders filled.
    pub fn request(&self, p: &Placeholders) -> Request {
        match self {
            CustomQuery::Metric {
                namespace,
                metric_name,
                dimensions,
                stat,
            } => Request::Metric {
                namespace: namespace.clone(),
                metric_name: metric_name.clone(),
                dimensions: dimensions
                    .iter()
                    .map(|(name, value)| (name.clone(), fill(value, p)))
                    .collect(),
                stat: *stat,
            },
            CustomQuery::Expression(e) => Request::Expression(fill(e, p)),
        }
    }

    /// The statistic it reads; `None` for an expression.
    pub fn stat(&self) -> Option<Stat> {
        match self {
            CustomQuery::Metric { stat, .. } => Some(*stat),
            CustomQuery::Expression(_) => None,
        }
    }

    /// "Shop CheckoutFailures Sum, Color={color}" or "expression FILL(…)".
    pub fn describe(&self) -> String {
        match self {
            CustomQuery::Metric {
                namespace,
                metric_name,
                dimensions,
                stat,
            } => {
                let mut s = format!("{namespace} {metric_name} {}", stat.text());
                for (name, value) in dimensions {
                    s.push_str(&format!(", {name}={value}"));
                }
                s
            }
            CustomQuery::Expression(e) => format!("expression {e}"),
        }
    }
}

/// One query of a GetMetricData call, as it is sent: a metric's statistic
/// (MetricStat) or an expression, one-minute periods either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Metric {
        namespace: String,
        metric_name: String,
        /// In the order sent.
        dimensions: Vec<(String, String)>,
        stat: Stat,
    },
    Expression(String),
}

impl Request {
    /// "Shop CheckoutFailures Sum (Color=green)", "expression SUM(…)".
    pub fn describe(&self) -> String {
        match self {
            Request::Metric {
                namespace,
                metric_name,
                dimensions,
                stat,
            } => {
                let dimensions: Vec<String> =
                    dimensions.iter().map(|(n, v)| format!("{n}={v}")).collect();
                format!(
                    "{namespace} {metric_name} {} ({})",
                    stat.text(),
                    dimensions.join(", ")
                )
            }
            Request::Expression(e) => format!("expression {e}"),
        }
    }
}

/// What a custom query's placeholders stand for, for one target group.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders<'a> {
    /// `{color}`: "blue" or "green".
    pub color: Color,
    /// `{target_group}`: its `TargetGroup` dimension, the ARN suffix
    /// ("targetgroup/shop-green/…").
    pub target_group: &'a str,
    /// `{load_balancer}`: its `LoadBalancer` dimension ("app/shop-alb/…").
    pub load_balancer: &'a str,
}

/// The placeholders a query may hold.
pub const PLACEHOLDERS: [&str; 3] = ["color", "target_group", "load_balancer"];

/// Those that tell the colours' series apart: a query needs one of them.
pub const COLOR_PLACEHOLDERS: [&str; 2] = ["color", "target_group"];

/// Each `{name}` in `text` (a lower-case letter, then lower-case letters,
/// digits and underscores): its byte range, braces included, and name.
pub fn placeholders(text: &str) -> Vec<(Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find('{').map(|i| from + i) {
        let Some(close) = text[open..].find('}').map(|i| open + i) else {
            break;
        };
        let name = &text[open + 1..close];
        let is_name = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if is_name {
            out.push((open..close + 1, name));
            from = close + 1;
        } else {
            from = open + 1;
        }
    }
    out
}

/// `text` with its placeholders filled; an unknown one (the plan's rules
/// let none through) is left as written.
pub fn fill(text: &str, p: &Placeholders) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (range, name) in placeholders(text) {
        let value = match name {
            "color" => p.color.to_string(),
            "target_group" => p.target_group.to_string(),
            "load_balancer" => p.load_balancer.to_string(),
            _ => continue,
        };
        out.push_str(&text[at..range.start]);
        out.push_str(&value);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_spelt_as_cloudwatch_spells_them() {
        for s in [
            "Sum",
            "Average",
            "Minimum",
            "Maximum",
            "SampleCount",
            "p99",
            "p99.9",
            "p50",
            "p99.99",
        ] {
            assert_eq!(Stat::parse(s).map(Stat::text).as_deref(), Some(s));
        }
        for bad in [
            "sum", "p", "p100", "p0", "p99.999", "P99", "p-1", "p9x", "tm99", "",
        ] {
            assert_eq!(Stat::parse(bad), None, "{bad}");
        }
        assert_eq!(Stat::parse("p99.5"), Some(Stat::Percentile(9950)));
        assert!(Stat::Sum.counts() && Stat::SampleCount.counts() && !Stat::Average.counts());
    }

    #[test]
    fn placeholders_are_filled_per_target_group_and_search_schemas_are_left_alone() {
        let p = Placeholders {
            color: Color::Green,
            target_group: "targetgroup/shop-green/4e5f",
            load_balancer: "app/shop-alb/50dc",
        };
        let e = "SUM(SEARCH('{Shop,TargetGroup} MetricName=\"Failures\" TargetGroup=\"{target_group}\"', 'Sum', 60))";
        assert_eq!(
            fill(e, &p),
            "SUM(SEARCH('{Shop,TargetGroup} MetricName=\"Failures\" TargetGroup=\"targetgroup/shop-green/4e5f\"', 'Sum', 60))"
        );
        assert_eq!(
            fill("{color}-{load_balancer}{", &p),
            "green-app/shop-alb/50dc{"
        );
        let found: Vec<&str> = placeholders("{Color} {color} {AWS/EC2} {x_1} {}")
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(found, ["color", "x_1"]);
        let q = CustomQuery::Metric {
            namespace: "Shop".into(),
            metric_name: "CheckoutFailures".into(),
            dimensions: [("Color".to_string(), "{color}".to_string())].into(),
            stat: Stat::Sum,
        };
        assert_eq!(
            q.request(&p),
            Request::Metric {
                namespace: "Shop".into(),
                metric_name: "CheckoutFailures".into(),
                dimensions: vec![("Color".into(), "green".into())],
                stat: Stat::Sum,
            }
        );
        assert_eq!(q.describe(), "Shop CheckoutFailures Sum, Color={color}");
    }
}
