//! Auto Scaling as production runs it: health check grace and warmup on
//! both groups, a target-tracking policy on the colour that serves, and a
//! desired capacity cutover leaves to the policy.

use super::Aws;

impl Aws {
    /// cutover's scaling policy on shop-<color>: (metric, target, label).
    fn policy(&self, color: &str) -> Option<(String, f64, Option<String>)> {
        let out = self
            .moto
            .rt
            .block_on(
                self.moto
                    .asg
                    .describe_policies()
                    .auto_scaling_group_name(format!("shop-{color}"))
                    .send(),
            )
            .unwrap();
        out.scaling_policies().first().map(|p| {
            let t = p.target_tracking_configuration().unwrap();
            let m = t.predefined_metric_specification().unwrap();
            (
                m.predefined_metric_type().unwrap().as_str().to_string(),
                t.target_value().unwrap(),
                m.resource_label().map(str::to_string),
            )
        })
    }

    /// What a scaling policy does: the group's desired capacity moves.
    fn scale_to(&self, color: &str, desired: i32) {
        self.moto
            .rt
            .block_on(
                self.moto
                    .asg
                    .set_desired_capacity()
                    .auto_scaling_group_name(format!("shop-{color}"))
                    .desired_capacity(desired)
                    .send(),
            )
            .unwrap();
    }

    fn scaling_plan(&self, image: &str, scaling: &str) {
        self.plan(
            image,
            "0s",
            &[
                (
                    "desired_capacity = 2\n",
                    "desired_capacity = 2\nhealth_check_grace = \"2m\"\nwarmup = \"1m\"\n",
                ),
                (
                    "[rollout]\n",
                    &format!("[fleet.scaling]\n{scaling}\n\n[rollout]\n"),
                ),
            ],
        );
    }
}

#[test]
fn aws_the_serving_colour_scales_by_target_tracking_and_cutover_does_not_fight_it() {
    let aws = Aws::new();
    aws.scaling_plan("ami-0000000000000001", "target_cpu = 50");
    aws.run(&["apply", "--auto-approve"]).expect(0);
    let blue = aws.group("blue").unwrap();
    assert_eq!(blue.health_check_grace_period(), Some(120));
    // (moto drops DefaultInstanceWarmup; the test server keeps it, as AWS does.)
    assert_eq!(blue.default_instance_warmup(), Some(60));
    assert_eq!(
        aws.policy("blue"),
        Some(("ASGAverageCPUUtilization".into(), 50.0, None))
    );

    // The policy scales blue out: neither plan nor drift fights it.
    aws.scale_to("blue", 3);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
    aws.run(&["drift"]).expect(0);

    // A release: green starts at blue's 3, gets the policy with traffic,
    // and blue loses it once it no longer serves.
    aws.scaling_plan("ami-0000000000000002", "target_cpu = 50");
    let plan = aws.run(&["plan"]);
    plan.expect(0);
    assert!(
        plan.stdout
            .contains("scale shop-green by target tracking: average CPU at 50%")
            && plan
                .stdout
                .contains("take the scaling policy off shop-blue"),
        "{}",
        plan.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(80), (0, 100));
    assert_eq!(aws.fleet("green").unwrap().0, 3);
    assert!(aws.policy("green").is_some());
    assert_eq!(aws.policy("blue"), None);

    // Another metric is an in-place change of the serving colour's policy.
    aws.scaling_plan("ami-0000000000000002", "requests_per_target = 1000");
    aws.run(&["apply", "--auto-approve"]).expect(0);
    let (metric, target, label) = aws.policy("green").unwrap();
    assert_eq!(
        (metric.as_str(), target),
        ("ALBRequestCountPerTarget", 1000.0)
    );
    let label = label.unwrap();
    assert!(
        label.starts_with("app/shop-alb/") && label.contains("/targetgroup/shop-green/"),
        "{label}"
    );
    aws.run(&["drift"]).expect(0);
}
