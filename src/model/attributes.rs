//! A target group's attributes: how it drains, keeps sessions on one
//! target, warms new targets up and spreads requests. Plan, drift and
//! `cutover diff` compare them here, and the providers write them from here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::format_duration;
use super::plan::FieldChange;

/// How a target group spreads requests over its targets
/// (`load_balancing.algorithm.type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    #[default]
    RoundRobin,
    LeastOutstandingRequests,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::RoundRobin, Algorithm::LeastOutstandingRequests];

    /// The value AWS and the plan file use.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round_robin",
            Algorithm::LeastOutstandingRequests => "least_outstanding_requests",
        }
    }

    pub fn parse(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attributes cutover sets on both target groups. A duration of 0 is
/// "off", as in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TgAttributes {
    /// `deregistration_delay.timeout_seconds`.
    pub deregistration_delay_secs: u32,
    /// `stickiness.lb_cookie.duration_seconds` with `stickiness.enabled`;
    /// 0: stickiness off.
    #[serde(default)]
    pub stickiness_secs: u32,
    /// `slow_start.duration_seconds`; 0: off.
    #[serde(default)]
    pub slow_start_secs: u32,
    #[serde(default)]
    pub algorithm: Algorithm,
}

impl Default for TgAttributes {
    /// What AWS gives a new target group.
    fn default() -> Self {
        TgAttributes {
            deregistration_delay_secs: 300,
            stickiness_secs: 0,
            slow_start_secs: 0,
            algorithm: Algorithm::RoundRobin,
        }
    }
}

/// A duration that 0 turns off, as the plan file writes it.
fn off_or(secs: u32) -> String {
    if secs == 0 {
        "off".into()
    } else {
        format_duration(secs as u64)
    }
}

impl TgAttributes {
    /// The settings that differ.
    pub fn diff(&self, new: &TgAttributes) -> Vec<FieldChange> {
        use super::key::AttributeKey as K;
        [
            FieldChange::differs(
                K::DeregistrationDelay,
                format!("{}s", self.deregistration_delay_secs),
                format!("{}s", new.deregistration_delay_secs),
            ),
            FieldChange::differs(
                K::Stickiness,
                off_or(self.stickiness_secs),
                off_or(new.stickiness_secs),
            ),
            FieldChange::differs(
                K::SlowStart,
                off_or(self.slow_start_secs),
                off_or(new.slow_start_secs),
            ),
            FieldChange::differs(K::Algorithm, self.algorithm, new.algorithm),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// What to write to turn `self` into `new`: only what differs.
    pub fn changes_to(&self, new: &TgAttributes) -> AttributeChanges {
        let differs = |a: u32, b: u32| (a != b).then_some(b);
        AttributeChanges {
            deregistration_delay_secs: differs(
                self.deregistration_delay_secs,
                new.deregistration_delay_secs,
            ),
            stickiness_secs: differs(self.stickiness_secs, new.stickiness_secs),
            slow_start_secs: differs(self.slow_start_secs, new.slow_start_secs),
            algorithm: (self.algorithm != new.algorithm).then_some(new.algorithm),
        }
    }
}

/// Attributes to write; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttributeChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration_delay_secs: Option<u32>,
    /// 0: stickiness off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness_secs: Option<u32>,
    /// 0: slow start off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_start_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
}

impl AttributeChanges {
    /// Every attribute, as a new target group gets them.
    pub fn all(a: &TgAttributes) -> AttributeChanges {
        AttributeChanges {
            deregistration_delay_secs: Some(a.deregistration_delay_secs),
            stickiness_secs: Some(a.stickiness_secs),
            slow_start_secs: Some(a.slow_start_secs),
            algorithm: Some(a.algorithm),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == AttributeChanges::default()
    }

    /// The changes as AWS's attribute keys and values
    /// (ModifyTargetGroupAttributes). Stickiness is lb_cookie: the duration
    /// is sent only when it is on.
    pub fn aws_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(d) = self.deregistration_delay_secs {
            out.push(("deregistration_delay.timeout_seconds", d.to_string()));
        }
        if let Some(s) = self.stickiness_secs {
            out.push(("stickiness.enabled", (s > 0).to_string()));
            out.push(("stickiness.type", "lb_cookie".into()));
            if s > 0 {
                out.push(("stickiness.lb_cookie.duration_seconds", s.to_string()));
            }
        }
        if let Some(s) = self.slow_start_secs {
            out.push(("slow_start.duration_seconds", s.to_string()));
        }
        if let Some(a) = self.algorithm {
            out.push(("load_balancing.algorithm.type", a.as_str().into()));
        }
        out
    }

    /// Applies the changes to `attrs`.
    pub fn apply_to(&self, attrs: &mut TgAttributes) {
        if let Some(d) = self.deregistration_delay_secs {
            attrs.deregistration_delay_secs = d;
        }
        if let Some(s) = self.stickiness_secs {
            attrs.stickiness_secs = s;
        }
        if let Some(s) = self.slow_start_secs {
            attrs.slow_start_secs = s;
        }
        if let Some(a) = self.algorithm {
            attrs.algorithm = a;
        }
    }

    /// "stickiness 1h, algorithm least_outstanding_requests" for a step line.
    pub fn describe(&self) -> Vec<String> {
        let mut what = Vec::new();
        if let Some(d) = self.deregistration_delay_secs {
            what.push(format!("deregistration delay {d}s"));
        }
        if let Some(s) = self.stickiness_secs {
            what.push(format!("stickiness {}", off_or(s)));
        }
        if let Some(s) = self.slow_start_secs {
            what.push(format!("slow start {}", off_or(s)));
        }
        if let Some(a) = self.algorithm {
            what.push(format!("algorithm {a}"));
        }
        what
    }
}

impl TgAttributes {
    /// Reads AWS's attribute list (DescribeTargetGroupAttributes); a key AWS
    /// leaves out keeps its default.
    pub fn from_aws<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TgAttributes {
        let mut a = TgAttributes::default();
        let (mut sticky, mut cookie_secs, mut cookie) = (false, 0, true);
        for (k, v) in pairs {
            match k {
                "deregistration_delay.timeout_seconds" => {
                    a.deregistration_delay_secs = v.parse().unwrap_or(300)
                }
                "stickiness.enabled" => sticky = v == "true",
                "stickiness.type" => cookie = v == "lb_cookie",
                "stickiness.lb_cookie.duration_seconds" => cookie_secs = v.parse().unwrap_or(0),
                "slow_start.duration_seconds" => a.slow_start_secs = v.parse().unwrap_or(0),
                "load_balancing.algorithm.type" => {
                    a.algorithm = Algorithm::parse(v).unwrap_or_default()
                }
                _ => {}
            }
        }
        // Stickiness of another kind (app_cookie) is not lb_cookie for the
        // plan: it shows as a difference and is replaced.
        a.stickiness_secs = if sticky && cookie {
            cookie_secs.max(1)
        } else if sticky {
            u32::MAX
        } else {
            0
        };
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_attributes_read_back_as_written() {
        let want = TgAttributes {
            deregistration_delay_secs: 30,
            stickiness_secs: 3600,
            slow_start_secs: 60,
            algorithm: Algorithm::LeastOutstandingRequests,
        };
        let pairs = TgAttributes::default().changes_to(&want).aws_pairs();
        let read = TgAttributes::from_aws(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(read, want);
        // Turning stickiness off sends enabled=false and no duration.
        let off = want.changes_to(&TgAttributes::default()).aws_pairs();
        assert!(off.contains(&("stickiness.enabled", "false".into())));
        assert!(!off
            .iter()
            .any(|(k, _)| *k == "stickiness.lb_cookie.duration_seconds"));
    }

    #[test]
    fn only_what_differs_is_shown_and_written() {
        let live = TgAttributes::default();
        let want = TgAttributes {
            stickiness_secs: 3600,
            ..live
        };
        let fields = live.diff(&want);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].key.to_string(), "stickiness");
        assert_eq!(fields[0].old.as_deref(), Some("off"));
        assert_eq!(fields[0].new.as_deref(), Some("1h"));
        let c = live.changes_to(&want);
        assert_eq!(c.stickiness_secs, Some(3600));
        assert_eq!(c.deregistration_delay_secs, None);
    }
}
