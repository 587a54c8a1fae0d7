//! Drift: every way live AWS differs from a plan file, outside what a
//! deployment in progress or a teardown that falls due would do. Pure:
//! (Spec, Observed) → findings.
//!
//! Drift is derived from the planner, so the two cannot disagree: what
//! `apply` would repair is exactly the plan's in-place and repair changes,
//! one finding per value; what the planner refuses to plan around is a
//! finding for a person; a shift that stopped part-way with nobody holding
//! the lock is a stalled deployment that `apply` resumes.

use crate::decide::planner::{self, PlanError};
use crate::model::key::{FleetKey, ListenerKey};
use crate::model::observed::{Managed, Observed};
use crate::model::plan::{Change, ChangeAction, FieldChange, PlanKind, Resource, Scope};
use crate::model::{Color, Key};
use crate::spec::Spec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Something the plan needs is gone.
    Missing,
    HealthCheck,
    TargetGroupAttributes,
    /// Weights no deployment would leave (set by hand), or a forward to a
    /// target group that is neither colour.
    Weights,
    /// A deployment stopped part-way: production split, or a release on
    /// the idle colour not recorded as active.
    StalledDeployment,
    /// The plan's release is not live: it was rolled back.
    RolledBack,
    /// A run left the app's lock behind and is gone.
    LockLeft,
    Capacity,
    /// A fleet's subnets, spot setting or target group attachment.
    Fleet,
    /// A listener's protocol or certificate.
    Listener,
    /// The active-colour parameter disagrees with the production listener.
    ActiveColour,
    /// Tagged as cutover's, but no plan given mentions it.
    Unmanaged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub kind: DriftKind,
    pub resource: Resource,
    pub detail: Detail,
    /// Whether `cutover apply` puts it right.
    pub apply_repairs: bool,
}

/// What a finding found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Detail {
    /// A value differs: `old` is live, `new` is the plan's.
    Differs { field: FieldChange },
    /// It does not exist.
    Missing,
    /// It exists and the plan file does not name it (`apply` removes it).
    NotInPlan {
        /// In JSON, in words (render/drift.rs).
        why: crate::model::reason::Reason,
    },
    /// A release stopped at `weight`% on `on`; `active` is still live.
    Stalled {
        weight: u32,
        on: Color,
        active: Color,
        /// Who holds the app's lock, when a run does (`None`: nobody).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lock: Option<LockSeen>,
        /// Why it is held, when a metric gate had no evidence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        held: Option<String>,
    },
    /// The app's lock was left by `holder`, whose process is gone.
    LockLeft { holder: String },
    /// The plan's release was rolled back at `at` (why, when recorded).
    RolledBack {
        release: String,
        at: crate::model::Timestamp,
        why: Option<String>,
    },
    /// `color` serves `release`, which failed a gate after its promotion
    /// and could not be sent back to `back_to`.
    FailedReleaseLive {
        color: Color,
        release: String,
        at: crate::model::Timestamp,
        why: Option<String>,
        back_to: Color,
    },
    /// What the planner will not plan around, and why.
    Refused { reason: String },
    /// Tagged with `cutover:app` = `app`.
    Unowned { app: String },
}

/// The app's lock as drift and status see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LockSeen {
    /// The holder, in words.
    pub holder: String,
    /// The holder's process is gone (it ran on this host and has exited):
    /// nobody is deploying, whatever the lock says.
    pub gone: bool,
}

/// Drift of one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppDrift {
    pub app: String,
    pub source: String,
    pub findings: Vec<Finding>,
}

/// Resources tagged as cutover's that none of `plans` owns, on the load
/// balancers `plans` use: another team's app elsewhere in the account is not
/// this job's drift.
pub fn unowned(managed: &[Managed], plans: &[&Spec]) -> AppDrift {
    let ours = |m: &Managed| on_their_load_balancers(m, plans);
    not_owned(managed, plans, ours, "(resources no plan mentions)")
}

/// Resources tagged as cutover's that none of `plans` owns, anywhere in the
/// account and region (`drift --orphans`), besides those [`unowned`] lists.
pub fn orphans(managed: &[Managed], plans: &[&Spec]) -> AppDrift {
    let elsewhere = |m: &Managed| !on_their_load_balancers(m, plans);
    not_owned(
        managed,
        plans,
        elsewhere,
        "(orphans: resources no plan mentions, on other load balancers or none)",
    )
}

/// `m` serves one of the load balancers `plans` use.
fn on_their_load_balancers(m: &Managed, plans: &[&Spec]) -> bool {
    m.load_balancer
        .as_ref()
        .is_some_and(|lb| plans.iter().any(|s| &s.load_balancer == lb))
}

fn not_owned(
    managed: &[Managed],
    plans: &[&Spec],
    keep: impl Fn(&Managed) -> bool,
    title: &str,
) -> AppDrift {
    let owned = |m: &Managed| {
        plans
            .iter()
            .any(|s| s.app == m.app && Color::ALL.iter().any(|c| s.resource_name(*c) == m.name))
    };
    let findings = managed
        .iter()
        .filter(|m| keep(m) && !owned(m))
        .map(|m| Finding {
            kind: DriftKind::Unmanaged,
            resource: Resource::Tagged {
                kind: m.kind,
                name: m.name.clone(),
            },
            detail: Detail::Unowned { app: m.app.clone() },
            apply_repairs: false,
        })
        .collect();
    AppDrift {
        app: title.into(),
        source: String::new(),
        findings,
    }
}

/// How live state of `spec`'s app differs from the plan file, with holders
/// of the lock taken to be alive.
pub fn drift(spec: &Spec, obs: &Observed) -> AppDrift {
    drift_with(spec, obs, &|_| false)
}

/// [`drift`], with `gone` saying whether a lock's holder is gone.
pub fn drift_with(
    spec: &Spec,
    obs: &Observed,
    gone: &dyn Fn(&crate::model::Holder) -> bool,
) -> AppDrift {
    let findings = match planner::plan(spec, obs) {
        Err(e) => vec![refusal(spec, e)],
        // Nothing deployed yet: a first deploy, not drift.
        Ok(plan) if matches!(plan.kind, PlanKind::FirstDeploy { .. }) => vec![],
        Ok(plan) => {
            let mut out: Vec<Finding> = plan
                .changes
                .iter()
                .filter(|c| matches!(c.scope, Scope::InPlace | Scope::Repair))
                .flat_map(findings_of)
                .collect();
            out.extend(stalled(spec, obs, &plan.kind, gone));
            out.extend(plan.notes.iter().filter_map(|n| match n {
                crate::model::plan::Note::RolledBackHeld {
                    release, at, why, ..
                } => Some(Finding {
                    kind: DriftKind::RolledBack,
                    resource: production(spec),
                    detail: Detail::RolledBack {
                        release: release.clone(),
                        at: *at,
                        why: why.clone(),
                    },
                    apply_repairs: false,
                }),
                crate::model::plan::Note::FailedReleaseLive {
                    color,
                    release,
                    at,
                    why,
                    back_to,
                } => Some(Finding {
                    kind: DriftKind::RolledBack,
                    resource: production(spec),
                    detail: Detail::FailedReleaseLive {
                        color: *color,
                        release: release.clone(),
                        at: *at,
                        why: why.clone(),
                        back_to: *back_to,
                    },
                    apply_repairs: false,
                }),
                _ => None,
            }));
            out
        }
    };
    AppDrift {
        app: spec.app.clone(),
        source: spec.source.display().to_string(),
        findings,
    }
}

/// A deployment left part-way: production split, or a release built on the
/// idle colour with no production yet (a run stopped before its first
/// step), whether or not a lock remains; and a lock left by a run that is
/// gone, when nothing else says so.
fn stalled(
    spec: &Spec,
    obs: &Observed,
    kind: &PlanKind,
    gone: &dyn Fn(&crate::model::Holder) -> bool,
) -> Option<Finding> {
    let lock = lock_seen(obs, gone);
    let reached = match kind {
        PlanKind::Release {
            to,
            release,
            resume_at,
            ..
        } => resume_at
            .or_else(|| (obs.release_of(*to) == Some(release.fingerprint.as_str())).then_some(0)),
        _ => None,
    };
    match (kind, reached) {
        // Drift whether or not a lock remains: a run killed mid-shift (kill
        // -9, a cancelled CI job) leaves its lock behind, and production
        // split is what a scheduled job must flag.
        (PlanKind::Release { from, to, .. }, Some(weight)) => Some(Finding {
            kind: DriftKind::StalledDeployment,
            resource: production(spec),
            detail: Detail::Stalled {
                weight,
                on: *to,
                active: *from,
                lock,
                held: crate::decide::status::held(
                    obs,
                    obs.weights_at(spec.production.weights_at()),
                )
                .filter(|h| h.color == *to)
                .map(|h| {
                    format!(
                        "held since {}: {}",
                        crate::model::format_timestamp(h.since),
                        h.why
                    )
                }),
            },
            apply_repairs: true,
        }),
        _ => lock.filter(|l| l.gone).map(|l| Finding {
            kind: DriftKind::LockLeft,
            resource: Resource::ActiveColour {
                parameter: crate::model::names::lock_parameter(&spec.state_parameter),
            },
            detail: Detail::LockLeft { holder: l.holder },
            apply_repairs: true,
        }),
    }
}

/// The app's lock, when a run holds it.
pub fn lock_seen(obs: &Observed, gone: &dyn Fn(&crate::model::Holder) -> bool) -> Option<LockSeen> {
    let value = obs.lock.as_deref()?;
    Some(match crate::model::Holder::parse(value) {
        Ok(h) => LockSeen {
            holder: h.to_string(),
            gone: gone(&h),
        },
        Err(raw) => LockSeen {
            holder: raw,
            gone: false,
        },
    })
}

fn production(spec: &Spec) -> Resource {
    Resource::Listener {
        port: spec.production.port,
        role: spec.production.role,
        rule: spec.production.rule.as_ref().map(|r| r.priority),
    }
}

/// One finding per value an in-place or repair change puts right.
fn findings_of(c: &Change) -> Vec<Finding> {
    let finding = |kind, detail| Finding {
        kind,
        resource: c.resource.clone(),
        detail,
        apply_repairs: true,
    };
    if c.action == ChangeAction::Create {
        return vec![finding(DriftKind::Missing, Detail::Missing)];
    }
    if c.action == ChangeAction::Destroy {
        let detail = Detail::NotInPlan {
            why: c.reason.clone(),
        };
        return vec![finding(DriftKind::Listener, detail)];
    }
    c.fields
        .iter()
        .map(|f| {
            let detail = Detail::Differs { field: f.clone() };
            finding(kind_of(f.key), detail)
        })
        .collect()
}

/// The kind of drift a changed value is, from its key's type: a new kind
/// of key must say which kind of drift it is.
fn kind_of(key: Key) -> DriftKind {
    match key {
        Key::HealthCheck(_) => DriftKind::HealthCheck,
        Key::Attribute(_) => DriftKind::TargetGroupAttributes,
        Key::Listener(ListenerKey::Weights) => DriftKind::Weights,
        Key::Listener(_) => DriftKind::Listener,
        Key::Fleet(FleetKey::Capacity) => DriftKind::Capacity,
        Key::Fleet(_) | Key::Launch(_) => DriftKind::Fleet,
        Key::ParameterValue => DriftKind::ActiveColour,
    }
}

/// What the planner refuses is drift a person must resolve.
fn refusal(spec: &Spec, e: PlanError) -> Finding {
    let (kind, resource) = match &e {
        PlanError::LoadBalancerMissing(name) => (
            DriftKind::Missing,
            Resource::LoadBalancer { name: name.clone() },
        ),
        PlanError::NotAdopted {
            kind: planner::Adoptable::Fleet,
            name,
            ..
        } => (
            DriftKind::Fleet,
            Resource::Fleet {
                name: name.as_str().into(),
            },
        ),
        PlanError::ImmutableTargetGroup { name, .. }
        | PlanError::TargetGroupElsewhere { name, .. }
        | PlanError::NotAdopted { name, .. } => (
            DriftKind::TargetGroupAttributes,
            Resource::TargetGroup { name: name.clone() },
        ),
        PlanError::SharedListenerMissing { port, .. }
        | PlanError::RulePriorityTaken { port, .. }
        | PlanError::ListenerTaken { port, .. }
        | PlanError::StrayShared { port, .. } => {
            let role = spec
                .listeners()
                .find(|l| l.port == *port)
                .map(|l| (l.role, l.rule.as_ref().map(|r| r.priority)));
            let (role, rule) = role.unwrap_or((crate::model::ListenerRole::Production, None));
            let kind = match e {
                PlanError::SharedListenerMissing { .. } => DriftKind::Missing,
                _ => DriftKind::Listener,
            };
            (
                kind,
                Resource::Listener {
                    port: *port,
                    role,
                    rule,
                },
            )
        }
        PlanError::AmbiguousActive { .. } | PlanError::ActiveDisagrees { .. } => (
            DriftKind::ActiveColour,
            Resource::ActiveColour {
                parameter: spec.state_parameter.clone(),
            },
        ),
    };
    let detail = match e {
        PlanError::LoadBalancerMissing(_) => Detail::Missing,
        e => Detail::Refused {
            reason: e.to_string(),
        },
    };
    Finding {
        kind,
        resource,
        detail,
        apply_repairs: false,
    }
}
