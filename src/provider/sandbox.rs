//! The sandbox: an in-process simulated cloud with the same resources cutover
//! owns on AWS, persisted to a JSON file between runs.
//!
//! It exists so a newcomer can run the whole flow with no AWS account, and so
//! engine tests are fast and deterministic. Instances boot and pass health
//! checks on a schedule derived from the target group's health check
//! (healthy after boot + healthy_threshold × interval), compressed by
//! `time_scale` on the real clock. With `clock = "virtual"` nothing waits:
//! `sleep` moves the sandbox's clock, so tests of hour-long bakes take
//! milliseconds and always produce the same output.
//!
//! Fault injection: instances of an image listed in `faults.unhealthy_images`
//! boot but never pass their health check.

use super::convention;
use super::convention::listing::{
    ListedFleet, ListedInstance, ListedParameter, ListedRule, ListedTargetGroup, ListedTemplate,
    ListedVersion, Listing,
};
use super::convention::tags::{self, Made};
use super::{AppRef, FailedLaunch, Members, Provider, ProviderError, Result};
use crate::model::named::{Certificate, Found, Named, Seen};
use crate::model::observed::{
    self, AlarmState, Managed, ManagedKind, Observed, Reads, TargetHealth, TargetState,
};
use crate::model::plan::{FleetConfig, ListenerConfig, TargetGroupConfig};
use crate::model::{Capacity, Color, HealthCheck, LaunchData, Protocol, Release, Timestamp};
use crate::model::{
    FleetName, Forward, ForwardAt, ListenerArn, ListenerRule, LoadBalancerArn, RuleArn,
    TargetGroupArn,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

const ACCOUNT: &str = "000000000000";
/// The region a sandbox file simulates unless it says otherwise (files
/// made before sandboxes kept regions apart are this region's).
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Wall-clock time; simulated boot and health checks run `time_scale` times faster.
    Real,
    /// Simulated time that only moves when cutover waits: instant and deterministic.
    Virtual,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub clock: Clock,
    /// How much faster than real time instances boot and pass health checks (real clock).
    pub time_scale: f64,
    /// Simulated seconds from launch until the first health check.
    pub boot_secs: u64,
    /// The virtual clock, milliseconds since the epoch.
    pub virtual_now_ms: i64,
    /// Simulated seconds between a capacity change and the scaling activity
    /// that carries it out (AWS: seconds). 0 acts inside the call.
    #[serde(default = "default_scaling_delay")]
    pub scaling_delay_secs: u64,
    /// Simulated seconds an instance spends Terminating once scaled in.
    #[serde(default = "default_terminating")]
    pub terminating_secs: u64,
}

impl Settings {
    /// How many clock seconds a simulated one takes.
    fn clock_secs_per_simulated(&self) -> f64 {
        match self.clock {
            Clock::Virtual => 1.0,
            Clock::Real => 1.0 / self.time_scale.max(0.001),
        }
    }

    /// The clock time (ms) `secs` simulated seconds after `from_ms`.
    fn ms_after(&self, from_ms: i64, secs: f64) -> i64 {
        from_ms + (secs * self.clock_secs_per_simulated() * 1000.0) as i64
    }

    /// Simulated seconds from `from_ms` to `to_ms`.
    fn secs_between(&self, from_ms: i64, to_ms: i64) -> f64 {
        (to_ms - from_ms).max(0) as f64 / 1000.0 / self.clock_secs_per_simulated()
    }
}

fn default_scaling_delay() -> u64 {
    5
}

fn default_terminating() -> u64 {
    10
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            clock: Clock::Real,
            time_scale: 10.0,
            boot_secs: 20,
            // 2026-01-01T00:00:00Z
            virtual_now_ms: 1_767_225_600_000,
            scaling_delay_secs: default_scaling_delay(),
            terminating_secs: default_terminating(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Instances of these images never pass their health check.
    #[serde(default)]
    pub unhealthy_images: Vec<String>,
    /// Calls refused as AWS refuses a call the role may not make: an
    /// operation ("PutParameter") or an operation on one resource
    /// ("PutParameter /cutover/shop/active").
    #[serde(default)]
    pub denied: Vec<String>,
    /// Launches of these images fail: the scaling activity fails with
    /// AWS's message for an image that does not exist, and no instance
    /// starts.
    #[serde(default)]
    pub failing_images: Vec<String>,
    /// Share of calls (0–1) that fail as throttled once the SDK's retries
    /// ran out: AWS's `Throttling`, nothing done.
    #[serde(default)]
    pub throttle_rate: f64,
    /// Share of calls that fail with a 500 once the retries ran out.
    #[serde(default)]
    pub error_rate: f64,
    /// Share of writes whose answer is lost: the change is made, the
    /// caller gets an error (a dropped connection).
    #[serde(default)]
    pub lost_rate: f64,
    /// Writes whose answer is always lost, named as `denied` names calls
    /// ("PutParameter /cutover/shop/active"): the change is made, the caller
    /// gets an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost: Vec<String>,
    /// Simulated seconds a listener's weights read back as they were before
    /// the last change (a describe right after a write, eventually
    /// consistent).
    #[serde(default)]
    pub stale_read_secs: u64,
    /// Seeds the draws above, so a run repeats; `draws` counts them.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub draws: u64,
}

/// A fault drawn for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttled,
    ServerError,
    Lost,
}

impl Faults {
    /// The next number in [0, 1) of the seeded sequence (splitmix64).
    fn draw(&mut self) -> f64 {
        self.draws += 1;
        let mut z = self
            .seed
            .wrapping_add(self.draws.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fault this call meets, if any.
    fn for_call(&mut self, mutates: bool) -> Option<Fault> {
        if self.throttle_rate <= 0.0 && self.error_rate <= 0.0 && self.lost_rate <= 0.0 {
            return None;
        }
        let x = self.draw();
        let lost = if mutates { self.lost_rate } else { 0.0 };
        if x < self.throttle_rate {
            Some(Fault::Throttled)
        } else if x < self.throttle_rate + self.error_rate {
            Some(Fault::ServerError)
        } else if x < self.throttle_rate + self.error_rate + lost {
            Some(Fault::Lost)
        } else {
            None
        }
    }
}

/// The error a call meets, worded as the AWS provider words AWS's.
fn fault_error(op: &str, fault: Fault, request: u64) -> ProviderError {
    let (code, message): (Option<&str>, &str) = match fault {
        Fault::Throttled => (Some("Throttling"), "Rate exceeded"),
        Fault::ServerError => (Some("InternalFailure"), "Internal failure"),
        Fault::Lost => (None, "the answer could not be read"),
    };
    ProviderError::Aws {
        operation: op.to_string(),
        code: code.map(str::to_string),
        message: message.to_string(),
        request_id: Some(format!("sandbox-{request:08x}")),
        hint: match fault {
            Fault::Lost => {
                "the call may have taken effect: run the command again, it picks up from live state"
            }
            _ => super::hint_for(code.unwrap_or("")),
        }
        .into(),
    }
}

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
fn logins(actions: &[String]) -> Vec<String> {
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
    fn deregister(&mut self, id: &str, now: i64) {
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
    fn in_service(&self) -> impl Iterator<Item = &SbInstance> {
        self.instances.iter().filter(|i| i.terminating_ms.is_none())
    }
}

/// How long Auto Scaling waits before it tries a failed launch again.
const RELAUNCH_SECS: f64 = 10.0;

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
    /// API calls made, per operation (shown with --verbose).
    #[serde(default)]
    pub calls: BTreeMap<String, u64>,
}

impl World {
    /// The region this world simulates.
    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn now_ms(&self) -> i64 {
        match self.settings.clock {
            Clock::Virtual => self.settings.virtual_now_ms,
            Clock::Real => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }

    /// A listener's forward as a describe shows it: for
    /// `faults.stale_read_secs` after a change, still the one before.
    fn forward_as_read<'a>(&self, l: &'a SbListener) -> &'a Vec<(String, u32)> {
        match &l.before {
            Some((before, at))
                if self.simulated_secs_since(*at) < self.faults.stale_read_secs as f64 =>
            {
                before
            }
            _ => &l.forward,
        }
    }

    /// Auto Scaling finds a launch template version only
    /// `faults.stale_read_secs` after it was made (EC2 is eventually
    /// consistent); before that, the call fails as on AWS.
    fn template_visible(&self, op: &str, template_id: &str, version: i64) -> Result<()> {
        let made = self
            .launch_templates
            .get(template_id)
            .and_then(|lt| lt.versions.iter().find(|v| v.number == version))
            .map(|v| v.created_ms);
        match made {
            Some(at) if self.simulated_secs_since(at) < self.faults.stale_read_secs as f64 => {
                Err(ProviderError::Aws {
                    operation: op.to_string(),
                    code: Some("ValidationError".into()),
                    message: format!("You must use a valid fully-formed launch template. The specified launch template, with template ID {template_id}, does not exist."),
                    request_id: None,
                    hint: super::hint_for("ValidationError").into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Simulated seconds elapsed since `since_ms`.
    fn simulated_secs_since(&self, since_ms: i64) -> f64 {
        self.settings.secs_between(since_ms, self.now_ms())
    }

    fn instance_image(&self, fleet: &SbFleet, inst: &SbInstance) -> Option<String> {
        let lt = self.launch_templates.get(&fleet.template_id)?;
        lt.versions
            .iter()
            .find(|v| v.number == inst.template_version)
            .map(|v| v.data.image_id.clone())
    }

    fn health_of(&self, tg: &SbTargetGroup, instance_id: &str, registered_ms: i64) -> TargetHealth {
        let found = self.fleets.values().find_map(|f| {
            f.instances
                .iter()
                .find(|i| i.id == instance_id)
                .map(|i| (f, i))
        });
        let Some((fleet, inst)) = found else {
            return TargetHealth {
                id: instance_id.to_string(),
                state: TargetState::Unused,
                reason: Some("Target.InvalidState".into()),
                description: Some("Target is in the stopped or terminated state".into()),
            };
        };
        let since = self.simulated_secs_since(inst.launched_ms.max(registered_ms));
        let boot = self.settings.boot_secs as f64;
        let hc = &tg.health_check;
        let checking = (hc.healthy_threshold * hc.interval_secs) as f64;
        let broken = self
            .instance_image(fleet, inst)
            .is_some_and(|img| self.faults.unhealthy_images.contains(&img));
        let (state, reason, description) = if since < boot {
            (
                TargetState::Initial,
                "Elb.RegistrationInProgress",
                "Target registration is in progress".to_string(),
            )
        } else if broken && since >= boot + (hc.unhealthy_threshold * hc.interval_secs) as f64 {
            (
                TargetState::Unhealthy,
                "Target.ResponseCodeMismatch",
                format!(
                    "Health checks failed with these codes: [503] (expected {} on {})",
                    hc.matcher, hc.path
                ),
            )
        } else if broken || since < boot + checking {
            (
                TargetState::Initial,
                "Elb.InitialHealthChecking",
                "Initial health checks in progress".to_string(),
            )
        } else {
            return TargetHealth {
                id: instance_id.to_string(),
                state: TargetState::Healthy,
                reason: None,
                description: None,
            };
        };
        TargetHealth {
            id: instance_id.to_string(),
            state,
            reason: Some(reason.into()),
            description: Some(description),
        }
    }

    /// Auto Scaling's and the load balancer's own work between calls, as
    /// simulated time passes: a capacity change is carried out by a scaling
    /// activity `scaling_delay_secs` after it was asked for; a fleet short
    /// of its capacity after a failed launch tries again every
    /// [`RELAUNCH_SECS`]; instances leave `terminating_secs` after they were
    /// scaled in; deregistered targets drain for the deregistration delay.
    /// True when anything changed.
    pub fn settle(&mut self) -> bool {
        let now = self.now_ms();
        let mut changed = false;
        let delay = self.settings.scaling_delay_secs as f64;
        // Each due activity with the time it ran.
        let due: Vec<(String, i64)> = self
            .fleets
            .iter()
            .filter_map(|(name, f)| {
                let asked = f
                    .activity_asked_ms
                    .map(|at| self.settings.ms_after(at, delay))
                    .filter(|ran| *ran <= now);
                let short = f.in_service().count() < f.capacity.desired as usize;
                let relaunch = f
                    .failed_activities
                    .last()
                    .filter(|_| short)
                    .map(|a| self.settings.ms_after(a.started_ms, RELAUNCH_SECS))
                    .filter(|ran| *ran <= now);
                asked.or(relaunch).map(|ran| (name.clone(), ran))
            })
            .collect();
        for (name, ran) in &due {
            self.reconcile_fleet(name, *ran);
            changed = true;
        }
        let gone_after = self.settings.terminating_secs as f64;
        let settings = &self.settings;
        let since = |ms: i64| settings.secs_between(ms, now);
        for f in self.fleets.values_mut() {
            let before = f.instances.len();
            f.instances
                .retain(|i| i.terminating_ms.is_none_or(|at| since(at) < gone_after));
            changed |= f.instances.len() != before;
        }
        for tg in self.target_groups.values_mut() {
            let delay = tg.attributes.deregistration_delay_secs as f64;
            let before = tg.draining.len();
            tg.draining.retain(|_, at| since(*at) < delay);
            changed |= tg.draining.len() != before;
        }
        changed
    }

    /// A capacity change was asked for: Auto Scaling acts on it later
    /// (at once with `scaling_delay_secs` 0). Changes asked for before the
    /// activity runs are carried out together, by the latest capacity: N,
    /// then 0, then N keeps the instances, as on AWS.
    fn ask_scaling(&mut self, name: &str) {
        if self.settings.scaling_delay_secs == 0 {
            let now = self.now_ms();
            self.reconcile_fleet(name, now);
            return;
        }
        let now = self.now_ms();
        if let Some(f) = self.fleets.get_mut(name) {
            f.activity_asked_ms.get_or_insert(now);
        }
    }

    /// A scaling activity: brings a fleet's instances in service to its
    /// desired capacity. Scale-in marks the oldest Terminating and
    /// deregisters them (they drain); scale-out launches from the group's
    /// launch template version and registers with attached target groups,
    /// unless the launch fails (`faults.failing_images`).
    /// `now`: when the activity ran (ms).
    fn reconcile_fleet(&mut self, name: &str, now: i64) {
        let Some(mut fleet) = self.fleets.get(name).cloned() else {
            return;
        };
        fleet.activity_asked_ms = None;
        let desired = fleet.capacity.desired as usize;
        let mut serving = fleet.in_service().count();
        for inst in fleet.instances.iter_mut() {
            if serving <= desired {
                break;
            }
            if inst.terminating_ms.is_none() {
                inst.terminating_ms = Some(now);
                serving -= 1;
                for tg in self.target_groups.values_mut() {
                    tg.deregister(&inst.id, now);
                }
            }
        }
        let image = self
            .launch_templates
            .get(&fleet.template_id)
            .and_then(|lt| {
                lt.versions
                    .iter()
                    .find(|v| v.number == fleet.template_version)
            })
            .map(|v| v.data.image_id.clone());
        if serving < desired {
            if let Some(image) = image.filter(|i| self.faults.failing_images.contains(i)) {
                let reason = format!(
                    "The image id '[{image}]' does not exist. Launching EC2 instance failed."
                );
                fleet.failed_activities.push(SbActivity {
                    started_ms: now,
                    description: format!("Launching a new EC2 instance.  Status Reason: {reason}"),
                    message: reason,
                });
                let keep = fleet.failed_activities.len().saturating_sub(20);
                fleet.failed_activities.drain(..keep);
                serving = desired;
            }
        }
        while serving < desired {
            let id = format!("i-{:017x}", self.id());
            for arn in &fleet.target_groups {
                if let Some(tg) = self.target_groups.get_mut(arn) {
                    tg.targets.insert(id.clone(), now);
                }
            }
            fleet.instances.push(SbInstance {
                id,
                launched_ms: now,
                template_version: fleet.template_version,
                terminating_ms: None,
            });
            serving += 1;
        }
        self.fleets.insert(name.to_string(), fleet);
    }

    /// What a provider lists for `app`: its load balancer's listeners and
    /// their rules, the target groups, fleets, template and parameters of
    /// its names, each with its tags (an observation assembles it).
    fn listing(&self, app: &AppRef) -> Listing {
        let mut listing = Listing {
            now: self.now_ms() / 1000,
            ..Listing::default()
        };
        for c in Color::ALL {
            let name = app.fleet(c);
            listing
                .target_groups
                .extend(self.listed_target_group(name.as_str()));
            listing.fleets.extend(self.listed_fleet(&name));
            if let Some(scaling) = self.fleets.get(name.as_str()).and_then(|f| f.scaling) {
                listing.policies.insert(name.to_string(), scaling);
            }
        }
        if let Some(lb) = self.load_balancers.get(&app.load_balancer) {
            listing.load_balancers.insert(
                app.load_balancer.clone(),
                observed::LoadBalancer {
                    arn: lb.arn.as_str().into(),
                    dns_name: lb.dns_name.clone(),
                },
            );
            for (arn, l) in self
                .listeners
                .iter()
                .filter(|(_, l)| l.load_balancer_arn == lb.arn)
            {
                listing.listener_tags.insert(arn.clone(), l.tags.clone());
                listing.rules.insert(arn.clone(), self.listed_rules(arn));
            }
            listing
                .listeners
                .insert(lb.arn.clone(), self.listed_listeners(&lb.arn));
        }
        let template = crate::model::names::launch_template(&app.app);
        if let Some((id, lt)) = self
            .launch_templates
            .iter()
            .find(|(_, lt)| lt.name == template)
        {
            listing.templates.insert(template, listed_template(id, lt));
        }
        for name in [
            app.state_parameter.clone(),
            crate::model::names::lock_parameter(&app.state_parameter),
            crate::model::names::previous_parameter(&app.state_parameter),
        ] {
            if let Some(p) = self.parameters.get(&name) {
                let listed = ListedParameter {
                    value: p.value.clone(),
                    modified: p.modified_ms / 1000,
                };
                listing.parameters.insert(name, listed);
            }
        }
        listing
    }

    /// The rules of listener `listener`, with their tags.
    fn listed_rules(&self, listener: &str) -> Vec<ListedRule> {
        self.rules
            .iter()
            .filter(|(_, r)| r.listener_arn == listener)
            .map(|(arn, r)| ListedRule {
                arn: arn.as_str().into(),
                rule: r.rule.clone(),
                forward: typed(&r.forward),
                affinity_secs: r.affinity_secs,
                kept_actions: logins(&r.kept_actions),
                tags: r.tags.clone(),
            })
            .collect()
    }

    /// AWS's refusal when `priority` on `listener` is taken by a rule other
    /// than `except`.
    fn priority_free(&self, listener: &str, priority: u32, except: &str) -> Result<()> {
        let taken = self.rules.iter().any(|(arn, r)| {
            r.listener_arn == listener && r.rule.priority == priority && arn != except
        });
        if taken {
            return Err(ProviderError::Aws {
                operation: "CreateRule".into(),
                code: Some("PriorityInUse".into()),
                message: format!("Priority '{priority}' is currently in use"),
                request_id: None,
                hint: super::hint_for("PriorityInUse").into(),
            });
        }
        Ok(())
    }

    /// Every listener of the load balancer (its tags are listed apart).
    fn listed_listeners(&self, lb_arn: &str) -> Vec<observed::Listener> {
        self.listeners
            .iter()
            .filter(|(_, l)| l.load_balancer_arn == lb_arn)
            .map(|(arn, l)| observed::Listener {
                arn: arn.as_str().into(),
                port: l.port,
                protocol: l.protocol,
                certificate_arn: l.certificate_arn.clone(),
                forward: typed(self.forward_as_read(l)),
                affinity_secs: l.affinity_secs,
                kept_actions: logins(&l.kept_actions),
                tags: None,
            })
            .collect()
    }

    fn listed_target_group(&self, name: &str) -> Option<ListedTargetGroup> {
        let (arn, tg) = self.target_groups.iter().find(|(_, t)| t.name == name)?;
        let group = observed::TargetGroup {
            arn: arn.as_str().into(),
            name: tg.name.clone(),
            port: tg.port,
            protocol: tg.protocol,
            vpc_id: tg.vpc_id.clone(),
            health_check: tg.health_check.clone(),
            attributes: tg.attributes,
            contract_pending: None,
            targets: tg
                .targets
                .iter()
                .map(|(id, at)| self.health_of(tg, id, *at))
                .collect(),
            load_balancers: self
                .load_balancers_of(arn)
                .into_iter()
                .map(|a| a.as_str().into())
                .collect(),
        };
        Some(ListedTargetGroup {
            group,
            tags: Some(tg.tags.clone()),
        })
    }

    /// The load balancers whose listeners or rules forward to target group
    /// `tg` (AWS's LoadBalancerArns).
    fn load_balancers_of(&self, tg: &str) -> BTreeSet<String> {
        let on = |f: &[(String, u32)]| f.iter().any(|(a, _)| a == tg);
        let mut out: BTreeSet<String> = self
            .listeners
            .values()
            .filter(|l| on(&l.forward))
            .map(|l| l.load_balancer_arn.clone())
            .collect();
        for r in self.rules.values().filter(|r| on(&r.forward)) {
            if let Some(l) = self.listeners.get(&r.listener_arn) {
                out.insert(l.load_balancer_arn.clone());
            }
        }
        out
    }

    /// A forward from load balancer `lb` to a target group another load
    /// balancer uses is refused, as AWS refuses it: a target group serves
    /// one load balancer (TargetGroupAssociationLimit).
    fn one_load_balancer(&self, op: &str, lb: &str, forward: &Forward) -> Result<()> {
        for (tg, _) in forward {
            if self
                .load_balancers_of(tg.as_str())
                .iter()
                .any(|other| other != lb)
            {
                return Err(ProviderError::Aws {
                    operation: op.to_string(),
                    code: Some("TargetGroupAssociationLimit".into()),
                    message: format!(
                        "The following target groups cannot be associated with more than one load balancer: {tg}"
                    ),
                    request_id: None,
                    hint: super::hint_for("TargetGroupAssociationLimit").into(),
                });
            }
        }
        Ok(())
    }

    fn listed_fleet(&self, name: &FleetName) -> Option<ListedFleet> {
        let f = self.fleets.get(name.as_str())?;
        let fleet = observed::Fleet {
            name: name.clone(),
            capacity: f.capacity,
            launch_template_version: Some(f.template_version),
            release: None,
            rolled_back: None,
            rolled_back_why: None,
            subnets: f.subnets.clone(),
            instances: Vec::new(),
            older: Vec::new(),
            target_groups: f.target_groups.iter().map(|a| a.as_str().into()).collect(),
            spot: f.spot,
            instance_types: f.instance_types.clone(),
            on_demand_base: f.on_demand_base,
            capacity_rebalance: f.capacity_rebalance,
            health_check_grace_secs: f.health_check_grace_secs,
            warmup_secs: f.warmup_secs,
            scaling: None,
        };
        Some(ListedFleet {
            fleet,
            deleting: false,
            tags: f.tags.clone(),
            instances: f
                .instances
                .iter()
                .map(|i| ListedInstance {
                    id: i.id.clone(),
                    version: Some(i.template_version),
                    leaving: i.terminating_ms.is_some(),
                })
                .collect(),
        })
    }

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

    /// The ARN of load balancer `lb_arn`'s listener on `port`.
    fn listener_on(&self, lb_arn: &str, port: u16) -> Option<&String> {
        self.listeners
            .iter()
            .find(|(_, l)| l.load_balancer_arn == lb_arn && l.port == port)
            .map(|(arn, _)| arn)
    }

    /// Adds `l` under a new listener ARN of its load balancer; returns it.
    fn add_listener(&mut self, l: SbListener) -> String {
        let arn = format!(
            "{}/{:016x}",
            l.load_balancer_arn.replace(":loadbalancer/", ":listener/"),
            self.id()
        );
        self.listeners.insert(arn.clone(), l);
        arn
    }

    /// What preflight finds here for `named`; `denied` says which lookups
    /// the role may not make.
    fn look_up(&self, named: &Named, denied: impl Fn(&str) -> bool) -> Found {
        fn seen<T>(denied: &dyn Fn(&str) -> bool, op: &str, found: Option<T>) -> Seen<T> {
            let service = match op {
                "DescribeLoadBalancers" => "elasticloadbalancing",
                "DescribeCertificate" => "acm",
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
        }
    }
}

/// The sandbox provider: a [`World`] kept in its file. Several processes
/// may share one sandbox, as several runs share one AWS account (a rollback
/// from another terminal while an apply runs): every call takes the file's
/// lock, reads what other processes changed, and saves its own change
/// before it lets go.
pub struct Sandbox {
    path: PathBuf,
    world: Mutex<World>,
    /// The file as this process last read or wrote it (modified, length):
    /// unchanged, it is not read again.
    seen: Mutex<Option<(std::time::SystemTime, u64)>>,
}

/// The sandbox file's lock, held for one call.
struct FileLock(std::fs::File);

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl Sandbox {
    /// Opens the sandbox in `path`, creating it when missing.
    pub fn open(path: &Path) -> Result<Sandbox> {
        Sandbox::open_in(path, None)
    }

    /// The sandbox of `region` (`None`: whichever the file simulates):
    /// `path` when it simulates that region or does not exist yet, else the
    /// file beside it named for the region (`sandbox.eu-west-1.json`), so
    /// that regions are kept apart as AWS keeps them.
    pub fn open_in(path: &Path, region: Option<&str>) -> Result<Sandbox> {
        let Some(region) = region else {
            return Sandbox::open_file(path, None);
        };
        let here = Sandbox::open_file(path, Some(region))?;
        let holds = here
            .world
            .lock()
            .expect("sandbox lock")
            .region()
            .to_string();
        if holds == region {
            return Ok(here);
        }
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let beside = path.with_file_name(format!("{stem}.{region}.json"));
        Sandbox::open_file(&beside, Some(region))
    }

    /// The file at `path`; a new world simulates `region`.
    fn open_file(path: &Path, region: Option<&str>) -> Result<Sandbox> {
        let world = match std::fs::read(path) {
            Ok(bytes) => parse_world(path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => World {
                region: region.filter(|r| *r != DEFAULT_REGION).map(str::to_string),
                ..World::default()
            },
            Err(e) => {
                return Err(ProviderError::Sandbox(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(Sandbox {
            path: path.to_path_buf(),
            world: Mutex::new(world),
            seen: Mutex::new(None),
        })
    }

    /// Takes the sandbox file's lock and brings `w` up to date with what
    /// other processes wrote. The calls counted stay this process's own.
    fn sync(&self, w: &mut World) -> Result<FileLock> {
        let fail = |what: &str, e: std::io::Error| {
            ProviderError::Sandbox(format!("cannot {what} {}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail("create the folder of", e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension("json.lock"))
            .map_err(|e| fail("open the lock of", e))?;
        file.lock().map_err(|e| fail("lock", e))?;
        let lock = FileLock(file);
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut seen = self.seen.lock().expect("sandbox lock");
        if stamp.is_some() && *seen != stamp {
            let bytes = std::fs::read(&self.path).map_err(|e| fail("read", e))?;
            let fresh = parse_world(&self.path, &bytes)?;
            let calls = std::mem::take(&mut w.calls);
            *w = fresh;
            w.calls = calls;
            *seen = stamp;
        }
        Ok(lock)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads or changes the world directly (tests, fault injection), then saves.
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> Result<T> {
        let mut w = self.world.lock().expect("sandbox lock");
        let _lock = self.sync(&mut w)?;
        let out = f(&mut w);
        self.save(&w)?;
        Ok(out)
    }

    fn save(&self, w: &World) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ProviderError::Sandbox(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        // Write then rename: a crash never leaves a half-written sandbox.
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(w).expect("world serialises");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                ProviderError::Sandbox(format!("cannot write {}: {e}", self.path.display()))
            })?;
        // What this process wrote need not be read again.
        *self.seen.lock().expect("sandbox lock") = std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        Ok(())
    }

    /// One API call: counts it, runs it on the world, and saves when it changed.
    fn call<T>(
        &self,
        op: &str,
        mutates: bool,
        f: impl FnOnce(&mut World) -> Result<T>,
    ) -> Result<T> {
        self.call_on(op, "", mutates, f)
    }

    /// A call on one resource, which `faults.denied` may name.
    fn call_on<T>(
        &self,
        op: &str,
        resource: &str,
        mutates: bool,
        f: impl FnOnce(&mut World) -> Result<T>,
    ) -> Result<T> {
        let mut w = self.world.lock().expect("sandbox lock");
        let _lock = self.sync(&mut w)?;
        *w.calls.entry(op.to_string()).or_default() += 1;
        let denied = w
            .faults
            .denied
            .iter()
            .any(|d| d == op || *d == format!("{op} {resource}"));
        if denied {
            let on = if resource.is_empty() {
                String::new()
            } else {
                format!(" on resource: {resource}")
            };
            return Err(ProviderError::Aws {
                operation: op.to_string(),
                code: Some("AccessDenied".into()),
                message: format!(
                    "User: arn:aws:iam::{ACCOUNT}:user/sandbox is not authorized to perform: {op}{on}"
                ),
                request_id: None,
                hint: super::hint_for("AccessDenied").into(),
            });
        }
        let draws = w.faults.draws;
        let always_lost = mutates
            && w.faults
                .lost
                .iter()
                .any(|d| d == op || *d == format!("{op} {resource}"));
        let fault = match w.faults.for_call(mutates) {
            None if always_lost => Some(Fault::Lost),
            drawn => drawn,
        };
        if let Some(f @ (Fault::Throttled | Fault::ServerError)) = fault {
            self.save(&w)?;
            return Err(fault_error(op, f, w.faults.draws));
        }
        let settled = w.settle();
        let out = match f(&mut w) {
            Ok(out) => out,
            Err(e) => {
                if settled || w.faults.draws != draws {
                    self.save(&w)?;
                }
                return Err(e);
            }
        };
        // The draws are saved too, so the next process goes on with the
        // seeded sequence.
        if mutates || settled || w.faults.draws != draws {
            self.save(&w)?;
        }
        if fault == Some(Fault::Lost) {
            return Err(fault_error(op, Fault::Lost, w.faults.draws));
        }
        Ok(out)
    }
}

/// A sandbox file's world; anything else is refused, and left as it is.
fn parse_world(path: &Path, bytes: &[u8]) -> Result<World> {
    serde_json::from_slice(bytes).map_err(|e| {
        ProviderError::Sandbox(format!(
            "{} is not a cutover sandbox file ({e}); it was left untouched. Give --sandbox a new file name (cutover creates it) or a sandbox file made by cutover",
            path.display()
        ))
    })
}

/// A forward action as the sandbox file keeps it (plain strings).
fn raw(forward: &Forward) -> Vec<(String, u32)> {
    forward.iter().map(|(a, w)| (a.to_string(), *w)).collect()
}

/// A forward action from the sandbox file.
fn typed(forward: &[(String, u32)]) -> Forward {
    forward
        .iter()
        .map(|(a, w)| (a.as_str().into(), *w))
        .collect()
}

fn not_found(what: &str) -> ProviderError {
    ProviderError::NotFound(format!("sandbox: {what} not found"))
}

#[async_trait]
impl Provider for Sandbox {
    fn describe(&self) -> String {
        format!("sandbox {}", self.path.display())
    }

    async fn observe_apps(&self, apps: &[AppRef], reads: Reads) -> Vec<Result<Observed>> {
        apps.iter()
            .map(|app| {
                self.call("Observe", false, |w| {
                    Ok(convention::assemble(app, &w.listing(app)).as_read(reads))
                })
            })
            .collect()
    }

    async fn target_health(&self, arn: &TargetGroupArn) -> Result<Vec<TargetHealth>> {
        self.call("DescribeTargetHealth", false, |w| {
            let tg = w
                .target_groups
                .get(arn.as_str())
                .ok_or_else(|| not_found("target group"))?;
            let draining = tg.draining.keys().map(|id| TargetHealth {
                id: id.clone(),
                state: TargetState::Draining,
                reason: Some("Target.DeregistrationInProgress".into()),
                description: Some("Target deregistration is in progress".into()),
            });
            Ok(tg
                .targets
                .iter()
                .map(|(id, at)| w.health_of(tg, id, *at))
                .chain(draining)
                .collect())
        })
    }

    async fn create_target_group(
        &self,
        app: &AppRef,
        color: Color,
        c: &TargetGroupConfig,
    ) -> Result<TargetGroupArn> {
        self.call("CreateTargetGroup", true, |w| {
            // A group of that name: AWS answers with it only when every
            // setting matches (DuplicateTargetGroupName otherwise), and
            // cutover takes it only when its tags say it is this app's
            // colour (made by a call whose answer was lost), bringing its
            // health check to the plan's, as the AWS provider does.
            if let Some((arn, tg)) = w.target_groups.iter_mut().find(|(_, t)| t.name == c.name) {
                if !tags::is_colour_of(&tg.tags, &app.app, color) {
                    return Err(ProviderError::Aws {
                        operation: "CreateTargetGroup".into(),
                        code: Some("DuplicateTargetGroupName".into()),
                        message: format!(
                            "A target group with the same name '{}' exists, but with different settings",
                            c.name
                        ),
                        request_id: None,
                        hint: super::hint_for("DuplicateTargetGroupName").into(),
                    });
                }
                tg.health_check = c.health_check.clone();
                return Ok(arn.as_str().into());
            }
            let id = w.id();
            let arn = format!(
                "arn:aws:elasticloadbalancing:{}:{ACCOUNT}:targetgroup/{}/{id:016x}",
                w.region(),
                c.name,
            );
            w.target_groups.insert(
                arn.clone(),
                SbTargetGroup {
                    name: c.name.clone(),
                    port: c.port,
                    protocol: c.protocol,
                    vpc_id: c.vpc_id.clone(),
                    health_check: c.health_check.clone(),
                    attributes: c.attributes,
                    tags: tagged(app.tags(Made::TargetGroup(color))),
                    targets: BTreeMap::new(),
                    draining: BTreeMap::new(),
                },
            );
            Ok(arn.into())
        })
    }

    async fn modify_health_check(&self, arn: &TargetGroupArn, hc: &HealthCheck) -> Result<()> {
        self.call("ModifyTargetGroup", true, |w| {
            w.target_groups
                .get_mut(arn.as_str())
                .ok_or_else(|| not_found("target group"))?
                .health_check = hc.clone();
            Ok(())
        })
    }

    async fn set_scaling(
        &self,
        fleet: &FleetName,
        scaling: Option<&crate::model::Scaling>,
        _load_balancer: &LoadBalancerArn,
        _target_group: &TargetGroupArn,
    ) -> Result<()> {
        let op = if scaling.is_some() {
            "PutScalingPolicy"
        } else {
            "DeletePolicy"
        };
        self.call(op, true, |w| {
            w.fleets
                .get_mut(fleet.as_str())
                .ok_or_else(|| not_found("auto scaling group"))?
                .scaling = scaling.copied();
            Ok(())
        })
    }

    async fn set_attributes(
        &self,
        arn: &TargetGroupArn,
        changes: &crate::model::AttributeChanges,
    ) -> Result<()> {
        self.call("ModifyTargetGroupAttributes", true, |w| {
            let tg = w
                .target_groups
                .get_mut(arn.as_str())
                .ok_or_else(|| not_found("target group"))?;
            changes.apply_to(&mut tg.attributes);
            Ok(())
        })
    }

    async fn create_launch_template_version(
        &self,
        _app: &AppRef,
        template_id: Option<&str>,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        let op = if template_id.is_some() {
            "CreateLaunchTemplateVersion"
        } else {
            "CreateLaunchTemplate"
        };
        self.call(op, true, |w| {
            let id = match template_id {
                Some(id) => id.to_string(),
                None => match w.launch_templates.iter().find(|(_, lt)| lt.name == name) {
                    Some((id, _)) => id.clone(),
                    None => {
                        let id = format!("lt-{:017x}", w.id());
                        w.launch_templates.insert(
                            id.clone(),
                            SbLaunchTemplate {
                                name: name.to_string(),
                                versions: Vec::new(),
                            },
                        );
                        id
                    }
                },
            };
            let lt = w
                .launch_templates
                .get_mut(&id)
                .ok_or_else(|| not_found("launch template"))?;
            let number = lt.versions.len() as i64 + 1;
            let created_ms = w.now_ms();
            let lt = w
                .launch_templates
                .get_mut(&id)
                .ok_or_else(|| not_found("launch template"))?;
            lt.versions.push(SbTemplateVersion {
                number,
                description: tags::release_description(&release.fingerprint),
                data: release.data.clone(),
                created_ms,
            });
            Ok((id, number))
        })
    }

    async fn create_fleet(
        &self,
        app: &AppRef,
        color: Color,
        c: &FleetConfig,
        template_id: &str,
        version: i64,
        tg_arn: &TargetGroupArn,
    ) -> Result<()> {
        self.call("CreateAutoScalingGroup", true, |w| {
            w.template_visible("CreateAutoScalingGroup", template_id, version)?;
            if w.fleets.contains_key(c.name.as_str()) {
                return Err(ProviderError::api(
                    "CreateAutoScalingGroup",
                    format!("AlreadyExists: {}", c.name),
                ));
            }
            let tags = tagged(app.tags(Made::Fleet {
                color,
                release: &c.release,
            }));
            w.fleets.insert(
                c.name.to_string(),
                SbFleet {
                    template_id: template_id.to_string(),
                    template_version: version,
                    capacity: c.capacity,
                    subnets: c.subnets.clone(),
                    target_groups: vec![tg_arn.to_string()],
                    tags,
                    instances: Vec::new(),
                    spot: c.spot,
                    instance_types: c.instance_types.clone(),
                    on_demand_base: c.on_demand_base,
                    capacity_rebalance: c.spot,
                    health_check_grace_secs: c.health_check_grace_secs,
                    warmup_secs: c.warmup_secs,
                    scaling: None,
                    failed_activities: Vec::new(),
                    activity_asked_ms: None,
                },
            );
            w.ask_scaling(c.name.as_str());
            Ok(())
        })
    }

    async fn update_fleet(&self, c: &FleetConfig, template_id: &str, version: i64) -> Result<()> {
        self.call("UpdateAutoScalingGroup", true, |w| {
            w.template_visible("UpdateAutoScalingGroup", template_id, version)?;
            let f = w
                .fleets
                .get_mut(c.name.as_str())
                .ok_or_else(|| not_found("auto scaling group"))?;
            f.template_id = template_id.to_string();
            f.template_version = version;
            f.capacity = c.capacity;
            f.subnets = c.subnets.clone();
            f.spot = c.spot;
            f.instance_types = c.instance_types.clone();
            f.on_demand_base = c.on_demand_base;
            f.capacity_rebalance = c.spot;
            f.health_check_grace_secs = c.health_check_grace_secs;
            f.warmup_secs = c.warmup_secs;
            f.tags.insert(tags::RELEASE.into(), c.release.clone());
            w.ask_scaling(c.name.as_str());
            Ok(())
        })
    }

    async fn set_capacity(&self, fleet: &FleetName, capacity: Capacity) -> Result<()> {
        let fleet = fleet.as_str();
        self.call("UpdateAutoScalingGroup", true, |w| {
            w.fleets
                .get_mut(fleet)
                .ok_or_else(|| not_found("auto scaling group"))?
                .capacity = capacity;
            w.ask_scaling(fleet);
            Ok(())
        })
    }

    async fn attach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
        let (fleet, tg_arn) = (fleet.as_str(), tg_arn.as_str());
        self.call("AttachLoadBalancerTargetGroups", true, |w| {
            let now = w.now_ms();
            let f = w
                .fleets
                .get_mut(fleet)
                .ok_or_else(|| not_found("auto scaling group"))?;
            if !f.target_groups.iter().any(|t| t == tg_arn) {
                f.target_groups.push(tg_arn.to_string());
            }
            let ids: Vec<String> = f.in_service().map(|i| i.id.clone()).collect();
            let tg = w
                .target_groups
                .get_mut(tg_arn)
                .ok_or_else(|| not_found("target group"))?;
            for id in ids {
                tg.targets.entry(id).or_insert(now);
            }
            Ok(())
        })
    }

    async fn detach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
        let (fleet, tg_arn) = (fleet.as_str(), tg_arn.as_str());
        self.call("DetachLoadBalancerTargetGroups", true, |w| {
            let now = w.now_ms();
            let f = w
                .fleets
                .get_mut(fleet)
                .ok_or_else(|| not_found("auto scaling group"))?;
            f.target_groups.retain(|t| t != tg_arn);
            let ids: Vec<String> = f.instances.iter().map(|i| i.id.clone()).collect();
            if let Some(tg) = w.target_groups.get_mut(tg_arn) {
                for id in ids {
                    tg.deregister(&id, now);
                }
            }
            Ok(())
        })
    }

    async fn delete_fleet(&self, fleet: &FleetName) -> Result<()> {
        let fleet = fleet.as_str();
        self.call("DeleteAutoScalingGroup", true, |w| {
            let now = w.now_ms();
            if let Some(f) = w.fleets.remove(fleet) {
                for tg in w.target_groups.values_mut() {
                    for i in &f.instances {
                        tg.deregister(&i.id, now);
                    }
                }
            }
            Ok(())
        })
    }

    async fn create_listener(
        &self,
        app: &AppRef,
        lb_arn: &LoadBalancerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<ListenerArn> {
        let lb_arn = lb_arn.as_str();
        self.call("CreateListener", true, |w| {
            w.one_load_balancer("CreateListener", lb_arn, forward)?;
            if let Some(arn) = w.listener_on(lb_arn, c.port) {
                return Err(ProviderError::api(
                    "CreateListener",
                    format!("DuplicateListener: port {} is taken by {arn}", c.port),
                ));
            }
            let arn = w.add_listener(SbListener {
                affinity_secs: 0,
                load_balancer_arn: lb_arn.to_string(),
                port: c.port,
                protocol: c.protocol,
                certificate_arn: c.certificate_arn.clone(),
                forward: raw(forward),
                before: None,
                kept_actions: Vec::new(),
                tags: listener_tags(app, c.role),
            });
            Ok(arn.into())
        })
    }

    async fn tag_listener(
        &self,
        app: &AppRef,
        listener: &ListenerArn,
        role: crate::model::ListenerRole,
    ) -> Result<()> {
        self.call_on("AddTags", listener.as_str(), true, |w| {
            let l = w
                .listeners
                .get_mut(listener.as_str())
                .ok_or_else(|| not_found("listener"))?;
            l.tags.extend(listener_tags(app, role));
            Ok(())
        })
    }

    async fn delete_listener(&self, listener: &ListenerArn) -> Result<()> {
        self.call_on("DeleteListener", listener.as_str(), true, |w| {
            w.listeners.remove(listener.as_str());
            w.rules.retain(|_, r| r.listener_arn != listener.as_str());
            Ok(())
        })
    }

    async fn forwards_on(&self, lb: &LoadBalancerArn) -> Result<Vec<super::Forwarding>> {
        self.call_on("DescribeListeners", lb.as_str(), false, |w| {
            let mut out = Vec::new();
            for (arn, l) in w
                .listeners
                .iter()
                .filter(|(_, l)| l.load_balancer_arn == lb.as_str())
            {
                out.push(super::Forwarding {
                    place: format!("listener :{}", l.port),
                    arn: arn.clone(),
                    forward: typed(&l.forward),
                });
                for (rule_arn, r) in w.rules.iter().filter(|(_, r)| &r.listener_arn == arn) {
                    out.push(super::Forwarding {
                        place: format!("rule {} on :{}", r.rule.priority, l.port),
                        arn: rule_arn.clone(),
                        forward: typed(&r.forward),
                    });
                }
            }
            Ok(out)
        })
    }

    async fn modify_listener(
        &self,
        arn: &ListenerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<()> {
        self.call("ModifyListener", true, |w| {
            let now = w.now_ms();
            let lb = w
                .listeners
                .get(arn.as_str())
                .map(|l| l.load_balancer_arn.clone())
                .unwrap_or_default();
            w.one_load_balancer("ModifyListener", &lb, forward)?;
            let l = w
                .listeners
                .get_mut(arn.as_str())
                .ok_or_else(|| not_found("listener"))?;
            l.protocol = c.protocol;
            l.certificate_arn = c.certificate_arn.clone();
            l.before = Some((l.forward.clone(), now));
            l.forward = raw(forward);
            l.affinity_secs = 0;
            l.kept_actions = logins(&l.kept_actions);
            Ok(())
        })
    }

    async fn create_rule(
        &self,
        app: &AppRef,
        role: crate::model::ListenerRole,
        listener: &ListenerArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<RuleArn> {
        self.call_on("CreateRule", listener.as_str(), true, |w| {
            if !w.listeners.contains_key(listener.as_str()) {
                return Err(not_found("listener"));
            }
            w.priority_free(listener.as_str(), rule.priority, "")?;
            let arn = format!(
                "{}/{:016x}",
                listener.as_str().replace(":listener/", ":listener-rule/"),
                w.id()
            );
            w.rules.insert(
                arn.clone(),
                SbRule {
                    affinity_secs: 0,
                    listener_arn: listener.to_string(),
                    rule: rule.clone(),
                    forward: raw(forward),
                    tags: listener_tags(app, role),
                    kept_actions: Vec::new(),
                },
            );
            Ok(arn.into())
        })
    }

    async fn modify_rule(
        &self,
        arn: &RuleArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<()> {
        self.call_on("ModifyRule", arn.as_str(), true, |w| {
            let listener = w
                .rules
                .get(arn.as_str())
                .ok_or_else(|| not_found("rule"))?
                .listener_arn
                .clone();
            w.priority_free(&listener, rule.priority, arn.as_str())?;
            let r = w.rules.get_mut(arn.as_str()).expect("looked up");
            r.rule = rule.clone();
            r.forward = raw(forward);
            r.affinity_secs = 0;
            Ok(())
        })
    }

    async fn delete_rule(&self, arn: &RuleArn) -> Result<()> {
        self.call_on("DeleteRule", arn.as_str(), true, |w| {
            w.rules.remove(arn.as_str());
            Ok(())
        })
    }

    async fn forward_of(&self, at: &ForwardAt) -> Result<Forward> {
        match at {
            ForwardAt::Listener(arn) => {
                self.call_on("DescribeListeners", arn.as_str(), false, |w| {
                    let l = w
                        .listeners
                        .get(arn.as_str())
                        .ok_or_else(|| not_found("listener"))?;
                    Ok(typed(w.forward_as_read(l)))
                })
            }
            ForwardAt::Rule(arn) => self.call_on("DescribeRules", arn.as_str(), false, |w| {
                let r = w.rules.get(arn.as_str()).ok_or_else(|| not_found("rule"))?;
                Ok(typed(&r.forward))
            }),
        }
    }

    async fn set_weights(
        &self,
        at: &ForwardAt,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        match at {
            ForwardAt::Listener(arn) => self.call_on("ModifyListener", arn.as_str(), true, |w| {
                let now = w.now_ms();
                let l = w
                    .listeners
                    .get_mut(arn.as_str())
                    .ok_or_else(|| not_found("listener"))?;
                l.before = Some((l.forward.clone(), now));
                l.forward = raw(forward);
                l.affinity_secs = affinity_secs;
                l.kept_actions = logins(&l.kept_actions);
                Ok(typed(&l.forward))
            }),
            ForwardAt::Rule(arn) => self.call_on("ModifyRule", arn.as_str(), true, |w| {
                let r = w
                    .rules
                    .get_mut(arn.as_str())
                    .ok_or_else(|| not_found("rule"))?;
                r.forward = raw(forward);
                r.affinity_secs = affinity_secs;
                Ok(typed(&r.forward))
            }),
        }
    }

    async fn put_active(&self, parameter: &str, color: Color) -> Result<()> {
        self.put_record(parameter, color.as_str()).await
    }

    async fn put_record(&self, parameter: &str, value: &str) -> Result<()> {
        self.call_on("PutParameter", parameter, true, |w| {
            let now = w.now_ms();
            let p = w
                .parameters
                .entry(parameter.to_string())
                .or_insert(SbParameter {
                    value: String::new(),
                    modified_ms: now,
                    version: 0,
                });
            p.value = value.to_string();
            p.modified_ms = now;
            p.version += 1;
            Ok(())
        })
    }

    async fn set_contract_pending(
        &self,
        arn: &TargetGroupArn,
        release: Option<&str>,
    ) -> Result<()> {
        self.call("AddTags", true, |w| {
            let tg = w
                .target_groups
                .get_mut(arn.as_str())
                .ok_or_else(|| not_found("target group"))?;
            tg.tags.insert(
                tags::CONTRACT_PENDING.into(),
                release.unwrap_or("").to_string(),
            );
            Ok(())
        })
    }

    async fn fleet_members(&self, fleet: &FleetName) -> Result<Option<Members>> {
        self.call("DescribeAutoScalingGroups", false, |w| {
            Ok(w.listed_fleet(fleet).as_ref().map(Members::of))
        })
    }

    async fn look_up(&self, named: &Named) -> Result<Found> {
        // One call per lookup AWS would make, each with its own faults.
        let ops = [
            "DescribeLoadBalancers",
            "DescribeVpcs",
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeKeyPairs",
            "DescribeCertificate",
        ];
        let asked = |op: &str| match op {
            "DescribeKeyPairs" => named.key_pair.is_some(),
            "DescribeCertificate" => !named.certificates.is_empty(),
            _ => true,
        };
        let mut denied = Vec::new();
        for op in ops.into_iter().filter(|op| asked(op)) {
            match self.call(op, false, |_| Ok(())) {
                Ok(()) => {}
                Err(e) if e.is_denied() => denied.push(op),
                Err(e) => return Err(e),
            }
        }
        let w = self.world.lock().expect("sandbox lock");
        Ok(w.look_up(named, |op| denied.contains(&op)))
    }

    async fn failed_launch(
        &self,
        fleet: &FleetName,
        since: Timestamp,
    ) -> Result<Option<FailedLaunch>> {
        self.call("DescribeScalingActivities", false, |w| {
            // The newest failure, unless a launch after it went through.
            Ok(w.fleets.get(fleet.as_str()).and_then(|f| {
                f.failed_activities
                    .last()
                    .filter(|a| a.started_ms / 1000 > since)
                    .filter(|a| f.in_service().all(|i| i.launched_ms < a.started_ms))
                    .map(|a| FailedLaunch {
                        message: a.message.clone(),
                        description: a.description.clone(),
                    })
            }))
        })
    }

    async fn list_managed(&self) -> Result<Vec<Managed>> {
        self.call("ListManaged", false, |w| {
            let mut out = Vec::new();
            for (arn, tg) in &w.target_groups {
                // A group made before the load balancer tag: the one that uses it.
                let used_by = w.load_balancers_of(arn).into_iter().next().and_then(|lb| {
                    let named = w.load_balancers.iter().find(|(_, l)| l.arn == lb);
                    named.map(|(name, _)| name.clone())
                });
                out.extend(tags::managed(
                    ManagedKind::TargetGroup,
                    &tg.name,
                    &tg.tags,
                    used_by,
                ));
            }
            for (name, f) in &w.fleets {
                out.extend(tags::managed(
                    ManagedKind::AutoScalingGroup,
                    name,
                    &f.tags,
                    None,
                ));
            }
            Ok(out)
        })
    }

    async fn alarm_state(&self, name: &str) -> Result<AlarmState> {
        self.call("DescribeAlarms", false, |w| {
            w.alarms
                .get(name)
                .cloned()
                .ok_or_else(|| not_found(&format!("alarm {name}")))
        })
    }

    async fn mark_rolled_back(
        &self,
        fleet: &FleetName,
        fingerprint: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<()> {
        self.call("CreateOrUpdateTags", true, |w| {
            let f = w
                .fleets
                .get_mut(fleet.as_str())
                .ok_or_else(|| not_found("auto scaling group"))?;
            f.tags.insert(
                tags::ROLLED_BACK.into(),
                tags::rolled_back_value(fingerprint, at),
            );
            f.tags
                .insert(tags::ROLLED_BACK_WHY.into(), tags::why_value(why));
            Ok(())
        })
    }

    async fn clear_rolled_back(&self, fleet: &FleetName) -> Result<()> {
        self.call("DeleteTags", true, |w| {
            let f = w
                .fleets
                .get_mut(fleet.as_str())
                .ok_or_else(|| not_found("auto scaling group"))?;
            f.tags.remove(tags::ROLLED_BACK);
            f.tags.remove(tags::ROLLED_BACK_WHY);
            Ok(())
        })
    }

    async fn try_lock(&self, name: &str, holder: &str) -> Result<Option<String>> {
        self.call_on("PutParameter", name, true, |w| {
            if let Some(p) = w.parameters.get(name) {
                return Ok(Some(p.value.clone()));
            }
            let now = w.now_ms();
            w.parameters.insert(
                name.to_string(),
                SbParameter {
                    value: holder.to_string(),
                    modified_ms: now,
                    version: 1,
                },
            );
            Ok(None)
        })
    }

    async fn read_lock(&self, name: &str) -> Result<Option<String>> {
        self.call("GetParameter", false, |w| {
            Ok(w.parameters.get(name).map(|p| p.value.clone()))
        })
    }

    async fn delete_lock(&self, name: &str) -> Result<()> {
        self.call("DeleteParameter", true, |w| {
            w.parameters.remove(name);
            Ok(())
        })
    }

    fn now(&self) -> Timestamp {
        self.world.lock().expect("sandbox lock").now_ms() / 1000
    }

    fn poll_interval(&self) -> Duration {
        match self.world.lock().expect("sandbox lock").settings.clock {
            Clock::Real => Duration::from_millis(250),
            Clock::Virtual => Duration::from_secs(5),
        }
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        self.world.lock().expect("sandbox lock").calls.clone()
    }

    async fn sleep(&self, d: Duration) {
        let clock = self.world.lock().expect("sandbox lock").settings.clock;
        match clock {
            Clock::Real => tokio::time::sleep(d).await,
            Clock::Virtual => {
                let _ = self.with_world(|w| w.settings.virtual_now_ms += d.as_millis() as i64);
            }
        }
    }
}

/// A launch template as a describe lists it.
fn listed_template(id: &str, lt: &SbLaunchTemplate) -> ListedTemplate {
    ListedTemplate {
        id: id.to_string(),
        versions: lt
            .versions
            .iter()
            .map(|v| ListedVersion {
                description: Some(v.description.clone()),
                version: observed::LaunchTemplateVersion {
                    number: v.number,
                    fingerprint: None,
                    image_id: Some(v.data.image_id.clone()),
                    instance_type: v.data.instance_type.clone(),
                    user_data: v.data.user_data.clone(),
                    imdsv2: v.data.imdsv2,
                    root_volume: v.data.root_volume.clone(),
                },
            })
            .collect(),
    }
}

/// The tags of a listener or rule cutover makes for `app` as `role`.
fn listener_tags(app: &AppRef, role: crate::model::ListenerRole) -> BTreeMap<String, String> {
    tagged(app.tags(Made::Listener(role)))
}

/// Tags as the sandbox keeps them.
fn tagged(tags: Vec<(&'static str, String)>) -> BTreeMap<String, String> {
    tags.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
