//! Why the planner decided a change or a step: [`Reason`], kept as values
//! until rendering (render/reason.rs says each in words), as Terraform
//! keeps a change's reason.

use super::{Capacity, Color, ListenerRole, Protocol, TeardownPolicy, Weights};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    // Releases.
    /// Nothing is live: `color` is built with the release and takes all traffic.
    FirstDeploy {
        image: String,
        instance_type: String,
        capacity: Capacity,
    },
    /// A new release, blue-green, through `steps` (production % on `to`);
    /// `rule`: the app's rule (priority, port) the weights are in.
    BlueGreen {
        to: Color,
        rule: Option<(u32, u16)>,
        steps: Vec<u32>,
    },
    /// A shift a previous run left at `at`% continues.
    ResumeShift {
        from: Color,
        to: Color,
        at: u32,
    },
    /// `color` serves a release the plan no longer has.
    AbandonedRelease {
        color: Color,
    },
    /// Its production weight goes home at once.
    AbandonInFlight {
        color: Color,
    },
    /// A new launch template version for `release`.
    NewVersion {
        release: String,
        image: String,
        instance_type: String,
    },
    NoVersionYet,
    /// A new fleet, at `capacity`.
    NewFleet {
        capacity: Capacity,
    },
    ScaleUpWithRelease,
    BringFleetToPlan,
    /// `fleet` runs `release` (`None`: none tagged): emptied first.
    RunsOtherRelease {
        fleet: String,
        release: Option<String>,
    },
    /// `fleet` has `count` instances of an older launch template version.
    OlderInstances {
        fleet: String,
        count: usize,
        release: String,
    },
    /// The wait for healthy targets, bounded by `secs`.
    HealthyWithin {
        secs: u64,
    },
    /// Smoke tests.
    BeforeProduction,
    /// A shift step to `weight`% and its bake.
    Step {
        weight: u32,
    },
    BakeAt {
        weight: u32,
    },
    ResumeBake,
    /// rollout.watch: the promoted colour's gates, while `from` still runs.
    WatchAfterPromotion {
        from: Color,
    },
    PersonPromotes,
    NoLongerRolledBack,

    // Scaling policies.
    PolicyWithProduction,
    NoLongerServes,
    ServingPolicyDiffers,
    IdlePolicyScalesIn,

    // In place.
    InPlace,
    InPlaceForNewInstances,
    CapacityDiffers,
    FleetSettingsDiffer,
    DoesNotExist,
    DiffersFromPlan,
    /// A new target group.
    NewTargetGroup {
        protocol: Protocol,
        port: u16,
        vpc_id: String,
    },

    // Listeners and the active colour.
    /// Listeners: where weights go, and why.
    AllProductionOn {
        color: Color,
    },
    ProductionSettingsDiffer,
    TestFollowsActive,
    ProductionOnActive,
    TestTrafficFirst {
        color: Color,
    },
    BecomesProduction,
    /// A listener of the app with `app`'s tag alone gets its role tag.
    TagRole {
        port: u16,
        app: String,
    },
    /// A listener forwarding only to `app`'s target groups gets its tags.
    TagUntagged {
        port: u16,
        app: String,
    },
    OwnerInTags,
    RoleChanged {
        port: u16,
        role: ListenerRole,
    },
    NewRoleInTags,
    /// A listener of the app the plan file no longer names (forwarding
    /// `forwards`).
    NoLongerNamed {
        forwards: Option<Weights>,
    },
    StrayListener,
    RuleDropped,
    RecordServing,
    ParameterDisagrees,
    Promote,
    RollbackGoesTo {
        color: Color,
    },
    LiveColour {
        color: Color,
    },

    // Teardown and hooks.
    Teardown {
        policy: TeardownPolicy,
        delay_secs: u64,
    },
    HookSurvivesCrash,
    DeregisterOld,
    Drain,
    TeardownPolicy {
        policy: TeardownPolicy,
    },
    /// The after_teardown hook: `release` has no instances and no traffic.
    Contract {
        release: String,
    },
    OldReleaseGone,
    BeforeBuild,

    // Rollback.
    BackOn {
        color: Color,
    },
    NotRedeployedWithoutRetry,
}
