//! What exists before cutover and cutover only reads: the load balancer,
//! VPC, subnets, security groups, key pair and certificates a plan names
//! (seeded from the plan, as a user would make them), what preflight finds
//! of them, and the CloudWatch alarms gates read (edited into the file).

use super::world::{SbListener, SbLoadBalancer, SbVpc, World, ACCOUNT};
use crate::model::named::{Certificate, Found, Named, Seen};
use std::collections::{BTreeMap, BTreeSet};

impl World {
    /// Makes the load balancer `named` names exist, with the VPC, subnets,
    /// security groups, key pair and certificates of the same plan: they
    /// stand in for what a user creates before cutover. True when the load
    /// balancer is new (or came from a file without VPCs).
    pub fn seed(&mut self, named: &Named) -> bool {
        let name = named.load_balancer.as_str();
        if self
            .load_balancers
            .get(name)
            .is_some_and(|lb| !lb.vpc_id.is_empty())
        {
            // Like the load balancer, a listener the plan shares stands in
            // for one its owner made.
            self.seed_shared_listeners(named);
            return false;
        }
        let id = self.id();
        let region = self.region().to_string();
        let lb = self
            .load_balancers
            .entry(name.to_string())
            .or_insert_with(|| SbLoadBalancer {
                arn: format!("arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{name}/{id:016x}"),
                dns_name: format!("{name}-{id}.{region}.elb.sandbox.local"),
                vpc_id: String::new(),
            });
        lb.vpc_id = named.vpc.clone();
        let vpc = self.vpcs.entry(named.vpc.clone()).or_default();
        vpc.subnets.extend(named.subnets.iter().cloned());
        vpc.security_groups
            .extend(named.security_groups.iter().cloned());
        self.key_pairs.extend(named.key_pair.iter().cloned());
        self.seed_shared_listeners(named);
        for (_, arn) in &named.certificates {
            self.certificates
                .entry(arn.clone())
                .or_insert_with(|| "ISSUED".into());
        }
        true
    }

    /// The listeners the plan shares, as their owner made them: a default
    /// that answers with a fixed response, no forward.
    fn seed_shared_listeners(&mut self, named: &Named) {
        let Some(lb) = self.load_balancers.get(&named.load_balancer) else {
            return;
        };
        let lb_arn = lb.arn.clone();
        for (port, protocol) in &named.shared_listeners {
            if self.listener_on(&lb_arn, *port).is_none() {
                self.add_listener(SbListener {
                    affinity_secs: 0,
                    load_balancer_arn: lb_arn.clone(),
                    port: *port,
                    protocol: *protocol,
                    certificate_arn: None,
                    forward: Vec::new(),
                    before: None,
                    kept_actions: vec!["fixed-response".into()],
                    tags: BTreeMap::new(),
                });
            }
        }
    }

    /// What preflight finds here for `named`; `denied` says which lookups
    /// the role may not make.
    pub(super) fn look_up(&self, named: &Named, denied: impl Fn(&str) -> bool) -> Found {
        fn seen<T>(denied: &dyn Fn(&str) -> bool, op: &str, found: Option<T>) -> Seen<T> {
            let service = match op {
                "DescribeLoadBalancers" => "elasticloadbalancing",
                "DescribeCertificate" => "acm",
                "DescribeAlarms" => "cloudwatch",
                _ => "ec2",
            };
            if denied(op) {
                Seen::unchecked(&format!("{service}:{op}"))
            } else {
                found.into()
            }
        }
        let vpc_of = |pick: fn(&SbVpc) -> &BTreeSet<String>, id: &String| {
            self.vpcs
                .iter()
                .find(|(_, v)| pick(v).contains(id))
                .map(|(vpc, _)| vpc.clone())
        };
        let lb = self.load_balancers.get(&named.load_balancer);
        let certificate = |arn: &String| {
            self.certificates.get(arn).map(|status| Certificate {
                status: Some(status.clone()),
            })
        };
        Found {
            region: self.region().into(),
            load_balancer: seen(
                &denied,
                "DescribeLoadBalancers",
                lb.map(|lb| lb.vpc_id.clone()),
            ),
            vpc: seen(
                &denied,
                "DescribeVpcs",
                self.vpcs.get(&named.vpc).map(|_| ()),
            ),
            subnets: (named.subnets.iter())
                .map(|s| seen(&denied, "DescribeSubnets", vpc_of(|v| &v.subnets, s)))
                .collect(),
            security_groups: (named.security_groups.iter())
                .map(|g| {
                    seen(
                        &denied,
                        "DescribeSecurityGroups",
                        vpc_of(|v| &v.security_groups, g),
                    )
                })
                .collect(),
            key_pair: (named.key_pair.as_ref()).map(|k| {
                seen(
                    &denied,
                    "DescribeKeyPairs",
                    self.key_pairs.get(k).map(|_| ()),
                )
            }),
            certificates: (named.certificates.iter())
                .map(|(_, arn)| seen(&denied, "DescribeCertificate", certificate(arn)))
                .collect(),
            alarms: (named.alarms.iter())
                .map(|a| seen(&denied, "DescribeAlarms", self.alarm_state(a)))
                .collect(),
        }
    }
}
