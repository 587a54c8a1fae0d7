//! A snapshot of what cutover owns in the cloud for one app, as a provider read
//! it. Plain data: the planner reads it, never the provider.

use crate::model::{Capacity, Color, HealthCheck, PerColor, Protocol, Timestamp, Weights};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// When the snapshot was taken (the provider's clock).
    pub now: Timestamp,
    pub load_balancer: Option<LoadBalancer>,
    /// Listeners of the load balancer on the ports the plan names.
    pub listeners: Vec<Listener>,
    pub target_groups: PerColor<Option<TargetGroup>>,
    pub launch_template: Option<LaunchTemplate>,
    pub fleets: PerColor<Option<Fleet>>,
    /// The SSM active-colour parameter.
    pub active: Option<Active>,
    /// The lock parameter's value, when a run holds it.
    #[serde(default)]
    pub lock: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub dns_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    pub port: u16,
    pub protocol: Protocol,
    pub certificate_arn: Option<String>,
    /// Forward targets as (target group ARN, weight). Empty when the default
    /// action is not a forward.
    pub forward: Vec<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    pub deregistration_delay_secs: u32,
    pub targets: Vec<TargetHealth>,
    /// The release whose after_teardown hook has not run yet (the
    /// `cutover:contract-pending` tag), set when its teardown began.
    #[serde(default)]
    pub contract_pending: Option<String>,
}

impl TargetGroup {
    pub fn healthy_count(&self) -> u32 {
        self.targets.iter().filter(|t| t.state == "healthy").count() as u32
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    pub id: String,
    /// AWS's state: initial, healthy, unhealthy, unused, draining, unavailable.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchTemplate {
    pub id: String,
    pub versions: Vec<LaunchTemplateVersion>,
}

impl LaunchTemplate {
    /// The version that holds release `fingerprint`, if one was made.
    pub fn version_of(&self, fingerprint: &str) -> Option<&LaunchTemplateVersion> {
        self.versions
            .iter()
            .filter(|v| v.fingerprint.as_deref() == Some(fingerprint))
            .max_by_key(|v| v.number)
    }

    pub fn version(&self, number: i64) -> Option<&LaunchTemplateVersion> {
        self.versions.iter().find(|v| v.number == number)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchTemplateVersion {
    pub number: i64,
    /// Release fingerprint recorded in the version description.
    pub fingerprint: Option<String>,
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fleet {
    pub name: String,
    pub capacity: Capacity,
    pub launch_template_version: Option<i64>,
    /// The `cutover:release` tag.
    pub release: Option<String>,
    pub subnets: Vec<String>,
    pub instances: Vec<String>,
    /// Target group ARNs attached to the Auto Scaling group.
    pub target_groups: Vec<String>,
    /// Runs on spot capacity (a MixedInstancesPolicy with no on-demand above base 0).
    #[serde(default)]
    pub spot: bool,
    /// The release this fleet carried when it was rolled back, and when.
    #[serde(default)]
    pub rolled_back: Option<(String, Timestamp)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Active {
    pub color: Color,
    /// When the parameter last changed: the moment of the last promotion or rollback.
    pub since: Timestamp,
}

impl Observed {
    /// What a plan depends on, without what changes by itself from one
    /// second to the next (clock, target health, instance ids, the lock).
    pub fn shape(&self) -> serde_json::Value {
        let mut o = self.clone();
        o.now = 0;
        o.lock = None;
        for c in Color::ALL {
            if let Some(tg) = o.target_groups.get_mut(c) {
                tg.targets.clear();
            }
            if let Some(f) = o.fleets.get_mut(c) {
                f.instances.clear();
            }
        }
        let mut shape = serde_json::to_value(o).expect("observed state serialises");
        // The same bytes in every build, whatever serde_json's map type.
        crate::spec::raw::sort_keys(&mut shape);
        shape
    }

    /// A short hash of [`Observed::shape`].
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let bytes = serde_json::to_vec(&self.shape()).expect("shape serialises");
        Sha256::digest(&bytes)[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn listener(&self, port: u16) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.port == port)
    }

    pub fn tg_arn(&self, c: Color) -> Option<&str> {
        self.target_groups.get(c).as_ref().map(|t| t.arn.as_str())
    }

    /// Which colour a target group ARN belongs to.
    pub fn color_of(&self, arn: &str) -> Option<Color> {
        Color::ALL
            .into_iter()
            .find(|c| self.tg_arn(*c) == Some(arn))
    }

    /// The weights a listener forwards to blue and green. `None` when it
    /// forwards nowhere (no forward action).
    pub fn weights(&self, listener: &Listener) -> Option<Weights> {
        if listener.forward.is_empty() {
            return None;
        }
        let mut w = Weights { blue: 0, green: 0 };
        for (arn, weight) in &listener.forward {
            match self.color_of(arn) {
                Some(Color::Blue) => w.blue += weight,
                Some(Color::Green) => w.green += weight,
                None => {}
            }
        }
        Some(w)
    }

    /// Weight a listener sends to target groups that are not blue or green
    /// (someone added one by hand): cutover's forward replaces them.
    pub fn foreign_weight(&self, listener: &Listener) -> u32 {
        listener
            .forward
            .iter()
            .filter(|(arn, _)| self.color_of(arn).is_none())
            .map(|(_, w)| w)
            .sum()
    }

    /// The release (fingerprint) a colour's fleet runs, if it runs one.
    pub fn release_of(&self, c: Color) -> Option<&str> {
        self.fleets
            .get(c)
            .as_ref()
            .and_then(|f| f.release.as_deref())
    }

    /// The image a colour's fleet runs, from its launch template version.
    pub fn image_of(&self, c: Color) -> Option<&str> {
        let fleet = self.fleets.get(c).as_ref()?;
        let v = self
            .launch_template
            .as_ref()?
            .version(fleet.launch_template_version?)?;
        v.image_id.as_deref()
    }

    pub fn healthy(&self, c: Color) -> u32 {
        self.target_groups
            .get(c)
            .as_ref()
            .map(|t| t.healthy_count())
            .unwrap_or(0)
    }
}
