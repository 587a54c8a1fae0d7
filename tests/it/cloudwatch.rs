//! CloudWatch at the SDK boundary: the alarm gate's DescribeAlarms and the
//! metric gates' GetMetricData. moto cannot answer the CBOR protocol (Smithy
//! RPC v2) the current aws-sdk-cloudwatch speaks, so these tests give the
//! real SDK client, over real HTTP, canned answers in that protocol from a
//! server of their own, and check what cutover makes of them and what it
//! asked. (No SDK test features: the tests build the SDK exactly as `cargo
//! run` does.)
//!
//! The wire is `wire.rs`'s; `traffic.rs` is the endpoint the moto tests
//! use, whose metrics come from a traffic model over moto's live state.

pub mod traffic;
pub mod wire;

use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region};
use ciborium::Value;
use cutover::gate::metric::query::{CustomQuery, Request, Stat};
use cutover::gate::metric::read::{queries, MetricQuery};
use cutover::model::observed::AlarmState;
use cutover::model::Color;
use cutover::provider::aws::{alarm_state, alarm_states, metric_data};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::{field, map, seconds, text, timestamp, Answer};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A CloudWatch endpoint that answers each request with the next answer
/// queued for its operation (`{}` when none is left) and keeps the
/// requests it got, with their operation.
struct CloudWatch {
    client: aws_sdk_cloudwatch::Client,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl CloudWatch {
    fn answering(answers: Vec<(&'static str, Answer)>) -> CloudWatch {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let answers: Mutex<VecDeque<(&str, Answer)>> = Mutex::new(answers.into());
        let endpoint = wire::serve(move |operation, request| {
            seen.lock().unwrap().push((operation.to_string(), request));
            let mut answers = answers.lock().unwrap();
            answers
                .iter()
                .position(|(op, _)| *op == operation)
                .and_then(|at| answers.remove(at))
                .map(|(_, a)| a)
                .unwrap_or_else(|| Answer::json(serde_json::json!({})))
        });
        // The SDK's retries, as cutover's clients have them (retry.rs),
        // with millisecond waits: a test never sleeps for real.
        let retry = RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(1));
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .retry_config(retry)
            .build();
        CloudWatch {
            client: aws_sdk_cloudwatch::Client::from_conf(config),
            requests,
        }
    }

    /// An endpoint whose DescribeAlarms answers are `answers` (as JSON).
    fn alarms(answers: Vec<serde_json::Value>) -> CloudWatch {
        CloudWatch::answering(
            answers
                .into_iter()
                .map(|a| ("DescribeAlarms", Answer::json(a)))
                .collect(),
        )
    }

    /// The requests of `operation`, in order.
    fn requests(&self, operation: &str) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// The alarm names each DescribeAlarms asked for.
    fn asked(&self) -> Vec<Vec<String>> {
        self.requests("DescribeAlarms")
            .iter()
            .map(|r| {
                field(r, "AlarmNames")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n.as_text().map(str::to_string))
                    .collect()
            })
            .collect()
    }
}

#[test]
fn an_alarm_in_alarm_state_is_reported_so_the_gate_fails() {
    let cw = CloudWatch::alarms(vec![serde_json::json!({
        "MetricAlarms": [{"AlarmName": "shop-5xx", "StateValue": "ALARM"}]
    })]);
    assert_eq!(
        rt().block_on(alarm_state(&cw.client, "shop-5xx")).unwrap(),
        AlarmState::Alarm
    );
    assert_eq!(cw.asked(), [["shop-5xx"]]);
}

#[test]
fn ok_and_composite_alarms_are_read_too() {
    let cw = CloudWatch::alarms(vec![
        serde_json::json!({"MetricAlarms": [{"AlarmName": "a", "StateValue": "OK"}]}),
        serde_json::json!({
            "CompositeAlarms": [{"AlarmName": "b", "StateValue": "INSUFFICIENT_DATA"}]
        }),
    ]);
    let rt = rt();
    assert_eq!(
        rt.block_on(alarm_state(&cw.client, "a")).unwrap(),
        AlarmState::Ok
    );
    assert_eq!(
        rt.block_on(alarm_state(&cw.client, "b")).unwrap(),
        AlarmState::InsufficientData
    );
}

#[test]
fn a_missing_alarm_is_an_error_not_a_pass() {
    let cw = CloudWatch::alarms(vec![serde_json::json!({})]);
    let err = rt()
        .block_on(alarm_state(&cw.client, "shop-typo"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("CloudWatch alarm shop-typo does not exist"),
        "{err}"
    );
}

#[test]
fn preflight_reads_every_alarm_in_one_call_following_its_pages() {
    // DescribeAlarms answers at most MaxRecords alarms and says NextToken
    // for the rest; a name absent from every page does not exist.
    let cw = CloudWatch::alarms(vec![
        serde_json::json!({
            "MetricAlarms": [{"AlarmName": "shop-5xx", "StateValue": "OK"}],
            "NextToken": "more"
        }),
        serde_json::json!({
            "CompositeAlarms": [{"AlarmName": "shop-slo", "StateValue": "ALARM"}]
        }),
    ]);
    let names: Vec<String> = ["shop-5xx", "shop-slo", "shop-typo"]
        .map(String::from)
        .to_vec();
    let states = rt().block_on(alarm_states(&cw.client, &names)).unwrap();
    assert_eq!(states.get("shop-5xx"), Some(&AlarmState::Ok));
    assert_eq!(states.get("shop-slo"), Some(&AlarmState::Alarm));
    assert_eq!(states.get("shop-typo"), None);
    assert_eq!(cw.asked(), [names.clone(), names]);
    let second = &cw.requests("DescribeAlarms")[1];
    assert_eq!(
        field(second, "NextToken").and_then(Value::as_text),
        Some("more")
    );
}

/// A whole minute, as CloudWatch stamps them.
const T: i64 = 1_700_000_040;
const BLUE: &str = "targetgroup/shop-blue/73e2d6bc24d8a067";
const GREEN: &str = "targetgroup/shop-green/4e5f6a7b8c9d0e1f";

/// Both colours of one load balancer, five minutes, their p99.
fn query() -> MetricQuery {
    MetricQuery {
        load_balancer: "app/shop-alb/50dc6c495c0c9188".into(),
        target_groups: vec![(Color::Blue, BLUE.into()), (Color::Green, GREEN.into())],
        percentiles: vec![9900],
        custom: Vec::new(),
        start: T,
        end: T + 300,
    }
}

/// One MetricDataResult: `points` as (seconds, value).
fn result(id: &str, status: &str, points: &[(i64, f64)]) -> Value {
    map(vec![
        ("Id", text(id)),
        ("Label", text(id)),
        (
            "Timestamps",
            Value::Array(points.iter().map(|(t, _)| timestamp(*t)).collect()),
        ),
        (
            "Values",
            Value::Array(points.iter().map(|(_, v)| Value::Float(*v)).collect()),
        ),
        ("StatusCode", text(status)),
    ])
}

/// A GetMetricData page: `results`, and the token of the next page.
fn page(results: Vec<Value>, next_token: Option<&str>) -> Answer {
    let mut members = vec![("MetricDataResults", Value::Array(results))];
    if let Some(t) = next_token {
        members.push(("NextToken", text(t)));
    }
    Answer::Ok(map(members))
}

/// Every query of [`query`] answered `Complete` with no points, but those
/// named in `given`.
fn all_complete_but(given: Vec<Value>) -> Vec<Value> {
    let named: Vec<String> = given
        .iter()
        .filter_map(|r| field(r, "Id")?.as_text().map(str::to_string))
        .collect();
    let rest = queries(&query())
        .into_iter()
        .filter(|q| !named.contains(&q.id))
        .map(|q| result(&q.id, "Complete", &[]));
    given.into_iter().chain(rest).collect()
}

#[test]
fn cloudwatch_is_asked_once_for_every_query_with_both_dimensions_and_no_unit() {
    let cw = CloudWatch::answering(vec![(
        "GetMetricData",
        page(all_complete_but(vec![]), None),
    )]);
    rt().block_on(metric_data(&cw.client, &query())).unwrap();
    let sent = cw.requests("GetMetricData");
    assert_eq!(sent.len(), 1, "one call for every gate of both colours");
    let request = &sent[0];
    assert_eq!(
        field(request, "StartTime").and_then(seconds),
        Some(T as f64)
    );
    assert_eq!(
        field(request, "EndTime").and_then(seconds),
        Some((T + 300) as f64)
    );
    assert_eq!(
        field(request, "ScanBy").and_then(Value::as_text),
        Some("TimestampAscending")
    );
    assert!(field(request, "NextToken").is_none());
    let asked = field(request, "MetricDataQueries")
        .and_then(Value::as_array)
        .unwrap();
    let expected = queries(&query());
    assert_eq!(asked.len(), expected.len());
    for (q, want) in asked.iter().zip(&expected) {
        assert_eq!(field(q, "Id").and_then(Value::as_text), Some(&*want.id));
        assert_eq!(field(q, "ReturnData"), Some(&Value::Bool(true)));
        let stat = field(q, "MetricStat").unwrap();
        assert!(field(stat, "Unit").is_none(), "no Unit: {stat:?}");
        assert_eq!(field(stat, "Period"), Some(&Value::Integer(60.into())));
        let metric = field(stat, "Metric").unwrap();
        assert_eq!(
            field(metric, "Namespace").and_then(Value::as_text),
            Some("AWS/ApplicationELB")
        );
        let Request::Metric { metric_name, .. } = &want.request else {
            panic!("{want:?}")
        };
        assert_eq!(
            field(metric, "MetricName").and_then(Value::as_text),
            Some(metric_name.as_str())
        );
        assert_eq!(
            dimensions(metric),
            [
                ("LoadBalancer", "app/shop-alb/50dc6c495c0c9188"),
                ("TargetGroup", want.target_group.as_str())
            ]
        );
    }
    let stats: Vec<&str> = asked
        .iter()
        .take(4)
        .filter_map(|q| field(field(q, "MetricStat")?, "Stat")?.as_text())
        .collect();
    assert_eq!(stats, ["Sum", "Sum", "Sum", "p99"]);
}

/// A MetricStat's metric's dimensions, as (name, value), in the order sent.
fn dimensions(metric: &Value) -> Vec<(&str, &str)> {
    field(metric, "Dimensions")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|d| {
            (
                field(d, "Name").and_then(Value::as_text).unwrap(),
                field(d, "Value").and_then(Value::as_text).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_custom_metric_and_an_expression_join_the_one_call_filled_for_each_colour() {
    let q = MetricQuery {
        custom: vec![
            CustomQuery::Metric {
                namespace: "Shop".into(),
                metric_name: "CheckoutFailures".into(),
                dimensions: [("Color".to_string(), "{color}".to_string())].into(),
                stat: Stat::Sum,
            },
            CustomQuery::Expression(
                "SUM(SEARCH('{Shop,TargetGroup} MetricName=\"Failures\" TargetGroup=\"{target_group}\"', 'Sum', 60))".into(),
            ),
        ],
        ..query()
    };
    let answers = queries(&q)
        .iter()
        .map(|query| match query.id.as_str() {
            "tg1_c0" => result("tg1_c0", "Complete", &[(T, 12.0)]),
            id => result(id, "Complete", &[]),
        })
        .collect();
    let cw = CloudWatch::answering(vec![("GetMetricData", page(answers, None))]);
    let data = rt().block_on(metric_data(&cw.client, &q)).unwrap();
    assert_eq!(data.minutes[GREEN][0].custom.get(&0), Some(&12.0));
    let sent = cw.requests("GetMetricData");
    assert_eq!(sent.len(), 1, "custom queries join the one call");
    let asked = field(&sent[0], "MetricDataQueries")
        .and_then(Value::as_array)
        .unwrap();
    let by_id = |id: &str| {
        asked
            .iter()
            .find(|q| field(q, "Id").and_then(Value::as_text) == Some(id))
            .unwrap_or_else(|| panic!("no query {id}"))
    };
    for (id, color) in [("tg0_c0", "blue"), ("tg1_c0", "green")] {
        let stat = field(by_id(id), "MetricStat").unwrap();
        assert_eq!(field(stat, "Stat").and_then(Value::as_text), Some("Sum"));
        assert_eq!(field(stat, "Period"), Some(&Value::Integer(60.into())));
        assert!(field(stat, "Unit").is_none(), "no Unit: {stat:?}");
        let metric = field(stat, "Metric").unwrap();
        assert_eq!(
            field(metric, "Namespace").and_then(Value::as_text),
            Some("Shop")
        );
        assert_eq!(dimensions(metric), [("Color", color)]);
    }
    for (id, tg) in [("tg0_c1", BLUE), ("tg1_c1", GREEN)] {
        let e = by_id(id);
        assert!(
            field(e, "MetricStat").is_none(),
            "an expression or a MetricStat, not both"
        );
        assert_eq!(field(e, "Period"), Some(&Value::Integer(60.into())));
        assert_eq!(field(e, "ReturnData"), Some(&Value::Bool(true)));
        let expression = field(e, "Expression").and_then(Value::as_text).unwrap();
        assert!(
            expression.contains(&format!("TargetGroup=\"{tg}\"")),
            "{expression}"
        );
        assert!(expression.contains("{Shop,TargetGroup}"), "{expression}");
    }
}

#[test]
fn cloudwatch_pages_are_followed_and_joined() {
    let first = vec![
        result("tg0_requests", "PartialData", &[(T, 100.0)]),
        result("tg0_p9900", "PartialData", &[(T, 0.25)]),
    ];
    let second = all_complete_but(vec![
        result("tg0_requests", "Complete", &[(T + 60, 200.0)]),
        result("tg0_p9900", "Complete", &[(T + 60, 0.5)]),
        result("tg1_requests", "Complete", &[(T + 60, 7.0)]),
    ]);
    let cw = CloudWatch::answering(vec![
        ("GetMetricData", page(first, Some("page-2"))),
        ("GetMetricData", page(second, None)),
    ]);
    let data = rt().block_on(metric_data(&cw.client, &query())).unwrap();
    let sent = cw.requests("GetMetricData");
    assert_eq!(sent.len(), 2, "exactly one request a page");
    assert_eq!(
        field(&sent[1], "NextToken").and_then(Value::as_text),
        Some("page-2")
    );
    assert_eq!(
        field(&sent[1], "MetricDataQueries"),
        field(&sent[0], "MetricDataQueries"),
        "the same request, with the token"
    );
    assert!(data.incomplete.is_empty(), "{:?}", data.incomplete);
    let blue = &data.minutes[BLUE];
    let requests: Vec<(i64, Option<f64>)> = blue.iter().map(|m| (m.at, m.requests)).collect();
    assert_eq!(requests, [(T, Some(100.0)), (T + 60, Some(200.0))]);
    assert_eq!(blue[0].latency.get(&9900), Some(&0.25));
    assert_eq!(blue[1].latency.get(&9900), Some(&0.5));
    assert_eq!(data.minutes[GREEN][0].requests, Some(7.0));
}

#[test]
fn cloudwatch_partial_or_failed_queries_are_incomplete_and_not_used() {
    let results = all_complete_but(vec![
        result("tg0_requests", "Complete", &[(T, 100.0)]),
        result("tg0_target5xx", "PartialData", &[(T, 90.0)]),
        result("tg1_requests", "InternalError", &[(T, 50.0)]),
    ]);
    let cw = CloudWatch::answering(vec![("GetMetricData", page(results, None))]);
    let data = rt().block_on(metric_data(&cw.client, &query())).unwrap();
    assert_eq!(
        data.incomplete,
        ["tg0_target5xx: PartialData", "tg1_requests: InternalError"]
    );
    let blue = &data.minutes[BLUE];
    assert_eq!(blue.len(), 1);
    assert_eq!(blue[0].requests, Some(100.0));
    assert_eq!(blue[0].target_5xx, None, "a partial answer is no evidence");
    assert!(data.minutes[GREEN].is_empty());
}

#[test]
fn cloudwatch_throttling_is_retried_and_then_answers() {
    let results = all_complete_but(vec![result("tg0_requests", "Complete", &[(T, 5.0)])]);
    let cw = CloudWatch::answering(vec![
        ("GetMetricData", Answer::throttled()),
        ("GetMetricData", page(results, None)),
    ]);
    let data = rt().block_on(metric_data(&cw.client, &query())).unwrap();
    assert_eq!(cw.requests("GetMetricData").len(), 2);
    assert_eq!(data.minutes[BLUE][0].requests, Some(5.0));
}

#[test]
fn cloudwatch_throttling_that_persists_is_a_throttled_error() {
    // As CloudWatch sends it: the query-compatible code in a header too.
    let throttled = || Answer::throttled().with_header("x-amzn-query-error", "Throttling;Sender");
    let cw = CloudWatch::answering(vec![
        ("GetMetricData", throttled()),
        ("GetMetricData", throttled()),
        ("GetMetricData", throttled()),
    ]);
    let err = rt()
        .block_on(metric_data(&cw.client, &query()))
        .unwrap_err();
    assert!(err.is_throttled(), "{err}");
    assert!(err.to_string().contains("Rate exceeded"), "{err}");
    assert_eq!(cw.requests("GetMetricData").len(), 3, "every attempt used");
}

#[test]
fn cloudwatch_forbidden_query_is_a_denial_saying_what_to_grant() {
    let mut forbidden = result("tg1_p9900", "Forbidden", &[]);
    if let Value::Map(members) = &mut forbidden {
        members.push((
            text("Messages"),
            Value::Array(vec![map(vec![
                ("Code", text("Forbidden")),
                ("Value", text("Not authorized")),
            ])]),
        ));
    }
    let cw = CloudWatch::answering(vec![(
        "GetMetricData",
        page(all_complete_but(vec![forbidden]), None),
    )]);
    let err = rt()
        .block_on(metric_data(&cw.client, &query()))
        .unwrap_err();
    assert!(err.is_denied(), "{err}");
    let said = err.to_string();
    assert!(said.contains("tg1_p9900"), "{said}");
    assert!(said.contains("Forbidden: Not authorized"), "{said}");
    assert!(said.contains("cloudwatch:GetMetricData"), "{said}");
}

#[test]
fn cloudwatch_denying_the_call_says_what_to_grant() {
    let cw = CloudWatch::answering(vec![(
        "GetMetricData",
        Answer::error(
            "com.amazon.coral.service#AccessDeniedException",
            "User is not authorized to perform: cloudwatch:GetMetricData",
        )
        .with_header("x-amzn-query-error", "AccessDenied;Sender"),
    )]);
    let err = rt()
        .block_on(metric_data(&cw.client, &query()))
        .unwrap_err();
    assert!(err.is_denied(), "{err}");
    assert!(
        err.to_string()
            .contains("allow cloudwatch:GetMetricData to the credentials"),
        "{err}"
    );
    assert_eq!(cw.requests("GetMetricData").len(), 1, "a denial is final");
}

#[test]
fn an_answer_that_is_no_aws_error_names_its_http_status() {
    // An endpoint that is not CloudWatch (a proxy, another protocol):
    // a 404 with no error in a shape the SDK reads.
    let cw = CloudWatch::answering(vec![(
        "GetMetricData",
        Answer::Error {
            status: 404,
            headers: vec![],
            body: map(vec![]),
        },
    )]);
    let err = rt()
        .block_on(metric_data(&cw.client, &query()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(!err.contains("AWS gave no message"), "{err}");
}

#[test]
fn cloudwatch_more_queries_than_one_call_takes_are_not_sent() {
    // 2 target groups × (3 counts + 248 percentiles) = 502 queries.
    let q = MetricQuery {
        percentiles: (0..248).map(|p| 5000 + p).collect(),
        ..query()
    };
    let cw = CloudWatch::answering(vec![]);
    let err = rt().block_on(metric_data(&cw.client, &q)).unwrap_err();
    assert!(err.to_string().contains("502 queries"), "{err}");
    assert!(err.to_string().contains("at most 500"), "{err}");
    // Custom queries count too: 2 × (3 counts + 1 percentile + 247).
    let custom = MetricQuery {
        custom: (0..247)
            .map(|i| {
                CustomQuery::Expression(format!(
                    "FILL(SUM(SEARCH('{{Shop,Color}} Color=\"{{color}}\" M{i}', 'Sum', 60)), 0)"
                ))
            })
            .collect(),
        ..query()
    };
    let err = rt().block_on(metric_data(&cw.client, &custom)).unwrap_err();
    assert!(
        err.to_string()
            .contains("502 queries (2 target groups, 1 latency percentiles, 247 custom queries)"),
        "{err}"
    );
    assert!(cw.requests("GetMetricData").is_empty());
}
