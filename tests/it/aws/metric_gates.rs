//! Metric gates through the real SDK: moto for the load balancer, the
//! fleets and the parameters, and the tests' CloudWatch endpoint
//! (`cloudwatch/traffic.rs`) for the numbers, which it derives from users'
//! traffic through the weights and instances moto holds: what the test
//! sees is what cutover's own writes caused. A minute lasts half a second
//! (`CUTOVER_TEST_MINUTE_MS`, a switch of the test build), and moto's AWS
//! durations are compressed by the same factor, so a rollout of minutes
//! takes seconds. The SDK finds CloudWatch through
//! `AWS_ENDPOINT_URL_CLOUDWATCH`, as a user's would.

use super::Aws;
use crate::cloudwatch::traffic::{Image, MetricsOverMoto, Model};
use crate::cloudwatch::wire::field;
use crate::moto::Like;
use crate::scenario::{V1, V2};
use ciborium::Value;
use cutover::provider::aws::clock::{Clock, EPOCH_MS_ENV, MINUTE_MS_ENV};
use std::collections::BTreeMap;

/// One minute of the provider's (and moto's) time, in wall milliseconds.
const MINUTE_MS: u64 = 500;

/// Datapoints a GetMetricData page holds (AWS: 100,800): low, so that
/// every poll's answer comes in pages.
const PAGE: usize = 4;

const ERROR_RATE_GATE: &str = r#"[[rollout.gates]]
metric = "error_rate"
max = "1%"
max_above_baseline = "0.5%"
min_requests = 300
"#;

/// moto and its CloudWatch, on one compressed clock, with 6,000 requests
/// a minute on the production listener and each image serving as
/// `images` says; blue live on V1.
fn live(images: &[(&str, f64)]) -> (Aws, MetricsOverMoto) {
    let aws = Aws::like(Like {
        time_scale: MINUTE_MS as f64 / 60_000.0,
        ..Like::default()
    });
    let epoch = Clock::system().now_ms();
    let model = Model {
        load_balancer: "shop-alb".into(),
        port: 80,
        requests_per_minute: 6000.0,
        images: images
            .iter()
            .map(|(ami, error_rate)| {
                let serves = Image {
                    error_rate: *error_rate,
                    p99_ms: 140.0,
                };
                (ami.to_string(), serves)
            })
            .collect(),
    };
    let cloudwatch = MetricsOverMoto::start(
        &aws.moto.endpoint,
        model,
        Clock::compressed(epoch, MINUTE_MS),
        PAGE,
    );
    aws.set_env("AWS_ENDPOINT_URL_CLOUDWATCH", &cloudwatch.endpoint);
    aws.set_env(MINUTE_MS_ENV, MINUTE_MS.to_string());
    aws.set_env(EPOCH_MS_ENV, epoch.to_string());
    plan(&aws, V1);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    (aws, cloudwatch)
}

/// The scenarios' plan on `image` with the error-rate gate, a one-minute
/// bake, a health timeout of provider minutes, and blue kept an hour.
fn plan(aws: &Aws, image: &str) {
    plan_with(aws, image, "");
}

/// The same, with `gates` beside the error-rate gate.
fn plan_with(aws: &Aws, image: &str, gates: &str) {
    aws.plan(
        image,
        "1h",
        &[
            ("bake = \"1s\"", "bake = \"1m\""),
            ("health_timeout = \"20s\"", "health_timeout = \"10m\""),
            (
                "[teardown]",
                &format!("{ERROR_RATE_GATE}\n{gates}\n[teardown]"),
            ),
        ],
    );
}

#[test]
fn aws_a_release_failing_5_percent_of_requests_is_rolled_back_at_10_percent_with_its_numbers() {
    let (aws, cloudwatch) = live(&[(V2, 0.05)]);
    let blue = (aws.instances("blue"), aws.fleet("blue"));
    plan(&aws, V2);
    // `--endpoint-url` names moto for every service; CloudWatch's own
    // variable still sends CloudWatch to its endpoint.
    let endpoint = aws.moto.endpoint.clone();
    let run = aws.run(&["apply", "--auto-approve", "--endpoint-url", &endpoint]);
    run.expect(3).prints(&[
        "gate failed on green at 10%: metric error_rate",
        "green 5.00% of 1,800 requests",
        "vs blue 0.00% of 16,200 requests",
        "is remembered as rolled back",
    ]);
    assert_eq!(aws.weights(80), (100, 0), "production is home");
    assert_eq!(aws.active(), "blue");
    assert_eq!(
        (aws.instances("blue"), aws.fleet("blue")),
        blue,
        "blue's fleet untouched: the same instances, capacity and version"
    );
    // The history, from the release log's versions (GetParameterHistory)
    // and the launch template's (DescribeLaunchTemplateVersions).
    let run = aws.run(&["history", "--format", "json"]);
    run.expect(0);
    crate::output::validate_against("schemas/history.schema.json", &run.stdout);
    let h: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let releases = h["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 2, "{}", run.stdout);
    assert_eq!(
        (
            &releases[0]["image"],
            &releases[0]["now"],
            releases[0]["version"].as_i64()
        ),
        (&V2.into(), &"rolled_back".into(), Some(2)),
        "{}",
        run.stdout
    );
    let why = releases[0]["rolled_back"][0]["why"].as_str().unwrap();
    assert!(why.contains("green 5.00% of 1,800 requests"), "{why}");
    assert_eq!(releases[1]["now"], "live", "{}", run.stdout);
    assert_eq!(releases[1]["went_live"].as_array().unwrap().len(), 1);
    let (calls, pages) = cloudwatch.calls();
    assert!(
        pages > 0,
        "{calls} GetMetricData calls, none for a next page"
    );
}

#[test]
fn aws_a_good_release_is_promoted_on_the_evidence_of_its_traffic() {
    let (aws, cloudwatch) = live(&[(V1, 0.001), (V2, 0.001)]);
    plan(&aws, V2);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert_eq!(aws.active(), "green");
    assert_eq!(aws.weights(80), (0, 100));
    // Each step was judged on green's own requests at its weight.
    run.shows(&[
        "green 0.17% of 1,800 requests vs blue 0.09% of 16,200 requests: pass",
        "green 0.10% of 9,000 requests vs blue 0.10% of 9,000 requests: pass",
        // At 100% blue serves nothing: its minutes at 50% stand in.
        "green 0.10% of 18,000 requests vs blue's minutes before this step",
    ]);
    let (calls, pages) = cloudwatch.calls();
    assert!(
        pages > 0,
        "{calls} GetMetricData calls, none for a next page"
    );
}

#[test]
fn aws_custom_queries_reach_cloudwatch_filled_for_each_colour_in_the_one_call() {
    let (aws, cloudwatch) = live(&[(V2, 0.05)]);
    let gates = r#"[[rollout.gates]]
query = { namespace = "Shop", metric_name = "CheckoutFailures", dimensions = { Color = "{color}", TargetGroup = "{target_group}" }, stat = "Sum" }
name = "checkout failures"
per_request = true
max = "1%"

[[rollout.gates]]
query = { expression = "SUM(SEARCH('{Shop,LoadBalancer} MetricName=\"Refunds\" LoadBalancer=\"{load_balancer}\" Color=\"{color}\"', 'Sum', 60))" }
per_request = true
max = "1%"
"#;
    plan_with(&aws, V2, gates);
    // The error-rate gate catches V2; the custom gates read along with it.
    aws.run(&["apply", "--auto-approve"])
        .expect(3)
        .prints(&["gate failed on green at 10%: metric error_rate"]);
    let queries = cloudwatch.queries();
    let text = |q: &Value, path: &[&str]| -> Option<String> {
        let mut at = q;
        for name in path {
            at = field(at, name)?;
        }
        at.as_text().map(str::to_string)
    };
    let by_id = |id: &str| {
        queries
            .iter()
            .find(|q| text(q, &["Id"]).as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no query {id} in {queries:?}"))
            .clone()
    };
    // Green, the colour deployed, is the call's first target group.
    for (id, color) in [("tg0_c0", "green"), ("tg1_c0", "blue")] {
        let metric = field(field(&by_id(id), "MetricStat").unwrap(), "Metric")
            .unwrap()
            .clone();
        assert_eq!(text(&metric, &["Namespace"]).as_deref(), Some("Shop"));
        let dimensions: BTreeMap<String, String> = field(&metric, "Dimensions")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|d| (text(d, &["Name"]).unwrap(), text(d, &["Value"]).unwrap()))
            .collect();
        assert_eq!(dimensions["Color"], color, "{dimensions:?}");
        assert!(
            dimensions["TargetGroup"].starts_with(&format!("targetgroup/shop-{color}/")),
            "{dimensions:?}"
        );
    }
    for (id, color) in [("tg0_c1", "green"), ("tg1_c1", "blue")] {
        let expression = text(&by_id(id), &["Expression"]).unwrap();
        assert!(
            expression.contains(&format!("Color=\"{color}\"")),
            "{expression}"
        );
        assert!(
            expression.contains("LoadBalancer=\"app/shop-alb/"),
            "{expression}"
        );
    }
}
