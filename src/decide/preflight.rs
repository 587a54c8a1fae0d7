//! Preflight: (Spec, what the lookups found) → what is wrong before anything
//! is created. A resource the plan names that does not exist, or that lives
//! in another VPC than the target groups, is an error on the plan key that
//! names it; a lookup the role may not make is a warning.

use crate::model::named::{Found, Named, Seen};
use crate::model::observed::AlarmState;
use crate::spec::{PlanKey, Spec};

/// One thing preflight found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub key: PlanKey,
    pub message: String,
    /// What would be right.
    pub help: String,
}

/// Errors stop `plan` and `apply` (exit 1, nothing created); warnings are
/// said and the run goes on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preflight {
    pub errors: Vec<Finding>,
    pub warnings: Vec<String>,
}

/// What is wrong with what `spec` names, as `found`. `release_starts`:
/// the plan's release is about to move its first traffic (see
/// [`release_starts`]).
pub fn check(spec: &Spec, found: &Found, release_starts: bool) -> Preflight {
    let named = spec.named();
    let mut c = Checker {
        named: &named,
        found,
        release_starts,
        out: Preflight::default(),
        unchecked: Vec::new(),
    };
    // Subnets and security groups belong in the load balancer's VPC; when
    // vpc_id is the mistake, that is said once, on vpc_id.
    let vpc = match &found.load_balancer {
        Seen::Found(lb_vpc) => lb_vpc.clone(),
        _ => named.vpc.clone(),
    };
    c.load_balancer_and_vpc();
    c.in_vpc(&vpc);
    c.key_pair();
    c.certificates();
    c.alarms();
    c.finish()
}

/// Whether the plan's release is about to move its first traffic: it is
/// not what the active colour runs, and production is not split (no step
/// of a shift has been taken, or held).
pub fn release_starts(spec: &Spec, obs: &crate::model::observed::Observed) -> bool {
    let release = spec.release().fingerprint;
    let Some(active) = obs.active.as_ref().map(|a| a.color) else {
        // A first deploy moves no traffic from anyone.
        return false;
    };
    let split = obs
        .weights_at(spec.production.weights_at())
        .is_some_and(|w| w.get(active) < 100);
    obs.release_of(active) != Some(release.as_str()) && !split
}

struct Checker<'a> {
    named: &'a Named,
    found: &'a Found,
    release_starts: bool,
    out: Preflight,
    /// (what, the IAM action the role may not call).
    unchecked: Vec<(&'static str, String)>,
}

impl Checker<'_> {
    fn error(&mut self, key: PlanKey, message: String, help: String) {
        self.out.errors.push(Finding { key, message, help });
    }

    fn seen<T>(&mut self, what: &'static str, seen: &Seen<T>) {
        if let Seen::Unchecked(action) = seen {
            if !self.unchecked.iter().any(|(w, _)| *w == what) {
                self.unchecked.push((what, action.clone()));
            }
        }
    }

    fn load_balancer_and_vpc(&mut self) {
        let (named, found) = (self.named, self.found);
        let vpc = named.vpc.as_str();
        self.seen("the load balancer", &found.load_balancer);
        self.seen("the VPC", &found.vpc);
        match &found.load_balancer {
            Seen::Missing => self.error(
                PlanKey::LoadBalancer,
                format!("load balancer {:?} does not exist in {}", named.load_balancer, found.region),
                "cutover never creates load balancers: create it first, or name an existing one (`aws elbv2 describe-load-balancers`)".into(),
            ),
            Seen::Found(lb_vpc) if lb_vpc != vpc => {
                self.error(
                    PlanKey::VpcId,
                    format!("target_group.vpc_id is {vpc}, but load balancer {:?} is in {lb_vpc}", named.load_balancer),
                    format!("a load balancer forwards only to target groups of its own VPC: use vpc_id = {lb_vpc:?}"),
                );
                return;
            }
            _ => {}
        }
        if found.vpc == Seen::Missing {
            self.error(
                PlanKey::VpcId,
                format!("VPC {vpc} does not exist in {}", found.region),
                "name the load balancer's VPC (`aws ec2 describe-vpcs`)".into(),
            );
        }
    }

    /// Subnets and security groups: each exists, in `vpc`.
    fn in_vpc(&mut self, vpc: &str) {
        let (named, found) = (self.named, self.found);
        let kinds = [
            (
                "subnet",
                "the subnets",
                "subnets",
                &named.subnets,
                &found.subnets,
                PlanKey::Subnet as fn(usize) -> PlanKey,
            ),
            (
                "security group",
                "the security groups",
                "security-groups",
                &named.security_groups,
                &found.security_groups,
                PlanKey::SecurityGroup,
            ),
        ];
        for (kind, kinds, cli, ids, seen, key) in kinds {
            let list =
                format!("`aws ec2 describe-{cli} --filters Name=vpc-id,Values={vpc}` lists them");
            for (i, (id, seen)) in ids.iter().zip(seen).enumerate() {
                self.seen(kinds, seen);
                match seen {
                    Seen::Missing => self.error(
                        key(i),
                        format!("{kind} {id} does not exist in {}", found.region),
                        format!("name a {kind} of {vpc} by its id; {list}"),
                    ),
                    Seen::Found(theirs) if theirs != vpc => self.error(
                        key(i),
                        format!("{kind} {id} is in {theirs}, not in the target groups' VPC {vpc}"),
                        format!("instances register only with target groups of their own VPC: name a {kind} of {vpc}; {list}"),
                    ),
                    _ => {}
                }
            }
        }
    }

    fn key_pair(&mut self) {
        let (Some(name), Some(seen)) = (&self.named.key_pair, &self.found.key_pair) else {
            return;
        };
        self.seen("the key pair", seen);
        if *seen == Seen::Missing {
            self.error(
                PlanKey::KeyName,
                format!("key pair {name:?} does not exist in {}", self.found.region),
                "name an existing key pair (`aws ec2 describe-key-pairs`), or leave key_name out"
                    .into(),
            );
        }
    }

    fn certificates(&mut self) {
        let (named, found) = (self.named, self.found);
        let region = found.region.as_str();
        for ((port, arn), seen) in named.certificates.iter().zip(&found.certificates) {
            let key = PlanKey::Certificate(*port);
            self.seen("the certificates", seen);
            let (message, help) = match seen {
                _ if !matches!(arn_service(arn), Some("acm" | "iam")) => (
                    format!("certificate_arn {arn:?} is not a certificate ARN"),
                    "use the ARN of an ACM certificate, \"arn:aws:acm:<region>:<account>:certificate/<id>\"".into(),
                ),
                _ if arn_region(arn).is_some_and(|r| r != region) => (
                    format!("certificate {arn} is in {}, the load balancer in {region}", arn_region(arn).unwrap_or_default()),
                    format!("a load balancer uses certificates of its own region: request or import it in {region}"),
                ),
                Seen::Missing => (
                    format!("certificate {arn} does not exist"),
                    "name an existing certificate (`aws acm list-certificates`)".into(),
                ),
                Seen::Found(c) if c.status.as_deref().is_some_and(|s| s != "ISSUED") => (
                    format!("certificate {arn} is {}, not ISSUED", c.status.as_deref().unwrap_or_default()),
                    "a listener serves only an issued certificate: finish its validation, or name another".into(),
                ),
                _ => continue,
            };
            self.error(key, message, help);
        }
    }

    /// Each alarm gate's alarm exists and, when a release is about to move
    /// its first traffic, is not in ALARM already: one that is would fail
    /// the first gate before green has served anyone, and blame the
    /// release for what it saw before. Once traffic is split, an alarm in
    /// ALARM is the gate's to judge (green serves part of what it sees);
    /// with the release live, no gate reads it (in-place changes go on
    /// during an incident). INSUFFICIENT_DATA is fine: count metrics are
    /// not published when zero, so a healthy app's alarm often sits there.
    fn alarms(&mut self) {
        let (named, found) = (self.named, self.found);
        for (i, (name, seen)) in named.alarms.iter().zip(&found.alarms).enumerate() {
            self.seen("the alarms", seen);
            match seen {
                Seen::Missing => self.error(
                    PlanKey::Alarm(i),
                    format!("CloudWatch alarm {name:?} does not exist in {}", found.region),
                    format!("create it, or name an existing metric or composite alarm (`aws cloudwatch describe-alarms --region {}`)", found.region),
                ),
                Seen::Found(AlarmState::Alarm) if self.release_starts => self.error(
                    PlanKey::Alarm(i),
                    format!("CloudWatch alarm {name:?} is in ALARM before the release has moved any traffic: it would fail the first gate and blame the release for what it saw before"),
                    "deal with what the alarm reports (`aws cloudwatch describe-alarm-history --alarm-name ...`) and apply when it is OK or INSUFFICIENT_DATA".into(),
                ),
                _ => {}
            }
        }
    }

    fn finish(mut self) -> Preflight {
        self.out.warnings = self
            .unchecked
            .into_iter()
            .map(|(what, action)| {
                format!("could not look up {what} the plan names (the credentials in use may not call {action}); apply fails later if one does not exist")
            })
            .collect();
        self.out
    }
}

/// An ARN's service ("arn:<partition>:<service>:<region>:<account>:<resource>").
fn arn_service(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn") && parts.clone().count() >= 5).then(|| parts.nth(1))?
}

/// An ARN's region; IAM ARNs have none.
fn arn_region(arn: &str) -> Option<&str> {
    let region = arn.split(':').nth(3)?;
    (!region.is_empty()).then_some(region)
}

/// Why a plan may not deploy its release now: `rollout.window` is closed
/// (and when it opens next). In-place changes and housekeeping are not
/// deployments and go ahead.
pub fn outside_window(
    spec: &Spec,
    plan: &crate::model::plan::Plan,
    now: crate::model::Timestamp,
) -> Option<String> {
    if !window_governs(plan) {
        return None;
    }
    let closed = window_closed(spec.rollout.window.as_ref()?, now)?;
    Some(format!(
        "{closed}; `cutover apply --ignore-window \"why\"` deploys now and records why"
    ))
}

/// Whether `rollout.window` governs a plan: a release or a first deploy
/// does; in-place changes and housekeeping are not deployments, at the
/// start or at a step boundary.
pub fn window_governs(plan: &crate::model::plan::Plan) -> bool {
    use crate::model::plan::PlanKind;
    matches!(
        plan.kind,
        PlanKind::Release { .. } | PlanKind::FirstDeploy { .. }
    )
}

/// "the deploy window (Mon-Fri 09:00-16:00 Europe/Berlin) is closed: it
/// opens next at …", or `None` while it is open: the one sentence a
/// refusal at the start and a hold at a step boundary both say.
pub fn window_closed(
    w: &crate::spec::window::Window,
    now: crate::model::Timestamp,
) -> Option<String> {
    if w.is_open(now) {
        return None;
    }
    let next = w
        .next_open(now)
        .map_or("never (no day is in it)".to_string(), |t| w.local_time(t));
    Some(format!(
        "the deploy window ({}) is closed: it opens next at {next}",
        w.text
    ))
}
