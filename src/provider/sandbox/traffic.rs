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
//! `"traffic": {"requests_per_minute": 6000, "images": {"ami-…": {"error_rate": 0.08, "p99_ms": 120}}}`;
//! an image not listed serves without errors at 100 ms.

use super::world::{ImageTraffic, Traffic, World};
use crate::gate::metric::read::{self, MetricData, MetricQuery, Series, PERIOD_SECS};
use crate::model::ListenerRole;
use crate::provider::convention::tags;
use std::collections::BTreeMap;

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
            for (tg, (requests_per_ms, error_rate, p99)) in &rates {
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
                c.errors += requests * error_rate;
                c.latency_ms_weighted += requests * p99;
            }
            t = end.min(now);
        }
        traffic.through_ms = Some(now);
        let oldest = now / 1000 - KEPT_MINUTES * PERIOD_SECS;
        for minutes in traffic.minutes.values_mut() {
            minutes.retain(|at, _| *at >= oldest);
        }
    }

    /// Per target group: requests per ms, and the error rate and p99 of
    /// what serves them, from the production forwards and healthy targets
    /// as they are now.
    fn rates(&self) -> BTreeMap<String, (f64, f64, f64)> {
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
                let (error_rate, p99) = self.serving(&tg, traffic)?;
                Some((tg, (rate, error_rate, p99)))
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
    fn serving(&self, arn: &str, traffic: &Traffic) -> Option<(f64, f64)> {
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
                Some(after) if served_minutes < after => ImageTraffic::default(),
                _ => i,
            })
            .collect();
        if images.is_empty() {
            return None;
        }
        let n = images.len() as f64;
        Some((
            images
                .iter()
                .map(|i| i.error_rate.clamp(0.0, 1.0))
                .sum::<f64>()
                / n,
            images.iter().map(|i| i.p99_ms.max(0.0)).sum::<f64>() / n,
        ))
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
                        read::Figure::Requests => (c.requests * part).round(),
                        read::Figure::Target5xx => (c.errors * part).round(),
                        read::Figure::ConnectionErrors => 0.0,
                        read::Figure::Latency(_) => c.latency_ms_weighted / c.requests / 1000.0,
                    };
                    // Zero counts are not published.
                    if value <= 0.0 {
                        continue;
                    }
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
