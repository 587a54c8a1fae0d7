//! Drift: every way live AWS differs from a plan file, outside what a
//! finished or running deployment would leave. Pure: (Spec, Observed) →
//! findings. `cutover drift` reports them; `apply` repairs in place what is
//! safe to repair (health checks, attributes, capacity, weights back on the
//! active colour) and refuses what is not (a target group's port or VPC).

use crate::model::format_weights;
use crate::model::observed::{Managed, Observed};
use crate::model::Color;
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
    /// Production weights no deployment would leave (set by hand).
    Weights,
    /// A deployment stopped part-way and no run holds the lock.
    StalledDeployment,
    Capacity,
    Listener,
    /// The active-colour parameter disagrees with the production listener.
    ActiveColour,
    /// Tagged as cutover's, but no plan given mentions it.
    Unmanaged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub kind: DriftKind,
    pub resource: String,
    /// Live → expected, in words.
    pub detail: String,
    /// Whether `cutover apply` puts it right in place.
    pub apply_repairs: bool,
}

/// Drift of one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppDrift {
    pub app: String,
    pub source: String,
    pub findings: Vec<Finding>,
}

fn finding(
    kind: DriftKind,
    resource: impl Into<String>,
    detail: impl Into<String>,
    repairs: bool,
) -> Finding {
    Finding {
        kind,
        resource: resource.into(),
        detail: detail.into(),
        apply_repairs: repairs,
    }
}

/// Resources tagged as cutover's that none of `plans` owns.
pub fn unowned(managed: &[Managed], plans: &[&Spec]) -> AppDrift {
    let findings = managed
        .iter()
        .filter(|m| {
            !plans
                .iter()
                .any(|s| s.app == m.app && Color::ALL.iter().any(|c| s.resource_name(*c) == m.name))
        })
        .map(|m| {
            finding(
                DriftKind::Unmanaged,
                format!("{} {}", m.kind, m.name),
                format!(
                    "tagged cutover:app={}, but no plan given mentions it",
                    m.app
                ),
                false,
            )
        })
        .collect();
    AppDrift {
        app: "(resources no plan mentions)".into(),
        source: String::new(),
        findings,
    }
}

pub fn drift(spec: &Spec, obs: &Observed) -> AppDrift {
    let mut out = Vec::new();
    let mut push = |f| out.push(f);
    let report = |out: Vec<Finding>| AppDrift {
        app: spec.app.clone(),
        source: spec.source.display().to_string(),
        findings: out,
    };
    if obs.load_balancer.is_none() {
        push(finding(
            DriftKind::Missing,
            format!("load balancer {}", spec.load_balancer),
            "not found (cutover never creates it)",
            false,
        ));
        return report(out);
    }
    let prod = obs.listener(spec.production.port);
    let weights = prod.and_then(|l| obs.weights(l));
    let active = obs.active.as_ref().map(|a| a.color);
    let deployed = active.is_some() || weights.is_some_and(|w| w.blue + w.green > 0);
    if !deployed {
        // Nothing deployed yet: a first deploy, not drift.
        return report(out);
    }
    let tg = &spec.target_group;
    for c in Color::ALL {
        let name = spec.resource_name(c);
        match obs.target_groups.get(c) {
            None => push(finding(
                DriftKind::Missing,
                format!("target group {name}"),
                "does not exist",
                true,
            )),
            Some(live) => {
                for (field, a, b) in live.health_check.diff(&tg.health_check) {
                    push(finding(
                        DriftKind::HealthCheck,
                        format!("target group {name}"),
                        format!("health_check.{field}: {a} live, {b} in the plan"),
                        true,
                    ));
                }
                if live.deregistration_delay_secs != tg.deregistration_delay_secs {
                    push(finding(
                        DriftKind::TargetGroupAttributes,
                        format!("target group {name}"),
                        format!(
                            "deregistration_delay: {}s live, {}s in the plan",
                            live.deregistration_delay_secs, tg.deregistration_delay_secs
                        ),
                        true,
                    ));
                }
                if live.port != tg.port || live.vpc_id != tg.vpc_id || live.protocol != tg.protocol
                {
                    push(finding(
                        DriftKind::TargetGroupAttributes,
                        format!("target group {name}"),
                        format!(
                            "{} :{} in {} live, {} :{} in {} in the plan (cannot change in place)",
                            live.protocol, live.port, live.vpc_id, tg.protocol, tg.port, tg.vpc_id
                        ),
                        false,
                    ));
                }
            }
        }
    }
    for l in spec.listeners() {
        match obs.listener(l.port) {
            None => push(finding(
                DriftKind::Missing,
                format!("listener :{} ({})", l.port, l.role),
                "does not exist",
                true,
            )),
            Some(live) => {
                if live.protocol != l.protocol || live.certificate_arn != l.certificate_arn {
                    push(finding(
                        DriftKind::Listener,
                        format!("listener :{} ({})", l.port, l.role),
                        format!(
                            "protocol/certificate: {} live, {} in the plan",
                            live.protocol, l.protocol
                        ),
                        true,
                    ));
                }
                if obs.foreign_weight(live) > 0 {
                    push(finding(
                        DriftKind::Weights,
                        format!("listener :{} ({})", l.port, l.role),
                        "forwards to a target group that is not blue or green",
                        true,
                    ));
                }
            }
        }
    }
    let Some(w) = weights else {
        return report(out);
    };
    let listener_colour = match (w.blue > 0, w.green > 0) {
        (true, false) => Some(Color::Blue),
        (false, true) => Some(Color::Green),
        _ => None,
    };
    match (active, listener_colour) {
        (None, Some(c)) => push(finding(
            DriftKind::ActiveColour,
            format!("parameter {}", spec.state_parameter),
            format!("missing, while production is all on {c}"),
            true,
        )),
        (Some(a), Some(c)) if a != c => push(finding(
            DriftKind::ActiveColour,
            format!("parameter {}", spec.state_parameter),
            format!("says {a}, while production is all on {c}"),
            // apply corrects the parameter when the serving colour runs the plan's release
            obs.release_of(c) == Some(spec.release().fingerprint.as_str()),
        )),
        _ => {}
    }
    if let (Some(a), None) = (active, listener_colour) {
        let new = a.other();
        let share = w.share(new);
        let in_flight = obs.release_of(new) == Some(spec.release().fingerprint.as_str())
            && obs.release_of(new) != obs.release_of(a)
            && spec.rollout.steps.contains(&share);
        if !in_flight {
            push(finding(
                DriftKind::Weights,
                format!("listener :{} (production)", spec.production.port),
                format!(
                    "{} live: not a step of any deployment; {} is active",
                    format_weights(w),
                    a
                ),
                true,
            ));
        } else if obs.lock.is_none() {
            push(finding(
                DriftKind::StalledDeployment,
                format!("listener :{} (production)", spec.production.port),
                format!(
                    "a release stopped at {share}% on {new} and no run holds the lock: `cutover apply` resumes it, `cutover rollback` returns to {a}"
                ),
                true,
            ));
        }
    }
    if let Some(a) = active {
        match obs.fleets.get(a) {
            None => push(finding(
                DriftKind::Missing,
                format!("fleet {}", spec.resource_name(a)),
                format!("the active colour {a} has no Auto Scaling group"),
                true,
            )),
            Some(f) if f.capacity != spec.fleet.capacity => push(finding(
                DriftKind::Capacity,
                format!("fleet {}", f.name),
                format!("{} live, {} in the plan", f.capacity, spec.fleet.capacity),
                true,
            )),
            _ => {}
        }
    }
    report(out)
}
