//! Preflight tables: (plan file, what the lookups found) → the errors a user
//! reads, at the plan line that names the resource, and the warnings.

use cutover::decide::preflight::check;
use cutover::model::named::{Certificate, Found, Seen};
use cutover::model::observed::AlarmState;
use cutover::spec::Spec;

const HTTPS: &str = r#"[[listeners]]
port = 443
protocol = "HTTPS"
role = "production"
certificate_arn = "CERT"
"#;

/// The harness plan, with `key_name` and (when `cert` is given) an HTTPS
/// production listener on 443 instead of HTTP on 80.
fn spec(cert: Option<&str>) -> Spec {
    let mut toml = crate::harness::plan_toml("ami-1", "0s").replace(
        "security_groups = [\"sg-0123\"]",
        "security_groups = [\"sg-0123\"]\nkey_name = \"deploy\"",
    );
    if let Some(cert) = cert {
        toml = toml.replace(
            "[[listeners]]\nport = 80\nprotocol = \"HTTP\"\nrole = \"production\"\n",
            &HTTPS.replace("CERT", cert),
        );
    }
    cutover::spec::parse(std::path::Path::new("shop.toml"), &toml).expect("valid")
}

/// Everything the plan names exists, in vpc-0test.
fn all_there(spec: &Spec) -> Found {
    let vpc = || Seen::Found("vpc-0test".to_string());
    Found {
        region: "us-east-1".into(),
        load_balancer: vpc(),
        vpc: Seen::Found(()),
        subnets: spec.fleet.subnets.iter().map(|_| vpc()).collect(),
        security_groups: vec![vpc()],
        key_pair: Some(Seen::Found(())),
        certificates: spec
            .named()
            .certificates
            .iter()
            .map(|_| {
                Seen::Found(Certificate {
                    status: Some("ISSUED".into()),
                })
            })
            .collect(),
        alarms: spec
            .named()
            .alarms
            .iter()
            .map(|_| Seen::Found(AlarmState::Ok))
            .collect(),
    }
}

/// The errors as a user reads them: "line:col message".
fn errors(spec: &Spec, found: &Found) -> Vec<String> {
    check(spec, found, true)
        .errors
        .into_iter()
        .map(|f| {
            let d = spec.diagnostic_at(f.key, f.message, Some(f.help));
            format!("{}:{} {}", d.line, d.col, d.message)
        })
        .collect()
}

const ACM: &str = "arn:aws:acm:us-east-1:000000000000:certificate/abc";

#[test]
fn a_plan_whose_resources_all_exist_passes_without_a_word() {
    for cert in [None, Some(ACM)] {
        let spec = spec(cert);
        let out = check(&spec, &all_there(&spec), true);
        assert!(out.errors.is_empty() && out.warnings.is_empty(), "{out:?}");
    }
}

#[test]
fn a_missing_subnet_security_group_or_key_pair_points_at_its_line() {
    let spec = spec(None);
    let mut found = all_there(&spec);
    found.subnets[1] = Seen::Missing;
    found.security_groups[0] = Seen::Missing;
    found.key_pair = Some(Seen::Missing);
    assert_eq!(
        errors(&spec, &found),
        [
            "34:24 subnet subnet-b does not exist in us-east-1",
            "35:20 security group sg-0123 does not exist in us-east-1",
            "36:12 key pair \"deploy\" does not exist in us-east-1",
        ]
    );
}

#[test]
fn a_subnet_of_another_vpc_is_refused_and_the_help_lists_the_right_ones() {
    let spec = spec(None);
    let mut found = all_there(&spec);
    found.subnets[0] = Seen::Found("vpc-0else".into());
    let out = check(&spec, &found, true);
    assert_eq!(
        errors(&spec, &found),
        ["34:12 subnet subnet-a is in vpc-0else, not in the target groups' VPC vpc-0test"]
    );
    assert!(
        out.errors[0]
            .help
            .contains("aws ec2 describe-subnets --filters Name=vpc-id,Values=vpc-0test"),
        "{out:?}"
    );
}

#[test]
fn a_vpc_id_other_than_the_load_balancers_is_one_error_on_vpc_id() {
    // The subnets and security groups are in the load balancer's VPC: the
    // mistake is vpc_id alone, and it is said once.
    let spec = spec(None);
    let mut found = all_there(&spec);
    found.load_balancer = Seen::Found("vpc-0lb".into());
    found.vpc = Seen::Missing;
    found.subnets = vec![Seen::Found("vpc-0lb".into()); 2];
    found.security_groups = vec![Seen::Found("vpc-0lb".into())];
    let out = check(&spec, &found, true);
    assert_eq!(
        errors(&spec, &found),
        ["20:10 target_group.vpc_id is vpc-0test, but load balancer \"shop-alb\" is in vpc-0lb"]
    );
    assert!(out.errors[0].help.contains("vpc_id = \"vpc-0lb\""));
}

#[test]
fn a_missing_load_balancer_or_vpc_is_an_error_on_its_key() {
    let spec = spec(None);
    let mut found = all_there(&spec);
    found.load_balancer = Seen::Missing;
    found.vpc = Seen::Missing;
    let out = check(&spec, &found, true);
    assert_eq!(
        errors(&spec, &found),
        [
            "5:8 load balancer \"shop-alb\" does not exist in us-east-1",
            "20:10 VPC vpc-0test does not exist in us-east-1",
        ]
    );
    assert!(out.errors[0].help.contains("never creates load balancers"));
}

#[test]
fn certificates_must_be_acm_or_iam_arns_of_the_region_and_issued() {
    let cases = [
        ("not-an-arn", None, "is not a certificate ARN"),
        (
            "arn:aws:acm:eu-west-1:000000000000:certificate/abc",
            None,
            "is in eu-west-1, the load balancer in us-east-1",
        ),
        (ACM, Some(Seen::Missing), "does not exist"),
        (
            ACM,
            Some(Seen::Found(Certificate {
                status: Some("PENDING_VALIDATION".into()),
            })),
            "is PENDING_VALIDATION, not ISSUED",
        ),
    ];
    for (arn, seen, says) in cases {
        let spec = spec(Some(arn));
        let mut found = all_there(&spec);
        if let Some(seen) = seen {
            found.certificates[0] = seen;
        }
        let errors = errors(&spec, &found);
        assert_eq!(errors.len(), 1, "{arn}: {errors:?}");
        assert!(errors[0].starts_with("11:19 "), "{errors:?}");
        assert!(errors[0].contains(says), "{arn}: {errors:?}");
    }
    let iam = spec(Some("arn:aws:iam::000000000000:server-certificate/shop"));
    let mut found = all_there(&iam);
    found.certificates[0] = Seen::Found(Certificate { status: None });
    assert!(check(&iam, &found, true).errors.is_empty());
}

#[test]
fn a_lookup_the_role_may_not_make_is_one_warning_not_an_error() {
    let spec = spec(None);
    let mut found = all_there(&spec);
    found.subnets = vec![Seen::Unchecked("ec2:DescribeSubnets".into()); 2];
    let out = check(&spec, &found, true);
    assert!(out.errors.is_empty(), "{out:?}");
    assert_eq!(
        out.warnings,
        ["could not look up the subnets the plan names (the credentials in use may not call ec2:DescribeSubnets); apply fails later if one does not exist"]
    );
}

#[test]
fn an_alarm_gate_needs_its_alarm_to_exist_and_not_be_in_alarm_already() {
    let toml = crate::harness::plan_toml("ami-1", "0s").replace(
        "health_timeout = \"10m\"\n",
        "health_timeout = \"10m\"\n\n[[rollout.gates]]\nalarm = \"shop-5xx\"\n\n[[rollout.gates]]\nalarm = \"shop-latency\"\n\n[[rollout.gates]]\nalarm = \"shop-quiet\"\n",
    );
    let spec = cutover::spec::parse(std::path::Path::new("shop.toml"), &toml).expect("valid");
    assert_eq!(
        spec.named().alarms,
        ["shop-5xx", "shop-latency", "shop-quiet"]
    );
    let mut found = all_there(&spec);
    found.alarms = vec![
        Seen::Missing,
        Seen::Found(AlarmState::Alarm),
        // Count metrics are not published when zero: a healthy app's
        // alarm often sits in INSUFFICIENT_DATA.
        Seen::Found(AlarmState::InsufficientData),
    ];
    let errors = errors(&spec, &found);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].ends_with("CloudWatch alarm \"shop-5xx\" does not exist in us-east-1"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("\"shop-latency\" is in ALARM before the release has moved any traffic"),
        "{errors:?}"
    );
    let line = |name: &str| {
        let n = toml.lines().position(|l| l.contains(name)).unwrap() + 1;
        format!("{n}:9 ")
    };
    assert!(errors[0].starts_with(&line("shop-5xx")), "{errors:?}");
    assert!(errors[1].starts_with(&line("shop-latency")), "{errors:?}");

    // Once traffic is split (or with the release live) an alarm in ALARM
    // is no preflight error: the gate judges it, or no gate reads it.
    let mid_shift = check(&spec, &found, false);
    assert_eq!(mid_shift.errors.len(), 1, "{mid_shift:?}");
    assert!(mid_shift.errors[0].message.contains("does not exist"));

    // A role that may not call DescribeAlarms: one warning, no error.
    found.alarms = vec![Seen::unchecked("cloudwatch:DescribeAlarms"); 3];
    let out = check(&spec, &found, true);
    assert!(out.errors.is_empty(), "{out:?}");
    assert_eq!(out.warnings.len(), 1, "{out:?}");
    assert!(
        out.warnings[0].contains("cloudwatch:DescribeAlarms"),
        "{out:?}"
    );
}
