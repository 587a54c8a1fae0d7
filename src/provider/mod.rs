//! The provider trait: the cloud at the level of cutover's domain.
//!
//! Two implementations: [`aws`] (the real AWS SDK for Rust over HTTP) and
//! [`sandbox`] (an in-process simulated cloud persisted to a file). The
//! executor and commands only ever see this trait. Every mutation is
//! idempotent or guarded by the planner's view of live state, and every
//! provider owns its clock so the sandbox can run in virtual time.

pub mod aws;
pub mod convention;
pub mod sandbox;

pub use convention::{AppRef, Members};

use crate::model::observed::{Observed, Reads, TargetHealth};
use crate::model::plan::{FleetConfig, ListenerConfig, TargetGroupConfig};
use crate::model::{
    Capacity, Color, FleetName, Forward, ForwardAt, ListenerArn, ListenerRule, LoadBalancerArn,
    Release, RuleArn, TargetGroupArn, Timestamp, Weights,
};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;

tokio::task_local! {
    static HOMEWARD: ();
}

/// Runs `f` as the way home: every call it makes gets its full attempts,
/// whatever the run's retry budget says (invariant 9: production is never
/// stranded by a budget). The calls must be made within `f`'s task.
pub async fn home<F: std::future::Future>(f: F) -> F::Output {
    HOMEWARD.scope((), f).await
}

/// Whether the current call is part of the way home ([`home`]).
pub fn homeward() -> bool {
    HOMEWARD.try_with(|_| ()).is_ok()
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("{operation}: {message}")]
    Api { operation: String, message: String },
    /// A call AWS answered with an error, or that never got an answer: one
    /// line with the operation, AWS's code and message, the request id and
    /// what to do. The whole error chain is logged with `-v`.
    #[error("{operation} failed: {}{message}{}{}", code.as_ref().map(|c| format!("{c}: ")).unwrap_or_default(), request_id.as_ref().map(|r| format!(" (request id {r})")).unwrap_or_default(), if hint.is_empty() { String::new() } else { format!("; {hint}") })]
    Aws {
        operation: String,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
        hint: std::borrow::Cow<'static, str>,
    },
    #[error("{0}")]
    NotFound(String),
    /// AWS says something exists that its reads do not show yet (eventual
    /// consistency): `operation` said so.
    #[error("{operation}: {message}")]
    NotVisibleYet { operation: String, message: String },
    #[error("{0}")]
    Sandbox(String),
}

impl ProviderError {
    pub fn api(operation: &str, message: impl std::fmt::Display) -> ProviderError {
        ProviderError::Api {
            operation: operation.to_string(),
            message: message.to_string(),
        }
    }

    /// The caller may not make this call: AWS's AccessDenied and kin.
    pub fn is_denied(&self) -> bool {
        matches!(
            self,
            ProviderError::Aws { code: Some(c), .. }
                if matches!(c.as_str(), "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        )
    }

    /// AWS answered and refused the call, so it did nothing: a denied
    /// call, throttling past the retries, a value refused, something not
    /// found. Any other failure of a write (no answer at all: a reset, a
    /// timeout; a 500) may have been carried out: what AWS holds is read
    /// back before anything is decided.
    pub fn is_refusal(&self) -> bool {
        match self {
            ProviderError::NotFound(_) => true,
            ProviderError::Aws { code: Some(c), .. } => {
                self.is_denied()
                    || !hint_for(c).is_empty()
                        && !matches!(
                            c.as_str(),
                            "InternalFailure"
                                | "InternalError"
                                | "ServiceUnavailable"
                                | "InternalServerError"
                        )
                    || c.ends_with("NotFound")
                    || c.ends_with("NotFoundException")
                    || c.starts_with("Duplicate")
                    || c.ends_with("AlreadyExists")
            }
            _ => false,
        }
    }

    /// AWS does not show yet what a call just made: EC2 is eventually
    /// consistent, and for a moment after a create the new resource is
    /// "not found" by the next call that names it ("InvalidLaunchTemplateId.NotFound",
    /// or Auto Scaling's "The specified launch template … does not exist").
    /// A step that meets this is tried again shortly; the resource may also
    /// really be gone, so the tries are bounded.
    pub fn is_not_yet_visible(&self) -> bool {
        let ProviderError::Aws {
            code: Some(code),
            message,
            ..
        } = self
        else {
            return matches!(self, ProviderError::NotVisibleYet { .. });
        };
        // EC2's own code, or Auto Scaling's wording for the same.
        code.starts_with("InvalidLaunchTemplate")
            && (code.ends_with("NotFound") || code.ends_with("NotFoundException"))
            || code == "ValidationError"
                && message.contains("launch template")
                && (message.contains("does not exist") || message.contains("not found"))
    }

    /// AWS throttled the call (past the SDK's retries): refused, and worth
    /// another try later.
    pub fn is_throttled(&self) -> bool {
        matches!(self, ProviderError::Aws { code: Some(c), .. } if throttling(c))
    }

    /// The call this error is about.
    pub fn operation(&self) -> &str {
        match self {
            ProviderError::Aws { operation, .. }
            | ProviderError::Api { operation, .. }
            | ProviderError::NotVisibleYet { operation, .. } => operation,
            _ => "the call",
        }
    }

    /// What AWS answered, without what to do about it: "Code: message".
    pub fn aws_said(&self) -> String {
        match self {
            ProviderError::Aws {
                code: Some(code),
                message,
                ..
            } => format!("{code}: {message}"),
            ProviderError::Aws { message, .. } | ProviderError::NotVisibleYet { message, .. } => {
                message.clone()
            }
            other => other.to_string(),
        }
    }
}

/// A forward somewhere on a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding {
    /// Where, in words: "listener :81", "rule 10 on :80".
    pub place: String,
    /// The listener's or rule's ARN.
    pub arn: String,
    pub forward: Forward,
}

/// A scaling activity that could not launch an instance, as Auto Scaling
/// reports it: a bad image, a missing instance profile, no capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLaunch {
    /// AWS's status message: why the launch failed.
    pub message: String,
    /// What the activity was doing ("Launching a new EC2 instance…").
    pub description: String,
}

/// Whether AWS's error code says it throttled the call.
fn throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottled"
    )
}

/// What to do about an AWS error code.
pub(crate) fn hint_for(code: &str) -> &'static str {
    match code {
        c if throttling(c) => {
            "AWS is throttling this account's calls: run it again later, or with fewer runs at once"
        }
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthFailure" => {
            "the credentials in use may not make this call: check the role's permissions (docs/iam.md)"
        }
        "ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId"
        | "UnrecognizedClientException" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => {
            "the credentials are invalid or expired: refresh them"
        }
        "InternalFailure" | "InternalError" | "ServiceUnavailable" | "InternalServerError" => {
            "AWS failed to carry it out: run the command again"
        }
        c if c.starts_with("Invalid") || c.starts_with("Validation") => {
            "AWS refused a value: check the plan file against what exists in the account"
        }
        _ => "",
    }
}

pub type Result<T> = std::result::Result<T, ProviderError>;

#[async_trait]
pub trait Provider: Send + Sync {
    /// A human name for messages ("aws us-east-1", "sandbox .cutover/sandbox.json").
    fn describe(&self) -> String;

    /// Several apps at once, reading what `reads` says, with describes
    /// batched across them where the cloud allows; one result per app, in
    /// order. One app is the case of one.
    async fn observe_apps(&self, apps: &[AppRef], reads: Reads) -> Vec<Result<Observed>>;

    /// Everything cutover owns for the app, in as few round trips as possible.
    async fn observe(&self, app: &AppRef) -> Result<Observed> {
        self.observe_as(app, Reads::ALL).await
    }

    /// One app, reading what `reads` says (`Reads::TRAFFIC` before a
    /// rollback: fewer calls before the flip).
    async fn observe_as(&self, app: &AppRef, reads: Reads) -> Result<Observed> {
        self.observe_apps(std::slice::from_ref(app), reads)
            .await
            .pop()
            .unwrap_or_else(|| Err(ProviderError::api("Observe", "no snapshot was made")))
    }

    async fn target_health(&self, target_group: &TargetGroupArn) -> Result<Vec<TargetHealth>>;

    /// Returns the new target group's ARN.
    async fn create_target_group(
        &self,
        app: &AppRef,
        color: Color,
        config: &TargetGroupConfig,
    ) -> Result<TargetGroupArn>;
    async fn modify_health_check(
        &self,
        target_group: &TargetGroupArn,
        hc: &crate::model::HealthCheck,
    ) -> Result<()>;
    /// Puts cutover's target-tracking policy on `fleet` (replacing its
    /// settings), or with `None` deletes it (gone already is fine). The
    /// load balancer and target group name the metric of requests per
    /// target.
    async fn set_scaling(
        &self,
        fleet: &FleetName,
        scaling: Option<&crate::model::Scaling>,
        load_balancer: &LoadBalancerArn,
        target_group: &TargetGroupArn,
    ) -> Result<()>;

    /// Writes the target group attributes that change, in one call.
    async fn set_attributes(
        &self,
        target_group: &TargetGroupArn,
        changes: &crate::model::AttributeChanges,
    ) -> Result<()>;

    /// Creates the template when `template_id` is `None`. Returns (template id, version).
    async fn create_launch_template_version(
        &self,
        app: &AppRef,
        template_id: Option<&str>,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)>;

    async fn create_fleet(
        &self,
        app: &AppRef,
        color: Color,
        config: &FleetConfig,
        template_id: &str,
        version: i64,
        target_group: &TargetGroupArn,
    ) -> Result<()>;
    /// Sets launch template version, capacity, subnets and the release tag.
    async fn update_fleet(
        &self,
        config: &FleetConfig,
        template_id: &str,
        version: i64,
    ) -> Result<()>;
    async fn set_capacity(&self, fleet: &FleetName, capacity: Capacity) -> Result<()>;
    async fn attach_target_group(
        &self,
        fleet: &FleetName,
        target_group: &TargetGroupArn,
    ) -> Result<()>;
    async fn detach_target_group(
        &self,
        fleet: &FleetName,
        target_group: &TargetGroupArn,
    ) -> Result<()>;
    async fn delete_fleet(&self, fleet: &FleetName) -> Result<()>;

    /// Returns the listener's ARN.
    /// Creates a listener for `app`, tagged as its own in its role.
    async fn create_listener(
        &self,
        app: &AppRef,
        load_balancer: &LoadBalancerArn,
        config: &ListenerConfig,
        forward: &Forward,
    ) -> Result<ListenerArn>;
    /// Tags a listener as `app`'s, serving as `role` (a listener made
    /// before cutover tagged listeners, or one whose role changed).
    async fn tag_listener(
        &self,
        app: &AppRef,
        listener: &ListenerArn,
        role: crate::model::ListenerRole,
    ) -> Result<()>;
    /// Deletes a listener of the app the plan no longer names (gone
    /// already is fine).
    async fn delete_listener(&self, listener: &ListenerArn) -> Result<()>;
    /// Every forward on the load balancer (each listener's default action
    /// and each rule): what a teardown must not leave without a colour.
    async fn forwards_on(&self, load_balancer: &LoadBalancerArn) -> Result<Vec<Forwarding>>;
    async fn modify_listener(
        &self,
        listener: &ListenerArn,
        config: &ListenerConfig,
        forward: &Forward,
    ) -> Result<()>;
    /// Creates the app's rule on a listener someone else owns, tagged as
    /// the app's, forwarding `forward`. Returns its ARN.
    async fn create_rule(
        &self,
        app: &AppRef,
        role: crate::model::ListenerRole,
        listener: &ListenerArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<RuleArn>;
    /// Sets the app's rule to match what `rule` says, at its priority, and
    /// to forward `forward`.
    async fn modify_rule(
        &self,
        arn: &RuleArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<()>;
    /// Deletes the app's rule `arn` (gone already is fine).
    async fn delete_rule(&self, arn: &RuleArn) -> Result<()>;
    /// The forward targets and weights at `at`, as they are now.
    async fn forward_of(&self, at: &ForwardAt) -> Result<Forward>;
    /// Sets the forward weights only and returns them as read back.
    /// `affinity_secs`: the forward's group stickiness (0: off), sent in
    /// the same write.
    async fn set_weights(
        &self,
        at: &ForwardAt,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward>;

    async fn put_active(&self, parameter: &str, color: Color) -> Result<()>;
    /// Writes (overwrites) a String parameter cutover owns: the promotion record.
    async fn put_record(&self, parameter: &str, value: &str) -> Result<()>;

    /// Sets (or with `None` clears) a target group's contract-pending mark.
    async fn set_contract_pending(
        &self,
        target_group: &TargetGroupArn,
        release: Option<&str>,
    ) -> Result<()>;
    /// An Auto Scaling group's instances (`None`: the group is gone).
    async fn fleet_members(&self, fleet: &FleetName) -> Result<Option<Members>>;
    /// The latest scaling activity of `fleet` that failed to launch an
    /// instance and started after `since` (unix seconds).
    async fn failed_launch(
        &self,
        fleet: &FleetName,
        since: Timestamp,
    ) -> Result<Option<FailedLaunch>>;

    /// Looks up each resource a plan names without cutover owning it
    /// (preflight). A lookup the role may not make is `Unchecked`.
    async fn look_up(
        &self,
        named: &crate::model::named::Named,
    ) -> Result<crate::model::named::Found>;

    /// Everything tagged `cutover:managed=true` in the account and region.
    async fn list_managed(&self) -> Result<Vec<crate::model::observed::Managed>>;

    /// What a gate reads from the cloud (a CloudWatch alarm's state); what
    /// it names not existing is `NotFound`.
    async fn read_gate(&self, read: &crate::gate::Read) -> Result<crate::gate::Reading>;

    /// One read for every metric gate of both colours: the target groups'
    /// per-minute numbers (GetMetricData, its pages followed). A query
    /// CloudWatch did not answer whole is listed in `incomplete`.
    async fn read_metrics(
        &self,
        q: &crate::gate::metric::read::MetricQuery,
    ) -> Result<crate::gate::metric::read::MetricData>;

    /// Remembers on a fleet that release `fingerprint` was rolled back (or
    /// is held) at `at`, and why (one line).
    async fn mark(
        &self,
        fleet: &FleetName,
        mark: convention::tags::Mark,
        fingerprint: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<()>;

    /// Forgets a fleet's mark: its release went live, or is judged again.
    async fn clear_mark(&self, fleet: &FleetName, mark: convention::tags::Mark) -> Result<()>;

    /// Creates the lock parameter holding `holder`, unless it exists.
    /// `Ok(None)`: taken; `Ok(Some(h))`: someone else holds it (h).
    async fn try_lock(&self, name: &str, holder: &str) -> Result<Option<String>>;
    /// The current holder, if any.
    async fn read_lock(&self, name: &str) -> Result<Option<String>>;
    /// Deletes a parameter (the lock, a freeze); absent is fine.
    async fn delete_parameter(&self, name: &str) -> Result<()>;
    /// The parameters of `names` that exist: value and when last written.
    async fn parameters(&self, names: &[String]) -> Result<BTreeMap<String, (String, Timestamp)>>;

    /// Every version of parameter `name` the cloud still keeps (Parameter
    /// Store keeps the last 100), oldest first: (value, when written). A
    /// parameter that does not exist has none.
    async fn parameter_history(&self, name: &str) -> Result<Vec<(String, Timestamp)>>;

    /// Every version of launch template `name` (none when it does not
    /// exist).
    async fn template_versions(&self, name: &str) -> Result<Vec<TemplateVersion>>;

    /// The provider's clock, in seconds since the epoch.
    fn now(&self) -> Timestamp;
    /// Waits; the sandbox in virtual time returns at once and moves its clock.
    async fn sleep(&self, d: Duration);
    /// How often to poll while waiting for health.
    fn poll_interval(&self) -> Duration;
    /// API calls made so far, per operation (for --verbose).
    fn calls(&self) -> std::collections::BTreeMap<String, u64>;
}

/// A launch template version as `history` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVersion {
    pub number: i64,
    pub description: Option<String>,
    pub image: Option<String>,
    /// When it was made.
    pub created: Option<Timestamp>,
}

/// Forward targets for weights, from colour ARNs.
pub fn forward_for(arns: &crate::model::PerColor<Option<TargetGroupArn>>, w: Weights) -> Forward {
    Color::ALL
        .into_iter()
        .filter_map(|c| arns.get(c).clone().map(|arn| (arn, w.get(c))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ProviderError;

    #[tokio::test]
    async fn the_way_home_is_known_inside_its_scope_only() {
        assert!(!super::homeward());
        assert!(super::home(async { super::homeward() }).await);
        let joined = super::home(async {
            futures::join!(async { super::homeward() }, async { super::homeward() })
        })
        .await;
        assert_eq!(joined, (true, true));
        assert!(!super::homeward());
    }

    #[test]
    fn an_aws_error_reads_as_one_sentence() {
        let e = ProviderError::Aws {
            operation: "ModifyListener".into(),
            code: Some("AccessDenied".into()),
            message: "User is not authorized to perform: elasticloadbalancing:ModifyListener"
                .into(),
            request_id: Some("5f3c…".into()),
            hint: "the credentials in use may not make this call: check the role's permissions (docs/iam.md)".into(),
        };
        assert_eq!(
            e.to_string(),
            "ModifyListener failed: AccessDenied: User is not authorized to perform: elasticloadbalancing:ModifyListener (request id 5f3c…); the credentials in use may not make this call: check the role's permissions (docs/iam.md)"
        );
    }
}
