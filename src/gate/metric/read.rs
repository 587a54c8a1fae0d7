//! What one poll of the metric gates asks CloudWatch, and what its answer
//! means: one GetMetricData for every gate of both colours (the whole app in
//! one call), per-minute raw numbers (MetricStat), judged in Rust so that
//! every verdict can show them. Pure: the providers send the queries and
//! hand back the series; this file names them and reads them.
//!
//! What AWS does, and this file relies on (CloudWatch API Reference,
//! GetMetricData; ALB User Guide, "CloudWatch metrics for your Application
//! Load Balancer"):
//! - Per-target-group metrics are published with both dimensions,
//!   LoadBalancer and TargetGroup, whose values are the ARN suffixes
//!   ("app/shop-alb/50dc6c495c0c9188", "targetgroup/shop-blue/73e2d6bc24d8a067");
//!   a query with one of them silently returns nothing.
//! - A query's Id must start with a lower-case letter and hold only
//!   letters, digits and underscores; up to 500 queries a call.
//! - Each result has a StatusCode: only `Complete` is the whole answer;
//!   `PartialData` (more behind NextToken, or more than CloudWatch would
//!   return) and `InternalError` are no evidence. `Forbidden` is a denial.
//! - A unit that does not match gives an empty result: no Unit is asked.
//! - A MetricDataQuery holds a MetricStat or an Expression, never both
//!   (MetricDataQuery). An Expression is metric math, SEARCH included,
//!   evaluated per its query's Period (one minute here, as for a
//!   MetricStat); it may name other queries of the same call by their Ids
//!   (and METRICS() names them all), so a custom gate's expression must
//!   stand alone to join a call of queries it knows nothing of: the plan's
//!   rules refuse one that names an Id (`custom.rs`).
//! - A call may hold only one Metrics Insights query (`SELECT …`,
//!   GetMetricData): a gate is read for both colours, so the plan's rules
//!   refuse one and say what to write instead.
//! - ReturnData is true when left out; every query here is a result and
//!   says so.

use super::query::{CustomQuery, Placeholders, Request};
use super::Minute;
use crate::model::{Color, Timestamp};
use std::collections::BTreeMap;

pub use super::query::Stat;

/// CloudWatch's finest period for ALB metrics: one minute.
pub const PERIOD_SECS: i64 = 60;

/// How far back the newest whole minute worth judging ends: the newest one
/// or two minutes are still being filled in (ALB User Guide).
pub const LAG_SECS: i64 = 120;

/// The namespace of the load balancer's metrics.
pub const NAMESPACE: &str = "AWS/ApplicationELB";

/// One poll's read: both colours' target groups on one load balancer, the
/// whole minutes from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// The load balancer's ARN suffix (its `LoadBalancer` dimension).
    pub load_balancer: String,
    /// Each colour's target group ARN suffix (its `TargetGroup` dimension).
    pub target_groups: Vec<(Color, String)>,
    /// TargetResponseTime percentiles to read, in hundredths (99 → 9900).
    pub percentiles: Vec<u32>,
    /// The custom gates' queries (each once), read for every target group
    /// with its placeholders filled for that group.
    pub custom: Vec<CustomQuery>,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The figure a query reads, for one target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Figure {
    Requests,
    Target5xx,
    ConnectionErrors,
    /// TargetResponseTime at this percentile (hundredths).
    Latency(u32),
    /// The custom query at this index of [`MetricQuery::custom`].
    Custom(usize),
}

impl Figure {
    /// A load balancer metric's name in [`NAMESPACE`] and its statistic;
    /// `None` for a custom query.
    pub fn alb_metric(self) -> Option<(&'static str, Stat)> {
        Some(match self {
            Figure::Requests => ("RequestCount", Stat::Sum),
            Figure::Target5xx => ("HTTPCode_Target_5XX_Count", Stat::Sum),
            Figure::ConnectionErrors => ("TargetConnectionErrorCount", Stat::Sum),
            Figure::Latency(p) => ("TargetResponseTime", Stat::Percentile(p)),
            Figure::Custom(_) => return None,
        })
    }

    /// A part of a query's Id: letters, digits and underscores only.
    fn id_part(self) -> String {
        match self {
            Figure::Requests => "requests".into(),
            Figure::Target5xx => "target5xx".into(),
            Figure::ConnectionErrors => "connerrors".into(),
            Figure::Latency(p) => format!("p{p}"),
            Figure::Custom(c) => format!("c{c}"),
        }
    }
}

/// One query of a GetMetricData call: a figure of one target group, and
/// what is sent for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Unique in the call; starts with a lower-case letter.
    pub id: String,
    /// The target group's ARN suffix.
    pub target_group: String,
    pub figure: Figure,
    pub request: Request,
}

/// The queries for `q`, in a fixed order: per target group, its requests,
/// target 5xx, connection errors, each latency percentile and each custom
/// query. A load balancer metric is asked with both dimensions (published
/// under LoadBalancer and TargetGroup together, one alone matches
/// nothing); a custom query with its placeholders filled for the group.
pub fn queries(q: &MetricQuery) -> Vec<Query> {
    let mut out = Vec::new();
    for (i, (color, tg)) in q.target_groups.iter().enumerate() {
        let mut alb = vec![
            Figure::Requests,
            Figure::Target5xx,
            Figure::ConnectionErrors,
        ];
        alb.extend(q.percentiles.iter().map(|p| Figure::Latency(*p)));
        let id = |figure: Figure| format!("tg{i}_{}", figure.id_part());
        for figure in alb {
            let Some((metric_name, stat)) = figure.alb_metric() else {
                continue;
            };
            out.push(Query {
                id: id(figure),
                target_group: tg.clone(),
                figure,
                request: Request::Metric {
                    namespace: NAMESPACE.into(),
                    metric_name: metric_name.into(),
                    dimensions: vec![
                        ("LoadBalancer".into(), q.load_balancer.clone()),
                        ("TargetGroup".into(), tg.clone()),
                    ],
                    stat,
                },
            });
        }
        let placeholders = Placeholders {
            color: *color,
            target_group: tg,
            load_balancer: &q.load_balancer,
        };
        for (c, custom) in q.custom.iter().enumerate() {
            out.push(Query {
                id: id(Figure::Custom(c)),
                target_group: tg.clone(),
                figure: Figure::Custom(c),
                request: custom.request(&placeholders),
            });
        }
    }
    out
}

/// One query's answer, as GetMetricData gives it (all its pages together).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub id: String,
    /// Seconds since the epoch, one per value.
    pub timestamps: Vec<Timestamp>,
    pub values: Vec<f64>,
    /// "Complete", "PartialData", "InternalError" or "Forbidden".
    pub status: String,
}

/// What one poll read: each target group's minutes, and which queries
/// CloudWatch did not answer whole (no evidence from them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricData {
    /// Per target group suffix, each published minute, oldest first.
    pub minutes: BTreeMap<String, Vec<Sample>>,
    /// The queries left incomplete, with their status ("tg0_requests: PartialData").
    pub incomplete: Vec<String>,
}

/// One target group's numbers for one whole minute; `None`: not published.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    /// The minute's start (seconds).
    pub at: Timestamp,
    pub requests: Option<f64>,
    pub target_5xx: Option<f64>,
    pub connection_errors: Option<f64>,
    /// TargetResponseTime per percentile (hundredths), seconds.
    pub latency: BTreeMap<u32, f64>,
    /// Each custom query's value, by its index in [`MetricQuery::custom`].
    pub custom: BTreeMap<usize, f64>,
}

impl Sample {
    /// The minute as a gate sees it: with the latency at `percentile` or
    /// the value of custom query `custom`, when it reads one.
    pub fn minute(&self, percentile: Option<u32>, custom: Option<usize>) -> Minute {
        Minute {
            at: self.at,
            requests: self.requests,
            target_5xx: self.target_5xx,
            connection_errors: self.connection_errors,
            latency: percentile.and_then(|p| self.latency.get(&p).copied()),
            custom: custom.and_then(|c| self.custom.get(&c).copied()),
        }
    }
}

/// Reads the answers to [`queries`]`(q)` into minutes per target group.
/// A query whose status is not `Complete` is listed in `incomplete`, and
/// its values are dropped: a part of an answer is no evidence.
pub fn assemble(q: &MetricQuery, answers: &[Series]) -> MetricData {
    let mut data = MetricData::default();
    let mut by_tg: BTreeMap<String, BTreeMap<Timestamp, Sample>> = BTreeMap::new();
    for query in queries(q) {
        let Some(answer) = answers.iter().find(|a| a.id == query.id) else {
            data.incomplete.push(format!("{}: not answered", query.id));
            continue;
        };
        if answer.status != "Complete" {
            data.incomplete
                .push(format!("{}: {}", query.id, answer.status));
            continue;
        }
        let minutes = by_tg.entry(query.target_group.clone()).or_default();
        for (at, value) in answer.timestamps.iter().zip(&answer.values) {
            // Only whole minutes inside the window asked for.
            if *at < q.start || *at >= q.end || at % PERIOD_SECS != 0 {
                continue;
            }
            let sample = minutes.entry(*at).or_insert_with(|| Sample {
                at: *at,
                ..Sample::default()
            });
            let value = *value;
            match query.figure {
                Figure::Requests => sample.requests = Some(value),
                Figure::Target5xx => sample.target_5xx = Some(value),
                Figure::ConnectionErrors => sample.connection_errors = Some(value),
                Figure::Latency(p) => {
                    sample.latency.insert(p, value);
                }
                Figure::Custom(c) => {
                    sample.custom.insert(c, value);
                }
            }
        }
    }
    for (_, tg) in &q.target_groups {
        let minutes = by_tg.remove(tg).unwrap_or_default();
        data.minutes
            .insert(tg.clone(), minutes.into_values().collect());
    }
    data
}

/// The load balancer's `LoadBalancer` dimension: its ARN after
/// "loadbalancer/" ("app/shop-alb/50dc6c495c0c9188").
pub fn load_balancer_dimension(arn: &str) -> Option<&str> {
    arn.split_once(":loadbalancer/").map(|(_, s)| s)
}

/// A target group's `TargetGroup` dimension: its ARN's last part
/// ("targetgroup/shop-blue/73e2d6bc24d8a067").
pub fn target_group_dimension(arn: &str) -> Option<&str> {
    arn.rsplit(':')
        .next()
        .filter(|s| s.starts_with("targetgroup/"))
}

/// The start of the minute holding `t`.
pub fn minute_of(t: Timestamp) -> Timestamp {
    t.div_euclid(PERIOD_SECS) * PERIOD_SECS
}

/// The first whole minute starting at or after `t`.
pub fn minute_from(t: Timestamp) -> Timestamp {
    minute_of(t + PERIOD_SECS - 1)
}

/// The end (exclusive) of the newest whole minute worth judging at `now`:
/// two whole minutes back.
pub fn judged_until(now: Timestamp) -> Timestamp {
    minute_of(now) - LAG_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> MetricQuery {
        MetricQuery {
            load_balancer: "app/shop/1".into(),
            target_groups: vec![
                (Color::Blue, "targetgroup/shop-blue/a".into()),
                (Color::Green, "targetgroup/shop-green/b".into()),
            ],
            percentiles: vec![9900],
            custom: Vec::new(),
            start: 600,
            end: 900,
        }
    }

    #[test]
    fn each_target_group_is_asked_for_its_counts_and_percentiles_with_valid_ids() {
        let qs = queries(&query());
        let ids: Vec<&str> = qs.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "tg0_requests",
                "tg0_target5xx",
                "tg0_connerrors",
                "tg0_p9900",
                "tg1_requests",
                "tg1_target5xx",
                "tg1_connerrors",
                "tg1_p9900"
            ]
        );
        assert_eq!(
            qs[3].request,
            Request::Metric {
                namespace: NAMESPACE.into(),
                metric_name: "TargetResponseTime".into(),
                dimensions: vec![
                    ("LoadBalancer".into(), "app/shop/1".into()),
                    ("TargetGroup".into(), "targetgroup/shop-blue/a".into()),
                ],
                stat: Stat::Percentile(9900),
            }
        );
        assert_eq!(Stat::Percentile(9990).text(), "p99.9");
        assert_eq!(Stat::Percentile(9999).text(), "p99.99");
        assert_eq!(Stat::Percentile(5000).text(), "p50");
    }

    #[test]
    fn a_custom_query_joins_the_call_for_each_colour_with_its_placeholders_filled() {
        let q = MetricQuery {
            custom: vec![
                CustomQuery::Metric {
                    namespace: "Shop".into(),
                    metric_name: "CheckoutFailures".into(),
                    dimensions: [("Color".to_string(), "{color}".to_string())].into(),
                    stat: Stat::Sum,
                },
                CustomQuery::Expression(
                    "SUM(SEARCH('{Shop,TargetGroup} TargetGroup=\"{target_group}\"', 'Sum', 60))"
                        .into(),
                ),
            ],
            ..query()
        };
        let qs = queries(&q);
        let custom: Vec<(&str, String)> = qs
            .iter()
            .filter(|q| matches!(q.figure, Figure::Custom(_)))
            .map(|q| (q.id.as_str(), q.request.describe()))
            .collect();
        assert_eq!(
            custom,
            [
                ("tg0_c0", "Shop CheckoutFailures Sum (Color=blue)".to_string()),
                (
                    "tg0_c1",
                    "expression SUM(SEARCH('{Shop,TargetGroup} TargetGroup=\"targetgroup/shop-blue/a\"', 'Sum', 60))".to_string()
                ),
                ("tg1_c0", "Shop CheckoutFailures Sum (Color=green)".to_string()),
                (
                    "tg1_c1",
                    "expression SUM(SEARCH('{Shop,TargetGroup} TargetGroup=\"targetgroup/shop-green/b\"', 'Sum', 60))".to_string()
                ),
            ]
        );
        let answers: Vec<Series> = qs
            .iter()
            .map(|query| Series {
                id: query.id.clone(),
                timestamps: if query.id == "tg1_c0" {
                    vec![660]
                } else {
                    vec![]
                },
                values: if query.id == "tg1_c0" {
                    vec![7.0]
                } else {
                    vec![]
                },
                status: "Complete".into(),
            })
            .collect();
        let data = assemble(&q, &answers);
        let green = &data.minutes["targetgroup/shop-green/b"];
        assert_eq!(green[0].minute(None, Some(0)).custom, Some(7.0));
        assert_eq!(green[0].minute(None, Some(1)).custom, None);
    }

    #[test]
    fn answers_become_minutes_and_an_incomplete_query_is_no_evidence() {
        let q = query();
        let complete = |id: &str, ts: &[i64], vs: &[f64]| Series {
            id: id.into(),
            timestamps: ts.to_vec(),
            values: vs.to_vec(),
            status: "Complete".into(),
        };
        let answers = vec![
            complete("tg0_requests", &[600, 660, 900], &[100.0, 200.0, 5.0]),
            complete("tg0_target5xx", &[660], &[3.0]),
            complete("tg0_connerrors", &[], &[]),
            complete("tg0_p9900", &[600], &[0.2]),
            Series {
                status: "PartialData".into(),
                ..complete("tg1_requests", &[600], &[10.0])
            },
        ];
        let data = assemble(&q, &answers);
        let blue = &data.minutes["targetgroup/shop-blue/a"];
        // 900 is outside the window asked for.
        assert_eq!(blue.len(), 2);
        assert_eq!(blue[0].requests, Some(100.0));
        assert_eq!(
            blue[0].target_5xx, None,
            "not published: zero in a served minute"
        );
        assert_eq!(blue[0].minute(Some(9900), None).latency, Some(0.2));
        assert_eq!(blue[1].target_5xx, Some(3.0));
        assert_eq!(data.minutes["targetgroup/shop-green/b"], vec![]);
        assert_eq!(
            data.incomplete,
            [
                "tg1_requests: PartialData",
                "tg1_target5xx: not answered",
                "tg1_connerrors: not answered",
                "tg1_p9900: not answered"
            ]
        );
    }

    #[test]
    fn dimensions_are_the_arn_suffixes() {
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop-alb/50dc6c495c0c9188"
            ),
            Some("app/shop-alb/50dc6c495c0c9188")
        );
        assert_eq!(
            target_group_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-blue/73e2d6bc24d8a067"
            ),
            Some("targetgroup/shop-blue/73e2d6bc24d8a067")
        );
        assert_eq!(target_group_dimension("nonsense"), None);
    }

    #[test]
    fn windows_end_two_whole_minutes_back() {
        assert_eq!(minute_of(659), 600);
        assert_eq!(minute_from(601), 660);
        assert_eq!(minute_from(600), 600);
        assert_eq!(judged_until(725), 600);
    }
}
