//! `[target_group]`: the blue and green target groups' port, protocol and
//! VPC, their attributes (draining, stickiness, slow start, algorithm) and
//! `[target_group.health_check]`; the spec type and its rules.

use super::located::Located;
use super::raw::{RawHealthCheck, RawTargetGroup};
use super::{PlanKey, Validator, MAX_STICKY_SECS};
use crate::model::{HealthCheck, Protocol};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSpec {
    pub port: u16,
    pub protocol: Protocol,
    pub vpc_id: String,
    pub attributes: crate::model::TgAttributes,
    pub health_check: HealthCheck,
}

impl Validator<'_> {
    pub(super) fn target_group(&mut self, t: &Located<RawTargetGroup>) -> TargetGroupSpec {
        let tg = t.get_ref();
        let tg_port = self.port("target_group.port", &tg.port);
        let tg_protocol = self.protocol("target_group.protocol", tg.protocol.as_ref());
        self.place(PlanKey::VpcId, tg.vpc_id.span());
        let vpc_id = self.non_empty("target_group.vpc_id", &tg.vpc_id);
        let attributes = self.tg_attributes(tg);
        let health_check = self.health_check(t);
        TargetGroupSpec {
            port: tg_port,
            protocol: tg_protocol,
            vpc_id,
            attributes,
            health_check,
        }
    }

    /// Draining, stickiness, slow start and algorithm, in AWS's ranges.
    fn tg_attributes(&mut self, tg: &RawTargetGroup) -> crate::model::TgAttributes {
        use crate::model::Algorithm;
        let deregistration_delay_secs = self.duration_in(
            "target_group.deregistration_delay",
            tg.deregistration_delay.as_ref(),
            300,
            0,
            3600,
        );
        let stickiness_secs = match &tg.stickiness {
            None => 0,
            Some(v) => self.duration_in("target_group.stickiness", Some(v), 1, 1, MAX_STICKY_SECS),
        };
        let slow_start = tg.slow_start.as_ref();
        let slow_start_secs = self.duration_in("target_group.slow_start", slow_start, 0, 0, 900);
        if let Some(v) = slow_start.filter(|_| (1..30).contains(&slow_start_secs)) {
            self.error(
                v.span(),
                format!("`target_group.slow_start` is {slow_start_secs}s; AWS ramps up over 30s at least"),
                "use a duration from \"30s\" to \"15m\", or \"0s\" for none",
            );
        }
        let algorithm = match &tg.algorithm {
            None => Algorithm::RoundRobin,
            Some(v) => Algorithm::parse(v.get_ref()).unwrap_or_else(|| {
                self.error(
                    v.span(),
                    format!(
                        "`target_group.algorithm` {:?} is not one AWS knows",
                        v.get_ref()
                    ),
                    "use \"round_robin\" or \"least_outstanding_requests\"",
                );
                Algorithm::RoundRobin
            }),
        };
        if let (Some(v), Algorithm::LeastOutstandingRequests) = (slow_start, algorithm) {
            if slow_start_secs > 0 {
                self.error(
                    v.span(),
                    "slow start does not work with the least_outstanding_requests algorithm",
                    "remove `slow_start`, or use `algorithm = \"round_robin\"`",
                );
            }
        }
        crate::model::TgAttributes {
            deregistration_delay_secs,
            stickiness_secs,
            slow_start_secs,
            algorithm,
        }
    }

    fn health_check(&mut self, t: &Located<RawTargetGroup>) -> HealthCheck {
        let tg = t.get_ref();
        let default_hc = RawHealthCheck::default();
        let hc = tg.health_check.as_ref().unwrap_or(&default_hc);
        let path = hc
            .path
            .as_ref()
            .map(|p| p.get_ref().clone())
            .unwrap_or("/".into());
        if let Some(p) = &hc.path {
            if !p.get_ref().starts_with('/') {
                self.error(
                    p.span(),
                    format!(
                        "health check path {:?} does not start with '/'",
                        p.get_ref()
                    ),
                    format!("e.g. path = \"/{}\"", p.get_ref().trim_start_matches('/')),
                );
            }
        }
        let interval = self.duration_in("health_check.interval", hc.interval.as_ref(), 30, 5, 300);
        let timeout = self.duration_in("health_check.timeout", hc.timeout.as_ref(), 5, 2, 120);
        if timeout >= interval {
            let span = hc
                .timeout
                .as_ref()
                .or(hc.interval.as_ref())
                .map(|s| s.span())
                .unwrap_or(t.span());
            self.error(
                span,
                format!("health check timeout ({timeout}s) must be shorter than its interval ({interval}s)"),
                "lower the timeout or raise the interval",
            );
        }
        let healthy_threshold = match &hc.healthy_threshold {
            Some(v) => self.range("health_check.healthy_threshold", v, 2, 10, ""),
            None => 5,
        };
        let unhealthy_threshold = match &hc.unhealthy_threshold {
            Some(v) => self.range("health_check.unhealthy_threshold", v, 2, 10, ""),
            None => 2,
        };
        let matcher = hc
            .matcher
            .as_ref()
            .map(|m| m.get_ref().clone())
            .unwrap_or("200".into());
        if let Some(m) = &hc.matcher {
            if !matcher_valid(m.get_ref()) {
                self.error(
                    m.span(),
                    format!("health check matcher {:?} is not a list or range of HTTP codes within 200–499", m.get_ref()),
                    "e.g. \"200\", \"200,204\" or \"200-299\"",
                );
            }
        }

        HealthCheck {
            path,
            interval_secs: interval,
            timeout_secs: timeout,
            healthy_threshold,
            unhealthy_threshold,
            matcher,
        }
    }
}

/// "200", "200,204", "200-299"; every code within 200–499.
fn matcher_valid(m: &str) -> bool {
    let code = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (200..=499).contains(c))
    };
    if let Some((a, b)) = m.split_once('-') {
        return matches!((code(a), code(b)), (Some(a), Some(b)) if a <= b);
    }
    !m.is_empty() && m.split(',').all(|c| code(c).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_forms() {
        assert!(matcher_valid("200"));
        assert!(matcher_valid("200,204"));
        assert!(matcher_valid("200-299"));
        assert!(!matcher_valid("100"));
        assert!(!matcher_valid("500"));
        assert!(!matcher_valid("299-200"));
        assert!(!matcher_valid("ok"));
    }
}
