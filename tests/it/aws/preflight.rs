//! Preflight against the AWS APIs: what a plan names and cutover does not
//! create is looked up during `plan` and before `apply` touches anything.

use super::Aws;
use serde_json::json;

impl Aws {
    /// A second VPC with a subnet and a security group: someone else's.
    fn other_vpc(&self) -> (String, String) {
        self.moto.rt.block_on(async {
            let ec2 = &self.moto.ec2;
            let vpc = ec2
                .create_vpc()
                .cidr_block("10.9.0.0/16")
                .send()
                .await
                .unwrap();
            let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
            let subnet = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block("10.9.1.0/24")
                .send()
                .await
                .unwrap();
            let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
            let sg = ec2
                .create_security_group()
                .group_name("elsewhere")
                .description("elsewhere")
                .vpc_id(&vpc)
                .send()
                .await
                .unwrap();
            (subnet, sg.group_id().unwrap().to_string())
        })
    }

    /// An ACM certificate: issued at once when a private CA signs it,
    /// pending validation (as AWS leaves a DNS-validated one) otherwise.
    fn certificate(&self, issued: bool) -> String {
        let ca = "arn:aws:acm-pca:us-east-1:000000000000:certificate-authority/test";
        let asked = self
            .moto
            .acm
            .request_certificate()
            .domain_name("shop.example.com")
            .set_certificate_authority_arn(issued.then(|| ca.to_string()));
        let out = self.moto.rt.block_on(asked.send()).unwrap();
        out.certificate_arn().unwrap().to_string()
    }
}

#[test]
fn aws_preflight_refuses_what_does_not_exist_at_its_line_and_creates_nothing() {
    let aws = Aws::new();
    let (their_subnet, their_sg) = aws.other_vpc();
    let subnets = format!("[\"{}\", \"subnet-0000000000000dead\"]", aws.subnets[0]);
    let sgs = format!("[\"{their_sg}\"]");
    aws.plan(
        "ami-0000000000000001",
        "0s",
        &[
            (&format!("{:?}", aws.subnets), &subnets),
            (&format!("[\"{}\"]", aws.sg), &sgs),
            ("min_size", "key_name = \"no-such-key\"\nmin_size"),
        ],
    );
    for cmd in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = aws.run(cmd);
        run.expect(1);
        for says in [
            "error: subnet subnet-0000000000000dead does not exist in us-east-1\n  --> shop.toml:34:",
            &format!("error: security group {their_sg} is in vpc-"),
            "error: key pair \"no-such-key\" does not exist in us-east-1\n  --> shop.toml:36:",
            "shop.toml: 3 errors found",
        ] {
            assert!(run.stderr.contains(says), "{cmd:?} should say {says:?}:\n{}", run.stderr);
        }
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert_eq!(aws.inventory(), Vec::<String>::new(), "nothing is created");

    // Someone else's subnet, and a load balancer that is not there.
    aws.plan(
        "ami-0000000000000001",
        "0s",
        &[
            (
                &format!("{:?}", aws.subnets),
                &format!("[\"{their_subnet}\"]"),
            ),
            ("name = \"shop-alb\"", "name = \"shop-alb-typo\""),
        ],
    );
    let run = aws.run(&["plan"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains(&format!("error: subnet {their_subnet} is in vpc-")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error: load balancer \"shop-alb-typo\" does not exist in us-east-1\n  --> shop.toml:5:8")
            && run.stderr.contains("cutover never creates load balancers"),
        "{}",
        run.stderr
    );

    // Put right, the same plan goes through.
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["plan"]).expect(0);
}

#[test]
fn aws_preflight_a_read_only_role_that_may_not_look_up_gets_a_warning_and_the_plan() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.moto.faults(json!([
        {"kind": "deny", "service": "ec2", "action": "DescribeSubnets"},
        {"kind": "deny", "service": "ec2", "action": "DescribeSecurityGroups"}
    ]));
    let run = aws.run(&["plan"]);
    run.expect(0);
    assert!(
        run.stdout.contains("First deploy"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    for call in ["ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"] {
        assert!(
            run.stderr.contains(&format!(
                "warning: shop.toml: could not look up the {} the plan names (the credentials in use may not call {call})",
                if call.ends_with("Subnets") { "subnets" } else { "security groups" }
            )),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn aws_preflight_an_https_listener_needs_an_issued_certificate_of_the_region() {
    let aws = Aws::new();
    let https = |arn: &str| {
        format!(
            "port = 443\nprotocol = \"HTTPS\"\nrole = \"production\"\ncertificate_arn = \"{arn}\""
        )
    };
    let pending = aws.certificate(false);
    let http = "port = 80\nprotocol = \"HTTP\"\nrole = \"production\"";
    aws.plan("ami-0000000000000001", "0s", &[(http, &https(&pending))]);
    let run = aws.run(&["plan"]);
    run.expect(1);
    assert!(
        run.stderr.contains(&format!(
            "error: certificate {pending} is PENDING_VALIDATION, not ISSUED\n  --> shop.toml:11:"
        )),
        "{}",
        run.stderr
    );
    let gone =
        "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000";
    aws.plan("ami-0000000000000001", "0s", &[(http, &https(gone))]);
    let run = aws.run(&["plan"]);
    run.expect(1);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);

    let issued = aws.certificate(true);
    aws.plan("ami-0000000000000001", "0s", &[(http, &https(&issued))]);
    let run = aws.run(&["plan"]);
    run.expect(0);
    assert!(run.stdout.contains(":443"), "{}", run.stdout);
}
