//! A snapshot of what cutover owns in the cloud for one app, as a provider read
//! it. Plain data: the planner reads it, never the provider.

use crate::model::{
    Capacity, Color, FleetName, Forward, ForwardAt, HealthCheck, ListenerArn, ListenerRule,
    LoadBalancerArn, PerColor, Protocol, RuleArn, TargetGroupArn, Timestamp, Weights, WeightsAt,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// When the snapshot was taken (the provider's clock).
    pub now: Timestamp,
    pub load_balancer: Option<LoadBalancer>,
    /// Listeners of the load balancer on the ports the plan names.
    pub listeners: Vec<Listener>,
    /// The app's listeners on the load balancer on ports the plan no longer
    /// names (their tags say so): read with the settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strays: Vec<Listener>,
    pub target_groups: PerColor<Option<TargetGroup>>,
    pub launch_template: Option<LaunchTemplate>,
    pub fleets: PerColor<Option<Fleet>>,
    /// The SSM active-colour parameter.
    pub active: Option<Active>,
    /// The lock parameter's value, when a run holds it.
    #[serde(default)]
    pub lock: Option<String>,
    /// What served before the last promotion, as recorded then.
    #[serde(default)]
    pub previous: Option<Previous>,
    /// The app's own rules (tagged with its name) on the listeners where the
    /// plan has a `rule`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Everyone else's rules on those listeners: their priorities are taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_rules: Vec<OtherRule>,
    /// The freezes in place for the app (the region's, the app's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freezes: Vec<crate::model::freeze::Freeze>,
}

/// What an observation reads beyond what every command needs (the load
/// balancer and its listeners, the target groups, the fleets, the state
/// parameters). Each command reads what its decision uses and no more: on
/// AWS the number of calls is the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// The launch template and the versions the fleets run (image, type,
    /// user data): what a release is.
    pub launch: bool,
    /// Each target group's target health.
    pub health: bool,
    /// Target-group attributes and tags, scaling policies.
    pub settings: bool,
    /// The freezes (`cutover freeze`): what `apply` and `promote` obey and
    /// `plan` and `status` show.
    pub freezes: bool,
}

impl Reads {
    /// `plan`, `apply`, `promote`: everything.
    pub const ALL: Reads = Reads {
        launch: true,
        health: true,
        settings: true,
        freezes: true,
    };
    /// `drift`: everything it reports on; it does not report target health.
    pub const DRIFT: Reads = Reads {
        health: false,
        freezes: false,
        ..Reads::ALL
    };
    /// `status`: releases and health, not the settings.
    pub const STATUS: Reads = Reads {
        settings: false,
        ..Reads::ALL
    };
    /// `rollback`: where traffic is and whether the other colour can take it.
    pub const TRAFFIC: Reads = Reads {
        launch: false,
        health: true,
        settings: false,
        freezes: false,
    };
}

impl Observed {
    /// The snapshot as an observation with `reads` sees it: what was not
    /// read is left at its default, and of the launch template only the
    /// latest version and the versions the fleets run (all a decision
    /// uses; AWS reads them for many apps in one call). The sandbox reads
    /// everything, then this; AWS reads exactly this.
    pub fn as_read(mut self, reads: Reads) -> Observed {
        for tg in self.target_groups.iter_mut().flatten() {
            if !reads.health {
                tg.targets.clear();
            }
            if !reads.settings {
                tg.attributes = crate::model::TgAttributes::default();
                tg.contract_pending = None;
            }
        }
        if !reads.settings {
            for f in self.fleets.iter_mut().flatten() {
                f.scaling = None;
            }
            for l in &mut self.listeners {
                l.tags = None;
            }
            self.strays.clear();
        }
        if !reads.freezes {
            self.freezes.clear();
        }
        if !reads.launch {
            self.launch_template = None;
        }
        let running: Vec<i64> = self
            .fleets
            .iter()
            .flatten()
            .filter_map(|f| f.launch_template_version)
            .collect();
        if let Some(lt) = self.launch_template.as_mut() {
            let kept = versions_read(lt.versions.iter().map(|v| v.number).max(), running);
            lt.versions.retain(|v| kept.contains(&v.number));
        }
        self
    }
}

/// The launch template versions a snapshot holds: the template's latest
/// and the versions its fleets run, all a decision uses.
pub fn versions_read(
    latest: Option<i64>,
    running: impl IntoIterator<Item = i64>,
) -> std::collections::BTreeSet<i64> {
    latest.into_iter().chain(running).collect()
}

/// One of the app's rules on a shared listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub arn: RuleArn,
    /// The port of the listener it is on.
    pub port: u16,
    pub rule: ListenerRule,
    /// Its forward, as (target group ARN, weight).
    pub forward: Forward,
    /// Its forward's group stickiness in seconds; 0: off.
    #[serde(default)]
    pub affinity_secs: u32,
    /// Actions before its forward someone else put there: kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_actions: Vec<String>,
}

/// Someone else's rule on a listener the app shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherRule {
    pub arn: RuleArn,
    pub port: u16,
    pub priority: u32,
    /// Its `cutover:app` tag, when another cutover app owns it.
    pub app: Option<String>,
}

/// The promotion record: written when a colour is promoted (and when a
/// rollback returns), read with the active colour, it says where a rollback
/// goes, chronologically, whatever the launch template versions say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Previous {
    /// The colour promoted then: the record holds while it is still active.
    pub promoted: Color,
    /// The colour that served before it,
    pub color: Color,
    /// the release it ran,
    pub release: Option<String>,
    /// and its desired capacity then: the bar for going back to it.
    pub capacity: u32,
    /// When.
    pub at: Timestamp,
    /// `color`'s release was just rolled back from: a second rollback does
    /// not go back to it (`cutover apply --retry` does).
    #[serde(default)]
    pub rolled_back: bool,
}

impl Previous {
    /// The value as the parameter holds it.
    pub fn to_value(&self) -> String {
        serde_json::to_string(self).expect("the promotion record serialises")
    }

    /// From the parameter; a value cutover did not write is `None`.
    pub fn parse(value: &str) -> Option<Previous> {
        serde_json::from_str(value).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: LoadBalancerArn,
    pub dns_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: ListenerArn,
    pub port: u16,
    pub protocol: Protocol,
    pub certificate_arn: Option<String>,
    /// Forward targets as (target group ARN, weight). Empty when the default
    /// action is not a forward.
    pub forward: Forward,
    /// The forward's group stickiness in seconds; 0: off.
    #[serde(default)]
    pub affinity_secs: u32,
    /// The default actions before the forward that someone else put there
    /// (say "authenticate-oidc"), in order: a weight change keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_actions: Vec<String>,
    /// Its `cutover:app` and `cutover:role` tags; `None`: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<ListenerTags>,
}

/// A listener's ownership tags, as read (`None`: the tag is not there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerTags {
    pub app: Option<String>,
    pub role: Option<String>,
}

/// Whose a listener is, for an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The app's: tagged with its name (and `role`, when tagged with one),
    /// or, untagged (made before cutover tagged listeners), forwarding only
    /// to the app's target groups.
    App { tagged: bool, role: Option<String> },
    /// Someone else's, in words: another app's tags, a forward to target
    /// groups not the app's, an action that is not a forward.
    Other(String),
    /// Its tags were not read.
    Unread,
}

impl Listener {
    /// Whose this listener is, for `app` with target groups `own`. A
    /// convention both providers and the planner share.
    pub fn owner(&self, app: &str, own: &[TargetGroupArn]) -> Owner {
        let Some(tags) = &self.tags else {
            return Owner::Unread;
        };
        match &tags.app {
            Some(a) if a == app => Owner::App {
                tagged: true,
                role: tags.role.clone(),
            },
            Some(a) => Owner::Other(format!("app {a:?} (its cutover:app tag)")),
            None if self.forward.is_empty() => Owner::Other(
                "someone else: it answers with an action that is not a forward (a fixed response or a redirect) and has no cutover:app tag".into(),
            ),
            None if self.forward.iter().all(|(arn, _)| own.contains(arn)) => Owner::App {
                tagged: false,
                role: None,
            },
            None => {
                let theirs: Vec<&str> = self
                    .forward
                    .iter()
                    .filter(|(arn, _)| !own.contains(arn))
                    .map(|(arn, _)| arn.as_str())
                    .collect();
                Owner::Other(format!(
                    "someone else: it forwards to target groups that are not {app}'s ({}) and has no cutover:app tag",
                    theirs.join(", ")
                ))
            }
        }
    }
}

/// A load balancer's listeners (`all`) split into those on the plan's
/// `ports` and the app's strays: listeners tagged as the app's on ports the
/// plan no longer names. An untagged one is not taken for the app's there,
/// whatever it forwards to: someone may have made it by hand (a teardown
/// still never empties a colour it weights). One rule for both providers.
pub fn split_listeners(
    app: &str,
    ports: &[u16],
    own: &[TargetGroupArn],
    all: Vec<Listener>,
) -> (Vec<Listener>, Vec<Listener>) {
    let (named, others): (Vec<Listener>, Vec<Listener>) =
        all.into_iter().partition(|l| ports.contains(&l.port));
    let strays = others
        .into_iter()
        .filter(|l| matches!(l.owner(app, own), Owner::App { tagged: true, .. }))
        .collect();
    (named, strays)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: TargetGroupArn,
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    /// Read only with a full observation; AWS's defaults otherwise.
    pub attributes: crate::model::TgAttributes,
    pub targets: Vec<TargetHealth>,
    /// The release whose after_teardown hook has not run yet (the
    /// `cutover:contract-pending` tag), set when its teardown began.
    #[serde(default)]
    pub contract_pending: Option<String>,
    /// The load balancers whose listeners or rules forward to it (AWS's
    /// LoadBalancerArns): AWS lets a target group serve one load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancerArn>,
    /// Its tags were read and do not say it is the app's colour its name
    /// says: whose they say it is. cutover does not adopt it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

impl TargetGroup {
    pub fn healthy_count(&self) -> u32 {
        healthy_count(&self.targets)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetHealth {
    pub id: String,
    pub state: TargetState,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// A forward action's weights by colour (`color_of` says which target group
/// is which), and the weight it sends to target groups that are neither.
pub fn split_forward(
    forward: &Forward,
    color_of: impl Fn(&TargetGroupArn) -> Option<Color>,
) -> (Weights, u32) {
    let mut w = Weights { blue: 0, green: 0 };
    let mut foreign = 0;
    for (arn, weight) in forward {
        match color_of(arn) {
            Some(Color::Blue) => w.blue += weight,
            Some(Color::Green) => w.green += weight,
            None => foreign += weight,
        }
    }
    (w, foreign)
}

/// How many of `targets` are healthy.
pub fn healthy_count(targets: &[TargetHealth]) -> u32 {
    targets.iter().filter(|t| t.state.is_healthy()).count() as u32
}

/// A target's state, as Elastic Load Balancing reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetState {
    /// Registered; the first health checks have not passed yet.
    Initial,
    Healthy,
    Unhealthy,
    /// Not serving: the instance is stopped, or the group is in no listener.
    Unused,
    /// Deregistered; connections drain for the deregistration delay.
    Draining,
    /// Health checks are disabled.
    Unavailable,
    /// A state this version of cutover does not know (AWS added one).
    #[serde(other)]
    Unknown,
}

impl TargetState {
    pub fn is_healthy(self) -> bool {
        self == TargetState::Healthy
    }

    /// AWS's spelling ("healthy", "draining" …).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Unused => "unused",
            TargetState::Draining => "draining",
            TargetState::Unavailable => "unavailable",
            TargetState::Unknown => "unknown",
        }
    }

    /// From AWS's spelling; anything else is `Unknown`.
    pub fn parse(s: &str) -> TargetState {
        match s {
            "initial" => TargetState::Initial,
            "healthy" => TargetState::Healthy,
            "unhealthy" => TargetState::Unhealthy,
            "unused" => TargetState::Unused,
            "draining" => TargetState::Draining,
            "unavailable" => TargetState::Unavailable,
            _ => TargetState::Unknown,
        }
    }
}

impl std::fmt::Display for TargetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CloudWatch alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmState {
    /// From CloudWatch's spelling.
    pub fn parse(s: &str) -> Option<AlarmState> {
        match s {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }
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
    /// What it launches, as the cloud holds it (read back, user data
    /// decoded; an image the cloud does not say is "").
    pub data: crate::model::LaunchData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fleet {
    pub name: FleetName,
    pub capacity: Capacity,
    pub launch_template_version: Option<i64>,
    /// The `cutover:release` tag.
    pub release: Option<String>,
    pub subnets: Vec<String>,
    pub instances: Vec<String>,
    /// Instances (of `instances`) launched from another launch template
    /// version than the group's: a new version never replaces running
    /// instances, so these run an older release whatever the tag says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub older: Vec<String>,
    /// Target group ARNs attached to the Auto Scaling group.
    pub target_groups: Vec<TargetGroupArn>,
    /// Runs on spot capacity (a MixedInstancesPolicy with no on-demand above base 0).
    #[serde(default)]
    pub spot: bool,
    /// MixedInstancesPolicy overrides: the instance types it may launch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_types: Vec<String>,
    /// On-demand instances kept below the spot ones.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub on_demand_base: u32,
    /// Auto Scaling replaces spot instances at elevated risk of interruption.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub capacity_rebalance: bool,
    /// HealthCheckGracePeriod, seconds.
    #[serde(default)]
    pub health_check_grace_secs: u32,
    /// cutover's target-tracking policy on it, when it has one (read only
    /// with a full observation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<crate::model::Scaling>,
    /// DefaultInstanceWarmup, seconds, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_secs: Option<u32>,
    /// The release this fleet carried when it was rolled back, and when.
    #[serde(default)]
    pub rolled_back: Option<(String, Timestamp)>,
    /// Why it was rolled back, when that was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_why: Option<String>,
    /// The release held mid-shift for lack of evidence, and since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<(String, Timestamp)>,
    /// Why it is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_why: Option<String>,
    /// Its tags do not say it is the app's colour its name says: whose
    /// they say it is. cutover does not adopt it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

impl Fleet {
    /// The group's instance mix as it is.
    pub fn group_settings(&self) -> crate::model::GroupSettings {
        crate::model::GroupSettings {
            spot: self.spot,
            instance_types: self.instance_types.clone(),
            on_demand_base: self.on_demand_base,
            capacity_rebalance: self.capacity_rebalance,
            health_check_grace_secs: self.health_check_grace_secs,
            warmup_secs: self.warmup_secs,
        }
    }
}

/// Something tagged `cutover:managed=true`, as drift lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Managed {
    pub kind: ManagedKind,
    pub name: String,
    /// Its `cutover:app` tag.
    pub app: String,
    /// The load balancer it serves: its `cutover:load-balancer` tag, or
    /// for a target group made before that tag, the one that uses it.
    /// `None`: not known (detached, and older than the tag).
    pub load_balancer: Option<String>,
}

/// The kinds of resource cutover tags as its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManagedKind {
    TargetGroup,
    AutoScalingGroup,
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
        // A freeze changes what apply may do, not the plan: it is checked
        // on its own, at the start and at every step boundary.
        o.freezes.clear();
        for c in Color::ALL {
            if let Some(tg) = o.target_groups.get_mut(c) {
                tg.targets.clear();
            }
            if let Some(f) = o.fleets.get_mut(c) {
                f.instances.clear();
                f.older.clear();
            }
        }
        let mut shape = serde_json::to_value(o).expect("observed state serialises");
        // The same bytes in every build, whatever serde_json's map type.
        crate::model::sort_keys(&mut shape);
        shape
    }

    /// A short hash of [`Observed::shape`].
    pub fn fingerprint(&self) -> String {
        crate::model::short_hash(&serde_json::to_vec(&self.shape()).expect("shape serialises"))
    }

    pub fn listener(&self, port: u16) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.port == port)
    }

    pub fn tg_arn(&self, c: Color) -> Option<&TargetGroupArn> {
        self.target_groups.get(c).as_ref().map(|t| &t.arn)
    }

    /// The app's target groups, as live state has them.
    pub fn own_target_groups(&self) -> Vec<TargetGroupArn> {
        Color::ALL
            .into_iter()
            .filter_map(|c| self.tg_arn(c).cloned())
            .collect()
    }

    /// Whether colour `c`'s fleet is attached to its target group.
    pub fn attached(&self, c: Color) -> bool {
        match (self.tg_arn(c), self.fleets.get(c)) {
            (Some(arn), Some(f)) => f.target_groups.contains(arn),
            _ => false,
        }
    }

    /// Which colour a target group ARN belongs to.
    pub fn color_of(&self, arn: &TargetGroupArn) -> Option<Color> {
        Color::ALL
            .into_iter()
            .find(|c| self.tg_arn(*c) == Some(arn))
    }

    /// The app's rule on the listener on `port`.
    pub fn rule(&self, port: u16) -> Option<&Rule> {
        self.rules.iter().find(|r| r.port == port)
    }

    /// The forward at `at`, and where it is.
    pub fn forward_at(&self, at: WeightsAt) -> Option<(ForwardAt, &Forward)> {
        match at {
            WeightsAt::ListenerDefault { port } => self
                .listener(port)
                .map(|l| (ForwardAt::Listener(l.arn.clone()), &l.forward)),
            WeightsAt::Rule { port } => self
                .rule(port)
                .map(|r| (ForwardAt::Rule(r.arn.clone()), &r.forward)),
        }
    }

    /// The session affinity of the forward at `at` (seconds; 0: off).
    pub fn affinity_at(&self, at: WeightsAt) -> u32 {
        match at {
            WeightsAt::ListenerDefault { port } => self.listener(port).map(|l| l.affinity_secs),
            WeightsAt::Rule { port } => self.rule(port).map(|r| r.affinity_secs),
        }
        .unwrap_or(0)
    }

    /// The weights at `at` (see [`WeightsAt`]): `None` when nothing forwards there.
    pub fn weights_at(&self, at: WeightsAt) -> Option<Weights> {
        self.forward_at(at).and_then(|(_, f)| self.weights(f))
    }

    /// Weight at `at` that goes to target groups other than blue and green.
    pub fn foreign_weight_at(&self, at: WeightsAt) -> u32 {
        self.forward_at(at)
            .map(|(_, f)| self.foreign_weight(f))
            .unwrap_or(0)
    }

    /// The weights a forward sends to blue and green. `None` when it
    /// forwards nowhere (no forward action).
    pub fn weights(&self, forward: &Forward) -> Option<Weights> {
        if forward.is_empty() {
            return None;
        }
        Some(split_forward(forward, |arn| self.color_of(arn)).0)
    }

    /// Weight a forward sends to target groups that are not blue or green
    /// (someone added one by hand): cutover's forward replaces them.
    pub fn foreign_weight(&self, forward: &Forward) -> u32 {
        split_forward(forward, |arn| self.color_of(arn)).1
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
        Some(self.version_of(c)?.data.image_id.as_str()).filter(|i| !i.is_empty())
    }

    /// The launch template version a colour's fleet is set to.
    pub fn version_of(&self, c: Color) -> Option<&LaunchTemplateVersion> {
        let fleet = self.fleets.get(c).as_ref()?;
        self.launch_template
            .as_ref()?
            .version(fleet.launch_template_version?)
    }

    pub fn healthy(&self, c: Color) -> u32 {
        self.target_groups
            .get(c)
            .as_ref()
            .map(|t| t.healthy_count())
            .unwrap_or(0)
    }
}

/// Serde: a count of zero is left out (snapshots keep their fingerprints).
fn is_zero(n: &u32) -> bool {
    *n == 0
}
