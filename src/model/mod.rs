//! Value types shared by the spec (desired), the observed snapshot and the plan.
//!
//! These are plain data: no I/O, no async, no AWS SDK types. Keeping one
//! `HealthCheck` or `Capacity` type for both desired and observed state is what
//! lets the planner compare them with `==` and render value-level diffs.

pub mod attributes;
pub mod fleet;
pub mod freeze;
pub mod history;
pub mod ids;
pub mod key;
pub mod launch;
pub mod named;
pub mod names;
pub mod observed;
pub mod outcome;
pub mod plan;
pub mod reason;
pub mod report;

pub use attributes::{Algorithm, AttributeChanges, TgAttributes};
pub use ids::{
    FleetName, Forward, ForwardAt, ListenerArn, LoadBalancerArn, RuleArn, TargetGroupArn,
};
pub use key::Key;
pub use launch::{LaunchData, LaunchField, RootVolume};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// One of the two fleets. Blue is the colour of a first deploy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Blue,
    Green,
}

impl Color {
    pub const ALL: [Color; 2] = [Color::Blue, Color::Green];

    pub fn other(self) -> Color {
        match self {
            Color::Blue => Color::Green,
            Color::Green => Color::Blue,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }

    pub fn parse(s: &str) -> Option<Color> {
        match s.trim() {
            "blue" => Some(Color::Blue),
            "green" => Some(Color::Green),
            _ => None,
        }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pair of values, one per colour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PerColor<T> {
    pub blue: T,
    pub green: T,
}

impl<T> PerColor<T> {
    pub fn get(&self, c: Color) -> &T {
        match c {
            Color::Blue => &self.blue,
            Color::Green => &self.green,
        }
    }
    pub fn get_mut(&mut self, c: Color) -> &mut T {
        match c {
            Color::Blue => &mut self.blue,
            Color::Green => &mut self.green,
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        [&self.blue, &self.green].into_iter()
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        [&mut self.blue, &mut self.green].into_iter()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Protocol {
    #[serde(rename = "HTTP")]
    Http,
    #[serde(rename = "HTTPS")]
    Https,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
        }
    }
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "HTTP" => Some(Protocol::Http),
            "HTTPS" => Some(Protocol::Https),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListenerRole {
    Production,
    Test,
}

impl fmt::Display for ListenerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListenerRole::Production => "production",
            ListenerRole::Test => "test",
        })
    }
}

/// A target group health check, in the units AWS uses (seconds, counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HealthCheck {
    pub path: String,
    pub interval_secs: u32,
    pub timeout_secs: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: String,
}

impl HealthCheck {
    /// Field-by-field differences.
    pub fn diff(&self, new: &HealthCheck) -> Vec<plan::FieldChange> {
        use key::HealthCheckKey as K;
        let secs = |s: u32| format!("{s}s");
        [
            plan::FieldChange::differs(K::Path, &self.path, &new.path),
            plan::FieldChange::differs(
                K::Interval,
                secs(self.interval_secs),
                secs(new.interval_secs),
            ),
            plan::FieldChange::differs(K::Timeout, secs(self.timeout_secs), secs(new.timeout_secs)),
            plan::FieldChange::differs(
                K::HealthyThreshold,
                self.healthy_threshold,
                new.healthy_threshold,
            ),
            plan::FieldChange::differs(
                K::UnhealthyThreshold,
                self.unhealthy_threshold,
                new.unhealthy_threshold,
            ),
            plan::FieldChange::differs(K::Matcher, &self.matcher, &new.matcher),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Auto Scaling group sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Capacity {
    pub min: u32,
    pub max: u32,
    pub desired: u32,
}

impl Capacity {
    pub const ZERO: Capacity = Capacity {
        min: 0,
        max: 0,
        desired: 0,
    };
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "min {} / desired {} / max {}",
            self.min, self.desired, self.max
        )
    }
}

/// Where the weights between the two colours live: everything that reads or
/// writes a colour's share of traffic goes through this one type: the
/// default action of a listener cutover owns, or the app's rule on a
/// listener someone else owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WeightsAt {
    /// The default action of the listener on `port`.
    ListenerDefault { port: u16 },
    /// The app's own rule on the listener on `port` (the listener is
    /// someone else's).
    Rule { port: u16 },
}

impl WeightsAt {
    /// Where the weights of a listener on `port` live: in the app's rule
    /// when it has one, else in the listener's default action.
    pub fn of(port: u16, has_rule: bool) -> WeightsAt {
        if has_rule {
            WeightsAt::Rule { port }
        } else {
            WeightsAt::ListenerDefault { port }
        }
    }

    /// The listener port the weights are on.
    pub fn port(&self) -> u16 {
        match self {
            WeightsAt::ListenerDefault { port } | WeightsAt::Rule { port } => *port,
        }
    }
}

/// An Auto Scaling group's settings besides its capacity: what it launches
/// (spot or not, which instance types, how many stay on-demand) and how it
/// treats a new instance (health check grace, warmup). Changed in place:
/// new instances use them, running ones change with the next release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupSettings {
    pub spot: bool,
    pub instance_types: Vec<String>,
    pub on_demand_base: u32,
    pub capacity_rebalance: bool,
    /// Seconds before Auto Scaling acts on a new instance's failed health
    /// checks (HealthCheckGracePeriod).
    pub health_check_grace_secs: u32,
    /// Seconds a new instance's metrics stay out of scaling decisions
    /// (DefaultInstanceWarmup); `None`: not set.
    pub warmup_secs: Option<u32>,
}

impl GroupSettings {
    /// Each setting that differs from `live` (old: live, new: this).
    pub fn differences(&self, live: &GroupSettings) -> Vec<plan::FieldChange> {
        use key::FleetKey as K;
        let types = |m: &GroupSettings| match m.instance_types.is_empty() {
            true => "(the launch template's)".to_string(),
            false => m.instance_types.join(", "),
        };
        [
            plan::FieldChange::differs(K::Spot, live.spot, self.spot),
            plan::FieldChange::differs(K::InstanceTypes, types(live), types(self)),
            plan::FieldChange::differs(K::OnDemandBase, live.on_demand_base, self.on_demand_base),
            plan::FieldChange::differs(
                K::CapacityRebalance,
                live.capacity_rebalance,
                self.capacity_rebalance,
            ),
            plan::FieldChange::differs(
                K::HealthCheckGrace,
                format_duration(live.health_check_grace_secs as u64),
                format_duration(self.health_check_grace_secs as u64),
            ),
            plan::FieldChange::differs(
                K::Warmup,
                live.warmup_secs
                    .map_or("not set".into(), |s| format_duration(s as u64)),
                self.warmup_secs
                    .map_or("not set".into(), |s| format_duration(s as u64)),
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// A target-tracking scaling policy on the colour that serves: Auto Scaling
/// moves its desired capacity within [min, max] to hold the metric at the
/// target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum Scaling {
    /// Average CPU utilisation of the group, percent.
    Cpu { target: u32 },
    /// Requests per target from the load balancer (ALBRequestCountPerTarget).
    RequestsPerTarget { target: u32 },
}

impl Scaling {
    /// The value the policy holds the metric at.
    pub fn target(&self) -> u32 {
        match self {
            Scaling::Cpu { target } | Scaling::RequestsPerTarget { target } => *target,
        }
    }
}

impl fmt::Display for Scaling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scaling::Cpu { target } => write!(f, "average CPU at {target}%"),
            Scaling::RequestsPerTarget { target } => {
                write!(f, "{target} requests per target")
            }
        }
    }
}

/// An app's rule on a shared listener: its priority and what it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListenerRule {
    /// 1–50000; lower is evaluated first.
    pub priority: u32,
    /// Host headers, e.g. "web.example.com" or "*.example.com".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Path patterns, e.g. "/api/*".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// HTTP request methods, e.g. "GET".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// HTTP headers, each with the values it may have, e.g.
    /// "X-Canary" → ["1"]: every header must match one of its values.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, Vec<String>>,
}

impl ListenerRule {
    /// What the rule matches, as a person reads it: "host web.example.com, path /api/*".
    pub fn matches_text(&self) -> String {
        let mut parts = Vec::new();
        for (what, values) in [
            ("host", &self.hosts),
            ("path", &self.paths),
            ("method", &self.methods),
        ] {
            if !values.is_empty() {
                parts.push(format!("{what} {}", values.join(" | ")));
            }
        }
        for (name, values) in &self.headers {
            parts.push(format!("header {name}: {}", values.join(" | ")));
        }
        parts.join(", ")
    }

    /// Whether a live rule matches the same requests (priority aside).
    pub fn same_match(&self, other: &ListenerRule) -> bool {
        let sorted = |v: &Vec<String>| {
            let mut v = v.clone();
            v.sort();
            v
        };
        // Header names match whatever their case, as HTTP's do.
        let headers = |h: &std::collections::BTreeMap<String, Vec<String>>| {
            h.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), sorted(v)))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        sorted(&self.hosts) == sorted(&other.hosts)
            && sorted(&self.paths) == sorted(&other.paths)
            && sorted(&self.methods) == sorted(&other.methods)
            && headers(&self.headers) == headers(&other.headers)
    }
}

/// The largest forward weight an Application Load Balancer accepts.
pub const ALB_MAX_WEIGHT: u32 = 999;
/// The most target groups one ALB forward action takes.
pub const ALB_MAX_FORWARD_TARGETS: usize = 5;

/// Production traffic split, in percent. Always sums to 100 when built by cutover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Weights {
    pub blue: u32,
    pub green: u32,
}

impl Weights {
    /// All traffic on `c`.
    pub fn all_on(c: Color) -> Weights {
        Weights::split(c, 100)
    }

    /// `pct` percent on `to`, the rest on the other colour.
    pub fn split(to: Color, pct: u32) -> Weights {
        let pct = pct.min(100);
        match to {
            Color::Blue => Weights {
                blue: pct,
                green: 100 - pct,
            },
            Color::Green => Weights {
                blue: 100 - pct,
                green: pct,
            },
        }
    }

    pub fn get(&self, c: Color) -> u32 {
        match c {
            Color::Blue => self.blue,
            Color::Green => self.green,
        }
    }

    /// Share of `c` in percent of the total (weights may not sum to 100 when
    /// someone edited the listener by hand).
    pub fn share(&self, c: Color) -> u32 {
        let total = self.blue + self.green;
        (self.get(c) * 100 + total / 2)
            .checked_div(total)
            .unwrap_or(0)
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "blue {}% / green {}%",
            self.share(Color::Blue),
            self.share(Color::Green)
        )
    }
}

/// What happens to the old colour after a promotion.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum TeardownPolicy {
    ScaleToZero,
    Delete,
    Keep,
}

impl TeardownPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            TeardownPolicy::ScaleToZero => "scale-to-zero",
            TeardownPolicy::Delete => "delete",
            TeardownPolicy::Keep => "keep",
        }
    }
}

/// Keys in sorted order, whatever map type serde_json was built with (its
/// `preserve_order` feature may be switched on by another crate), so the
/// committed schema is the same byte for byte in every build.
pub fn sort_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> =
                std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut val) in entries {
                sort_keys(&mut val);
                map.insert(k, val);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// The first 6 bytes of `bytes`' SHA-256, in hex: release fingerprints,
/// snapshot fingerprints, sensitive values.
pub fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// User data as plan, diff and JSON show it: the text, or when it is
/// `sensitive`, a short hash, enough to tell two values apart.
pub fn shown_user_data(v: Option<&String>, sensitive: bool) -> Option<String> {
    v.map(|v| match sensitive {
        true => sensitive_text(v),
        false => v.clone(),
    })
}

/// How a sensitive value (user data holding a secret) is shown.
pub fn sensitive_text(v: &str) -> String {
    format!("(sensitive, sha256 {}…)", short_hash(v.as_bytes()))
}

/// A release: launch data plus its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Release {
    pub fingerprint: String,
    pub data: LaunchData,
}

impl Release {
    pub fn new(data: LaunchData) -> Release {
        Release {
            fingerprint: data.fingerprint(),
            data,
        }
    }
}

/// Seconds since the Unix epoch. The pure core never reads a clock: the
/// provider stamps the observed snapshot with `now`.
pub type Timestamp = i64;

/// "2026-11-26 18:49:59 UTC"
pub fn format_timestamp(t: Timestamp) -> String {
    let st = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64);
    let s = humantime::format_rfc3339_seconds(st).to_string();
    s.replace('T', " ").replace('Z', " UTC")
}

/// The hour and minute of `t`, UTC: "16:03".
pub fn format_hour_minute(t: Timestamp) -> String {
    let s = format_timestamp(t);
    s.get(11..16).unwrap_or(&s).to_string()
}

/// A duration as a plan file writes it: "1h5m", "30s", "0s".
pub fn duration_key(secs: u64) -> String {
    format_duration(secs).replace(' ', "")
}

/// "1h 5m", "30s", "0s".
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}

/// "100% blue", "75% blue / 25% green".
pub fn format_weights(w: Weights) -> String {
    match (w.share(Color::Blue), w.share(Color::Green)) {
        (100, _) => "100% blue".into(),
        (_, 100) => "100% green".into(),
        (b, g) => format!("{b}% blue / {g}% green"),
    }
}

/// Who holds an app's lock (the lock parameter's value, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    pub started: Timestamp,
    /// This machine's boot and pid namespace: hosts (containers) sharing a
    /// name are told apart before a lock is taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<String>,
    /// This run's own token: a run checks it before every write and never
    /// deletes or overwrites a lock whose token is not its own.
    #[serde(default)]
    pub token: String,
    /// Whose lock this run took over (a rollback preempting an apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_over: Option<String>,
}

impl Holder {
    /// Parses a lock value; a value cutover did not write comes back as it is.
    pub fn parse(value: &str) -> Result<Holder, String> {
        serde_json::from_str(value).map_err(|_| value.to_string())
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}) running `{}` since {}",
            self.user,
            self.host,
            self.pid,
            self.command,
            format_timestamp(self.started)
        )
    }
}

/// Tag keys cutover puts on what it owns.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_changes_with_image_and_is_stable() {
        let a = LaunchData {
            image_id: "ami-1".into(),
            instance_type: Some("t3.small".into()),
            security_groups: vec!["sg-1".into()],
            user_data: None,
            ..LaunchData::default()
        };
        let mut b = a.clone();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 12);
        b.image_id = "ami-2".into();
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn a_release_keeps_its_fingerprint_now_that_the_instance_type_is_optional() {
        // The launch data as it was serialised when instance_type was a
        // plain string: releases live in AWS must keep their identity.
        #[derive(Serialize)]
        struct Before<'a> {
            image_id: &'a str,
            instance_type: &'a str,
            security_groups: Vec<&'a str>,
            user_data: Option<&'a str>,
            key_name: Option<&'a str>,
        }
        let before = Before {
            image_id: "ami-1",
            instance_type: "t3.small",
            security_groups: vec!["sg-1"],
            user_data: Some("#!/bin/sh\n"),
            key_name: None,
        };
        let now = LaunchData {
            image_id: "ami-1".into(),
            instance_type: Some("t3.small".into()),
            security_groups: vec!["sg-1".into()],
            user_data: Some("#!/bin/sh\n".into()),
            ..LaunchData::default()
        };
        assert_eq!(
            now.fingerprint(),
            short_hash(&serde_json::to_vec(&before).unwrap())
        );
    }

    #[test]
    fn every_split_stays_within_what_alb_accepts() {
        for pct in 0..=250 {
            for c in Color::ALL {
                let w = Weights::split(c, pct);
                assert_eq!(w.blue + w.green, 100, "{pct}");
                assert!(w.blue <= ALB_MAX_WEIGHT && w.green <= ALB_MAX_WEIGHT);
            }
        }
    }

    #[test]
    fn weights_split_and_share() {
        assert_eq!(
            Weights::split(Color::Green, 25),
            Weights {
                blue: 75,
                green: 25
            }
        );
        let hand_edited = Weights { blue: 1, green: 1 };
        assert_eq!(hand_edited.share(Color::Blue), 50);
        assert_eq!(format_duration(3900), "1h 5m");
    }
}
