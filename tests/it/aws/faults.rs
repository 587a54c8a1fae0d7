//! AWS as it really behaves, through the test server's fault layer:
//! answers lost after the work was done, throttling, 500s, resets, denied
//! writes. A whole lifecycle converges, nothing is created twice, and
//! `plan --detailed-exitcode` finds nothing left to do.

use super::Aws;
use serde_json::json;

impl Aws {
    /// Names of the resources cutover created, one entry per resource:
    /// a name twice means created twice.
    pub(super) fn inventory(&self) -> Vec<String> {
        let lb = self.lb_arn();
        self.moto.rt.block_on(async {
            let mut names = Vec::new();
            let tgs = self.moto.elb.describe_target_groups().send().await.unwrap();
            for tg in tgs.target_groups() {
                names.push(format!("target group {}", tg.target_group_name().unwrap()));
            }
            let listeners = self
                .moto
                .elb
                .describe_listeners()
                .load_balancer_arn(&lb)
                .send()
                .await
                .unwrap();
            for l in listeners.listeners() {
                names.push(format!("listener :{}", l.port().unwrap()));
            }
            let groups = self
                .moto
                .asg
                .describe_auto_scaling_groups()
                .send()
                .await
                .unwrap();
            for g in groups.auto_scaling_groups() {
                names.push(format!("group {}", g.auto_scaling_group_name().unwrap()));
            }
            let templates = self
                .moto
                .ec2
                .describe_launch_templates()
                .send()
                .await
                .unwrap();
            for t in templates.launch_templates() {
                names.push(format!(
                    "launch template {}",
                    t.launch_template_name().unwrap()
                ));
            }
            names.sort();
            names
        })
    }

    /// What a test can count of what cutover made: [`Aws::inventory`],
    /// each launch template version, and the SSM parameters under
    /// /cutover/shop (the active colour, the promotion record; never a
    /// lock left behind).
    pub(super) fn inventory_all(&self) -> Vec<String> {
        let mut all = self.inventory();
        all.push(format!(
            "launch template shop: {} versions",
            self.launch_template_versions()
        ));
        all.extend(
            self.parameters()
                .into_iter()
                .map(|p| format!("parameter {p}")),
        );
        all
    }

    /// The rolled-back marks on shop's groups.
    pub(super) fn rolled_back_marks(&self) -> Vec<String> {
        ["blue", "green"]
            .into_iter()
            .filter_map(|c| self.group(c))
            .flat_map(|g| {
                let name = g.auto_scaling_group_name().unwrap_or_default().to_string();
                g.tags()
                    .iter()
                    .filter(|t| {
                        t.key()
                            .is_some_and(|k| k.starts_with("cutover:rolled-back"))
                    })
                    .map(move |t| format!("{name}: {}", t.key().unwrap_or_default()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// What one clean lifecycle of `releases` releases leaves: each resource
/// once, one template version per release, the active colour, the release
/// log and the promotion record, no lock.
fn made_by_clean_runs(releases: usize) -> Vec<String> {
    let mut all: Vec<String> = CREATED.iter().map(|s| s.to_string()).collect();
    all.push(format!("launch template shop: {releases} versions"));
    all.push("parameter /cutover/shop/active".into());
    all.push("parameter /cutover/shop/active-history".into());
    all.push("parameter /cutover/shop/active-previous".into());
    all
}

const CREATED: [&str; 7] = [
    "group shop-blue",
    "group shop-green",
    "launch template shop",
    "listener :80",
    "listener :8080",
    "target group shop-blue",
    "target group shop-green",
];

#[test]
fn aws_a_lifecycle_converges_when_the_first_answer_to_every_write_is_lost() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    // Every write is carried out, and the caller hears nothing the first
    // time; the SDK sends it again.
    aws.moto.faults(json!([
        {"kind": "drop", "action": "writes", "first_of_each": true}
    ]));
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (100, 0));
    aws.plan("ami-0000000000000002", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.active(), "green");
    // A third release back onto blue, kept for an hour, then rolled back.
    aws.plan("ami-0000000000000003", "1h", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!((aws.weights(80), aws.active()), ((100, 0), "blue".into()));
    aws.run(&["rollback"]).expect(0);
    assert_eq!((aws.weights(80), aws.active()), ((0, 100), "green".into()));
    let stats = aws.moto.fault_stats();
    assert!(stats["faults"]["drop"].as_u64().unwrap() >= 10, "{stats}");
    aws.moto.faults(json!([]));
    // Nothing made twice: one version per release, though every create
    // was sent twice (the same client token both times).
    assert_eq!(aws.inventory_all(), made_by_clean_runs(3));
    let calls = aws.moto.calls();
    assert!(
        calls["ec2:CreateLaunchTemplateVersion"].as_u64() >= Some(4),
        "{calls}"
    );
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

/// AWS on a bad day: throttling, 500s, resets and lost answers, at rates
/// seeded so a failure repeats.
fn bad_day() -> serde_json::Value {
    json!([
        {"kind": "throttle", "rate": 0.15},
        {"kind": "500", "rate": 0.05},
        {"kind": "reset", "rate": 0.02},
        {"kind": "drop", "rate": 0.03}
    ])
}

impl Aws {
    /// `cutover ARGS…` with `rules` in force; the test's own reads after it
    /// see AWS on a good day.
    fn run_through(&self, rules: serde_json::Value, args: &[&str]) -> crate::harness::Run {
        self.moto.faults(rules);
        let run = self.run(args);
        self.moto.faults(json!([]));
        run
    }
}

#[test]
fn aws_a_lifecycle_converges_through_throttling_500s_resets_and_lost_answers() {
    // One seed here (each costs ~40 s); the sandbox runs several.
    for seed in [1] {
        let aws = Aws::like(crate::moto::Like {
            seed,
            ..Default::default()
        });
        aws.plan("ami-0000000000000001", "0s", &[]);
        aws.run_through(bad_day(), &["apply", "--auto-approve"])
            .expect(0);
        assert_eq!((aws.weights(80), aws.active()), ((100, 0), "blue".into()));
        aws.plan("ami-0000000000000002", "1h", &[]);
        aws.run_through(bad_day(), &["apply", "--auto-approve"])
            .expect(0);
        assert_eq!((aws.weights(80), aws.active()), ((0, 100), "green".into()));
        aws.run_through(bad_day(), &["rollback"]).expect(0);
        assert_eq!((aws.weights(80), aws.active()), ((100, 0), "blue".into()));
        // The rolled-back release is not live: drift says so (exit 2),
        // with no other finding.
        let drift = aws.run_through(bad_day(), &["drift"]);
        drift.expect(2);
        assert!(
            drift.stdout.contains("1 drift finding")
                && drift.stdout.contains("is not live: it was rolled back at"),
            "seed {seed}: {}",
            drift.stdout
        );
        let stats = aws.moto.fault_stats();
        for kind in ["throttle", "500", "reset", "drop"] {
            assert!(
                stats["faults"][kind].as_u64() > Some(0),
                "seed {seed}: {stats}"
            );
        }
        assert_eq!(aws.inventory_all(), made_by_clean_runs(2), "seed {seed}");
        aws.run(&["plan", "--detailed-exitcode"]).expect(0);
    }
}

#[test]
fn aws_after_a_denied_listener_write_the_next_apply_deploys_the_release() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan("ami-0000000000000002", "0s", &[]);
    let denied = aws.run_through(
        json!([{"kind": "deny", "service": "elbv2", "action": "ModifyListener", "times": 1}]),
        &["apply", "--auto-approve"],
    );
    denied.expect(3);
    assert!(
        denied
            .stdout
            .contains("ModifyListener failed: AccessDenied"),
        "{}",
        denied.stdout
    );
    assert!(
        denied.stdout.contains("This is not a verdict on release"),
        "{}",
        denied.stdout
    );
    assert_eq!(aws.weights(80), (100, 0));
    // No --retry: a denied call said nothing about the release.
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!((aws.weights(80), aws.active()), ((0, 100), "green".into()));
}

#[test]
fn aws_a_failed_launch_ends_the_health_wait_with_aws_reason_and_is_no_verdict() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan("ami-0000000000000002", "0s", &[]);
    aws.moto.failing_images(&["ami-0000000000000002"]);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(3);
    for said in [
        "shop-green could not launch instances: The image id '[ami-0000000000000002]' does not exist. Launching EC2 instance failed.",
        "Auto Scaling's activity: Launching a new EC2 instance.",
        "Check that the plan's image exists in this region",
        "This is not a verdict on release",
    ] {
        assert!(run.stdout.contains(said), "{said:?} in {}", run.stdout);
    }
    // The failed activity ended the wait, not the health timeout.
    assert!(
        !run.stdout.contains("was not healthy within"),
        "{}",
        run.stdout
    );
    assert_eq!((aws.weights(80), aws.active()), ((100, 0), "blue".into()));
    // Once the image launches, the next apply deploys it without --retry.
    aws.moto.failing_images(&[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!((aws.weights(80), aws.active()), ((0, 100), "green".into()));
}

impl Aws {
    /// Instance ids of shop-<color>'s targets that are healthy.
    fn healthy_targets(&self, color: &str) -> Vec<String> {
        use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;
        self.targets(color)
            .iter()
            .filter(|d| {
                d.target_health().and_then(|h| h.state()) == Some(&TargetHealthStateEnum::Healthy)
            })
            .map(|d| d.target().unwrap().id().unwrap().to_string())
            .collect()
    }
}

#[test]
fn aws_a_release_onto_a_colour_still_running_an_older_one_is_served_only_by_its_own_instances() {
    // Kept an hour after promotion: blue still runs release 1 when release 3
    // comes, and Auto Scaling acts a second after each call.
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "1h", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan("ami-0000000000000002", "1h", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    let release_1 = aws.instances("blue");
    assert_eq!(release_1.len(), 2);
    aws.plan("ami-0000000000000003", "1h", &[]);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert!(
        run.stdout
            .contains("scale shop-blue to zero and wait until its old instances are gone"),
        "{}",
        run.stdout
    );
    assert_eq!((aws.weights(80), aws.active()), ((100, 0), "blue".into()));
    let group = aws.group("blue").unwrap();
    assert_eq!(group.launch_template().unwrap().version(), Some("3"));
    for i in group.instances() {
        assert_eq!(
            i.launch_template().and_then(|l| l.version()),
            Some("3"),
            "{:?} runs release 3's version",
            i.instance_id()
        );
    }
    let serving = aws.healthy_targets("blue");
    assert_eq!(serving.len(), 2, "{serving:?}");
    for id in &serving {
        assert!(
            !release_1.contains(id),
            "{id} of release 1 serves release 3"
        );
    }
}

#[test]
fn aws_a_launch_template_auto_scaling_does_not_see_yet_is_waited_for() {
    // The first two times a group is created or updated, Auto Scaling
    // answers as AWS does right after a launch template version is made.
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.moto.faults(json!([
        {"kind": "unseen", "service": "autoscaling", "action": "CreateAutoScalingGroup", "times": 2}
    ]));
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert!(
        run.stderr.contains("not visible to AWS yet (it is eventually consistent), trying again: CreateAutoScalingGroup answered ValidationError: You must use a valid fully-formed launch template."),
        "{}",
        run.stderr
    );
    assert_eq!(aws.moto.fault_stats()["faults"]["unseen"], 2);
    assert_eq!(aws.weights(80), (100, 0));
    let made: Vec<&str> = CREATED
        .into_iter()
        .filter(|r| *r != "group shop-green")
        .collect();
    assert_eq!(aws.inventory(), made, "a first deploy, each made once");
}

#[test]
fn aws_a_promotion_whose_answers_are_all_lost_is_read_back_and_the_release_is_live() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan("ami-0000000000000002", "0s", &[]);
    // Every sending of the promotion (PutParameter of the active colour,
    // green) is carried out, and its answer dropped: the SDK's retries and
    // cutover's own all go unanswered.
    let run = aws.run_through(
        json!([{"kind": "drop", "action": "PutParameter", "body_contains": "\"Value\":\"green\""}]),
        &["apply", "--auto-approve"],
    );
    run.expect(0);
    assert!(
        run.stderr.contains("the answer was lost; read back"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("green is live with release"),
        "{}",
        run.stdout
    );
    assert_eq!((aws.weights(80), aws.active()), ((0, 100), "green".into()));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn aws_a_way_home_whose_answers_are_all_lost_exits_3_only_when_home() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[(
            "[teardown]",
            "[[rollout.gates]]\ncommand = [\"sh\", \"-c\", \"test $CUTOVER_WEIGHT -lt 25\"]\n\n[teardown]",
        )],
    );
    // Every listener write is carried out and its answer dropped, the way
    // home's too: the read-back says where production is.
    let run = aws.run_through(
        json!([{"kind": "drop", "action": "ModifyListener"}]),
        &["apply", "--auto-approve"],
    );
    run.expect(3);
    assert!(
        run.stdout
            .contains("rolled back to blue in one call; now 100% blue."),
        "{}",
        run.stdout
    );
    assert_eq!((aws.weights(80), aws.active()), ((100, 0), "blue".into()));
}

#[test]
fn aws_listener_reads_that_lag_writes_do_not_stop_a_release() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    // Longer than three quick reads two seconds apart: what stopped
    // releases at 10% blaming "someone else".
    aws.moto.stale_listener_reads(8.0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("steps = [10, 25, 50, 100]", "steps = [50, 100]")],
    );
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    aws.moto.stale_listener_reads(0.0);
    assert_eq!((aws.weights(80), aws.active()), ((0, 100), "green".into()));
}

#[test]
fn aws_status_in_an_outage_stops_retrying_within_a_minute_and_says_aws_is_failing() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    // A regional outage: every call answered with a 500. The real backoff
    // (no test cap): 25 attempts a call would take many minutes.
    aws.moto.faults(json!([{"kind": "500"}]));
    let start = std::time::Instant::now();
    let run = aws.moto.cutover_env(
        &["status", "shop.toml"],
        &[("CUTOVER_TEST_RETRY_BACKOFF_MS", "")],
    );
    let took = start.elapsed();
    aws.moto.faults(json!([]));
    run.expect(1);
    assert!(
        took < std::time::Duration::from_secs(60),
        "status took {took:?}"
    );
    assert!(
        took >= crate::aws::OUTAGE_WINDOW,
        "it gave up before the outage window: {took:?}"
    );
    // AWS's own code (each service words its 500 its own way), then why
    // cutover stopped.
    assert!(
        ["InternalFailure", "InternalError", "InternalServerError"]
            .iter()
            .any(|c| run.stderr.contains(c)),
        "{}",
        run.stderr
    );
    for said in [
        "AWS answered nothing but failures for",
        "cutover stopped retrying rather than add to an outage",
    ] {
        assert!(run.stderr.contains(said), "{said:?} in {}", run.stderr);
    }
    let lines = run.stderr.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines <= 2,
        "a sentence or two, not {lines} lines:\n{}",
        run.stderr
    );
    let calls = aws.moto.fault_stats()["faults"]["500"].as_u64().unwrap();
    assert!(calls < 100, "a retry storm: {calls} calls answered 500");
}

#[test]
fn aws_faults_that_outlast_the_sdk_retries_reach_cutover_and_end_at_known_places() {
    // Two attempts a call: a fault the SDK's one retry does not cure
    // reaches cutover's own handling (a step failing, a run ending, the
    // next run resuming), as it does on AWS when an outage outlasts 25.
    let aws = Aws::like(crate::moto::Like {
        seed: 7,
        ..Default::default()
    });
    aws.set_env("AWS_MAX_ATTEMPTS", "2");
    aws.set_faults_in_runs(json!([
        {"kind": "throttle", "rate": 0.03},
        {"kind": "500", "rate": 0.02},
        {"kind": "reset", "rate": 0.01},
        {"kind": "drop", "rate": 0.02}
    ]));
    let injected = [
        "Throttling",
        "RequestLimitExceeded",
        "ThrottlingException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "the answer could not be read",
        "could not reach AWS",
    ];
    let s = crate::scenario::Scenario::on(aws);
    let (s, first) = s.until_done(&["apply", "--auto-approve"], 15);
    let s = s.traffic(100, 0).active("blue");
    let (s, second) = s
        .release("ami-0000000000000002")
        .until_done(&["apply", "--auto-approve"], 15);
    let s = s.traffic(0, 100).active("green");
    let failed = first.all_caused_by(&injected, 12) + second.all_caused_by(&injected, 12);
    let s = s.settled(&[&first, &second]);
    eprintln!("{failed} runs failed before the next succeeded:\n{first}{second}");
    // The faults reached cutover: some run ended on one.
    assert!(
        failed > 0,
        "no fault outlasted the SDK's retries:\n{first}{second}"
    );
    for t in first.0.iter().chain(&second.0) {
        assert!(
            !t.said.contains("remembered as rolled back"),
            "an AWS error marked the release bad:\n{}",
            t.said
        );
    }
    let aws = s.cloud;
    aws.set_faults_in_runs(json!([]));
    assert_eq!(aws.rolled_back_marks(), Vec::<String>::new());
    assert_eq!(aws.inventory_all(), made_by_clean_runs(2));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn aws_a_launch_template_ec2_says_exists_but_does_not_list_yet_is_waited_for() {
    // Template shop exists (another run made it, for another release),
    // and for a moment EC2 does not list it: the run's two reads (before
    // and after taking the lock) and its look before creating see nothing,
    // the create answers AlreadyExists, and the describe after it shows
    // nothing either.
    let aws = Aws::new();
    aws.moto.rt.block_on(async {
        aws.moto
            .ec2
            .create_launch_template()
            .launch_template_name("shop")
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id("ami-0000000000000009")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.moto.faults(json!([
        {"kind": "hidden", "action": "DescribeLaunchTemplates", "times": 4}
    ]));
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert!(
        run.stderr
            .contains("not visible to AWS yet (it is eventually consistent), trying again")
            && run.stderr.contains("launch template shop exists"),
        "{}\n{}\n{}",
        run.stderr,
        aws.moto.calls(),
        aws.moto.fault_stats()
    );
    assert_eq!(aws.moto.fault_stats()["faults"]["hidden"], 4);
    // One template: the one that was there, with this release's version added.
    assert_eq!(aws.launch_template_versions(), 2);
    assert_eq!(aws.weights(80), (100, 0));
}
