//! Sessions as AWS holds them: the target groups' stickiness, slow start and
//! algorithm, and the forward's session affinity during a shift, which a
//! rollback turns off in the same listener update.

use super::Aws;
use std::collections::BTreeMap;

impl Aws {
    /// Target group shop-<color>'s attributes, as AWS reads them back.
    fn tg_attributes(&self, color: &str) -> BTreeMap<String, String> {
        let arn = self.tg_arn(color);
        let out = self
            .moto
            .rt
            .block_on(
                self.moto
                    .elb
                    .describe_target_group_attributes()
                    .target_group_arn(arn)
                    .send(),
            )
            .unwrap();
        out.attributes()
            .iter()
            .map(|a| {
                (
                    a.key().unwrap().to_string(),
                    a.value().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// The production forward's group stickiness: (enabled, duration).
    fn affinity(&self, port: i32) -> (bool, Option<i32>) {
        let l = self.listener(port);
        let fc = l
            .default_actions()
            .iter()
            .find_map(|a| a.forward_config())
            .expect("a forward action")
            .clone();
        let s = fc.target_group_stickiness_config();
        (
            s.and_then(|s| s.enabled()).unwrap_or(false),
            s.and_then(|s| s.duration_seconds()),
        )
    }

    /// shop.toml with session settings added to [target_group] and [rollout].
    fn session_plan(&self, image: &str, target_group: &str) {
        self.plan(
            image,
            "1h",
            &[
                (
                    "deregistration_delay = \"30s\"\n",
                    &format!("deregistration_delay = \"30s\"\n{target_group}"),
                ),
                (
                    "steps = [10, 25, 50, 100]\n",
                    "steps = [50, 100]\nsession_affinity = \"10m\"\n",
                ),
            ],
        );
    }
}

#[test]
fn aws_session_settings_read_back_and_a_rollback_sends_every_user_home() {
    let aws = Aws::new();
    aws.session_plan(
        "ami-0000000000000001",
        "stickiness = \"1h\"\nslow_start = \"30s\"\n",
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    for color in ["blue", "green"] {
        let a = aws.tg_attributes(color);
        assert_eq!(a["stickiness.enabled"], "true", "{color}: {a:?}");
        assert_eq!(a["stickiness.type"], "lb_cookie");
        assert_eq!(a["stickiness.lb_cookie.duration_seconds"], "3600");
        assert_eq!(a["slow_start.duration_seconds"], "30");
        assert_eq!(a["load_balancing.algorithm.type"], "round_robin");
    }

    // A release shifts with session affinity: each weight write carries it.
    aws.session_plan(
        "ami-0000000000000002",
        "stickiness = \"1h\"\nslow_start = \"30s\"\n",
    );
    let plan = aws.run(&["plan"]);
    plan.expect(0);
    assert!(
        plan.stdout
            .contains("50% of new sessions on green, each kept 10m"),
        "{}",
        plan.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.affinity(80), (true, Some(600)));

    // The rollback turns affinity off in the same update, and says so.
    let rollback = aws.run(&["rollback"]);
    rollback.expect(0);
    assert_eq!(aws.weights(80), (100, 0));
    assert!(!aws.affinity(80).0, "affinity still on after the rollback");
    assert!(
        rollback
            .stdout
            .contains("Session affinity (10m) was turned off in the same update"),
        "{}",
        rollback.stdout
    );

    // Another algorithm (without slow start, which it does not take) is
    // an in-place change of both target groups; drift is clean after.
    aws.session_plan(
        "ami-0000000000000001",
        "stickiness = \"1h\"\nalgorithm = \"least_outstanding_requests\"\n",
    );
    let plan = aws.run(&["plan"]);
    plan.expect(0);
    assert!(
        plan.stdout
            .contains("algorithm: round_robin → least_outstanding_requests"),
        "{}",
        plan.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    for color in ["blue", "green"] {
        let a = aws.tg_attributes(color);
        assert_eq!(
            a["load_balancing.algorithm.type"],
            "least_outstanding_requests"
        );
        assert_eq!(a["slow_start.duration_seconds"], "0");
        assert_eq!(a["stickiness.lb_cookie.duration_seconds"], "3600");
    }
    aws.run(&["drift"]).expect(0);
}
