//! AWS as it really behaves, through the test server's fault layer:
//! answers lost after the work was done, throttling, 500s, resets, denied
//! writes. A whole lifecycle converges, nothing is created twice, and
//! `plan --detailed-exitcode` finds nothing left to do.

use super::Aws;
use serde_json::json;

impl Aws {
    /// Names of the resources cutover created, one entry per resource:
    /// a name twice means created twice.
    fn inventory(&self) -> Vec<String> {
        self.moto.rt.block_on(async {
            let mut names = Vec::new();
            let tgs = self.moto.elb.describe_target_groups().send().await.unwrap();
            for tg in tgs.target_groups() {
                names.push(format!("target group {}", tg.target_group_name().unwrap()));
            }
            let lbs = self
                .moto
                .elb
                .describe_load_balancers()
                .names("shop-alb")
                .send()
                .await
                .unwrap();
            let lb = lbs.load_balancers()[0].load_balancer_arn().unwrap();
            let listeners = self
                .moto
                .elb
                .describe_listeners()
                .load_balancer_arn(lb)
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
    assert_eq!(aws.inventory(), CREATED);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}
