//! What the simulated account holds, as the sandbox file keeps it: the
//! [`World`] and its resources (`Sb*`), and the conversions between the
//! file's plain strings and cutover's types.

use super::clock::{Clock, Settings};
use super::faults::Faults;
use crate::model::observed::AlarmState;
use crate::model::{Capacity, Forward, HealthCheck, LaunchData, ListenerRule, Protocol};
use crate::provider::convention::tags::Made;
use crate::provider::{AppRef, ProviderError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The simulated account's id, in the ARNs the sandbox makes.
pub(super) const ACCOUNT: &str = "000000000000";
/// The region a sandbox file simulates unless it says otherwise (files
/// made before sandboxes kept regions apart are this region's).
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbLoadBalancer {
    pub arn: String,
    pub dns_name: String,
    /// Empty in sandbox files from before VPCs were simulated.
    #[serde(default)]
    pub vpc_id: String,
}

/// The logins among `actions`: what runs before a forward and stays when
/// cutover sets one (a fixed response or a redirect is replaced by it).
pub(super) fn logins(actions: &[String]) -> Vec<String> {
    actions
        .iter()
        .filter(|a| a.starts_with("authenticate-"))
        .cloned()
        .collect()
}

/// A rule on a listener: an app's own (tagged) or someone else's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbRule {
    pub listener_arn: String,
    pub rule: ListenerRule,
    pub forward: Vec<(String, u32)>,
    /// The forward's group stickiness (s); 0: off.
    #[serde(default)]
    pub affinity_secs: u32,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Actions before the forward ("authenticate-oidc"), or what a rule
    /// that does not forward does ("fixed-response").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_actions: Vec<String>,
}

/// A VPC and what is in it, by id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SbVpc {
    #[serde(default)]
    pub subnets: BTreeSet<String>,
    #[serde(default)]
    pub security_groups: BTreeSet<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbTargetGroup {
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    #[serde(flatten)]
    pub attributes: crate::model::TgAttributes,
    pub tags: BTreeMap<String, String>,
    /// Registered instance id → registration time (ms).
    pub targets: BTreeMap<String, i64>,
    /// Deregistered instance id → deregistration time (ms): `draining`
    /// for the deregistration delay, then gone.
    #[serde(default)]
    pub draining: BTreeMap<String, i64>,
}

impl SbTargetGroup {
    /// Deregisters `id`: it drains for the deregistration delay.
    pub(super) fn deregister(&mut self, id: &str, now: i64) {
        if self.targets.remove(id).is_some() {
            self.draining.insert(id.to_string(), now);
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbListener {
    pub load_balancer_arn: String,
    pub port: u16,
    pub protocol: Protocol,
    pub certificate_arn: Option<String>,
    pub forward: Vec<(String, u32)>,
    /// The forward's group stickiness (s); 0: off.
    #[serde(default)]
    pub affinity_secs: u32,
    /// The forward before the last change and when it changed (ms): what
    /// a read shows for `faults.stale_read_secs` after a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<(Vec<(String, u32)>, i64)>,
    /// Its tags (`cutover:app`, `cutover:role` …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Default actions before the forward that someone else put there
    /// ("authenticate-oidc"): cutover's changes keep them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_actions: Vec<String>,
}

/// The health check grace a fleet made before cutover set it has.
fn grace_default() -> u32 {
    300
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbTemplateVersion {
    pub number: i64,
    pub description: String,
    pub data: LaunchData,
    /// When it was made (ms): for `faults.stale_read_secs` after, Auto
    /// Scaling does not find it yet.
    #[serde(default)]
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbLaunchTemplate {
    pub name: String,
    pub versions: Vec<SbTemplateVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbInstance {
    pub id: String,
    pub launched_ms: i64,
    pub template_version: i64,
    /// Scaled in at (ms): Terminating for `terminating_secs`, then gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbFleet {
    pub template_id: String,
    pub template_version: i64,
    pub capacity: Capacity,
    pub subnets: Vec<String>,
    pub target_groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub instances: Vec<SbInstance>,
    #[serde(default)]
    pub spot: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_types: Vec<String>,
    #[serde(default)]
    pub on_demand_base: u32,
    #[serde(default)]
    pub capacity_rebalance: bool,
    #[serde(default = "grace_default")]
    pub health_check_grace_secs: u32,
    /// cutover's target-tracking policy on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<crate::model::Scaling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_secs: Option<u32>,
    /// Scaling activities that failed, newest last.
    #[serde(default)]
    pub failed_activities: Vec<SbActivity>,
    /// When the last capacity change was asked for (ms) and its scaling
    /// activity has not run yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_asked_ms: Option<i64>,
}

impl SbFleet {
    /// Instances not scaled in.
    pub(super) fn in_service(&self) -> impl Iterator<Item = &SbInstance> {
        self.instances.iter().filter(|i| i.terminating_ms.is_none())
    }
}

/// A scaling activity that failed to launch an instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbActivity {
    pub started_ms: i64,
    pub message: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SbParameter {
    pub value: String,
    pub modified_ms: i64,
    pub version: u64,
    /// The versions before this one, oldest first: (value, modified ms).
    /// Parameter Store keeps a parameter's 100 most recent versions and
    /// deletes the oldest when a new one is made (SSM API reference,
    /// ParameterMaxVersionLimitExceeded; cutover labels no version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub older: Vec<(String, i64)>,
}

/// Everything in the simulated account.
/// A sandbox file: every key is one of these, and `settings` is always
/// there, so that a file that is not a sandbox (a package.json handed to
/// `--sandbox` by mistake) is refused and left untouched, never replaced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    pub settings: Settings,
    /// The region it simulates: one file per region, as AWS keeps regions
    /// apart (`None`: [`DEFAULT_REGION`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub faults: Faults,
    #[serde(default)]
    pub next_id: u64,
    #[serde(default)]
    pub load_balancers: BTreeMap<String, SbLoadBalancer>,
    #[serde(default)]
    pub target_groups: BTreeMap<String, SbTargetGroup>,
    #[serde(default)]
    pub listeners: BTreeMap<String, SbListener>,
    #[serde(default)]
    pub launch_templates: BTreeMap<String, SbLaunchTemplate>,
    #[serde(default)]
    pub fleets: BTreeMap<String, SbFleet>,
    #[serde(default)]
    pub parameters: BTreeMap<String, SbParameter>,
    /// What a plan names that exists before cutover: VPCs with their
    /// subnets and security groups, key pairs, certificates (ARN → ACM
    /// status). Seeded from the first plan that names a load balancer; edit
    /// the file to add more.
    #[serde(default)]
    pub vpcs: BTreeMap<String, SbVpc>,
    /// Listener rules by ARN.
    #[serde(default)]
    pub rules: BTreeMap<String, SbRule>,
    #[serde(default)]
    pub key_pairs: BTreeSet<String>,
    #[serde(default)]
    pub certificates: BTreeMap<String, String>,
    /// Simulated CloudWatch alarms: name → state ("OK", "ALARM" or "INSUFFICIENT_DATA").
    #[serde(default)]
    pub alarms: BTreeMap<String, AlarmState>,
    /// Users' traffic and the metrics it makes (metric gates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// API calls made, per operation (shown with --verbose).
    #[serde(default)]
    pub calls: BTreeMap<String, u64>,
}

/// Users' requests a minute in a new sandbox file: at the 10% step, green
/// serves 600 a minute, enough for a metric gate's window.
pub(super) const NEW_FILE_REQUESTS_PER_MINUTE: f64 = 6000.0;

impl World {
    /// What a new sandbox file holds: a clock that skips waits (minutes of
    /// bakes and metric windows pass at once, a teardown delay between
    /// commands in real time) and users' traffic through the production
    /// listeners, every image serving well until the file says otherwise,
    /// so that the demo's metric gates have evidence.
    pub(super) fn new_file(region: Option<String>) -> World {
        World {
            settings: Settings {
                clock: Clock::SkipWaits,
                ..Settings::default()
            },
            region,
            traffic: Some(Traffic {
                requests_per_minute: NEW_FILE_REQUESTS_PER_MINUTE,
                ..Traffic::default()
            }),
            ..World::default()
        }
    }

    /// The region this world simulates.
    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    pub(super) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.settings.now_ms()
    }

    /// Simulated seconds elapsed since `since_ms`.
    pub(super) fn simulated_secs_since(&self, since_ms: i64) -> f64 {
        self.settings.secs_since(since_ms)
    }
}

/// A forward action as the sandbox file keeps it (plain strings).
pub(super) fn raw(forward: &Forward) -> Vec<(String, u32)> {
    forward.iter().map(|(a, w)| (a.to_string(), *w)).collect()
}

/// A forward action from the sandbox file.
pub(super) fn typed(forward: &[(String, u32)]) -> Forward {
    forward
        .iter()
        .map(|(a, w)| (a.as_str().into(), *w))
        .collect()
}

pub(super) fn not_found(what: &str) -> ProviderError {
    ProviderError::NotFound(format!("sandbox: {what} not found"))
}

/// The tags of a listener or rule cutover makes for `app` as `role`.
pub(super) fn listener_tags(
    app: &AppRef,
    role: crate::model::ListenerRole,
) -> BTreeMap<String, String> {
    tagged(app.tags(Made::Listener(role)))
}

/// Tags as the sandbox keeps them.
pub(super) fn tagged(tags: Vec<(&'static str, String)>) -> BTreeMap<String, String> {
    tags.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Users' traffic on the sandbox (its flow and metrics are in traffic.rs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Requests a minute on each production listener or rule.
    pub requests_per_minute: f64,
    /// How each image serves; an image not listed serves well.
    #[serde(default)]
    pub images: BTreeMap<String, ImageTraffic>,
    /// The weights written do not take: each production forward sends
    /// everything to its heaviest target group (stickiness that keeps
    /// everyone on blue, a rule that does not match).
    #[serde(default)]
    pub weights_ignored: bool,
    /// GetMetricData answers every query `PartialData` (no evidence).
    #[serde(default)]
    pub partial: bool,
    /// What has flowed: target group ARN → minute start (s) → its numbers.
    #[serde(default)]
    pub minutes: BTreeMap<String, BTreeMap<i64, Counts>>,
    /// Traffic has flowed up to this clock time (ms).
    #[serde(default)]
    pub through_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageTraffic {
    /// Share of requests answered 5xx by the target, 0–1.
    #[serde(default)]
    pub error_rate: f64,
    /// The 99th percentile response time, milliseconds.
    #[serde(default = "default_p99")]
    pub p99_ms: f64,
    /// The image serves well (no errors, 100 ms) for its first this many
    /// minutes of production traffic, and as above after: a leak that
    /// shows only with time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_minutes: Option<f64>,
    /// Custom metrics the app publishes, each a value per request:
    /// `{"CheckoutFailures": 0.01}` (custom metric gates read them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

fn default_p99() -> f64 {
    100.0
}

impl Default for ImageTraffic {
    fn default() -> Self {
        ImageTraffic {
            error_rate: 0.0,
            p99_ms: default_p99(),
            after_minutes: None,
            metrics: BTreeMap::new(),
        }
    }
}

/// One target group's minute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub requests: f64,
    pub errors: f64,
    /// Σ requests × p99 (ms): the minute's p99 is this over `requests`.
    pub latency_ms_weighted: f64,
    /// Per custom metric its serving images publish: Σ requests × its
    /// value per request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}
