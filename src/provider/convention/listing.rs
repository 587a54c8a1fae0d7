//! What a provider lists for one or more apps, in the cloud's own terms:
//! resources as described, with their tags, parameter values and version
//! descriptions as written. No conclusion about cutover is drawn here:
//! [`super::assemble`] draws them all, once, for both providers.

use super::tags::Tags;
use crate::model::observed;
use crate::model::Forward;
use crate::model::{ListenerRule, RuleArn, Scaling, Timestamp};
use std::collections::BTreeMap;

/// Everything a provider read for the apps of one observation.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// When it was read (the provider's clock).
    pub now: Timestamp,
    /// Load balancers by name.
    pub load_balancers: BTreeMap<String, observed::LoadBalancer>,
    /// Each load balancer's listeners, by the load balancer's ARN (their
    /// tags are in `listener_tags`).
    pub listeners: BTreeMap<String, Vec<observed::Listener>>,
    /// Listener tags by listener ARN; a listener not here: not read.
    pub listener_tags: BTreeMap<String, Tags>,
    /// Target groups by name.
    pub target_groups: Vec<ListedTargetGroup>,
    /// Auto Scaling groups by name.
    pub fleets: Vec<ListedFleet>,
    /// Launch templates by name.
    pub templates: BTreeMap<String, ListedTemplate>,
    /// SSM parameters by name.
    pub parameters: BTreeMap<String, ListedParameter>,
    /// cutover's scaling policy of each Auto Scaling group, by group name.
    pub policies: BTreeMap<String, Scaling>,
    /// The rules of each listener whose rules were read, by listener ARN,
    /// without the default rule (that is the listener's default action).
    pub rules: BTreeMap<String, Vec<ListedRule>>,
}

/// A target group as described, its targets' health and attributes as
/// read (defaults when not read). `contract_pending` is left `None`:
/// [`super::assemble`] reads it from `tags`.
#[derive(Debug, Clone)]
pub struct ListedTargetGroup {
    pub group: observed::TargetGroup,
    /// `None`: its tags were not read.
    pub tags: Option<Tags>,
}

/// An Auto Scaling group as described. What cutover records in its tags
/// (release, rolled back), its instances and its scaling policy are left
/// empty in `fleet`: [`super::assemble`] fills them from `tags`,
/// `instances` and the listing's policies.
#[derive(Debug, Clone)]
pub struct ListedFleet {
    pub fleet: observed::Fleet,
    /// Being deleted ("Delete in progress"): as good as gone.
    pub deleting: bool,
    pub tags: Tags,
    pub instances: Vec<ListedInstance>,
}

/// An instance of an Auto Scaling group (one terminated is not listed).
#[derive(Debug, Clone)]
pub struct ListedInstance {
    pub id: String,
    /// The launch template version it was launched from, as it reports it.
    pub version: Option<i64>,
    /// Scaled in and on its way out (Terminating…).
    pub leaving: bool,
}

/// A launch template and the versions read.
#[derive(Debug, Clone)]
pub struct ListedTemplate {
    pub id: String,
    pub versions: Vec<ListedVersion>,
}

/// A launch template version; `version.fingerprint` is left `None`:
/// [`super::assemble`] reads it from `description`.
#[derive(Debug, Clone)]
pub struct ListedVersion {
    pub description: Option<String>,
    pub version: observed::LaunchTemplateVersion,
}

/// An SSM parameter's value and when it last changed.
#[derive(Debug, Clone)]
pub struct ListedParameter {
    pub value: String,
    pub modified: Timestamp,
}

/// A listener rule that is not the default one, with its tags.
#[derive(Debug, Clone)]
pub struct ListedRule {
    pub arn: RuleArn,
    pub rule: ListenerRule,
    pub forward: Forward,
    /// Its forward's group stickiness in seconds; 0: off.
    pub affinity_secs: u32,
    /// The actions before its forward.
    pub kept_actions: Vec<String>,
    pub tags: Tags,
}
