//! The sandbox's traffic: users' requests flowing through the production
//! listeners' weights to healthy targets, minute by minute on the sandbox's
//! clock, and the per-target-group metrics CloudWatch would publish for
//! them, with CloudWatch's rules (ALB User Guide, "CloudWatch metrics for
//! your Application Load Balancer"; CloudWatch API Reference,
//! GetMetricData):
//! - a minute is published about a minute after it ends, and filled in
//!   over the next: until two minutes after its end it shows part of its
//!   numbers;
//! - a count that is zero is not published, and a target group without
//!   requests in a minute has no datapoint at all;
//! - only `Complete` answers are whole (the sandbox's are, unless a fault
//!   says otherwise).
//!
//! The sandbox file sets the model:
//! `"traffic": {"requests_per_minute": 6000, "images": {"ami-…": {"error_rate": 0.08, "p99_ms": 120, "metrics": {"CheckoutFailures": 0.01}}}}`;
//! an image not listed serves without errors at 100 ms and publishes no
//! custom metric.
//!
//! Custom metrics (custom metric gates): an image's `metrics` are values
//! per request its app publishes, each minute, to CloudWatch (as
//! PutMetricData would). A custom query whose metric name the images of
//! its target group list is answered for that target group, the one the
//! query was built for (the sandbox does not read its namespace or
//! dimensions): Sum is the value × the minute's requests, SampleCount the
//! requests, Average, Minimum, Maximum and pNN the value. A Sum of zero is
//! left out: CloudWatch itself omits zero counts only for the load
//! balancer's metrics, but an app that counts failures publishes nothing
//! in a minute without one, and that is what the sandbox imitates. A
//! metric no image lists has no datapoints. The sandbox does not evaluate
//! metric math: an expression is answered `Complete` with no datapoints,
//! so a gate that reads one has no evidence and holds (README).

use super::world::{ImageTraffic, Traffic, World};
use crate::gate::metric::query::{Request, Stat};
use crate::gate::metric::read::{self, MetricData, MetricQuery, Series, PERIOD_SECS};
use crate::model::ListenerRole;
use crate::provider::convention::tags;
use std::collections::BTreeMap;

/// How one target group's healthy targets serve, on average.
struct Serving {
    error_rate: f64,
    p99_ms: f64,
    /// Each custom metric any of its images publishes, per request.
    metrics: BTreeMap<String, f64>,
}

/// How long published minutes are kept (CloudWatch keeps one-minute data
/// for 15 days; the sandbox needs a few hours).
const KEPT_MINUTES: i64 = 6 * 60;

impl World {
    /// Lets traffic flow from where it last flowed up to now, through the
    /// weights and targets as they are (they changed only in calls, and
    /// this runs before each call's own change).
    pub(super) fn flow_traffic(&mut self) {
        let now = self.now_ms();
        let Some(traffic) = self.traffic.as_ref() else {
            return;
        };
        let from = traffic.through_ms.unwrap_or(now).min(now);
        let rates = self.rates();
        let traffic = self.traffic.as_mut().expect("checked");
        let mut t = from;
        while t < now {
            let minute_ms = PERIOD_SECS * 1000;
            let end = ((t / minute_ms) + 1) * minute_ms;
            let piece = end.min(now) - t;
            let minute = t.div_euclid(minute_ms) * PERIOD_SECS;
            for (tg, (requests_per_ms, serving)) in &rates {
                let requests = requests_per_ms * piece as f64;
                if requests <= 0.0 {
                    continue;
                }
                let c = traffic
                    .minutes
                    .entry(tg.clone())
                    .or_default()
                    .entry(minute)
                    .or_default();
                c.requests += requests;
                c.errors += requests * serving.error_rate;
                c.latency_ms_weighted += requests * serving.p99_ms;
                for (name, per_request) in &serving.metrics {
                    *c.metrics.entry(name.clone()).or_default() += requests * per_request;
                }
            }
            t = end.min(now);
        }
        traffic.through_ms = Some(now);
        let oldest = now / 1000 - KEPT_MINUTES * PERIOD_SECS;
        for minutes in traffic.minutes.values_mut() {
            minutes.retain(|at, _| *at >= oldest);
        }
    }

    /// Per target group: requests per ms, and how what serves them
    /// serves, from the production forwards and healthy targets as they
    /// are now.
    fn rates(&self) -> BTreeMap<String, (f64, Serving)> {
        let Some(traffic) = &self.traffic else {
            return BTreeMap::new();
        };
        let forwards = self.production_forwards();
        let per_ms = traffic.requests_per_minute.max(0.0) / 60_000.0;
        let mut share: BTreeMap<String, f64> = BTreeMap::new();
        for forward in forwards {
            let total: u32 = forward.iter().map(|(_, w)| w).sum();
            if total == 0 {
                continue;
            }
            if traffic.weights_ignored {
                if let Some((tg, _)) = forward.iter().max_by_key(|(_, w)| *w) {
                    *share.entry(tg.clone()).or_default() += per_ms;
                }
                continue;
            }
            for (tg, w) in forward {
                *share.entry(tg.clone()).or_default() += per_ms * f64::from(*w) / f64::from(total);
            }
        }
        share
            .into_iter()
            .filter_map(|(tg, rate)| {
                let serving = self.serving(&tg, traffic)?;
                Some((tg, (rate, serving)))
            })
            .collect()
    }

    /// The forwards of every production listener and rule.
    fn production_forwards(&self) -> impl Iterator<Item = &Vec<(String, u32)>> {
        let production = |t: &BTreeMap<String, String>| {
            t.get(tags::ROLE).map(String::as_str) == Some(&ListenerRole::Production.to_string())
        };
        let listeners = self.listeners.values().filter(move |l| production(&l.tags));
        let rules = self.rules.values().filter(move |r| production(&r.tags));
        listeners
            .map(|l| &l.forward)
            .chain(rules.map(|r| &r.forward))
    }

    /// Whether a healthy instance of `image` serves production traffic:
    /// it is a target of a group a production forward sends weight to.
    pub(super) fn image_serves_production(&self, image: &str) -> bool {
        self.production_forwards()
            .flatten()
            .filter(|(_, w)| *w > 0)
            .filter_map(|(tg, _)| self.target_groups.get(tg))
            .any(|tg| {
                tg.targets.iter().any(|(id, at)| {
                    self.health_of(tg, id, *at).state.is_healthy()
                        && self.image_of_instance(id).as_deref() == Some(image)
                })
            })
    }

    /// How target group `arn`'s healthy targets serve, on average; `None`
    /// when it has none (AWS would fail open to all of them; the sandbox's
    /// unhealthy targets answer nothing worth counting).
    fn serving(&self, arn: &str, traffic: &Traffic) -> Option<Serving> {
        let tg = self.target_groups.get(arn)?;
        // Since the group's first minute of production requests.
        let served_minutes = traffic
            .minutes
            .get(arn)
            .and_then(|m| m.keys().next())
            .map_or(0.0, |first| (self.now_ms() / 1000 - first) as f64 / 60.0);
        let images: Vec<ImageTraffic> = tg
            .targets
            .iter()
            .filter(|(id, at)| self.health_of(tg, id, **at).state.is_healthy())
            .filter_map(|(id, _)| self.image_of_instance(id))
            .map(|image| traffic.images.get(&image).cloned().unwrap_or_default())
            .map(|i| match i.after_minutes {
                // Serving well: its metrics still published, at 0.
                Some(after) if served_minutes < after => ImageTraffic {
                    metrics: i.metrics.keys().map(|k| (k.clone(), 0.0)).collect(),
                    ..ImageTraffic::default()
                },
                _ => i,
            })
            .collect();
        if images.is_empty() {
            return None;
        }
        let n = images.len() as f64;
        let mut metrics: BTreeMap<String, f64> = BTreeMap::new();
        for (name, per_request) in images.iter().flat_map(|i| &i.metrics) {
            *metrics.entry(name.clone()).or_default() += per_request / n;
        }
        Some(Serving {
            error_rate: images
                .iter()
                .map(|i| i.error_rate.clamp(0.0, 1.0))
                .sum::<f64>()
                / n,
            p99_ms: images.iter().map(|i| i.p99_ms.max(0.0)).sum::<f64>() / n,
            metrics,
        })
    }

    /// What GetMetricData answers for `q`: the minutes published by now.
    pub(super) fn metric_data(&self, q: &MetricQuery) -> MetricData {
        let now = self.now_ms() / 1000;
        let traffic = self.traffic.clone().unwrap_or_default();
        let series = read::queries(q)
            .into_iter()
            .map(|query| {
                let arn = self
                    .target_groups
                    .keys()
                    .find(|arn| read::target_group_dimension(arn) == Some(&query.target_group));
                let minutes = arn.and_then(|arn| traffic.minutes.get(arn));
                let mut s = Series {
                    id: query.id.clone(),
                    status: if traffic.partial {
                        "PartialData"
                    } else {
                        "Complete"
                    }
                    .into(),
                    ..Series::default()
                };
                for (at, c) in minutes.into_iter().flatten() {
                    let ended = at + PERIOD_SECS;
                    // Published a minute after it ends, whole a minute later.
                    if *at < q.start || *at >= q.end || now < ended + 60 {
                        continue;
                    }
                    let part = if now < ended + 120 { 0.5 } else { 1.0 };
                    let value = match query.figure {
                        read::Figure::Requests => Some((c.requests * part).round()),
                        read::Figure::Target5xx => Some((c.errors * part).round()),
                        read::Figure::ConnectionErrors => Some(0.0),
                        read::Figure::Latency(_) => {
                            Some(c.latency_ms_weighted / c.requests / 1000.0)
                        }
                        read::Figure::Custom(_) => custom_value(&query.request, c, part),
                    };
                    // Zero counts are not published (nor an app's zero
                    // Sum); an app's zero Average is.
                    let published = |v: &f64| {
                        *v > 0.0
                            || matches!(query.figure, read::Figure::Custom(_))
                                && !counts(&query.request)
                    };
                    let Some(value) = value.filter(published) else {
                        continue;
                    };
                    s.timestamps.push(*at);
                    s.values.push(value);
                }
                s
            })
            .collect::<Vec<_>>();
        read::assemble(q, &series)
    }

    /// The image an instance runs.
    fn image_of_instance(&self, id: &str) -> Option<String> {
        self.fleets.values().find_map(|f| {
            let inst = f.instances.iter().find(|i| i.id == id)?;
            self.instance_image(f, inst)
        })
    }
}

/// A custom query's value in minute `c` (`part` of it published so far);
/// `None`: nothing published (a metric no serving image lists, or an
/// expression, which the sandbox does not evaluate).
fn custom_value(request: &Request, c: &super::world::Counts, part: f64) -> Option<f64> {
    let Request::Metric {
        metric_name, stat, ..
    } = request
    else {
        return None;
    };
    let total = *c.metrics.get(metric_name)?;
    Some(match stat {
        Stat::Sum => (total * part).round(),
        Stat::SampleCount => (c.requests * part).round(),
        Stat::Average | Stat::Minimum | Stat::Maximum | Stat::Percentile(_) => total / c.requests,
    })
}

/// Whether a zero of this query is left out: a count of the load
/// balancer's, or an app's Sum or SampleCount.
fn counts(request: &Request) -> bool {
    match request {
        Request::Metric { stat, .. } => stat.counts(),
        Request::Expression(_) => false,
    }
}
