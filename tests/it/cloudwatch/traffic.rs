//! A CloudWatch endpoint for the moto tests whose numbers are the
//! consequences of what cutover did: users' requests flow, minute by
//! minute, through the weights moto holds now on the production listener
//! to the healthy targets moto has registered, and each target group's
//! ALB metrics come from the images those targets' instances run. A
//! background thread reads moto (DescribeLoadBalancers, DescribeListeners,
//! DescribeRules, DescribeTargetHealth, DescribeInstances) every few
//! seconds of the clock and lets the traffic since its last read flow;
//! GetMetricData answers from what flowed, as CloudWatch publishes it.
//!
//! The model, like the sandbox's (`src/provider/sandbox/traffic.rs`):
//! `requests_per_minute` reach the listener on `port` of `load_balancer`;
//! an image listed in `images` fails `error_rate` of its requests (target
//! 5xx) and answers at `p99_ms`; one not listed serves without errors at
//! 100 ms. A target group's error rate and latency are its serving
//! targets' average (requests are spread evenly over them); every
//! percentile a query asks for is that latency.
//!
//! Its minutes run on the clock the binary runs on ([`Clock`]: a test
//! compresses it with `CUTOVER_TEST_MINUTE_MS`), and so do the timestamps
//! it answers with.
//!
//! What AWS does, and this endpoint imitates:
//! - A weighted forward sends each target group its weight's share of the
//!   requests (ALB User Guide, "Listener rules": "requests are distributed
//!   to these target groups based on their weights"); a plain forward
//!   sends all to its one target group. The endpoint's users match no
//!   rule's conditions in particular: they are spread evenly over the
//!   listener's rules, the default one included, so that every forward
//!   cutover wrote carries traffic.
//! - Requests go to healthy targets; when a target group has none, to all
//!   its unhealthy ones ("fail open", ALB User Guide, "Health checks for
//!   your target groups"); `initial`, `draining` and `unused` targets get
//!   none, and a target group with no target to send to has no requests.
//! - ELB reports a metric only when requests flow, every 60 seconds; a
//!   count is reported only when it is not zero (ALB User Guide,
//!   "CloudWatch metrics for your Application Load Balancer", each
//!   metric's "Reporting criteria: There is a nonzero value");
//!   TargetConnectionErrorCount is never reported (the model's targets
//!   always accept connections).
//! - Per-target-group metrics carry exactly the dimensions LoadBalancer
//!   and TargetGroup, the ARN suffixes ("app/shop-alb/…",
//!   "targetgroup/shop-blue/…"; same page, "Metric dimensions"); a query
//!   with other dimensions names another metric and gets no datapoints.
//!   RequestCount and the 5xx counts are published in Count,
//!   TargetResponseTime in Seconds; a query with another Unit gets none
//!   ("If you specify a unit that does not match the data collected, the
//!   results of the operation are null", CloudWatch API Reference,
//!   MetricStat).
//! - A minute is not there at once: it shows about a minute after it
//!   ends, with part of its numbers, and is whole two minutes after it
//!   ends (one-minute ALB data arrives a minute or two late; issue 20's
//!   "the newest 1–2 minutes are partial", as the sandbox models it). Its
//!   StatusCode is still `Complete`: CloudWatch does not say a minute is
//!   filling in, which is why cutover ends its windows two minutes back.
//!   (A model that fell behind, its thread starved, publishes late, never
//!   short: a minute shows only once all of it has flowed.)
//! - GetMetricData (CloudWatch API Reference): StartTime is inclusive and
//!   rounded down to the minute (for data under 15 days old), EndTime
//!   exclusive; ScanBy defaults to TimestampDescending; each result comes
//!   back under its query's Id; an answer holding more than MaxDatapoints
//!   (100,800 by default; a test sets a lower default here, so that
//!   cutover's paging is exercised) stops there with a NextToken, the
//!   results cut short saying `PartialData` ("an incomplete set of data
//!   points were returned. You can use the NextToken … to get more data
//!   points"); the same request with the token gives the next page, as of
//!   the first page's time.
//!
//! - A custom metric (another namespace or name than the load balancer's
//!   four) is one no app here publishes: no datapoints, as CloudWatch
//!   answers a metric that does not exist.
//!
//! What it does not do: metric math. An `Expression` query is answered
//! `Complete` with no datapoints, as the sandbox answers it, so a gate
//! reading one has no evidence and holds; each query is kept as it came
//! ([`MetricsOverMoto::queries`]), so a test sees what cutover asked. It
//! says so with an error rather than answering wrong for periods other
//! than 60 s, and statistics other than Sum for counts and pNN or Average
//! for latency.

use super::wire::{self, field, map, seconds, text, timestamp, Answer};
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use ciborium::Value;
use cutover::provider::aws::clock::Clock;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Users, and how each image serves them.
#[derive(Debug, Clone)]
pub struct Model {
    /// The load balancer's name.
    pub load_balancer: String,
    /// The listener port users connect to.
    pub port: i32,
    pub requests_per_minute: f64,
    pub images: BTreeMap<String, Image>,
}

/// How an image serves its requests.
#[derive(Debug, Clone, Copy)]
pub struct Image {
    pub error_rate: f64,
    pub p99_ms: f64,
}

impl Default for Image {
    fn default() -> Image {
        Image {
            error_rate: 0.0,
            p99_ms: 100.0,
        }
    }
}

/// How often the model reads moto, in the clock's seconds.
const TICK_SECS: u64 = 10;

/// The endpoint; the model stops reading moto when it is dropped.
pub struct MetricsOverMoto {
    pub endpoint: String,
    shared: Arc<Shared>,
}

struct Shared {
    clock: Clock,
    /// Datapoints a page holds when the request sets no MaxDatapoints.
    page_size: usize,
    stop: AtomicBool,
    published: Mutex<Flowed>,
    /// Each GetMetricData request, as it came.
    asked: Mutex<Vec<Value>>,
}

/// What users did, per minute.
#[derive(Default)]
struct Flowed {
    /// The load balancer's `LoadBalancer` dimension, once it was read.
    load_balancer: Option<String>,
    /// Per `TargetGroup` dimension, per minute (its start, seconds).
    minutes: BTreeMap<String, BTreeMap<i64, Counts>>,
    /// Traffic has flowed up to here (clock milliseconds).
    through_ms: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    requests: f64,
    errors: f64,
    latency_ms_weighted: f64,
}

impl Drop for MetricsOverMoto {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl MetricsOverMoto {
    /// Serves CloudWatch on a free port, with `model`'s users flowing
    /// through the moto server at `moto` from now on. Pages hold
    /// `page_size` datapoints unless a request says otherwise.
    pub fn start(moto: &str, model: Model, clock: Clock, page_size: usize) -> MetricsOverMoto {
        let shared = Arc::new(Shared {
            clock,
            page_size,
            stop: AtomicBool::new(false),
            published: Mutex::new(Flowed::default()),
            asked: Mutex::new(Vec::new()),
        });
        let serving = shared.clone();
        let endpoint = wire::serve(move |operation, request| match operation {
            "GetMetricData" => serving.get_metric_data(request),
            // The alarm gate's read: no alarms here.
            "DescribeAlarms" => Answer::json(serde_json::json!({
                "MetricAlarms": [], "CompositeAlarms": []
            })),
            other => Answer::error(
                "smithy.framework#UnknownOperationException",
                &format!("the tests' CloudWatch endpoint does not answer {other}"),
            ),
        });
        let flowing = shared.clone();
        let moto = moto.to_string();
        std::thread::spawn(move || flowing.flow_from(&moto, &model));
        MetricsOverMoto { endpoint, shared }
    }

    /// Every MetricDataQuery the GetMetricData requests held, as sent.
    pub fn queries(&self) -> Vec<Value> {
        self.shared
            .asked
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| field(r, "MetricDataQueries")?.as_array().cloned())
            .flatten()
            .collect()
    }

    /// GetMetricData requests, and how many of them asked for a next page.
    pub fn calls(&self) -> (usize, usize) {
        let asked = self.shared.asked.lock().unwrap();
        let pages = asked
            .iter()
            .filter(|r| field(r, "NextToken").is_some())
            .count();
        (asked.len(), pages)
    }
}

impl Shared {
    /// Reads moto every [`TICK_SECS`] and lets the traffic since the last
    /// read flow through what it read, until the endpoint is dropped. A
    /// read that fails leaves the time to the next one.
    fn flow_from(&self, moto: &str, model: &Model) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conf = rt.block_on(crate::moto::sdk_config(moto));
        let mut moto = Moto {
            elb: elb::Client::new(&conf),
            ec2: ec2::Client::new(&conf),
            images: HashMap::new(),
        };
        while !self.stop.load(Ordering::Relaxed) {
            match rt.block_on(moto.routes(model)) {
                Ok(routes) => self
                    .published
                    .lock()
                    .unwrap()
                    .flow(&routes, self.clock.now_ms()),
                Err(e) => eprintln!("the traffic model could not read moto: {e}"),
            }
            std::thread::sleep(self.clock.wall(Duration::from_secs(TICK_SECS)));
        }
    }

    /// One page of GetMetricData's answer.
    fn get_metric_data(&self, request: Value) -> Answer {
        self.asked.lock().unwrap().push(request.clone());
        let time = |name| field(&request, name).and_then(seconds).map(|s| s as i64);
        let (Some(start), Some(end)) = (time("StartTime"), time("EndTime")) else {
            return invalid("StartTime and EndTime are required");
        };
        let start = start.div_euclid(60) * 60;
        let published = self.published.lock().unwrap();
        // A token is where the page starts and what the first page was as of.
        let (offset, as_of) = match field(&request, "NextToken").and_then(Value::as_text) {
            None => (
                0,
                AsOf {
                    now_ms: self.clock.now_ms(),
                    flowed_ms: published.through_ms.unwrap_or(0),
                },
            ),
            Some(token) => match AsOf::read(token) {
                Some(at) => at,
                None => {
                    return Answer::error(
                        "com.amazonaws.cloudwatch#InvalidNextToken",
                        "The service found one or more invalid NextToken values",
                    )
                }
            },
        };
        let page_size = field(&request, "MaxDatapoints")
            .and_then(integer)
            .map_or(self.page_size, |n| n.max(1) as usize);
        let ascending =
            field(&request, "ScanBy").and_then(Value::as_text) == Some("TimestampAscending");
        let queries = field(&request, "MetricDataQueries")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut series = Vec::new();
        for q in &queries {
            let id = field(q, "Id").and_then(Value::as_text).unwrap_or_default();
            let mut points = match (field(q, "MetricStat"), field(q, "Expression")) {
                (Some(_), Some(_)) => {
                    return invalid(&format!("query {id} has both MetricStat and Expression"))
                }
                (None, None) => {
                    return invalid(&format!("query {id} has neither MetricStat nor Expression"))
                }
                // Metric math is not evaluated here: no datapoints.
                (None, Some(_)) if field(q, "Period").and_then(integer) == Some(60) => vec![],
                (None, Some(_)) => {
                    return invalid(&format!(
                        "query {id}: an expression without Period 60, the one-minute points cutover judges"
                    ))
                }
                (Some(stat), None) => match published.points(stat, start, end, as_of) {
                    Ok(points) => points,
                    Err(why) => return invalid(&format!("query {id}: {why}")),
                },
            };
            if !ascending {
                points.reverse();
            }
            let label = field(q, "Label")
                .or_else(|| field(field(field(q, "MetricStat")?, "Metric")?, "MetricName"))
                .and_then(Value::as_text)
                .unwrap_or(id);
            series.push(Series {
                id: id.to_string(),
                label: label.to_string(),
                points,
            });
        }
        page(series, offset, page_size, as_of)
    }
}

/// What an answer is as of: the clock's time, and how far users' traffic
/// had flowed then (a minute is published only once all of it flowed: a
/// model that fell behind publishes late, never short).
#[derive(Debug, Clone, Copy)]
struct AsOf {
    now_ms: u64,
    flowed_ms: u64,
}

impl AsOf {
    /// The next page's token: where it starts, and this.
    fn token(&self, offset: usize) -> String {
        format!("{offset}@{}@{}", self.now_ms, self.flowed_ms)
    }

    /// Where a token's page starts, and what it is as of.
    fn read(token: &str) -> Option<(usize, AsOf)> {
        let mut parts = token.split('@');
        let offset = parts.next()?.parse().ok()?;
        let now_ms = parts.next()?.parse().ok()?;
        let flowed_ms = parts.next()?.parse().ok()?;
        Some((offset, AsOf { now_ms, flowed_ms }))
    }
}

/// One query's datapoints, in the order asked for.
struct Series {
    id: String,
    label: String,
    points: Vec<(i64, f64)>,
}

/// The page of `series` from datapoint `offset` on, `size` datapoints
/// long: every query's result with its points on this page, `PartialData`
/// when more of them follow; a NextToken when any do.
fn page(series: Vec<Series>, offset: usize, size: usize, as_of: AsOf) -> Answer {
    let total: usize = series.iter().map(|s| s.points.len()).sum();
    let offset = offset.min(total);
    let end = (offset + size).min(total);
    let mut at = 0;
    let mut results = Vec::new();
    for Series { id, label, points } in series {
        let (first, past) = (at, at + points.len());
        let on_page = &points[offset.clamp(first, past) - first..end.clamp(first, past) - first];
        results.push(map(vec![
            ("Id", text(&id)),
            ("Label", text(&label)),
            (
                "Timestamps",
                Value::Array(on_page.iter().map(|(t, _)| timestamp(*t)).collect()),
            ),
            (
                "Values",
                Value::Array(on_page.iter().map(|(_, v)| Value::Float(*v)).collect()),
            ),
            (
                "StatusCode",
                text(if past > end {
                    "PartialData"
                } else {
                    "Complete"
                }),
            ),
        ]));
        at = past;
    }
    let mut members = vec![
        ("MetricDataResults", Value::Array(results)),
        ("Messages", Value::Array(vec![])),
    ];
    if end < total {
        members.push(("NextToken", text(&as_of.token(end))));
    }
    Answer::Ok(map(members))
}

fn invalid(message: &str) -> Answer {
    Answer::error(
        "com.amazonaws.cloudwatch#InvalidParameterValueException",
        message,
    )
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

/// The ALB metrics the model publishes.
#[derive(Clone, Copy)]
enum Metric {
    Requests,
    Target5xx,
    ConnectionErrors,
    ResponseTime,
}

impl Flowed {
    /// Lets the traffic since the last read flow, at `routes`' rates (the
    /// state read now stands for the time since the last read), minute by
    /// minute up to `now_ms`.
    fn flow(&mut self, routes: &Routes, now_ms: u64) {
        if routes.load_balancer.is_some() {
            self.load_balancer = routes.load_balancer.clone();
        }
        let mut t = self.through_ms.unwrap_or(now_ms).min(now_ms);
        while t < now_ms {
            let minute_ms = t / 60_000 * 60_000;
            let end = (minute_ms + 60_000).min(now_ms);
            let piece = (end - t) as f64;
            for (tg, rate) in &routes.rates {
                let requests = rate.per_ms * piece;
                let c = self
                    .minutes
                    .entry(tg.clone())
                    .or_default()
                    .entry((minute_ms / 1000) as i64)
                    .or_default();
                c.requests += requests;
                c.errors += requests * rate.error_rate;
                c.latency_ms_weighted += requests * rate.p99_ms;
            }
            t = end;
        }
        self.through_ms = Some(now_ms);
    }

    /// The datapoints of one MetricStat in `[start, end)`, as published
    /// `as_of`, oldest first; `Err` says what this endpoint does not
    /// answer.
    fn points(
        &self,
        stat: &Value,
        start: i64,
        end: i64,
        as_of: AsOf,
    ) -> Result<Vec<(i64, f64)>, String> {
        let metric = field(stat, "Metric").ok_or("MetricStat has no Metric")?;
        let period = field(stat, "Period").and_then(integer);
        if period != Some(60) {
            return Err(format!(
                "Period {period:?}: the tests' CloudWatch endpoint publishes one-minute data only"
            ));
        }
        let statistic = field(stat, "Stat").and_then(Value::as_text).unwrap_or("");
        let unit = field(stat, "Unit").and_then(Value::as_text);
        let name = field(metric, "MetricName").and_then(Value::as_text);
        let (kind, published_unit) = match name {
            Some("RequestCount") => (Metric::Requests, "Count"),
            Some("HTTPCode_Target_5XX_Count") => (Metric::Target5xx, "Count"),
            Some("TargetConnectionErrorCount") => (Metric::ConnectionErrors, "Count"),
            Some("TargetResponseTime") => (Metric::ResponseTime, "Seconds"),
            _ => return Ok(vec![]),
        };
        match kind {
            Metric::ResponseTime if statistic == "Average" || percentile(statistic) => {}
            Metric::ResponseTime => {
                return Err(format!("statistic {statistic:?} of TargetResponseTime"))
            }
            _ if statistic == "Sum" => {}
            _ => return Err(format!("statistic {statistic:?} of a count")),
        }
        let namespace = field(metric, "Namespace").and_then(Value::as_text);
        if namespace != Some("AWS/ApplicationELB") || unit.is_some_and(|u| u != published_unit) {
            return Ok(vec![]);
        }
        let Some(minutes) = self
            .target_group_of(metric)
            .and_then(|tg| self.minutes.get(tg))
        else {
            return Ok(vec![]);
        };
        let mut points = Vec::new();
        for (at, c) in minutes.range(start..end) {
            let ended_ms = (*at as u64 + 60) * 1000;
            // Shown a minute after it ends, whole a minute later.
            if as_of.now_ms < ended_ms + 60_000 || as_of.flowed_ms < ended_ms {
                continue;
            }
            let part = if as_of.now_ms < ended_ms + 120_000 {
                0.5
            } else {
                1.0
            };
            let requests = (c.requests * part).round();
            let value = match kind {
                Metric::Requests => requests,
                Metric::Target5xx => (c.errors * part).round(),
                Metric::ConnectionErrors => 0.0,
                Metric::ResponseTime if requests > 0.0 => {
                    c.latency_ms_weighted / c.requests / 1000.0
                }
                Metric::ResponseTime => 0.0,
            };
            // Zero is not published.
            if value > 0.0 {
                points.push((*at, value));
            }
        }
        Ok(points)
    }

    /// The `TargetGroup` dimension of `metric` when its dimensions are
    /// exactly this load balancer's and one target group's.
    fn target_group_of<'v>(&self, metric: &'v Value) -> Option<&'v str> {
        let dimensions: BTreeMap<&str, &str> = field(metric, "Dimensions")?
            .as_array()?
            .iter()
            .filter_map(|d| Some((field(d, "Name")?.as_text()?, field(d, "Value")?.as_text()?)))
            .collect();
        let lb = dimensions.get("LoadBalancer")?;
        (dimensions.len() == 2 && Some(*lb) == self.load_balancer.as_deref())
            .then(|| dimensions.get("TargetGroup").copied())?
    }
}

/// "p99", "p99.9", "p50": a percentile statistic.
fn percentile(stat: &str) -> bool {
    stat.strip_prefix('p')
        .and_then(|p| p.parse::<f64>().ok())
        .is_some_and(|p| p > 0.0 && p < 100.0)
}

/// Where users' requests go now.
#[derive(Debug, Default)]
struct Routes {
    load_balancer: Option<String>,
    /// Per `TargetGroup` dimension.
    rates: BTreeMap<String, Rate>,
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    /// Requests per millisecond of the clock.
    per_ms: f64,
    error_rate: f64,
    p99_ms: f64,
}

/// The model's view of moto.
struct Moto {
    elb: elb::Client,
    ec2: ec2::Client,
    /// Each instance's image (it never changes).
    images: HashMap<String, String>,
}

impl Moto {
    /// Where the model's users' requests go, as moto stands now.
    async fn routes(&mut self, model: &Model) -> Result<Routes, String> {
        let lbs = self
            .elb
            .describe_load_balancers()
            .names(&model.load_balancer)
            .send()
            .await
            .map_err(|e| said("DescribeLoadBalancers", e))?;
        let Some(lb_arn) = lbs
            .load_balancers()
            .first()
            .and_then(|lb| lb.load_balancer_arn())
        else {
            return Ok(Routes::default());
        };
        let mut routes = Routes {
            // "app/shop-alb/…": the ARN after "loadbalancer/".
            load_balancer: lb_arn.split_once(":loadbalancer/").map(|(_, s)| s.into()),
            rates: BTreeMap::new(),
        };
        let forwards = self.forwards(lb_arn, model.port).await?;
        let per_rule = model.requests_per_minute / 60_000.0 / forwards.len().max(1) as f64;
        let mut share: BTreeMap<String, f64> = BTreeMap::new();
        for forward in &forwards {
            let total: f64 = forward.iter().map(|(_, w)| w).sum();
            for (tg, w) in forward.iter().filter(|_| total > 0.0) {
                *share.entry(tg.clone()).or_default() += per_rule * w / total;
            }
        }
        for (tg, per_ms) in share.into_iter().filter(|(_, s)| *s > 0.0) {
            if let Some((error_rate, p99_ms)) = self.serving(&tg, model).await? {
                // "targetgroup/shop-blue/…": the ARN's last part.
                let dimension = tg.rsplit(':').next().unwrap_or(&tg).to_string();
                routes.rates.insert(
                    dimension,
                    Rate {
                        per_ms,
                        error_rate,
                        p99_ms,
                    },
                );
            }
        }
        Ok(routes)
    }

    /// Each rule's forward on the listener at `port` (none without one).
    async fn forwards(&self, lb_arn: &str, port: i32) -> Result<Vec<Vec<(String, f64)>>, String> {
        let listeners = self
            .elb
            .describe_listeners()
            .load_balancer_arn(lb_arn)
            .send()
            .await
            .map_err(|e| said("DescribeListeners", e))?;
        let Some(listener) = listeners
            .listeners()
            .iter()
            .find(|l| l.port() == Some(port))
        else {
            return Ok(vec![]);
        };
        let rules = self
            .elb
            .describe_rules()
            .listener_arn(listener.listener_arn().unwrap_or_default())
            .send()
            .await
            .map_err(|e| said("DescribeRules", e))?;
        let mut forwards: Vec<_> = rules.rules().iter().map(|r| forward(r.actions())).collect();
        if !rules.rules().iter().any(|r| r.is_default() == Some(true)) {
            forwards.push(forward(listener.default_actions()));
        }
        Ok(forwards)
    }

    /// How target group `arn`'s serving targets serve, on average; `None`
    /// when no target may get requests.
    async fn serving(&mut self, arn: &str, model: &Model) -> Result<Option<(f64, f64)>, String> {
        let health = self
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| said("DescribeTargetHealth", e))?;
        let in_state = |state: &str| -> Vec<String> {
            health
                .target_health_descriptions()
                .iter()
                .filter(|t| {
                    t.target_health()
                        .and_then(|h| h.state())
                        .is_some_and(|s| s.as_str() == state)
                })
                .filter_map(|t| t.target()?.id().map(str::to_string))
                .collect()
        };
        let mut targets = in_state("healthy");
        if targets.is_empty() {
            targets = in_state("unhealthy");
        }
        if targets.is_empty() {
            return Ok(None);
        }
        let unknown: Vec<String> = targets
            .iter()
            .filter(|id| !self.images.contains_key(*id))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let out = self
                .ec2
                .describe_instances()
                .set_instance_ids(Some(unknown))
                .send()
                .await
                .map_err(|e| said("DescribeInstances", e))?;
            for i in out.reservations().iter().flat_map(|r| r.instances()) {
                if let (Some(id), Some(image)) = (i.instance_id(), i.image_id()) {
                    self.images.insert(id.to_string(), image.to_string());
                }
            }
        }
        let serving: Vec<Image> = targets
            .iter()
            .map(|id| {
                let image = self.images.get(id);
                image
                    .and_then(|i| model.images.get(i))
                    .copied()
                    .unwrap_or_default()
            })
            .collect();
        let n = serving.len() as f64;
        Ok(Some((
            serving.iter().map(|i| i.error_rate).sum::<f64>() / n,
            serving.iter().map(|i| i.p99_ms).sum::<f64>() / n,
        )))
    }
}

/// A failed read of moto, in words.
fn said(operation: &str, e: impl std::error::Error) -> String {
    format!("{operation}: {}", elb::error::DisplayErrorContext(e))
}

/// The target groups a rule's actions forward to, with their weights.
fn forward(actions: &[elb::types::Action]) -> Vec<(String, f64)> {
    let Some(action) = actions
        .iter()
        .find(|a| a.r#type() == Some(&elb::types::ActionTypeEnum::Forward))
    else {
        return vec![];
    };
    match action.forward_config() {
        Some(config) => config
            .target_groups()
            .iter()
            .filter_map(|t| {
                Some((
                    t.target_group_arn()?.to_string(),
                    f64::from(t.weight().unwrap_or(1)),
                ))
            })
            .collect(),
        None => action
            .target_group_arn()
            .map(|arn| vec![(arn.to_string(), 1.0)])
            .unwrap_or_default(),
    }
}
