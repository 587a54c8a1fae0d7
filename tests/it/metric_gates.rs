//! Metric gates on the sandbox (issue 20): green judged by its own traffic,
//! which the sandbox's traffic model sends through the weights cutover
//! wrote to the targets it made healthy, minute by minute on the virtual
//! clock, published as CloudWatch publishes (a minute late, zero counts
//! left out).

use crate::harness::{plan_toml, SandboxEnv};
use crate::scenario::{V1, V2, V3};
use cutover::model::Weights;
use cutover::provider::sandbox::{ImageTraffic, Traffic};

const ERROR_RATE_GATE: &str = r#"
[[rollout.gates]]
metric = "error_rate"
max = "1%"
max_above_baseline = "0.5%"
min_requests = 300
"#;

/// The scenarios' plan with metric gates (and `extra` in `[rollout]`).
fn plan(image: &str, rollout_extra: &str, gates: &str) -> String {
    plan_with(image, "0s", rollout_extra, gates)
}

/// The same, with the teardown delay as a knob.
fn plan_with(image: &str, teardown_delay: &str, rollout_extra: &str, gates: &str) -> String {
    let base = plan_toml(image, teardown_delay).replace(
        "health_timeout = \"10m\"\n",
        &format!("health_timeout = \"10m\"\n{rollout_extra}\n"),
    );
    format!("{base}\n{gates}\n")
}

/// Blue live on V1, with `requests_per_minute` of users and V2 failing
/// `v2_errors` of its requests.
fn live(requests_per_minute: f64, v2_errors: f64) -> SandboxEnv {
    live_with(
        requests_per_minute,
        ImageTraffic {
            error_rate: v2_errors,
            p99_ms: 140.0,
            ..ImageTraffic::default()
        },
    )
}

/// Blue live on V1, with `requests_per_minute` of users and V2 serving as `v2` says.
fn live_with(requests_per_minute: f64, v2: ImageTraffic) -> SandboxEnv {
    let env = SandboxEnv::new(&plan(V1, "", ""));
    env.edit(|w| {
        w.traffic = Some(Traffic {
            requests_per_minute,
            images: [(V2.to_string(), v2)].into(),
            ..Traffic::default()
        })
    });
    env.run(&["apply", "--auto-approve"]).expect(0);
    env
}

fn home() -> Weights {
    Weights {
        blue: 100,
        green: 0,
    }
}

#[test]
fn a_release_failing_5_percent_of_requests_is_rolled_back_at_10_percent_with_its_numbers() {
    let env = live(6000.0, 0.05);
    env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
    let run = env.run(&["apply", "--auto-approve"]);
    // The verdict names the gate, the window and both colours' numbers.
    run.expect(3).prints(&[
        "gate failed on green at 10%: metric error_rate",
        "green 5.00% of 1,800 requests",
        "vs blue 0.00% of 16,200 requests",
        "is remembered as rolled back",
    ]);
    assert_eq!(env.weights(), home());
    assert_eq!(env.active().as_deref(), Some("blue"));
}

#[test]
fn a_good_release_is_promoted_on_evidence_and_each_evaluation_is_shown() {
    let env = live(6000.0, 0.001);
    let latency = "[[rollout.gates]]\nmetric = \"latency\"\npercentile = 99\nmax = \"500ms\"\nmax_ratio = 1.5\n";
    env.set_plan(&plan(V2, "", &format!("{ERROR_RATE_GATE}{latency}")));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));
    assert_eq!(
        env.weights(),
        Weights {
            blue: 0,
            green: 100
        }
    );
    // Each evaluation as it happened, with its numbers.
    run.shows(&[
        "error_rate 00:02–00:05 UTC: green 0.17% of 1,800 requests vs blue 0.00% of 16,200 requests: pass",
        "latency p99 ",
        "green p99 140 ms",
        // At 100% blue serves nothing: its minutes before the step stand in.
        "vs blue's minutes before this step",
    ]);
}

#[test]
fn without_traffic_the_release_is_held_never_promoted_and_apply_resumes_judging() {
    let env = live(0.0, 0.0);
    env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
    // Before traffic moves, the plan says blue has nothing to compare with.
    let warned = "blue served 0 requests in the last 5m CloudWatch has whole, too few for the metric gates that compare green with it (error_rate needs 300 requests in its 3m window, about 0 requests at this rate): unless blue gets more traffic, only their own ceilings will judge green";
    env.run(&["plan"]).expect(0).shows(&[warned]);
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(1).shows(&[warned]);
    run.prints(&[
        "held at 10%: no evidence from metric error_rate",
        "`cutover promote` continues, `cutover rollback` goes home",
    ]);
    // Production stays at the step; the lock is released; nothing is blamed.
    let held = Weights {
        blue: 90,
        green: 10,
    };
    assert_eq!(env.weights(), held);
    assert_eq!(env.active().as_deref(), Some("blue"));
    assert!(!env.locked(), "a held run releases its lock");
    assert!(
        !run.stdout.contains("remembered as rolled back"),
        "{}",
        run.stdout
    );

    // `status` shows it held, and why; `drift` reports it.
    env.run(&["status"]).expect(0).prints(&[
        "held:          green runs release",
        "at 10% since 2026-01-01 00:01:30 UTC: no evidence from metric error_rate",
    ]);
    env.run(&["drift"])
        .expect(2)
        .prints(&["held at 10% on green, blue still active: held since"]);

    // Still no traffic: apply judges it again at 10%, and holds again.
    env.run(&["apply", "--auto-approve"])
        .expect(1)
        .prints(&["held at 10%"]);
    assert_eq!(env.weights(), held);

    // Users arrive: `cutover promote` continues, judging at 10% and on
    // to promotion on evidence.
    env.edit(|w| w.traffic.as_mut().unwrap().requests_per_minute = 6000.0);
    env.run(&["promote"]).expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));
    let status = env.run(&["status"]);
    assert!(!status.stdout.contains("held:"), "{}", status.stdout);
}

#[test]
fn without_traffic_and_on_no_evidence_rollback_production_goes_home_without_a_verdict() {
    let env = live(0.0, 0.0);
    env.set_plan(&plan(V2, "on_no_evidence = \"rollback\"", ERROR_RATE_GATE));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3);
    run.prints(&[
        "no evidence from metric error_rate (max 1%, max_above_baseline 0.5%; 3m windows of 300 requests) on green at 10% since",
        "This is not a verdict on release",
    ]);
    assert_eq!(env.weights(), home());
    // Not remembered: the next apply tries it again without --retry.
    let plan = env.run(&["plan"]);
    assert!(!plan.stdout.contains("rolled back"), "{}", plan.stdout);
}

#[test]
fn weights_that_do_not_reach_users_send_production_home_with_the_numbers() {
    let env = live(6000.0, 0.0);
    env.edit(|w| w.traffic.as_mut().unwrap().weights_ignored = true);
    env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3);
    run.prints(&[
        "the split at 10% is not real: green served 0.0% of",
        "This is not a verdict on release",
    ]);
    assert_eq!(env.weights(), home());
}

#[test]
fn get_metric_data_throttled_30_percent_of_the_time_changes_no_verdict() {
    let mut said = String::new();
    for (errors, code) in [(0.05, 3), (0.0, 0)] {
        let env = live(6000.0, errors);
        env.edit(|w| {
            w.faults.throttled.insert("GetMetricData".into(), 0.3);
            w.faults.seed = 7;
        });
        env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
        let run = env.run(&["apply", "--auto-approve"]);
        run.expect(code);
        if code == 3 {
            run.prints(&["green 5.00% of 1,800 requests"]);
        } else {
            assert_eq!(env.active().as_deref(), Some("green"));
        }
        said.push_str(&run.stderr);
    }
    // The throttles happened, and each was said as no evidence, not a verdict.
    assert!(
        said.contains("reading the metrics was throttled (Throttling: Rate exceeded"),
        "{said}"
    );
}

#[test]
fn a_failure_during_the_watch_after_promotion_sends_production_back() {
    // V2 serves well through the shift and starts failing 10% of its
    // requests after 28 minutes of production traffic: during the watch.
    let env = live_with(
        6000.0,
        ImageTraffic {
            error_rate: 0.10,
            p99_ms: 140.0,
            after_minutes: Some(28.0),
            ..ImageTraffic::default()
        },
    );
    env.set_plan(&plan_with(V2, "30m", "watch = \"15m\"", ERROR_RATE_GATE));
    let plan = env.run(&["plan"]);
    plan.expect(0).prints(&[
        "watch green at 100% for 15m after promotion",
        "watch: the gates go on for 15m after promotion; a failure sends production back to blue",
    ]);
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3).prints(&[
        "gate failed on green at 100%: metric error_rate",
        "vs blue's minutes before this step 0.00% of 9,000 requests: FAIL",
        "Production traffic: rolled back to blue in one call; now 100% blue",
        "green failed during the watch after its promotion (rollout.watch): blue is the active colour again",
        "is remembered as rolled back",
    ]);
    assert_eq!(env.weights(), home());
    assert_eq!(env.active().as_deref(), Some("blue"));
    // Blue kept its capacity through the watch, and a second rollback does
    // not go back to the release that failed.
    assert_eq!(env.fleet("blue").map(|f| f.0), Some(2));
    env.run(&["rollback"]).expect(1);
}

#[test]
fn after_the_watch_sends_production_back_the_scaling_policy_goes_with_it() {
    let env = live_with(
        6000.0,
        ImageTraffic {
            error_rate: 0.10,
            p99_ms: 140.0,
            after_minutes: Some(28.0),
            ..ImageTraffic::default()
        },
    );
    let scaling = "[fleet.scaling]\ntarget_cpu = 50\n";
    let gates = format!("{ERROR_RATE_GATE}\n{scaling}");
    env.set_plan(&plan_with(V1, "30m", "watch = \"15m\"", &gates));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&plan_with(V2, "30m", "watch = \"15m\"", &gates));
    env.run(&["apply", "--auto-approve"]).expect(3);
    assert_eq!(env.active().as_deref(), Some("blue"));
    let policy = |c: &str| env.world().fleets[&format!("shop-{c}")].scaling.is_some();
    assert!(policy("blue"), "blue serves again: it scales again");
    assert!(!policy("green"), "idle green does not scale itself in");
}

#[test]
fn a_watch_failure_whose_way_back_is_refused_keeps_blue_and_says_so() {
    let env = live_with(
        6000.0,
        ImageTraffic {
            error_rate: 0.10,
            p99_ms: 140.0,
            after_minutes: Some(28.0),
            ..ImageTraffic::default()
        },
    );
    env.set_plan(&plan_with(V2, "30m", "watch = \"15m\"", ERROR_RATE_GATE));
    // The shift's five listener writes (the test listener, four steps) go
    // through; then the permission to move weights is taken away, so the
    // way back after the watch's verdict is refused.
    let made = env.calls("ModifyListener");
    env.edit(|w| {
        w.faults
            .denied_after
            .insert("ModifyListener".into(), made + 5);
    });
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(1).prints(&[
        "gate failed on green at 100%: metric error_rate",
        "ROLLBACK FAILED",
        "green failed during the watch after its promotion (rollout.watch), and production could not be sent back",
    ]);
    let all_green = Weights {
        blue: 0,
        green: 100,
    };
    assert_eq!(env.weights(), all_green);
    assert_eq!(env.active().as_deref(), Some("green"));
    env.edit(|w| w.faults.denied_after.clear());

    // The verdict is not forgotten: plan and drift say the release failed
    // and that blue is kept; long after the teardown delay, apply still
    // does not tear blue down.
    let kept = "green serves release";
    env.run(&["plan"])
        .expect(0)
        .prints(&[kept, "blue is kept and not torn down"]);
    env.run(&["drift"]).expect(2).prints(&[kept]);
    env.edit(|w| w.settings.virtual_now_ms += 60 * 60 * 1000);
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(env.fleet("blue").map(|f| f.0), Some(2), "blue kept");

    // The promotion record still names blue: rollback goes there.
    env.run(&["rollback"])
        .expect(0)
        .prints(&["100% of production on blue"]);
    assert_eq!(env.weights(), home());
    assert_eq!(env.active().as_deref(), Some("blue"));
}

#[test]
fn a_refused_rollback_leaves_the_promotion_record_as_it_was() {
    // Blue → green (v2) promoted: the record says blue served before.
    let env = live(6000.0, 0.0);
    env.set_plan(&plan_with(V2, "30m", "", ""));
    env.run(&["apply", "--auto-approve"]).expect(0);
    let record = || {
        env.world().parameters["/cutover/shop/active-previous"]
            .value
            .clone()
    };
    let before = record();
    // A rollback whose flip is refused: the record it sent with the flip
    // names a promotion that did not happen, so the old one goes back.
    env.edit(|w| w.faults.denied.push("ModifyListener".into()));
    env.run(&["rollback"]).expect(1);
    assert_eq!(env.active().as_deref(), Some("green"));
    let after: serde_json::Value = serde_json::from_str(&record()).unwrap();
    let was: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(after["promoted"], was["promoted"], "{after}");
    assert_eq!(after["color"], was["color"], "{after}");
    env.edit(|w| w.faults.denied.clear());
    env.run(&["rollback"])
        .expect(0)
        .prints(&["100% of production on blue"]);
}

/// A custom gate on the checkout failures the app publishes per colour,
/// per request: at most 10%, and 1.5 × blue's in the same minutes.
const CHECKOUT_GATE: &str = r#"
[[rollout.gates]]
query = { namespace = "Shop", metric_name = "CheckoutFailures", dimensions = { Color = "{color}" }, stat = "Sum" }
name = "checkout failures"
per_request = true
max = "10%"
max_ratio = 1.5
min_requests = 300
"#;

/// Blue live on V1, 6,000 requests a minute; V1's app and V2's publish
/// CheckoutFailures at these rates per request.
fn live_checkouts(v1: f64, v2: f64) -> SandboxEnv {
    let env = SandboxEnv::new(&plan(V1, "", ""));
    let checkouts = |rate: f64| ImageTraffic {
        metrics: [("CheckoutFailures".to_string(), rate)].into(),
        ..ImageTraffic::default()
    };
    env.edit(|w| {
        w.traffic = Some(Traffic {
            requests_per_minute: 6000.0,
            images: [
                (V1.to_string(), checkouts(v1)),
                (V2.to_string(), checkouts(v2)),
            ]
            .into(),
            ..Traffic::default()
        })
    });
    env.run(&["apply", "--auto-approve"]).expect(0);
    env
}

#[test]
fn a_release_failing_10_times_as_many_checkouts_is_rolled_back_by_a_custom_gate() {
    let env = live_checkouts(0.005, 0.05);
    env.set_plan(&plan(V2, "", CHECKOUT_GATE));
    // The plan says what the gate reads and how it judges.
    env.run(&["plan"]).expect(0).prints(&[
        "metric checkout failures (Shop CheckoutFailures Sum, Color={color}, per request; max 10%, max_ratio 1.5; 3m windows of 300 requests)",
    ]);
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3).prints(&[
        "gate failed on green at 10%: metric checkout failures",
        "checkout failures 00:02–00:05 UTC: green 5.00% per request of 1,800 requests vs blue 0.50% per request of 16,200 requests: FAIL",
        "more than 1.5 × blue",
        "is remembered as rolled back",
    ]);
    assert_eq!(env.weights(), home());
    assert_eq!(env.active().as_deref(), Some("blue"));
}

#[test]
fn a_good_release_passes_a_custom_gate_and_each_evaluation_is_shown() {
    let env = live_checkouts(0.005, 0.005);
    env.set_plan(&plan(V2, "", CHECKOUT_GATE));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));
    run.shows(&[
        "checkout failures 00:02–00:05 UTC: green 0.50% per request of 1,800 requests vs blue 0.50% per request of 16,200 requests: pass",
        "checkout failures pass",
    ]);
}

#[test]
fn a_custom_gate_on_a_metric_nobody_publishes_holds_the_release_for_want_of_evidence() {
    let env = live_checkouts(0.005, 0.005);
    let gate = r#"
[[rollout.gates]]
query = { namespace = "Shop", metric_name = "CartAbandons", dimensions = { Color = "{color}" }, stat = "Average" }
max = 0.2
"#;
    env.set_plan(&plan(V2, "", gate));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(1).prints(&[
        "held at 10%: no evidence from metric CartAbandons",
        "its query has no datapoint in it",
    ]);
    assert_eq!(
        env.weights(),
        Weights {
            blue: 90,
            green: 10
        }
    );
    assert!(
        !run.stdout.contains("remembered as rolled back"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_release_rolled_back_by_a_gate_leaves_a_report_of_its_numbers() {
    let env = live(6000.0, 0.05);
    env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
    let dir = env.dir.path().join("report");
    // A folder an earlier run recorded into, with a gate this one lacks,
    // and a file of someone else's.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("gate-2-latency-p99.svg"), "<svg/>").unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let run = env.run(&["apply", "--auto-approve", "--report", dir.to_str().unwrap()]);
    run.expect(3);
    assert!(
        !dir.join("gate-2-latency-p99.svg").exists(),
        "a stale chart"
    );
    assert!(dir.join("notes.txt").exists(), "someone else's file went");
    let json = std::fs::read_to_string(dir.join("rollout.json")).expect("rollout.json");
    crate::output::validate_against("schemas/report.schema.json", &json);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["app"], "shop");
    assert_eq!(
        (report["from"].as_str(), report["to"].as_str()),
        (Some("blue"), Some("green"))
    );
    // The failing evaluation, with both colours' numbers and the limit.
    let evaluations = report["evaluations"].as_array().unwrap();
    let failed = evaluations
        .iter()
        .find(|e| e["verdict"] == "fail")
        .expect("a failed evaluation");
    assert_eq!(failed["gate"], "error_rate");
    assert_eq!(failed["weight"], 10);
    assert_eq!(failed["green"]["value"], 0.05);
    assert_eq!(failed["green"]["requests"], 1800.0);
    assert_eq!(failed["blue"]["value"], 0.0);
    assert_eq!(failed["limits"]["max"], 0.01);
    // The steps as they went, the shift to 10% with its weights.
    let steps = report["steps"].as_array().unwrap();
    assert!(
        steps.iter().any(|s| s["weights"]["green"] == 10),
        "{steps:?}"
    );
    assert!(steps.iter().all(|s| s["ended_at"].is_i64()), "{steps:?}");
    // The outcome, and production as read after the run.
    let outcome = &report["outcome"];
    assert_eq!(outcome["result"], "rolled_back");
    assert_eq!(outcome["exit_code"], 3);
    assert_eq!(outcome["weights"]["blue"], 100);
    assert_eq!(outcome["active"], "blue");
    // The summary: the verdict first, the failure, the tables.
    let summary = std::fs::read_to_string(dir.join("summary.md")).expect("summary.md");
    assert!(
        summary.starts_with("## cutover: shop: release "),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .next()
            .unwrap()
            .ends_with("blue → green: rolled back (exit 3)"),
        "{summary}"
    );
    assert!(summary.contains("**Failed:** error_rate"), "{summary}");
    assert!(summary.contains("| error_rate |"), "{summary}");
    assert!(summary.contains("**FAIL**"), "{summary}");
    assert!(summary.contains("report.html"), "{summary}");
    // The charts: production's weights, and the gate's windows with the
    // failing one shaded in the failure's red.
    let weights = std::fs::read_to_string(dir.join("weights.svg")).expect("weights.svg");
    assert!(weights.starts_with("<svg"), "{weights}");
    assert!(weights.contains("share of production"), "{weights}");
    let gate = std::fs::read_to_string(dir.join("gate-1-error-rate.svg")).expect("gate chart");
    assert!(
        gate.contains(r##"fill="#D62728""##),
        "no failed window drawn: {gate}"
    );
    // One page with every chart inline, fetching nothing and running nothing.
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains("Content-Security-Policy"), "{html}");
    assert_eq!(html.matches("<svg").count(), 2, "{html}");
    for fetches in ["<script", "src=", "href=", "url("] {
        assert!(!html.contains(fetches), "report.html has {fetches}");
    }
    assert!(html.contains("rolled back (exit 3)"), "{html}");
}

#[test]
fn history_tells_which_release_a_gate_rolled_back_with_its_numbers_and_which_a_person_did() {
    let env = live(6000.0, 0.05);
    env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
    env.run(&["apply", "--auto-approve"]).expect(3);
    // A good release after it goes live; then someone sends production back.
    env.set_plan(&plan_with(V3, "30m", "", ERROR_RATE_GATE));
    env.run(&["apply", "--auto-approve"]).expect(0);
    let dir = env.dir.path().join("rollback-report");
    env.run(&["rollback", "--report", dir.to_str().unwrap()])
        .expect(0);

    let run = env.run(&["history", "--format", "json"]);
    run.expect(0);
    crate::output::validate_against("schemas/history.schema.json", &run.stdout);
    let h: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let releases = h["releases"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = releases
        .iter()
        .map(|r| (r["image"].as_str().unwrap(), r["now"].as_str().unwrap()))
        .collect();
    // Newest first: the one a person rolled back, the one the gate did, and
    // the first, live again.
    assert_eq!(
        summary,
        [(V3, "rolled_back"), (V2, "rolled_back"), (V1, "live")],
        "{}",
        run.stdout
    );
    let why = |i: usize| releases[i]["rolled_back"][0]["why"].as_str().unwrap();
    assert!(
        why(0).contains("rolled it back (`cutover rollback`)"),
        "{}",
        why(0)
    );
    assert!(
        why(1).contains("metric error_rate") && why(1).contains("green 5.00% of 1,800 requests"),
        "{}",
        why(1)
    );
    assert_eq!(releases[0]["went_live"].as_array().unwrap().len(), 1);
    assert!(releases[1]["went_live"].as_array().unwrap().is_empty());
    // The same in words and as a table.
    env.run(&["history"]).expect(0).prints(&[
        "shop: 3 releases, newest first",
        "rolled back  ",
        "FAIL: green 5.00% of 1,800 requests",
        "went live",
    ]);
    env.run(&["history", "--format", "markdown"])
        .expect(0)
        .prints(&["| release | now |", "| rolled back |"]);
    // Without the log (deleted by hand, or never written), the fleet's
    // mark still says the last rollback.
    env.edit(|w| {
        w.parameters.remove("/cutover/shop/active-history");
    });
    let run = env.run(&["history", "--format", "json"]);
    let h: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let v3 = h["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["image"] == V3)
        .unwrap();
    assert_eq!(v3["now"], "rolled_back", "{}", run.stdout);
    assert!(
        v3["rolled_back"][0]["why"]
            .as_str()
            .unwrap()
            .contains("cutover rollback"),
        "{}",
        run.stdout
    );

    // The rollback's own record.
    let json = std::fs::read_to_string(dir.join("rollout.json")).expect("rollout.json");
    crate::output::validate_against("schemas/report.schema.json", &json);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["kind"], "rollback");
    assert_eq!(
        (report["from"].as_str(), report["to"].as_str()),
        (Some("green"), Some("blue"))
    );
    assert_eq!(report["outcome"]["result"], "rolled_back");
    assert_eq!(report["outcome"]["exit_code"], 0);
    assert_eq!(report["outcome"]["weights"]["blue"], 100);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("green → blue: rolled back (exit 0)"),
        "{summary}"
    );
}

#[test]
fn a_release_a_gate_rolled_back_stays_rejected_after_its_colour_took_another_and_blue_is_blamed_as_blue(
) {
    let env = live(6000.0, 0.05);
    env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
    env.run(&["apply", "--auto-approve"]).expect(3);
    // A good release goes live on green, the colour V2 was rolled back on.
    env.set_plan(&plan(V3, "", ERROR_RATE_GATE));
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));
    // The plan goes back to V2: not deployed again without --retry.
    env.set_plan(&plan(V2, "", ERROR_RATE_GATE));
    let again = env.run(&["apply", "--auto-approve"]);
    again.expect(0).prints(&["--retry"]);
    assert_eq!(
        env.weights(),
        Weights {
            blue: 0,
            green: 100
        },
        "{}",
        again.stdout
    );
    // With --retry it goes to blue, and the verdict names blue as the
    // colour judged and green as its baseline.
    let retried = env.run(&["apply", "--auto-approve", "--retry"]);
    retried.expect(3).prints(&[
        "gate failed on blue at 10%",
        "blue 5.00% of 1,800 requests vs green 0.00% of 16,200 requests",
        "FAIL: blue 5.00% of 1,800 requests is over its ceiling",
    ]);
    assert!(
        !retried.stdout.contains("FAIL: green"),
        "{}",
        retried.stdout
    );
}

#[test]
fn a_rollback_whose_flip_was_denied_is_not_in_the_release_log() {
    let env = live(6000.0, 0.0);
    env.set_plan(&plan_with(V2, "30m", "", ERROR_RATE_GATE));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.edit(|w| w.faults.denied = vec!["ModifyListener".into()]);
    env.run(&["rollback"]).expect(1);
    let run = env.run(&["history", "--format", "json"]);
    let h: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let v2 = &h["releases"][0];
    assert_eq!(
        (&v2["image"], &v2["now"]),
        (&V2.into(), &"live".into()),
        "{}",
        run.stdout
    );
    assert!(
        v2["rolled_back"].as_array().unwrap().is_empty(),
        "{}",
        run.stdout
    );
    // Once it goes through, it is.
    env.edit(|w| w.faults.denied.clear());
    env.run(&["rollback"]).expect(0);
    let run = env.run(&["history", "--format", "json"]);
    let h: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(h["releases"][0]["now"], "rolled_back", "{}", run.stdout);
    assert_eq!(h["releases"][0]["rolled_back"].as_array().unwrap().len(), 1);
}

/// A weekend morning in Berlin; the sandbox's clock starts on a Thursday.
const WEEKEND_WINDOW: &str =
    r#"window = { days = "Sat-Sun", hours = "09:00-10:00", timezone = "Europe/Berlin" }"#;

#[test]
fn a_release_outside_its_window_is_refused_with_the_next_opening_unless_a_reason_is_given() {
    let env = live(6000.0, 0.0);
    env.set_plan(&plan(V2, WEEKEND_WINDOW, ""));
    let refused = env.run(&["apply", "--auto-approve"]);
    refused.expect(1);
    assert!(
        refused.stderr.contains("the deploy window (Sat-Sun 09:00-10:00 Europe/Berlin) is closed: it opens next at 2026-01-03 09:00 CET (08:00 UTC)"),
        "{}",
        refused.stderr
    );
    assert_eq!(env.weights(), home(), "nothing moved");
    // An emergency fix goes out, and the release log says who and why.
    env.run(&[
        "apply",
        "--auto-approve",
        "--ignore-window",
        "hotfix for INC-42",
    ])
    .expect(0);
    let run = env.run(&["history", "--format", "json"]);
    let h: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let why = h["releases"][0]["went_live"][0]["why"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains("deployed outside its window by") && why.contains("hotfix for INC-42"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_rollout_still_running_when_its_window_closes_is_held_at_its_next_step() {
    // The sandbox's clock starts on Thursday 2026-01-01 at 01:00:45 in
    // Berlin: the window is open, and closes during the shift's bakes.
    let env = live(6000.0, 0.0);
    let window = r#"window = { days = "Thu", hours = "01:00-01:08", timezone = "Europe/Berlin" }"#;
    env.set_plan(&plan(V2, window, ""));
    let held = env.run(&["apply", "--auto-approve"]);
    held.expect(1).prints(&[
        "Apply held at step",
        "the deploy window (Thu 01:00-01:08 Europe/Berlin) is closed: it opens next at 2026-01-08 01:00 CET (00:00 UTC)",
        "no further step forward and nothing torn down",
    ]);
    let w = env.weights();
    assert!(
        w.green > 0 && w.green < 100,
        "held mid-shift, neither home nor promoted: {w:?}"
    );
    assert_eq!(env.active().as_deref(), Some("blue"));
    // Held, not blamed: the release is not remembered as rolled back, and
    // an emergency finish goes on from the split it was held at.
    env.run(&[
        "apply",
        "--auto-approve",
        "--ignore-window",
        "finish INC-9 fix",
    ])
    .expect(0);
    assert_eq!(
        env.weights(),
        Weights {
            blue: 0,
            green: 100
        }
    );
}

#[test]
fn a_closed_window_neither_refuses_nor_holds_an_in_place_change() {
    // Thursday night in Berlin, the window Mondays only: a capacity change
    // is not a deployment, at the start or at a step boundary.
    let env = live(6000.0, 0.0);
    let window = r#"window = { days = "Mon", hours = "09:00-16:00", timezone = "Europe/Berlin" }"#;
    env.set_plan(&plan(V1, window, "").replace("desired_capacity = 2", "desired_capacity = 3"));
    env.run(&["apply", "--auto-approve"])
        .expect(0)
        .prints(&["Apply complete"]);
    assert_eq!(env.fleet("blue").map(|f| f.0), Some(3));
}
