//! The deployment scenarios through the real AWS SDK against moto, asserting
//! on what AWS reads back: listener weights, target-group health checks, Auto
//! Scaling capacity and launch template version, the SSM active colour.

use crate::harness::Run;
use crate::moto::Moto;
use std::time::{Duration, Instant};

struct Aws {
    moto: Moto,
    vpc: String,
    subnets: Vec<String>,
    sg: String,
}

impl Aws {
    fn new() -> Aws {
        let moto = Moto::start();
        let (vpc, subnets, sg) = moto.network();
        Aws {
            moto,
            vpc,
            subnets,
            sg,
        }
    }

    /// Writes shop.toml for this account's network.
    fn plan(&self, image: &str, delay: &str, extra: &[(&str, &str)]) {
        let mut toml = crate::harness::plan_toml(image, delay)
            .replace("vpc-0test", &self.vpc)
            .replace(
                "[\"subnet-a\", \"subnet-b\"]",
                &format!("{:?}", self.subnets),
            )
            .replace("sg-0123", &self.sg)
            .replace("bake = \"5m\"", "bake = \"1s\"")
            .replace("health_timeout = \"10m\"", "health_timeout = \"20s\"")
            .replace(
                "deregistration_delay = \"30s\"",
                "deregistration_delay = \"0s\"",
            );
        for (from, to) in extra {
            toml = toml.replace(from, to);
        }
        std::fs::write(self.moto.dir.path().join("shop.toml"), toml).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.push("shop.toml");
        self.moto.cutover(&all)
    }

    /// Production weights (blue, green) as DescribeListeners returns them.
    fn weights(&self, port: i32) -> (i32, i32) {
        self.moto.rt.block_on(async {
            let lb = self
                .moto
                .elb
                .describe_load_balancers()
                .names("shop-alb")
                .send()
                .await
                .unwrap();
            let arn = lb.load_balancers()[0]
                .load_balancer_arn()
                .unwrap()
                .to_string();
            let ls = self
                .moto
                .elb
                .describe_listeners()
                .load_balancer_arn(arn)
                .send()
                .await
                .unwrap();
            let l = ls
                .listeners()
                .iter()
                .find(|l| l.port() == Some(port))
                .expect("listener");
            let fc = l.default_actions()[0]
                .forward_config()
                .expect("forward config");
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
        })
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
fn aws_rollback_inside_the_window_then_teardown_after_it() {
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
    // One listener update; the SSM writes are the active colour and the lock (taken and released).
    assert!(rb.stderr.contains("   1 ModifyListener"), "{}", rb.stderr);
    assert!(
        rb.stderr.contains("   2 PutParameter") && rb.stderr.contains("   1 DeleteParameter"),
        "{}",
        rb.stderr
    );
    assert_eq!(aws.weights(80), (100, 0));
    assert_eq!(aws.active(), "blue");
    eprintln!("rollback took {took:?} end to end (binary start included)");

    // A short window this time: the teardown is a pending change once it has passed.
    aws.plan("ami-0000000000000003", "2s", &[]);
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
        &[("health_timeout = \"20s\"", "health_timeout = \"3s\"")],
    );
    let run = aws.run(&["apply", "--auto-approve", "--retry"]);
    run.expect(3);
    assert!(
        run.stdout.contains("green was not healthy within 3s"),
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
            .contains("health_check.path: \"/health\" → \"/healthz\""),
        "{}",
        plan.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.health_check_path("blue"), "/healthz");
    assert_eq!(aws.health_check_path("green"), "/healthz");
    assert_eq!(aws.fleet("blue"), Some((3, "1".into())));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}
