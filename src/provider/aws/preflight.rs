//! Preflight lookups: whether each resource a plan names exists, and in
//! which VPC. Lookups by filter, so a missing id is simply absent from the
//! answer (a describe by id fails on the first missing one and names only
//! it). A lookup the role may not make comes back `Unchecked`.

use super::errors::err;
use super::Aws;
use crate::model::named::{Certificate, Found, Named, Seen};
use crate::model::observed::AlarmState;
use crate::provider::Result;
use aws_sdk_ec2::types::Filter;
use std::collections::BTreeMap;

impl Aws {
    pub(super) async fn look_up(&self, named: &Named) -> Result<Found> {
        let (load_balancer, vpc, subnets, security_groups, key_pair, certificates, alarms) = futures::join!(
            self.load_balancer_vpc(&named.load_balancer),
            self.vpc_seen(&named.vpc),
            self.vpcs_of("DescribeSubnets", &named.subnets),
            self.vpcs_of("DescribeSecurityGroups", &named.security_groups),
            self.key_pair_seen(named.key_pair.as_deref()),
            self.certificates_seen(&named.certificates),
            self.alarms_seen(&named.alarms),
        );
        Ok(Found {
            region: self.region.clone(),
            load_balancer: load_balancer?,
            vpc: vpc?,
            subnets: subnets?,
            security_groups: security_groups?,
            key_pair: key_pair?,
            certificates: certificates?,
            alarms: alarms?,
        })
    }

    async fn load_balancer_vpc(&self, name: &str) -> Result<Seen<String>> {
        let found = self.describe_load_balancers(vec![name.to_string()]).await;
        let vpc = found.map(|lbs| {
            lbs.and_then(|lbs| lbs.first().and_then(|lb| lb.vpc_id()).map(str::to_string))
        });
        unless_denied("elasticloadbalancing:DescribeLoadBalancers", vpc)
    }

    async fn vpc_seen(&self, vpc: &str) -> Result<Seen<()>> {
        self.count("DescribeVpcs");
        let out = self
            .ec2
            .describe_vpcs()
            .filters(filter("vpc-id", &[vpc.to_string()]))
            .send()
            .await
            .map_err(|e| err("DescribeVpcs", e))
            .map(|o| {
                o.vpcs()
                    .iter()
                    .any(|v| v.vpc_id() == Some(vpc))
                    .then_some(())
            });
        unless_denied("ec2:DescribeVpcs", out)
    }

    /// Each subnet's or security group's VPC, in the order of `ids`.
    async fn vpcs_of(&self, op: &'static str, ids: &[String]) -> Result<Vec<Seen<String>>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        self.count(op);
        let vpcs: Result<BTreeMap<String, String>> = if op == "DescribeSubnets" {
            self.ec2
                .describe_subnets()
                .filters(filter("subnet-id", ids))
                .send()
                .await
                .map_err(|e| err(op, e))
                .map(|o| {
                    o.subnets()
                        .iter()
                        .filter_map(|s| Some((s.subnet_id()?.into(), s.vpc_id()?.into())))
                        .collect()
                })
        } else {
            self.ec2
                .describe_security_groups()
                .filters(filter("group-id", ids))
                .send()
                .await
                .map_err(|e| err(op, e))
                .map(|o| {
                    o.security_groups()
                        .iter()
                        .filter_map(|g| Some((g.group_id()?.into(), g.vpc_id()?.into())))
                        .collect()
                })
        };
        match vpcs {
            Ok(vpcs) => Ok(ids.iter().map(|id| vpcs.get(id).cloned().into()).collect()),
            Err(e) if e.is_denied() => Ok(vec![Seen::unchecked(&format!("ec2:{op}")); ids.len()]),
            Err(e) => Err(e),
        }
    }

    /// Each alarm's state, in the order of `names`: one DescribeAlarms.
    async fn alarms_seen(&self, names: &[String]) -> Result<Vec<Seen<AlarmState>>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        self.count("DescribeAlarms");
        match super::gates::alarm_states(&self.cloudwatch, names).await {
            Ok(states) => Ok(names
                .iter()
                .map(|n| states.get(n).copied().into())
                .collect()),
            Err(e) if e.is_denied() => Ok(vec![
                Seen::unchecked("cloudwatch:DescribeAlarms");
                names.len()
            ]),
            Err(e) => Err(e),
        }
    }

    async fn key_pair_seen(&self, name: Option<&str>) -> Result<Option<Seen<()>>> {
        let Some(name) = name else { return Ok(None) };
        self.count("DescribeKeyPairs");
        let out = self
            .ec2
            .describe_key_pairs()
            .filters(filter("key-name", &[name.to_string()]))
            .send()
            .await
            .map_err(|e| err("DescribeKeyPairs", e))
            .map(|o| {
                o.key_pairs()
                    .iter()
                    .any(|k| k.key_name() == Some(name))
                    .then_some(())
            });
        unless_denied("ec2:DescribeKeyPairs", out).map(Some)
    }

    async fn certificates_seen(&self, certs: &[(u16, String)]) -> Result<Vec<Seen<Certificate>>> {
        let mut out = Vec::new();
        for (_, arn) in certs {
            out.push(self.certificate_seen(arn).await?);
        }
        Ok(out)
    }

    async fn certificate_seen(&self, arn: &str) -> Result<Seen<Certificate>> {
        let service = arn.split(':').nth(2);
        let region = arn.split(':').nth(3);
        if service == Some("iam") {
            // An IAM server certificate: ACM does not know it, and IAM
            // reports no status a listener depends on.
            return Ok(Seen::Found(Certificate { status: None }));
        }
        if service != Some("acm") || region != Some(self.region.as_str()) {
            // Preflight says what is wrong with the ARN itself.
            return Ok(Seen::Missing);
        }
        self.count("DescribeCertificate");
        let sent = self
            .acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Seen::Found(Certificate {
                status: out
                    .certificate()
                    .and_then(|c| c.status())
                    .map(|s| s.as_str().to_string()),
            })),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_resource_not_found_exception() || s.is_invalid_arn_exception()
                }) =>
            {
                Ok(Seen::Missing)
            }
            Err(e) => {
                let e = err("DescribeCertificate", e);
                if e.is_denied() {
                    Ok(Seen::unchecked("acm:DescribeCertificate"))
                } else {
                    Err(e)
                }
            }
        }
    }
}

/// What an answered lookup found, or `Unchecked(action)` when the call
/// was denied.
fn unless_denied<T>(action: &str, answered: Result<Option<T>>) -> Result<Seen<T>> {
    match answered {
        Ok(found) => Ok(found.into()),
        Err(e) if e.is_denied() => Ok(Seen::unchecked(action)),
        Err(e) => Err(e),
    }
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}
