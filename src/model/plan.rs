//! The Plan: everything `apply` will do, decided up front by the planner.
//!
//! A closed set of [`Action`]s in order, each with a display-only reason, plus
//! a resource-level summary ([`Change`]s) for people. The executor carries out
//! the steps and re-decides nothing; renderers read the plan and compute nothing.

use crate::gate::Check;
use crate::model::{Capacity, Color, HealthCheck, ListenerRole, Protocol, Release, Weights};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub app: String,
    /// The plan file this was made from, for messages.
    pub source: String,
    /// `app.wave`: when `cutover apply` of many plans carries this one out
    /// (lower waves first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wave: u32,
    pub kind: PlanKind,
    pub changes: Vec<Change>,
    pub steps: Vec<Step>,
    /// Where production traffic goes back to when a step fails before promotion.
    pub rollback_to: Option<Color>,
    /// The healthy targets `rollback_to` needs to take production back: its
    /// own desired capacity as it serves now (at least 1), not the plan's.
    #[serde(default)]
    pub home_capacity: Option<u32>,
    /// Gates checked throughout every bake, besides target health.
    #[serde(default)]
    pub gates: Vec<Check>,
    /// How bakes treat the metric gates among `gates`.
    #[serde(default)]
    pub evidence: crate::gate::metric::EvidenceRules,
    /// A release's rollout at a glance (weights, bakes, overlap, rollback window).
    #[serde(default)]
    pub timeline: Option<Timeline>,
    /// How many of `changes` are outside the release itself: in-place
    /// updates and repairs (their scope says which).
    #[serde(default)]
    pub in_place: usize,
    /// Fingerprint of the live state this plan was made from (see
    /// `Observed::fingerprint`): a saved plan is stale when it differs.
    #[serde(default)]
    pub observed_fingerprint: String,
    /// Information that is not a change (a teardown not yet due, an inferred state).
    pub notes: Vec<Note>,
    /// The plan file says its user data is sensitive: renderings show only
    /// a hash of it (a saved plan keeps it, to apply it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user_data_sensitive: bool,
}

/// Something a plan says that is not a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Note {
    /// The active-colour parameter named the colour without traffic while
    /// the production listener sends everything to `color`: it is corrected.
    ActiveCorrected { parameter: String, color: Color },
    /// The active-colour parameter is missing; the listener says `color` is live.
    ActiveInferred { parameter: String, color: Color },
    /// The active colour's fleet is missing and is rebuilt in place.
    FleetRebuilt { color: Color },
    /// `release` was rolled back at `at` and waits on `color` for `--retry`
    /// or a changed release.
    RolledBackHeld {
        release: String,
        at: crate::model::Timestamp,
        color: Color,
        /// Why, as recorded at the time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },
    /// `color` runs `release` and waits for `cutover promote`; production stays on `active`.
    AwaitsPromotion {
        color: Color,
        release: String,
        active: Color,
    },
    /// The plan's launch data differs from the live release only by
    /// defaults a later cutover added (`what`): no release for that alone;
    /// the next release takes them.
    LaterDefaults { release: String, what: Vec<String> },
    /// `fleet.imdsv2 = false`: the instances answer IMDSv1.
    ImdsV1Allowed,
    /// The plan swaps listener roles: that change goes alone, and the rest
    /// of the plan file follows with the next apply.
    RolesFirst,
    /// A health-check change travels with a release: it reaches `color`,
    /// which serves production, before the release is tested.
    HealthCheckBeforeRelease { color: Color },
    /// The metric gates need `least_secs` to judge a window (its minutes,
    /// CloudWatch's two-minute lag and up to a minute to the step's first
    /// whole minute), longer than the bake: each step takes that long.
    GatesOutlastBake { bake_secs: u64, least_secs: u64 },
    /// `color` serves `release`, which failed a gate (during the watch
    /// after its promotion) and could not be sent back: the way back to
    /// `back_to` is kept, never torn down, until `cutover rollback` takes
    /// production there or `apply --retry` keeps the release.
    FailedReleaseLive {
        color: Color,
        release: String,
        at: crate::model::Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
        back_to: Color,
    },
    /// A freeze is in place (`cutover freeze`): apply starts nothing until
    /// it is lifted.
    Frozen {
        freeze: crate::model::freeze::Freeze,
    },
    /// The old colour's teardown is not due yet.
    TeardownNotDue {
        color: Color,
        policy: crate::model::TeardownPolicy,
        due: TeardownDue,
    },
}

/// When a teardown falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TeardownDue {
    /// `secs` after the promotion this plan makes.
    AfterPromotion { secs: u64 },
    /// At `at`, `in_secs` from now.
    At {
        at: crate::model::Timestamp,
        in_secs: u64,
    },
}

impl Plan {
    /// The colour a plan with `rollout.auto_promote = false` stops at,
    /// awaiting `cutover promote`.
    pub fn paused_at(&self) -> Option<Color> {
        self.steps.iter().find_map(|s| match s.action {
            Action::AwaitPromotion { color } => Some(color),
            _ => None,
        })
    }

    pub fn has_changes(&self) -> bool {
        !self.steps.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanKind {
    /// Live state matches the plan file.
    NoChanges,
    /// Nothing is live yet: build `color` and route all traffic to it.
    FirstDeploy { color: Color, release: Release },
    /// Deploy a new release blue-green from `from` to `to`.
    Release {
        from: Color,
        to: Color,
        from_release: Option<String>,
        from_image: Option<String>,
        release: Release,
        /// The step a previous, interrupted run reached (production % on `to`).
        resume_at: Option<u32>,
    },
    /// Only in-place changes and housekeeping (teardown, repairs).
    InPlace,
    /// `cutover rollback`: production from `from` back to `to` at once.
    Rollback { from: Color, to: Color },
}

/// How a release will roll out, for people. Computed by the planner from
/// the steps it planned; renderers only lay it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Timeline {
    pub from: Color,
    pub to: Color,
    /// The shift steps still to run, in order.
    pub steps: Vec<TimelineStep>,
    /// What is checked during every bake besides the target health of both
    /// colours, which is always checked.
    pub gates: Vec<Check>,
    /// Sum of the bakes.
    pub bake_total_secs: u64,
    /// The most the wait for healthy targets may take.
    pub health_timeout_secs: u64,
    /// Instances of the new colour running beside the old one until teardown.
    pub extra_instances: u32,
    /// After promotion, how long `cutover rollback` stays instant (teardown.delay).
    pub rollback_window_secs: u64,
    pub teardown_policy: crate::model::TeardownPolicy,
    /// auto_promote = false: the shift waits for `cutover promote`.
    pub awaits_promotion: bool,
    /// A session stays on the colour it reached for this long during the
    /// shift (rollout.session_affinity); 0: each request is weighed alone.
    #[serde(default)]
    pub session_affinity_secs: u32,
    /// Within a colour, a session stays on one instance this long
    /// (target_group.stickiness); 0: off.
    #[serde(default)]
    pub stickiness_secs: u32,
    /// After promotion, the gates go on being judged this long
    /// (rollout.watch); 0: no watch.
    #[serde(default)]
    pub watch_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineStep {
    /// The new colour's share of production, in percent.
    pub weight: u32,
    pub weights: Weights,
    pub bake_secs: u64,
    /// The least the step takes: its bake, or longer when a metric gate
    /// needs more to judge a window (the window, CloudWatch's two minutes,
    /// up to a minute to the first whole minute).
    #[serde(default)]
    pub min_secs: u64,
}

/// A resource-level change, as a person reads it in a plan. The planner
/// records it together with the steps that carry it out (one decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    pub action: ChangeAction,
    pub resource: Resource,
    /// Value-level differences, live (`old`) against the plan (`new`).
    pub fields: Vec<FieldChange>,
    /// Why (render/reason.rs says it in words).
    pub reason: crate::model::reason::Reason,
    pub scope: Scope,
}

/// One value that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// The setting, as the plan file or AWS names it ("health_check.path").
    pub key: crate::model::Key,
    /// The live value; `None` when there is none.
    pub old: Option<String>,
    /// The value the plan wants; `None` when it wants none.
    pub new: Option<String>,
}

impl FieldChange {
    pub fn new(
        key: impl Into<crate::model::Key>,
        old: Option<String>,
        new: Option<String>,
    ) -> FieldChange {
        FieldChange {
            key: key.into(),
            old,
            new,
        }
    }

    /// A field that differs, from two present values; `None` when equal.
    pub fn differs(
        key: impl Into<crate::model::Key>,
        old: impl ToString,
        new: impl ToString,
    ) -> Option<FieldChange> {
        let (old, new) = (old.to_string(), new.to_string());
        (old != new).then(|| FieldChange::new(key, Some(old), Some(new)))
    }
}

/// What a change is to, by kind and name (renderers spell it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Resource {
    LoadBalancer {
        name: String,
    },
    TargetGroup {
        name: String,
    },
    /// The weights at a listener (its role says which), or at the app's
    /// rule on it (`rule`: its priority).
    Listener {
        port: u16,
        role: ListenerRole,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<u32>,
    },
    /// A new version of the app's launch template.
    LaunchTemplateVersion {
        name: String,
    },
    Fleet {
        name: crate::model::FleetName,
    },
    /// A release deployed to a colour (`fingerprint` on a first deploy).
    Release {
        color: Color,
        fingerprint: Option<String>,
    },
    /// A listener of the app on a port the plan no longer names.
    OldListener {
        port: u16,
    },
    /// The active-colour parameter.
    ActiveColour {
        parameter: String,
    },
    Hook {
        phase: HookPhase,
        color: Color,
    },
    /// Something else tagged as cutover's.
    Tagged {
        kind: crate::model::observed::ManagedKind,
        name: String,
    },
}

/// What kind of difference a change is, which says who made it and who
/// should see it: drift reports `InPlace` and `Repair`, never a release in
/// progress or a teardown that falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Building, shifting to and promoting a new release.
    Release,
    /// A setting the plan file sets, updated in place (health check,
    /// attributes, capacity, listener protocol, fleet settings), or a
    /// missing target group created.
    InPlace,
    /// Live state that no deployment leaves, put back: weights off the
    /// active colour, a wrong or missing active-colour record, the active
    /// colour's missing fleet.
    Repair,
    /// The old colour's teardown and the contract hook after it.
    Teardown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Create,
    Update,
    /// A new release through a blue-green deployment.
    Replace,
    Destroy,
}

impl ChangeAction {
    pub fn symbol(self) -> &'static str {
        match self {
            ChangeAction::Create => "+",
            ChangeAction::Update => "~",
            ChangeAction::Replace => "-/+",
            ChangeAction::Destroy => "-",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub action: Action,
    /// Why this step is in the plan (render/reason.rs says it in words).
    pub reason: crate::model::reason::Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookPhase {
    BeforeDeploy,
    AfterTeardown,
}

impl HookPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::BeforeDeploy => "before_deploy",
            HookPhase::AfterTeardown => "after_teardown",
        }
    }
}

/// The promotion record to write: which colour served before `promoted`,
/// its release and its desired capacity then. Stamped with the time it is
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreviousRecord {
    pub parameter: String,
    pub promoted: Color,
    pub color: Color,
    pub release: Option<String>,
    pub capacity: u32,
    /// Written by a rollback: `color`'s release was rolled back from.
    pub rolled_back: bool,
}

/// What a target group is created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TargetGroupConfig {
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    #[serde(flatten)]
    pub attributes: crate::model::TgAttributes,
}

/// What a listener is created or updated with (besides its forward action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListenerConfig {
    pub role: ListenerRole,
    pub port: u16,
    pub protocol: Protocol,
    pub certificate_arn: Option<String>,
    /// The app's rule on this listener, which is then someone else's: only
    /// the rule is created or changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<crate::model::ListenerRule>,
}

impl ListenerConfig {
    /// Where this listener's weights live.
    pub fn weights_at(&self) -> crate::model::WeightsAt {
        crate::model::WeightsAt::of(self.port, self.rule.is_some())
    }
}

/// What a colour's fleet should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FleetConfig {
    pub name: crate::model::FleetName,
    /// Fingerprint of the release; its launch template version is resolved at apply.
    pub release: String,
    pub capacity: Capacity,
    pub subnets: Vec<String>,
    /// Spot capacity through a MixedInstancesPolicy (no on-demand above a base of 0).
    #[serde(default)]
    pub spot: bool,
    /// Instance types the group may launch (MixedInstancesPolicy overrides);
    /// empty: the launch template's one type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_types: Vec<String>,
    /// With spot: instances kept on-demand whatever spot offers.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub on_demand_base: u32,
    /// Seconds before Auto Scaling acts on a new instance's failed health checks.
    #[serde(default = "default_grace")]
    pub health_check_grace_secs: u32,
    /// DefaultInstanceWarmup, seconds; `None`: not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_secs: Option<u32>,
}

fn default_grace() -> u32 {
    300
}

impl FleetConfig {
    /// The group's instance mix as this config wants it; with spot,
    /// capacity rebalancing is on.
    pub fn group_settings(&self) -> crate::model::GroupSettings {
        crate::model::GroupSettings {
            spot: self.spot,
            instance_types: self.instance_types.clone(),
            on_demand_base: self.on_demand_base,
            capacity_rebalance: self.spot,
            health_check_grace_secs: self.health_check_grace_secs,
            warmup_secs: self.warmup_secs,
        }
    }
}

/// One idempotent step. Each is an "ensure": re-running it after a crash is safe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    CreateTargetGroup {
        color: Color,
        config: TargetGroupConfig,
    },
    UpdateTargetGroup {
        color: Color,
        health_check: Option<HealthCheck>,
        #[serde(flatten)]
        attributes: crate::model::AttributeChanges,
    },
    /// Create the launch template (first time) or a new version holding the full data.
    CreateLaunchTemplateVersion {
        name: String,
        release: Release,
    },
    /// Take an idle fleet running an older release out of its target group
    /// and down to zero, so the new release starts on fresh instances.
    RecycleFleet {
        color: Color,
    },
    /// Create or update a colour's Auto Scaling group: launch template version,
    /// capacity, subnets, release tag, and attached to its target group.
    EnsureFleet {
        color: Color,
        config: FleetConfig,
    },
    SetCapacity {
        color: Color,
        capacity: Capacity,
    },
    /// Delete the app's rule on the listener on `port` (the plan no longer
    /// has it; the listener's default action forwards instead).
    DeleteRule {
        port: u16,
    },
    /// Tag the listener on `port` as the app's, serving as `role`: one made
    /// before cutover tagged listeners, or one whose role the plan changed.
    TagListener {
        port: u16,
        role: ListenerRole,
    },
    /// Delete the app's listener on `port`, which the plan no longer names.
    DeleteListener {
        port: u16,
        arn: crate::model::ListenerArn,
    },
    /// Put cutover's target-tracking policy on `color`'s fleet, or (None)
    /// take it off.
    SetScaling {
        color: Color,
        scaling: Option<crate::model::Scaling>,
    },
    /// Wait until `count` targets are healthy and none is not.
    WaitHealthy {
        color: Color,
        count: u32,
        timeout_secs: u64,
    },
    /// Create a listener forwarding with `weights`, or set its protocol,
    /// certificate and weights when it exists.
    EnsureListener {
        config: ListenerConfig,
        weights: Weights,
    },
    /// Run a `[hooks]` command. after_teardown runs only once the colour has
    /// no instances and no traffic.
    Hook {
        phase: HookPhase,
        color: Color,
        command: Vec<String>,
        /// after_teardown: the release being contracted (its pending mark is cleared).
        release: Option<String>,
    },
    /// Remember, before a teardown starts, that `release`'s after_teardown hook
    /// is due, so a crash between teardown and hook does not lose it.
    MarkContractPending {
        color: Color,
        release: String,
    },
    /// Run the smoke tests against `color` (through the test listener).
    Smoke {
        color: Color,
        checks: Vec<Check>,
    },
    /// Stop: `color` is ready and waits for `cutover promote` (auto_promote = false).
    AwaitPromotion {
        color: Color,
    },
    /// Change the production listener's weights and read them back.
    SetWeights {
        weights: Weights,
        /// Session affinity during the shift: a client stays on the colour
        /// it reached for this long (the forward's group stickiness); 0: off.
        #[serde(default, skip_serializing_if = "is_zero")]
        affinity_secs: u32,
    },
    /// Observe the new colour at `weight`% for `secs`.
    Bake {
        color: Color,
        weight: u32,
        secs: u64,
    },
    /// After promotion, go on judging `color`'s gates at 100% for `secs`
    /// while the old colour still runs; a failure flips production back
    /// to it (`rollout.watch`).
    Watch {
        color: Color,
        secs: u64,
    },
    RecordActive {
        parameter: String,
        color: Color,
    },
    /// Record, before a promotion, which colour served before it.
    RecordPrevious {
        record: PreviousRecord,
    },
    /// Teardown, first part: detach the target group so targets drain.
    DetachFleet {
        color: Color,
    },
    WaitDrain {
        color: Color,
        secs: u64,
    },
    ScaleToZero {
        color: Color,
    },
    DeleteFleet {
        color: Color,
    },
    /// Rollback: all production on `to` in one listener update (unless it
    /// is there already: `traffic` false), sent together with recording `to`
    /// as active (when that changes).
    Flip {
        to: Color,
        traffic: bool,
        record_active: Option<String>,
        /// The promotion record a rollback leaves (`to` promoted back, the
        /// colour left rolled back from), sent with the flip.
        record: Option<PreviousRecord>,
    },
    /// Tag `color`'s fleet: `release` was rolled back and is not deployed
    /// again without `--retry`.
    /// The colour's release is live after all (`--retry`): its rolled-back
    /// mark goes.
    ClearRolledBack {
        color: Color,
    },
    RememberRolledBack {
        color: Color,
        release: String,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
