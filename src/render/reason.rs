//! Every [`Reason`] the planner gives, in words: the one place a plan's
//! "why" is written.

use crate::model::reason::Reason;
use crate::model::{format_duration, format_weights};
use std::fmt;

impl fmt::Display for Reason {
    // Long: one arm per reason, each one sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FirstDeploy {
                image,
                instance_type,
                capacity,
            } => write!(f, "first deploy: {image} ({instance_type}) at {capacity}"),
            Reason::BlueGreen { to, rule, steps } => {
                let rule = rule
                    .map(|(priority, port)| format!("rule {priority} on :{port} "))
                    .unwrap_or_default();
                let steps: Vec<String> = steps.iter().map(|w| format!("{w}%")).collect();
                write!(
                    f,
                    "blue-green: build {to}, shift {rule}{}, then promote",
                    steps.join(" → ")
                )
            }
            Reason::ResumeShift { from, to, at } => {
                write!(f, "resume the shift from {from} to {to} at {at}%")
            }
            Reason::AbandonedRelease { color } => write!(
                f,
                "{color} carries traffic for a release that is no longer in the plan"
            ),
            Reason::AbandonInFlight { color } => {
                write!(f, "abandon the in-flight release on {color}")
            }
            Reason::NewVersion {
                release,
                image,
                instance_type,
            } => write!(f, "release {release}: {image} {instance_type}"),
            Reason::NoVersionYet => f.write_str("no version holds this release yet"),
            Reason::NewFleet { capacity } => write!(f, "{capacity}"),
            Reason::ScaleUpWithRelease => f.write_str("scale up with the new release"),
            Reason::BringFleetToPlan => {
                f.write_str("bring the fleet to the release and capacity of the plan")
            }
            Reason::RunsOtherRelease { fleet, release } => write!(
                f,
                "{fleet} runs release {}: start the new one on fresh instances",
                release.as_deref().unwrap_or("?")
            ),
            Reason::OlderInstances {
                fleet,
                count,
                release,
            } => write!(
                f,
                "{fleet} has {count} instance(s) launched from an older launch template version: start release {release} on fresh instances"
            ),
            Reason::HealthyWithin { secs } => {
                write!(f, "every target healthy within {}", format_duration(*secs))
            }
            Reason::BeforeProduction => f.write_str("before any production traffic"),
            Reason::Step { weight } => write!(f, "step {weight}%"),
            Reason::BakeAt { weight } => write!(f, "bake at {weight}%"),
            Reason::ResumeBake => f.write_str("resume: observe the step the previous run reached"),
            Reason::PersonPromotes => f.write_str("auto_promote = false: a person promotes"),
            Reason::WatchAfterPromotion { from } => write!(
                f,
                "rollout.watch: a failure sends production back to {from}, which still runs"
            ),
            Reason::NoLongerRolledBack => {
                f.write_str("its release is live: it is no longer rolled back")
            }
            Reason::PolicyWithProduction => f.write_str("the policy goes with production traffic"),
            Reason::NoLongerServes => {
                f.write_str("it no longer serves: its own policy would scale it in")
            }
            Reason::ServingPolicyDiffers => {
                f.write_str("the serving colour's policy differs from the plan file")
            }
            Reason::IdlePolicyScalesIn => f.write_str("an idle colour's policy would scale it in"),
            Reason::InPlace => f.write_str("in place"),
            Reason::InPlaceForNewInstances => f.write_str(
                "in place: new instances use it, running ones change with the next release",
            ),
            Reason::CapacityDiffers => f.write_str("capacity differs from the plan file"),
            Reason::FleetSettingsDiffer => f.write_str("fleet settings differ from the plan file"),
            Reason::DoesNotExist => f.write_str("does not exist"),
            Reason::DiffersFromPlan => f.write_str("differs from the plan file"),
            Reason::NewTargetGroup {
                protocol,
                port,
                vpc_id,
            } => write!(f, "{protocol} :{port} in {vpc_id}"),
            Reason::AllProductionOn { color } => {
                write!(f, "route all production traffic to {color}")
            }
            Reason::ProductionSettingsDiffer => {
                f.write_str("the production listener's settings differ from the plan file")
            }
            Reason::TestFollowsActive => f.write_str("the test listener follows the active colour"),
            Reason::ProductionOnActive => {
                f.write_str("production traffic belongs entirely to the active colour")
            }
            Reason::TestTrafficFirst { color } => {
                write!(f, "test traffic to {color} before production moves")
            }
            Reason::BecomesProduction => {
                f.write_str("it becomes the production listener: production's weights first")
            }
            Reason::TagRole { port, app } => {
                write!(f, "tag listener :{port}'s role: it has {app}'s tag alone")
            }
            Reason::TagUntagged { port, app } => write!(
                f,
                "tag listener :{port}: it forwards only to {app}'s target groups and has no tags yet"
            ),
            Reason::OwnerInTags => f.write_str("whose it is, in its tags"),
            Reason::RoleChanged { port, role } => {
                write!(f, "the plan file makes :{port} the {role} listener")
            }
            Reason::NewRoleInTags => f.write_str("its new role, in its tags"),
            Reason::NoLongerNamed { forwards } => {
                f.write_str("the plan file no longer names it")?;
                match forwards {
                    Some(w) => write!(f, "; it forwards {}", format_weights(*w)),
                    None => Ok(()),
                }
            }
            Reason::StrayListener => f.write_str("the app's listener the plan no longer names"),
            Reason::RuleDropped => f.write_str("the plan file no longer has this rule"),
            Reason::RecordServing => f.write_str("record the colour that serves production"),
            Reason::ParameterDisagrees => f.write_str("the parameter disagrees with the listener"),
            Reason::Promote => f.write_str("promote"),
            Reason::RollbackGoesTo { color } => write!(f, "a rollback goes back to {color}"),
            Reason::LiveColour { color } => write!(f, "{color} is the live colour"),
            Reason::Teardown { policy, delay_secs } => write!(
                f,
                "teardown ({}) after the {} rollback window",
                policy.as_str(),
                format_duration(*delay_secs)
            ),
            Reason::HookSurvivesCrash => f.write_str("so the after_teardown hook survives a crash"),
            Reason::DeregisterOld => f.write_str("deregister the old colour's targets"),
            Reason::Drain => f.write_str("let connections drain (deregistration delay)"),
            Reason::TeardownPolicy { policy } => write!(f, "teardown policy {}", policy.as_str()),
            Reason::Contract { release } => write!(
                f,
                "contract: release {release} has no instances and no traffic"
            ),
            Reason::OldReleaseGone => f.write_str("expand/contract: the old release is gone"),
            Reason::BeforeBuild => f.write_str("expand/contract: before the new colour is built"),
            Reason::BackOn { color } => write!(f, "all production traffic back on {color}"),
            Reason::NotRedeployedWithoutRetry => {
                f.write_str("a scheduled apply does not deploy it again without --retry")
            }
        }
    }
}
