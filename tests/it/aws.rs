//! The deployment scenarios through the real AWS SDK against moto, asserting
//! on what AWS reads back: listener weights, target-group health checks, Auto
//! Scaling capacity and launch template version, the SSM active colour.

use crate::harness::Run;
use crate::moto::Moto;
use crate::scenario::Scenario;
use std::time::{Duration, Instant};

mod faults;

/// How long nothing but failures makes cutover stop retrying (its
/// retry budget's outage window).
const OUTAGE_WINDOW: Duration = Duration::from_secs(30);
mod launch;
mod listeners;
mod metric_gates;
mod preflight;
mod scaling;
mod sessions;

struct Aws {
    moto: Moto,
    vpc: String,
    subnets: Vec<String>,
    sg: String,
    /// More environment for every cutover run (never the test's own).
    env: std::cell::RefCell<Vec<(&'static str, String)>>,
    /// Fault rules in force during cutover's runs only: the test's own
    /// reads in between see AWS on a good day.
    faults_in_runs: std::cell::RefCell<Option<serde_json::Value>>,
}

impl Aws {
    fn new() -> Aws {
        Aws::like(crate::moto::Like::default())
    }

    /// On a test server that acts like AWS as `like` says.
    fn like(like: crate::moto::Like) -> Aws {
        let moto = Moto::start_with(like);
        let (vpc, subnets, sg) = moto.network();
        Aws {
            moto,
            vpc,
            subnets,
            sg,
            env: Default::default(),
            faults_in_runs: Default::default(),
        }
    }

    /// `key=value` in the environment of every later cutover run.
    fn set_env(&self, key: &'static str, value: impl Into<String>) {
        self.env.borrow_mut().push((key, value.into()));
    }

    /// `rules` in force during every later cutover run (an empty list: none).
    fn set_faults_in_runs(&self, rules: serde_json::Value) {
        *self.faults_in_runs.borrow_mut() = Some(rules);
    }

    /// The ARN of the load balancer shop-alb.
    fn lb_arn(&self) -> String {
        let out = self
            .moto
            .rt
            .block_on(
                self.moto
                    .elb
                    .describe_load_balancers()
                    .names("shop-alb")
                    .send(),
            )
            .unwrap();
        out.load_balancers()[0]
            .load_balancer_arn()
            .unwrap()
            .to_string()
    }

    /// The ARN of target group shop-<color>.
    fn tg_arn(&self, color: &str) -> String {
        let out = self
            .moto
            .rt
            .block_on(
                self.moto
                    .elb
                    .describe_target_groups()
                    .names(format!("shop-{color}"))
                    .send(),
            )
            .unwrap();
        out.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string()
    }

    /// Target group shop-<color>'s targets as DescribeTargetHealth has them.
    fn targets(
        &self,
        color: &str,
    ) -> Vec<aws_sdk_elasticloadbalancingv2::types::TargetHealthDescription> {
        let arn = self.tg_arn(color);
        let out = self
            .moto
            .rt
            .block_on(
                self.moto
                    .elb
                    .describe_target_health()
                    .target_group_arn(arn)
                    .send(),
            )
            .unwrap();
        out.target_health_descriptions().to_vec()
    }

    /// Writes shop.toml for this account's network.
    fn plan(&self, image: &str, delay: &str, extra: &[(&str, &str)]) {
        let mut toml = self.adapt(crate::harness::plan_toml(image, delay));
        for (from, to) in extra {
            assert!(toml.contains(from), "the plan has no {from:?} to replace");
            toml = toml.replace(from, to);
        }
        std::fs::write(self.moto.dir.path().join("shop.toml"), toml).unwrap();
    }

    /// The scenario plan for this account's network, at moto's pace.
    pub(super) fn adapt(&self, plan: String) -> String {
        plan.replace("vpc-0test", &self.vpc)
            .replace(
                "[\"subnet-a\", \"subnet-b\"]",
                &format!("{:?}", self.subnets),
            )
            .replace("sg-0123", &self.sg)
            .replace("bake = \"5m\"", "bake = \"1s\"")
            .replace("health_timeout = \"10m\"", "health_timeout = \"20s\"")
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.push("shop.toml");
        let faults = self.faults_in_runs.borrow().clone();
        if let Some(rules) = &faults {
            self.moto.faults(rules.clone());
        }
        let env = self.env.borrow();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = self.moto.cutover_env(&all, &env);
        if faults.is_some() {
            self.moto.faults(serde_json::json!([]));
        }
        run
    }

    /// Listener `port` of shop-alb as DescribeListeners returns it.
    fn listener(&self, port: i32) -> aws_sdk_elasticloadbalancingv2::types::Listener {
        let arn = self.lb_arn();
        let ls = self
            .moto
            .rt
            .block_on(
                self.moto
                    .elb
                    .describe_listeners()
                    .load_balancer_arn(arn)
                    .send(),
            )
            .unwrap();
        ls.listeners()
            .iter()
            .find(|l| l.port() == Some(port))
            .expect("listener")
            .clone()
    }

    /// Production weights (blue, green) as DescribeListeners returns them.
    fn weights(&self, port: i32) -> (i32, i32) {
        let l = self.listener(port);
        let fc = l
            .default_actions()
            .iter()
            .find_map(|a| a.forward_config())
            .expect("a forward action");
        let mut w = (0, 0);
        for t in fc.target_groups() {
            let weight = t.weight().unwrap_or(0);
            if t.target_group_arn().unwrap().contains("/shop-blue/") {
                w.0 += weight;
            } else {
                w.1 += weight;
            }
        }
        w
    }

    fn active(&self) -> String {
        self.moto.rt.block_on(async {
            let p = self
                .moto
                .ssm
                .get_parameter()
                .name("/cutover/shop/active")
                .send()
                .await
                .unwrap();
            p.parameter().unwrap().value().unwrap().to_string()
        })
    }

    /// The Auto Scaling group shop-<color>, as DescribeAutoScalingGroups returns it.
    fn group(&self, color: &str) -> Option<aws_sdk_autoscaling::types::AutoScalingGroup> {
        let out = self
            .moto
            .rt
            .block_on(
                self.moto
                    .asg
                    .describe_auto_scaling_groups()
                    .auto_scaling_group_names(format!("shop-{color}"))
                    .send(),
            )
            .unwrap();
        out.auto_scaling_groups().first().cloned()
    }

    /// (desired capacity, launch template version) of shop-<color>.
    fn fleet(&self, color: &str) -> Option<(i32, String)> {
        self.group(color).map(|g| {
            let version = g
                .launch_template()
                .and_then(|l| l.version())
                .unwrap_or_default();
            (g.desired_capacity().unwrap(), version.to_string())
        })
    }

    fn instances(&self, color: &str) -> Vec<String> {
        let group = self.group(color).expect("fleet exists");
        group
            .instances()
            .iter()
            .map(|i| i.instance_id().unwrap().to_string())
            .collect()
    }

    fn health_check_path(&self, color: &str) -> String {
        self.moto.rt.block_on(async {
            let out = self
                .moto
                .elb
                .describe_target_groups()
                .names(format!("shop-{color}"))
                .send()
                .await
                .unwrap();
            out.target_groups()[0]
                .health_check_path()
                .unwrap()
                .to_string()
        })
    }
}

impl crate::scenario::Cloud for Aws {
    fn adapt(&self, plan: String) -> String {
        Aws::adapt(self, plan)
    }

    fn write_plan(&self, text: &str) {
        std::fs::write(self.moto.dir.path().join("shop.toml"), text).unwrap();
    }

    fn cutover(&self, args: &[&str]) -> Run {
        self.run(args)
    }

    fn traffic(&self) -> (u32, u32) {
        let (b, g) = self.weights(80);
        (b as u32, g as u32)
    }

    fn active_colour(&self) -> Option<String> {
        self.parameter("/cutover/shop/active")
    }

    fn lock_parameters(&self) -> Vec<String> {
        self.parameters()
            .into_iter()
            .filter(|k| k.starts_with("/cutover/shop/active-lock"))
            .collect()
    }
}

fn shifts(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("shift production"))
        .map(|l| {
            l.split("shift production: ")
                .nth(1)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn aws_first_deploy_then_releases_back_and_forth() {
    let aws = Aws::new();
    aws.plan("ami-0f8848d57eb4fe2d2", "0s", &[]);
    aws.run(&["plan", "--detailed-exitcode"]).expect(2);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.weights(8080), (100, 0));
    assert_eq!(aws.active(), "blue");
    assert_eq!(aws.fleet("blue"), Some((2, "1".into())));
    assert_eq!(aws.health_check_path("green"), "/health");
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);

    // Second release: green, 10 → 25 → 50 → 100, blue scaled to zero.
    aws.plan("ami-0000000000000002", "0s", &[]);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert_eq!(
        shifts(&run.stderr),
        [
            "90% blue / 10% green",
            "75% blue / 25% green",
            "50% blue / 50% green",
            "100% green"
        ]
    );
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.weights(8080), (0, 100));
    assert_eq!(aws.active(), "green");
    assert_eq!(aws.fleet("green"), Some((2, "2".into())));
    assert_eq!(aws.fleet("blue").map(|f| f.0), Some(0));
    let again = aws.run(&["plan", "--detailed-exitcode"]);
    again.expect(0);

    // Third release: back onto blue, with launch template version 3.
    aws.plan("ami-0000000000000003", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.active(), "blue");
    assert_eq!(aws.fleet("blue"), Some((2, "3".into())));
    assert_eq!(aws.fleet("green").map(|f| f.0), Some(0));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
    let status = aws.run(&["status"]);
    status.expect(0);
    assert!(
        status.stdout.contains("active colour: blue"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("ami-0000000000000003"),
        "{}",
        status.stdout
    );
}

#[test]
fn aws_rollback_inside_the_window_is_one_listener_update() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "1h", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan("ami-0000000000000002", "1h", &[]);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert!(
        run.stdout
            .contains("teardown of blue (scale-to-zero) is due 1h after promotion"),
        "{}",
        run.stdout
    );
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(
        aws.fleet("blue").map(|f| f.0),
        Some(2),
        "blue kept for instant rollback"
    );
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);

    let started = Instant::now();
    let rb = aws.moto.cutover(&["rollback", "shop.toml", "-v"]);
    let took = started.elapsed();
    rb.expect(0);
    // One listener update; the SSM writes are the active colour, the promotion
    // record, the release log's line (with the flip, beside the release's
    // mark) and the lock (taken and released).
    assert!(rb.stderr.contains("   1 ModifyListener"), "{}", rb.stderr);
    // Nothing read that the decision does not need.
    for unneeded in [
        "DescribeLaunchTemplate",
        "DescribeTargetGroupAttributes",
        "DescribeTags",
    ] {
        assert!(
            !rb.stderr.contains(unneeded),
            "{unneeded} before a rollback: {}",
            rb.stderr
        );
    }
    assert!(
        rb.stderr.contains("   4 PutParameter") && rb.stderr.contains("   1 DeleteParameter"),
        "{}",
        rb.stderr
    );
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.active(), "blue");
    eprintln!("rollback took {took:?} end to end (binary start included)");
}

#[test]
fn aws_teardown_waits_for_the_rollback_window_then_the_next_apply_does_it() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "2s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan("ami-0000000000000002", "2s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.active(), "green");
    assert_eq!(aws.fleet("blue").map(|f| f.0), Some(2));
    std::thread::sleep(Duration::from_secs(3));
    aws.run(&["plan", "--detailed-exitcode"]).expect(2);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.fleet("blue").map(|f| f.0), Some(0));
    assert_eq!(aws.weights(80), (0, 100));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn aws_unhealthy_green_rolls_back_and_never_gets_traffic_again() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);

    // Green goes unhealthy during the first bake: stop its instances.
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"30s\"")],
    );
    let child = aws.moto.spawn(&["apply", "shop.toml", "--auto-approve"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while aws.weights(80) != (90, 10) {
        assert!(Instant::now() < deadline, "green never reached 10%");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ids = aws.instances("green");
    aws.moto
        .rt
        .block_on(
            aws.moto
                .ec2
                .stop_instances()
                .set_instance_ids(Some(ids))
                .send(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("green lost health during the bake at 10%"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rolled back to blue in one call"),
        "{stdout}"
    );
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.active(), "blue");

    // The release is remembered as rolled back: a scheduled apply leaves it alone.
    let again = aws.run(&["apply", "--auto-approve"]);
    again.expect(0);
    assert!(
        again.stdout.contains("was rolled back at"),
        "{}",
        again.stdout
    );
    assert_eq!(aws.weights(80), (100, 0));

    // --retry deploys it again: green is there but never healthy; no weight moves.
    aws.plan(
        "ami-0000000000000002",
        "0s",
        // The shortest health timeout a plan may give: 2 checks 5 s apart.
        &[
            ("health_timeout = \"20s\"", "health_timeout = \"10s\""),
            ("interval = \"10s\"", "interval = \"5s\""),
            ("timeout = \"5s\"", "timeout = \"2s\""),
        ],
    );
    let run = aws.run(&["apply", "--auto-approve", "--retry"]);
    run.expect(3);
    assert!(
        run.stdout.contains("green was not healthy within 10s"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("unused"),
        "names the target state: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no production weight moved"),
        "{}",
        run.stdout
    );
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.active(), "blue");
}

#[test]
fn aws_in_place_health_check_and_capacity() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000001",
        "0s",
        &[
            ("path = \"/health\"", "path = \"/healthz\""),
            ("desired_capacity = 2", "desired_capacity = 3"),
        ],
    );
    let plan = aws.run(&["plan", "--detailed-exitcode"]);
    plan.expect(2);
    assert!(
        plan.stdout
            .contains("health_check.path: /health → /healthz"),
        "{}",
        plan.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.health_check_path("blue"), "/healthz");
    assert_eq!(aws.health_check_path("green"), "/healthz");
    assert_eq!(aws.fleet("blue"), Some((3, "1".into())));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

impl Aws {
    fn tag(&self, color: &str, key: &str) -> Option<String> {
        let group = self.group(color)?;
        group
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_string)
    }

    fn parameter(&self, name: &str) -> Option<String> {
        let out = self
            .moto
            .rt
            .block_on(self.moto.ssm.get_parameter().name(name).send());
        out.ok()
            .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
    }

    /// The names of every SSM parameter under /cutover/shop.
    fn parameters(&self) -> Vec<String> {
        let out = self.moto.rt.block_on(
            self.moto
                .ssm
                .get_parameters_by_path()
                .path("/cutover/shop")
                .recursive(true)
                .send(),
        );
        let mut names: Vec<String> = out
            .unwrap()
            .parameters()
            .iter()
            .filter_map(|p| p.name().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    fn launch_template_versions(&self) -> usize {
        let out = self
            .moto
            .rt
            .block_on(
                self.moto
                    .ec2
                    .describe_launch_template_versions()
                    .launch_template_name("shop")
                    .send(),
            )
            .unwrap();
        out.launch_template_versions().len()
    }
}

#[test]
fn aws_spot_fleets_run_on_a_mixed_instances_policy() {
    let aws = Aws::new();
    aws.plan(
        "ami-0000000000000001",
        "0s",
        &[(
            "desired_capacity = 2\n",
            "desired_capacity = 2\nspot = true\n",
        )],
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    let blue = aws.group("blue").unwrap();
    let mixed = blue
        .mixed_instances_policy()
        .expect("spot fleets use a MixedInstancesPolicy");
    let dist = mixed.instances_distribution().unwrap();
    assert_eq!(dist.on_demand_base_capacity(), Some(0));
    assert_eq!(dist.on_demand_percentage_above_base_capacity(), Some(0));
    // Read back as spot: nothing left to change.
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn aws_a_gate_failing_at_25_rolls_back_in_one_call_and_is_remembered() {
    let s = Scenario::on(Aws::new())
        .apply()
        .exits(0)
        .release("ami-0000000000000002")
        .gate_fails_at(25)
        .apply()
        .exits(3)
        .says("gate failed on green at 25%")
        .traffic(100, 0)
        .active("blue");
    let fingerprint = s
        .last()
        .stdout
        .split("Release ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .expect("the release is named")
        .to_string();
    let tag = s.cloud.tag("green", "cutover:rolled-back").unwrap();
    assert!(tag.starts_with(&format!("{fingerprint}@")), "{tag}");
    s.run(&["plan", "--detailed-exitcode"])
        .exits(0)
        .says("was rolled back at");
}

#[test]
fn aws_hooks_and_smoke_tests_get_the_deployment_in_their_environment() {
    let aws = Aws::new();
    let dir = aws.moto.dir.path().to_path_buf();
    let extra = format!(
        r#"
[hooks]
before_deploy = ["sh", "-c", "echo $CUTOVER_PHASE $CUTOVER_COLOR >> {log}"]

[[rollout.smoke]]
command = ["sh", "-c", "echo $CUTOVER_COLOR $CUTOVER_TARGET_GROUP_ARN > {smoke}"]
"#,
        log = dir.join("hooks.log").display(),
        smoke = dir.join("smoke.txt").display()
    );
    // Bound: the scenario owns the directory the files are in.
    let _s = Scenario::on(aws)
        .with(&extra)
        .apply()
        .exits(0)
        .release("ami-0000000000000002")
        .apply()
        .exits(0)
        .traffic(0, 100);
    let smoke = std::fs::read_to_string(dir.join("smoke.txt")).unwrap();
    assert!(
        smoke.starts_with("green arn:aws:elasticloadbalancing:"),
        "{smoke}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("hooks.log")).unwrap(),
        "before_deploy blue\nbefore_deploy green\n"
    );
}

#[test]
fn aws_notifications_follow_the_deployment() {
    let aws = Aws::new();
    let hook = crate::harness::HttpServer::start(&[200]);
    let url = format!("{}/hook", hook.url);
    let notify = "[notify]\nwebhook_env = \"SHOP_WEBHOOK\"\n";
    let apply = |image: &str, gate: &str| {
        aws.plan(image, "0s", &[]);
        let path = aws.moto.dir.path().join("shop.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n{notify}\n{gate}")).unwrap();
        aws.moto.cutover_env(
            &["apply", "--auto-approve", "shop.toml"],
            &[("SHOP_WEBHOOK", url.as_str())],
        )
    };
    apply("ami-0000000000000001", "").expect(0);
    let gate = "[[rollout.gates]]\ncommand = [\"sh\", \"-c\", \"test $CUTOVER_WEIGHT -lt 25\"]\n";
    apply("ami-0000000000000002", gate).expect(3);
    let events: Vec<String> = hook
        .json()
        .iter()
        .map(|m| m["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["started", "promoted", "started", "failed"]);
}

#[test]
fn aws_a_held_lock_stops_apply_until_unlock_breaks_it() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.moto
        .rt
        .block_on(
            aws.moto
                .ssm
                .put_parameter()
                .name("/cutover/shop/active-lock")
                .value(r#"{"user":"bob","host":"ci-runner-3","pid":77,"command":"cutover apply shop.toml","started":1767225600}"#)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .send(),
        )
        .unwrap();
    let started = std::time::Instant::now();
    let locked = aws.run(&["apply", "--auto-approve"]);
    locked.expect(1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        locked.stderr.contains("locked by bob@ci-runner-3 (pid 77)"),
        "{}",
        locked.stderr
    );
    assert_eq!(
        aws.parameter("/cutover/shop/active"),
        None,
        "nothing deployed"
    );
    let unlock = aws.run(&["unlock", "--yes"]);
    unlock.expect(0);
    assert!(
        unlock.stdout.contains("it was held by bob@ci-runner-3"),
        "{}",
        unlock.stdout
    );
    assert_eq!(aws.parameter("/cutover/shop/active-lock"), None);
    aws.run(&["apply", "--auto-approve"]).expect(0);
}

#[test]
fn aws_manual_promotion_waits_for_promote() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);

    // auto_promote = false: built, healthy, then it waits.
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"1s\"\nauto_promote = false")],
    );
    let paused = aws.run(&["apply", "--auto-approve"]);
    paused.expect(0);
    assert!(paused.stdout.contains("Paused: green"), "{}", paused.stdout);
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.fleet("green").map(|f| f.0), Some(2));
    let status = aws.run(&["status"]);
    assert!(
        status.stdout.contains("paused:        green"),
        "{}",
        status.stdout
    );
    aws.run(&["promote"]).expect(0);
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.active(), "green");
}

#[test]
fn aws_kill_9_mid_bake_then_apply_resumes_from_the_step_reached() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"4s\"")],
    );
    let mut child = aws.moto.spawn(&["apply", "shop.toml", "--auto-approve"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while aws.weights(80) != (75, 25) {
        assert!(Instant::now() < deadline, "never reached 25%");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id() as i32;
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    assert!(
        aws.parameter("/cutover/shop/active-lock").is_some(),
        "the killed run left its lock"
    );
    assert_eq!(aws.active(), "blue");

    let plan = aws.run(&["plan"]);
    assert!(
        plan.stdout.contains("25% of production reached"),
        "{}",
        plan.stdout
    );
    let resumed = aws.run(&["apply", "--auto-approve"]);
    resumed.expect(0);
    assert!(
        resumed.stderr.contains("taking over the lock"),
        "{}",
        resumed.stderr
    );
    assert_eq!(
        shifts(&resumed.stderr),
        ["50% blue / 50% green", "100% green"],
        "resumed from 25%, not restarted"
    );
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.active(), "green");
    assert_eq!(aws.launch_template_versions(), 2, "nothing created twice");
    assert_eq!(aws.parameter("/cutover/shop/active-lock"), None);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

impl Aws {
    /// What a person does in the console: the listener on `port` forwards
    /// `blue`/`green` to the colours' target groups.
    fn set_weights_by_hand(&self, port: i32, blue: i32, green: i32) {
        use aws_sdk_elasticloadbalancingv2::types::{
            Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
        };
        let elb = &self.moto.elb;
        self.moto.rt.block_on(async {
            let tgs = elb
                .describe_target_groups()
                .names("shop-blue")
                .names("shop-green")
                .send()
                .await
                .unwrap();
            let tuple = |name: &str, weight: i32| {
                let arn = tgs
                    .target_groups()
                    .iter()
                    .find(|t| t.target_group_name() == Some(name))
                    .and_then(|t| t.target_group_arn())
                    .unwrap();
                TargetGroupTuple::builder()
                    .target_group_arn(arn)
                    .weight(weight)
                    .build()
            };
            let lb = elb
                .describe_load_balancers()
                .names("shop-alb")
                .send()
                .await
                .unwrap();
            let listeners = elb
                .describe_listeners()
                .load_balancer_arn(lb.load_balancers()[0].load_balancer_arn().unwrap())
                .send()
                .await
                .unwrap();
            let listener = listeners
                .listeners()
                .iter()
                .find(|l| l.port() == Some(port))
                .and_then(|l| l.listener_arn())
                .unwrap();
            let forward = ForwardActionConfig::builder()
                .target_groups(tuple("shop-blue", blue))
                .target_groups(tuple("shop-green", green))
                .build();
            elb.modify_listener()
                .listener_arn(listener)
                .default_actions(
                    Action::builder()
                        .r#type(ActionTypeEnum::Forward)
                        .forward_config(forward)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        });
    }

    /// `n` applies started at once; their outputs, in order.
    fn applies_at_once(&self, n: usize) -> Vec<std::process::Output> {
        self.applies_at_once_with_pids(n)
            .into_iter()
            .map(|(_, o)| o)
            .collect()
    }

    /// V1 live, then `apply` of V2 at a terminal: `at_prompt` runs while
    /// the confirmation waits, then "yes" is typed. (exit 0?, what showed.)
    fn release_at_a_terminal(&self, at_prompt: impl FnOnce()) -> (bool, String) {
        self.plan("ami-0000000000000001", "0s", &[]);
        self.run(&["apply", "--auto-approve"]).expect(0);
        self.plan("ami-0000000000000002", "0s", &[]);
        let env = crate::moto::aws_env(&self.moto.endpoint);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let cmd = format!("{} apply shop.toml", env!("CARGO_BIN_EXE_cutover"));
        crate::harness::at_a_terminal(self.moto.dir.path(), &cmd, &env, "yes", at_prompt)
    }

    /// `n` applies started at once: each one's pid and how it ended.
    fn applies_at_once_with_pids(&self, n: usize) -> Vec<(u32, std::process::Output)> {
        let runs: Vec<std::process::Child> = (0..n)
            .map(|_| self.moto.spawn(&["apply", "shop.toml", "--auto-approve"]))
            .collect();
        runs.into_iter()
            .map(|c| (c.id(), c.wait_with_output().unwrap()))
            .collect()
    }

    /// Writes an SSM parameter as a lock or claim of a run that died on
    /// this host (its pid is above the kernel's pid_max).
    fn put_dead_holder(&self, parameter: &str, token: &str) {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .to_string();
        let dead = format!(
            r#"{{"user":"ci","host":"{host}","pid":4194305,"command":"cutover apply shop.toml","started":1767225600,"token":"{token}"}}"#
        );
        self.moto
            .rt
            .block_on(
                self.moto
                    .ssm
                    .put_parameter()
                    .name(parameter)
                    .value(dead)
                    .r#type(aws_sdk_ssm::types::ParameterType::String)
                    .send(),
            )
            .unwrap();
    }

    /// Starts `apply` in the background and waits until production is at `weights`.
    fn apply_until(&self, args: &[&str], weights: (i32, i32)) -> std::process::Child {
        let mut all = vec!["apply", "shop.toml", "--auto-approve"];
        all.extend(args);
        let child = self.moto.spawn(&all);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.weights(80) != weights {
            assert!(Instant::now() < deadline, "never reached {weights:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

#[test]
fn aws_a_cancelled_job_mid_shift_goes_home_and_is_no_verdict_on_the_release() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);

    // SIGINT from outside a terminal (CI cancelling the job) during the bake
    // at 10%: production goes back to blue, exit 3, and the release is not
    // marked: the next apply deploys it without --retry.
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"30s\"")],
    );
    let child = aws.apply_until(&[], (90, 10));
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains(
            "interrupted (a signal from outside a terminal: SIGTERM, or a cancelled job)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("rolled back to blue in one call"),
        "{stdout}"
    );
    assert!(
        stdout.contains("This is not a verdict on release"),
        "{stdout}"
    );
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.tag("green", "cutover:rolled-back"), None);
    assert_eq!(
        aws.parameter("/cutover/shop/active-lock"),
        None,
        "the lock was released"
    );
    aws.plan("ami-0000000000000002", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (0, 100));
}

#[test]
fn aws_rollback_after_a_kill_9_mid_shift_takes_the_lock_over() {
    // A run killed at 25%; `cutover rollback` takes its lock over and puts
    // traffic back on the still-active colour in one call.
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"3s\"")],
    );
    let child = aws.apply_until(&[], (75, 25));
    signal(&child, "-9");
    let _ = child.wait_with_output();
    let rb = aws.run(&["rollback", "-v"]);
    rb.expect(0);
    assert!(
        rb.stdout
            .contains("100% of production on blue (was 75%). blue stays the active colour."),
        "{}",
        rb.stdout
    );
    assert!(rb.stderr.contains("taking over the lock"), "{}", rb.stderr);
    assert!(rb.stderr.contains("   1 ModifyListener"), "{}", rb.stderr);
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.active(), "blue");
}

#[test]
fn aws_a_saved_plan_is_refused_once_live_state_changed() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000001",
        "0s",
        &[("path = \"/health\"", "path = \"/healthz\"")],
    );
    aws.run(&["plan", "--out", "saved.json"]).expect(0);
    // Someone edits the health check in the console meanwhile.
    let arn = aws.moto.rt.block_on(async {
        let out = aws
            .moto
            .elb
            .describe_target_groups()
            .names("shop-blue")
            .send()
            .await
            .unwrap();
        out.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string()
    });
    aws.moto
        .rt
        .block_on(
            aws.moto
                .elb
                .modify_target_group()
                .target_group_arn(arn)
                .health_check_path("/ping")
                .send(),
        )
        .unwrap();
    let stale = aws.moto.cutover(&["apply", "saved.json", "--auto-approve"]);
    stale.expect(1);
    assert!(
        stale.stderr.contains("the plan is stale"),
        "{}",
        stale.stderr
    );
    assert!(
        stale
            .stderr
            .contains("health_check.path: \"/health\" → \"/ping\""),
        "{}",
        stale.stderr
    );
    assert_eq!(aws.health_check_path("blue"), "/ping", "nothing applied");
    // A fresh plan applies.
    aws.run(&["plan", "--out", "saved.json"]).expect(0);
    aws.moto
        .cutover(&["apply", "saved.json", "--auto-approve"])
        .expect(0);
    assert_eq!(aws.health_check_path("blue"), "/healthz");
}

impl Aws {
    /// All of moto's state, for proving that a command wrote nothing. moto
    /// records a `FakeHealthStatus` object for every DescribeTargetHealth it
    /// answers: bookkeeping of reads, not state anyone wrote, so it is left out.
    fn moto_state(&self) -> String {
        let text = self.moto.rt.block_on(async {
            reqwest::get(format!("{}/moto-api/data.json", self.moto.endpoint))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        let mut state: serde_json::Value = serde_json::from_str(&text).unwrap();
        if let Some(elb) = state.get_mut("elbv2").and_then(|e| e.as_object_mut()) {
            elb.remove("FakeHealthStatus");
        }
        state.to_string()
    }
}

#[test]
fn aws_plan_status_drift_and_diff_write_nothing() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "1h", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "1h",
        &[("desired_capacity = 2", "desired_capacity = 3")],
    );
    std::fs::copy(
        aws.moto.dir.path().join("shop.toml"),
        aws.moto.dir.path().join("new.toml"),
    )
    .unwrap();
    let before = aws.moto_state();
    assert!(before.len() > 1000, "moto answers with its state");
    for args in [
        &["plan", "shop.toml"][..],
        &["plan", "shop.toml", "--format", "json"][..],
        &[
            "plan",
            "shop.toml",
            "--format",
            "markdown",
            "--detailed-exitcode",
        ][..],
        &["status", "shop.toml"][..],
        &["status", "shop.toml", "--format", "json"][..],
        &["drift", "shop.toml"][..],
        &["drift", "shop.toml", "--format", "json"][..],
        &["diff", "shop.toml", "new.toml"][..],
    ] {
        let run = aws.moto.cutover(args);
        assert!(
            run.code == 0 || run.code == 2,
            "{args:?}: {}\n{}",
            run.stdout,
            run.stderr
        );
        // Each JSON output, read from AWS, is what its schema says.
        if args.ends_with(&["--format", "json"]) {
            let schema = match args[0] {
                "plan" => "schemas/plan-output.schema.json",
                "status" => "schemas/status.schema.json",
                _ => "schemas/drift.schema.json",
            };
            crate::output::validate_against(schema, &run.stdout);
        }
    }
    let after = aws.moto_state();
    let changed = cutover::decide::saved::changes(
        &serde_json::from_str(&before).unwrap(),
        &serde_json::from_str(&after).unwrap(),
        20,
    );
    assert!(
        changed.is_empty(),
        "a read-only command changed AWS: {changed:#?}"
    );
}

#[test]
fn aws_drift_of_each_kind_and_apply_repairs_it() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.moto.cutover(&["drift", "shop.toml"]).expect(0);

    let rt = &aws.moto.rt;
    let (lb, blue, green) = rt.block_on(async {
        let lb = aws
            .moto
            .elb
            .describe_load_balancers()
            .names("shop-alb")
            .send()
            .await
            .unwrap();
        let lb = lb.load_balancers()[0]
            .load_balancer_arn()
            .unwrap()
            .to_string();
        let tgs = aws
            .moto
            .elb
            .describe_target_groups()
            .names("shop-blue")
            .names("shop-green")
            .send()
            .await
            .unwrap();
        let arn = |n: &str| {
            tgs.target_groups()
                .iter()
                .find(|t| t.target_group_name() == Some(n))
                .unwrap()
                .target_group_arn()
                .unwrap()
                .to_string()
        };
        (lb, arn("shop-blue"), arn("shop-green"))
    });
    rt.block_on(async {
        let listeners = aws
            .moto
            .elb
            .describe_listeners()
            .load_balancer_arn(&lb)
            .send()
            .await
            .unwrap();
        let arn = |port: i32| {
            listeners
                .listeners()
                .iter()
                .find(|l| l.port() == Some(port))
                .unwrap()
                .listener_arn()
                .unwrap()
                .to_string()
        };
        // 50/50 by hand on production.
        let forward = aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder()
            .target_groups(
                aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                    .target_group_arn(&blue)
                    .weight(50)
                    .build(),
            )
            .target_groups(
                aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                    .target_group_arn(&green)
                    .weight(50)
                    .build(),
            )
            .build();
        let action = aws_sdk_elasticloadbalancingv2::types::Action::builder()
            .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
            .forward_config(forward)
            .build();
        aws.moto
            .elb
            .modify_listener()
            .listener_arn(arn(80))
            .default_actions(action)
            .send()
            .await
            .unwrap();
        // The test listener deleted, a health check and the capacity changed in the console.
        aws.moto
            .elb
            .delete_listener()
            .listener_arn(arn(8080))
            .send()
            .await
            .unwrap();
        aws.moto
            .elb
            .modify_target_group()
            .target_group_arn(&blue)
            .health_check_path("/ping")
            .send()
            .await
            .unwrap();
        aws.moto
            .asg
            .update_auto_scaling_group()
            .auto_scaling_group_name("shop-blue")
            .desired_capacity(3)
            .send()
            .await
            .unwrap();
        aws.moto
            .elb
            .modify_target_group_attributes()
            .target_group_arn(&green)
            .attributes(
                aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                    .key("deregistration_delay.timeout_seconds")
                    .value("120")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // A target group tagged as cutover's whose plan is gone, detached
        // but placed on shop's load balancer by its tag.
        aws.moto
            .elb
            .create_target_group()
            .name("old-app-blue")
            .port(80)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .vpc_id(&aws.vpc)
            .tags(
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key("cutover:load-balancer")
                    .value("shop-alb")
                    .build(),
            )
            .tags(
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key("cutover:managed")
                    .value("true")
                    .build(),
            )
            .tags(
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key("cutover:app")
                    .value("old-app")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let drift = aws
        .moto
        .cutover(&["drift", "shop.toml", "--format", "json"]);
    drift.expect(2);
    let doc: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    let findings: Vec<(String, String)> = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|app| app["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["resource"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("health_check", "target group shop-blue"),
        ("missing", "listener :8080 (test)"),
        ("weights", "listener :80 (production)"),
        ("capacity", "fleet shop-blue"),
        ("target_group_attributes", "target group shop-green"),
        ("unmanaged", "target group old-app-blue"),
    ] {
        assert!(
            findings.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {findings:#?}"
        );
    }
    let text = aws.moto.cutover(&["drift", "shop.toml"]);
    assert!(
        text.stdout
            .contains("weights: blue 50% / green 50% live, blue 100% / green 0% in the plan"),
        "{}",
        text.stdout
    );
    // A split no cutover run left is named as someone else's change.
    assert!(
        text.stdout.contains("cutover did not make this change"),
        "{}",
        text.stdout
    );

    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.health_check_path("blue"), "/health");
    // Everything is repaired but the leftover of another app, which needs a person.
    let after = aws.moto.cutover(&["drift", "shop.toml"]);
    after.expect(2);
    assert!(after.stdout.contains("shop: in sync"), "{}", after.stdout);
    assert!(
        after
            .stdout
            .contains("target group old-app-blue: tagged cutover:app=old-app"),
        "{}",
        after.stdout
    );
    rt.block_on(async {
        let out = aws
            .moto
            .elb
            .describe_target_groups()
            .names("old-app-blue")
            .send()
            .await
            .unwrap();
        let arn = out.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        aws.moto
            .elb
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
            .unwrap();
    });
    aws.moto.cutover(&["drift", "shop.toml"]).expect(0);

    // The active-colour parameter edited by hand: drift says so, apply corrects it.
    rt.block_on(
        aws.moto
            .ssm
            .put_parameter()
            .name("/cutover/shop/active")
            .value("green")
            .overwrite(true)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send(),
    )
    .unwrap();
    let drift = aws.moto.cutover(&["drift", "shop.toml"]);
    drift.expect(2);
    assert!(
        drift
            .stdout
            .contains("says green, while production is all on blue"),
        "{}",
        drift.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.active(), "blue");
    assert_eq!(
        aws.weights(80),
        (100, 0),
        "traffic never moved to the colour the parameter named"
    );
    aws.moto.cutover(&["drift", "shop.toml"]).expect(0);
}

/// App `app`'s plan on the shared load balancer, on ports 80+i and 9080+i.
fn app_on_shared_balancer(aws: &Aws, app: &str, i: usize) -> String {
    aws.adapt(crate::harness::plan_toml("ami-0000000000000001", "0s"))
        .replace("name = \"shop\"", &format!("name = \"{app}\""))
        .replace("port = 80\n", &format!("port = {}\n", 80 + i))
        .replace(
            "port = 8080\nprotocol = \"HTTP\"\nrole",
            &format!("port = {}\nprotocol = \"HTTP\"\nrole", 9080 + i),
        )
}

#[test]
fn aws_drift_observes_the_apps_of_a_region_together() {
    let aws = Aws::new();
    let dir = aws.moto.dir.path();
    std::fs::create_dir(dir.join("plans")).unwrap();
    for (i, app) in ["shop", "cart", "pay"].iter().enumerate() {
        let plan = app_on_shared_balancer(&aws, app, i);
        let path = format!("plans/{app}.toml");
        std::fs::write(dir.join(&path), plan).unwrap();
        aws.moto
            .cutover(&["apply", "--auto-approve", &path])
            .expect(0);
    }
    let drift = aws.moto.cutover(&["drift", "plans", "-v"]);
    drift.expect(0);
    for app in ["shop", "cart", "pay"] {
        assert!(
            drift.stdout.contains(&format!("{app}: in sync")),
            "{}",
            drift.stdout
        );
    }
    // Three apps on one load balancer: one call each for what is batched.
    let calls = |op: &str| calls_of(&drift.stderr, op);
    for op in [
        "DescribeLoadBalancers",
        "GetParameters",
        "DescribeListeners",
        "DescribeLaunchTemplates",
    ] {
        assert_eq!(calls(op), 1, "{op}\n{}", drift.stderr);
    }
    // Groups and target groups: once for the apps, once to list what is tagged ours.
    assert_eq!(calls("DescribeAutoScalingGroups"), 2, "{}", drift.stderr);
    assert_eq!(calls("DescribeTargetGroups"), 2, "{}", drift.stderr);
}

/// The calls `cutover -v` reported for operation `op` (0 when none).
fn calls_of(stderr: &str, op: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            let (n, name) = l.trim().split_once(' ')?;
            (name == op).then(|| n.parse().ok())?
        })
        .unwrap_or(0)
}

/// All the calls `cutover -v` reported.
fn total_calls(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| l.split_once(" API calls to ")?.0.trim().parse::<u64>().ok())
        .sum()
}

#[test]
fn aws_drift_and_status_of_many_apps_read_in_few_calls() {
    let aws = Aws::new();
    let dir = aws.moto.dir.path();
    std::fs::create_dir(dir.join("plans")).unwrap();
    // Twelve apps: more target group names than one call takes, so the
    // region's target groups are listed instead.
    let apps: Vec<String> = (0..12).map(|i| format!("app{i}")).collect();
    for (i, app) in apps.iter().enumerate() {
        let plan = app_on_shared_balancer(&aws, app, i);
        std::fs::write(dir.join(format!("plans/{app}.toml")), plan).unwrap();
    }
    std::thread::scope(|s| {
        for chunk in apps.chunks(3) {
            let moto = &aws.moto;
            s.spawn(move || {
                for app in chunk {
                    let path = format!("plans/{app}.toml");
                    moto.cutover(&["apply", "--auto-approve", &path]).expect(0);
                }
            });
        }
    });
    // A version someone made by hand, newer than the one app0's fleet runs:
    // not a release, not drift; the fleet's own version is read besides.
    aws.moto.rt.block_on(async {
        aws.moto
            .ec2
            .create_launch_template_version()
            .launch_template_name("app0")
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id("ami-0000000000000009")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let drift = aws.moto.cutover(&["-v", "drift", "plans"]);
    drift.expect(0);
    for app in &apps {
        assert!(
            drift.stdout.contains(&format!("{app}: in sync")),
            "{}",
            drift.stdout
        );
    }
    let e = &drift.stderr;
    assert!(total_calls(e) <= 4 * apps.len() as u64, "{e}");
    assert_eq!(
        calls_of(e, "DescribeTargetHealth"),
        0,
        "drift does not report health\n{e}"
    );
    assert_eq!(
        calls_of(e, "DescribeTargetGroups"),
        1,
        "one listing, used twice\n{e}"
    );
    assert_eq!(
        calls_of(e, "DescribeTags"),
        4,
        "24 target groups and 24 listeners, 20 a call\n{e}"
    );
    assert_eq!(
        calls_of(e, "DescribeLaunchTemplateVersions"),
        2,
        "the region's $Latest, and app0's fleet's version\n{e}"
    );
    assert_eq!(calls_of(e, "DescribeTargetGroupAttributes"), 24, "{e}");

    let status = aws.moto.cutover(&["-v", "status", "plans"]);
    status.expect(0);
    assert_eq!(
        status.stdout.matches("active colour: blue").count(),
        12,
        "{}",
        status.stdout
    );
    // Plans in name order: app0's block is the first, up to app1's.
    let app0 = status.stdout.split("\napp1\n").next().unwrap();
    assert!(app0.contains("ami-0000000000000001"), "{}", status.stdout);
    assert!(
        !status.stdout.contains("ami-0000000000000009"),
        "{}",
        status.stdout
    );
    let e = &status.stderr;
    assert_eq!(calls_of(e, "DescribeTargetHealth"), 24, "{e}");
    assert_eq!(calls_of(e, "DescribeTargetGroupAttributes"), 0, "{e}");
    assert_eq!(calls_of(e, "DescribeTags"), 0, "{e}");
    assert!(total_calls(e) <= 4 * apps.len() as u64, "{e}");

    // A busy account: AWS throttles a third of the calls; the fan-out backs
    // off (adaptive retry) and drift still gets there, in sync.
    aws.moto
        .faults(serde_json::json!([{"kind": "throttle", "rate": 0.3}]));
    let throttled = aws.moto.cutover(&["drift", "plans"]);
    aws.moto.faults(serde_json::json!([]));
    throttled.expect(0);
    assert_eq!(
        throttled.stdout.matches(": in sync").count(),
        12,
        "{}",
        throttled.stdout
    );
    assert!(aws.moto.fault_stats()["faults"]["throttle"].as_u64() > Some(0));
}

#[test]
fn aws_rollback_after_a_revert_goes_back_to_the_release_that_served_before() {
    let s = Scenario::on(Aws::new())
        .teardown("1h")
        .apply()
        .exits(0)
        .release("ami-0000000000000002")
        .apply()
        .exits(0)
        .release("ami-0000000000000001")
        .apply()
        .exits(0)
        .traffic(100, 0)
        .run(&["rollback"])
        .exits(0)
        .says("100% of production on green")
        .traffic(0, 100)
        .active("green");
    s.run(&["rollback"]).exits(1).traffic(0, 100);
}

#[test]
fn aws_rollback_preempts_a_running_apply_which_stops_without_another_write() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"60s\"")],
    );
    // A real apply, baking at 10%; the rollback needs no unlock.
    let child = aws.apply_until(&[], (90, 10));
    let rb = aws.run(&["rollback"]);
    rb.expect(0);
    assert!(
        rb.stderr.contains("taking over the lock of")
            && rb.stderr.contains("a rollback preempts it"),
        "{}",
        rb.stderr
    );
    assert!(
        rb.stdout.contains("100% of production on blue (was 90%)"),
        "{}",
        rb.stdout
    );
    let stopped = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stopped.elapsed() < Duration::from_secs(15),
        "the apply noticed within one poll"
    );
    assert!(
        stdout.contains("took the lock over; this run made no further change"),
        "{stdout}"
    );
    assert!(stdout.contains("`cutover rollback shop.toml`"), "{stdout}");
    // Nothing written after the rollback (the rollback looked again after
    // a poll and found no stray write to undo); the release is remembered;
    // the lock is free.
    assert!(
        !rb.stderr.contains("landed after the flip"),
        "the preempted run wrote after the flip: {}",
        rb.stderr
    );
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.active(), "blue");
    assert!(aws.tag("green", "cutover:rolled-back").is_some());
    assert_eq!(aws.parameter("/cutover/shop/active-lock"), None);
}

#[test]
fn aws_five_applies_at_once_exactly_one_proceeds() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"3s\"")],
    );
    let outs = aws.applies_at_once(5);
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap_or(-1)).collect();
    let proceeded: Vec<&std::process::Output> = outs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("Apply complete"))
        .collect();
    assert_eq!(proceeded.len(), 1, "exit codes {codes:?}");
    for o in outs.iter().filter(|o| o.status.code() == Some(1)) {
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("shop is locked by"), "{stderr}");
    }
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 1).count(), 4, "{codes:?}");
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.launch_template_versions(), 2, "nothing created twice");
    assert_eq!(aws.parameter("/cutover/shop/active-lock"), None);
}

#[test]
fn aws_a_hand_edit_of_the_weights_during_a_bake_stops_the_apply_without_a_write() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"60s\"")],
    );
    let child = aws.apply_until(&[], (90, 10));
    // Someone sets 50/50 in the console.
    aws.set_weights_by_hand(80, 50, 50);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("someone else changed the production weights: it is 50% blue / 50% green, this run last set or saw 90% blue / 10% green"),
        "{stdout}"
    );
    // No write after the edit: the weights stay where the person put them.
    assert_eq!(aws.weights(80), (50, 50));
    assert_eq!(aws.active(), "blue");
    assert_eq!(aws.parameter("/cutover/shop/active-lock"), None);
}

#[test]
fn aws_a_second_signal_lets_the_way_home_finish() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"60s\"")],
    );
    let child = aws.apply_until(&[], (90, 10));
    // The flip home takes AWS two seconds to answer.
    aws.moto.faults(serde_json::json!([
        {"kind": "latency", "action": "ModifyListener", "seconds": 2.0}
    ]));
    // A CI runner cancels: SIGINT, then SIGTERM. The first stops the bake
    // and sends production home; the second arrives while the flip is on
    // its way: the server holds it.
    signal(&child, "-INT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while aws.moto.fault_stats()["faults"]["latency"]
        .as_u64()
        .unwrap_or(0)
        == 0
    {
        assert!(Instant::now() < deadline, "the flip home never went out");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("production traffic is on its way home: finishing that first"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Production traffic: rolled back to blue in one call"),
        "{stdout}"
    );
    assert_eq!(aws.weights(80), (100, 0));
}

#[test]
fn aws_a_release_that_raises_capacity_and_fails_its_first_gate_goes_home() {
    crate::sandbox::raises_capacity_and_fails_its_first_gate(Scenario::on(Aws::new()));
}

#[test]
fn aws_two_runs_taking_over_a_dead_lock_at_once_exactly_one_proceeds() {
    takeover_race(2, false);
}

#[test]
fn aws_three_runs_taking_over_from_a_dead_claimer_at_once_exactly_one_proceeds() {
    takeover_race(3, true);
}

/// `runs` applies at once find the lock of a dead run (and, with
/// `dead_claimer`, a claim on it by a run that died too): exactly one
/// proceeds, and every other exits 1 naming it.
fn takeover_race(runs: usize, dead_claimer: bool) {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.put_dead_holder("/cutover/shop/active-lock", "deadbeefdeadbeef");
    if dead_claimer {
        aws.put_dead_holder(
            "/cutover/shop/active-lock-claim-deadbeefdeadbeef",
            "dead0c1a1dead0c1",
        );
    }
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"3s\"")],
    );
    let outs = aws.applies_at_once_with_pids(runs);
    let codes: Vec<i32> = outs
        .iter()
        .map(|(_, o)| o.status.code().unwrap_or(-1))
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 1).count(),
        runs - 1,
        "{codes:?}"
    );
    let winner = outs
        .iter()
        .find(|(_, o)| o.status.code() == Some(0))
        .map(|(pid, _)| *pid)
        .unwrap();
    for (_, o) in outs.iter().filter(|(_, o)| o.status.code() == Some(1)) {
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("shop is locked by"), "{stderr}");
        assert!(
            stderr.contains(&format!("(pid {winner})")),
            "the loser names the winner (pid {winner}):\n{stderr}"
        );
    }
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.launch_template_versions(), 2, "nothing created twice");
    assert_eq!(aws.parameter("/cutover/shop/active-lock"), None);
    let claim = if dead_claimer {
        "/cutover/shop/active-lock-claim-dead0c1a1dead0c1"
    } else {
        "/cutover/shop/active-lock-claim-deadbeefdeadbeef"
    };
    assert_eq!(
        aws.parameter(claim),
        None,
        "the winner's claim goes with the lock"
    );
}

#[test]
fn aws_the_confirmation_prompt_holds_no_lock() {
    let aws = Aws::new();
    let (ok, shown) = aws.release_at_a_terminal(|| {
        assert_eq!(
            aws.parameter("/cutover/shop/active-lock"),
            None,
            "a prompt waiting for a person holds no lock"
        );
    });
    assert!(ok, "{shown}");
    assert_eq!(aws.weights(80), (0, 100));
}

#[test]
fn aws_a_change_while_the_prompt_waits_stops_the_apply_before_a_write() {
    let aws = Aws::new();
    // Someone moves production while the plan waits for a yes.
    let (ok, shown) = aws.release_at_a_terminal(|| aws.set_weights_by_hand(80, 50, 50));
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("live state changed since the plan was shown"),
        "{shown}"
    );
    assert_eq!(aws.weights(80), (50, 50), "nothing written after the yes");
    assert!(aws.group("green").is_none(), "no fleet built");
    assert_eq!(aws.parameter("/cutover/shop/active-lock"), None);
}

#[test]
fn aws_ctrl_c_typed_at_a_terminal_is_a_verdict_on_the_release() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("bake = \"1s\"", "bake = \"60s\"")],
    );
    // At a terminal, ^C typed there is a person's Ctrl-C.
    let cmd = format!(
        "{} apply shop.toml --auto-approve",
        env!("CARGO_BIN_EXE_cutover")
    );
    let env = crate::moto::aws_env(&aws.moto.endpoint);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut terminal = crate::harness::Terminal::open(aws.moto.dir.path(), &cmd, &env);
    terminal.wait_until("the bake at 10%", |s| s.contains("green at 10%: "));
    assert_eq!(aws.weights(80), (90, 10));
    terminal.type_in(b"\x03");
    let (code, shown) = terminal.finish();
    let tail: String = shown
        .chars()
        .skip(shown.chars().count().saturating_sub(1500))
        .collect();
    assert_eq!(
        code,
        Some(3),
        "exit code; the end of what was shown: {tail}"
    );
    assert!(shown.contains("interrupted (Ctrl-C)"), "{shown}");
    assert_eq!(aws.weights(80), (100, 0));
    assert!(
        aws.tag("green", "cutover:rolled-back").is_some(),
        "a person's Ctrl-C is remembered: {shown}"
    );
}

#[test]
fn aws_a_fleet_of_three_apps_applies_in_waves_only_the_changed_ones() {
    let aws = Aws::new();
    let dir = aws.moto.dir.path();
    std::fs::create_dir(dir.join("plans")).unwrap();
    let apps = ["shop", "cart", "pay"];
    let write = |app: &str, i: usize, image: &str| {
        let plan = app_on_shared_balancer(&aws, app, i)
            .replace("ami-0000000000000001", image)
            .replace(
                &format!("name = \"{app}\"\n"),
                &format!("name = \"{app}\"\nwave = {}\n", i.min(1)),
            );
        std::fs::write(dir.join(format!("plans/{app}.toml")), plan).unwrap();
    };
    for (i, app) in apps.iter().enumerate() {
        write(app, i, "ami-0000000000000001");
    }
    // Three first deploys on one load balancer at once.
    let first = aws
        .moto
        .cutover(&["apply", "plans", "--auto-approve", "--parallel", "3"]);
    first.expect(0);
    assert!(
        first.stdout.contains("3 apps: 3 deployed"),
        "{}",
        first.stdout
    );
    // A new release of shop (wave 0) and cart (wave 1); pay unchanged.
    write("shop", 0, "ami-0000000000000002");
    write("cart", 1, "ami-0000000000000002");
    let r = aws
        .moto
        .cutover(&["apply", "plans", "--auto-approve", "--format", "json"]);
    r.expect(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect(&r.stdout);
    let rows = v["apps"].as_array().unwrap();
    let order: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["app"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        order,
        [
            ("shop", "deployed"),
            ("cart", "deployed"),
            ("pay", "no_changes")
        ],
        "{v}"
    );
    assert_eq!(rows[0]["from"], "ami-0000000000000001");
    assert_eq!(rows[0]["to"], "ami-0000000000000002");
    // Wave 0 finished before wave 1 began.
    let last_shop = r.stderr.rfind("shop: ").unwrap();
    let first_cart = r.stderr.find("cart: [1/").unwrap();
    assert!(last_shop < first_cart, "{}", r.stderr);
    // What AWS holds: shop and cart on green, pay untouched on blue.
    let status = aws.moto.cutover(&["status", "plans", "--format", "json"]);
    status.expect(0);
    let s: Vec<serde_json::Value> = serde_json::from_str(&status.stdout).unwrap();
    let active = |app: &str| {
        s.iter()
            .find(|x| x["app"] == app)
            .map(|x| x["active"].clone())
            .unwrap()
    };
    assert_eq!(active("shop"), "green", "{}", status.stdout);
    assert_eq!(active("cart"), "green");
    assert_eq!(active("pay"), "blue");
}
