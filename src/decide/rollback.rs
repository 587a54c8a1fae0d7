//! The rollback decision: where `cutover rollback` sends production, and
//! whether it may. Pure: (Spec, Observed) → a [`Rollback`] and the [`Plan`]
//! the executor carries out, as it carries out any other plan.

use crate::model::observed::Observed;
use crate::model::plan::{Action, Plan, PlanKind, Step};
use crate::model::{Color, Weights};
use crate::spec::Spec;

/// What `cutover rollback` does: one listener update, plus the SSM update
/// when the active colour changes, sent together.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rollback {
    pub from: Color,
    pub to: Color,
    /// Send the listener update (false when all traffic is already on `to`:
    /// rolling back a paused or already rolled-back release).
    pub flip: bool,
    /// Set the active-colour parameter to `to` (not needed mid-shift: it
    /// still names the colour traffic returns to).
    pub record_active: Option<String>,
    /// Production share of `to` before the rollback.
    pub current_share: u32,
    /// The release being rolled back, remembered on `from`'s fleet so that a
    /// scheduled apply does not deploy it again.
    pub rejected_release: Option<String>,
}

/// Why a rollback cannot happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackRefusal {
    #[error("nothing to roll back: there is no production listener on port {port}")]
    NoProductionListener { port: u16 },
    #[error("nothing to roll back: the production listener does not forward to blue/green")]
    NotForwarding,
    #[error("nothing to roll back: all production traffic is on {to}, which runs the older release{}", if *already_rolled_back { format!("; {}'s release was already rolled back", to.other()) } else { String::new() })]
    AlreadyHome {
        to: Color,
        already_rolled_back: bool,
    },
    #[error("nothing to roll back: {to} has no target group: there is no previous colour")]
    NoPreviousColour { to: Color },
    #[error("cannot roll back to {color}: {healthy} of its {wanted} targets are healthy ({fleet}); routing production there would send traffic to a fleet that cannot serve it")]
    NoHealthyCapacity {
        color: Color,
        healthy: u32,
        wanted: u32,
        fleet: FleetState,
    },
}

/// What a colour's fleet is, when it cannot take production back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FleetState {
    #[error("it has no fleet")]
    Missing,
    #[error("its fleet was scaled to zero by teardown")]
    ScaledToZero,
    #[error("its fleet has {0} instances")]
    Instances(usize),
}

/// The plan `cutover rollback` carries out: the flip (when traffic moves) and
/// remembering the release as rolled back.
pub fn plan(spec: &Spec, obs: &Observed) -> Result<(Rollback, Plan), RollbackRefusal> {
    let r = rollback(spec, obs)?;
    let mut steps = Vec::new();
    if r.flip || r.record_active.is_some() {
        steps.push(Step {
            action: Action::Flip {
                to: r.to,
                traffic: r.flip,
                record_active: r.record_active.clone(),
            },
            reason: format!("all production traffic back on {}", r.to),
        });
    }
    if let Some(release) = &r.rejected_release {
        steps.push(Step {
            action: Action::RememberRolledBack {
                color: r.from,
                release: release.clone(),
            },
            reason: "a scheduled apply does not deploy it again without --retry".into(),
        });
    }
    let plan = Plan {
        app: spec.app.clone(),
        source: spec.source.display().to_string(),
        kind: PlanKind::Rollback {
            from: r.from,
            to: r.to,
        },
        changes: vec![],
        steps,
        rollback_to: None,
        gates: vec![],
        timeline: None,
        in_place: 0,
        observed_fingerprint: String::new(),
        notes: vec![],
    };
    Ok((r, plan))
}

/// Decides a rollback from live state. Traffic goes back to the colour
/// running the older release: mid-shift, the still-active colour; after a
/// promotion, the previous one. A newer release that never got all traffic
/// (paused, or already rolled back) is never rolled back *to*.
pub fn rollback(spec: &Spec, obs: &Observed) -> Result<Rollback, RollbackRefusal> {
    let weights = production_weights(spec, obs)?;
    let (active, to) = direction(obs, weights);
    let record_active = (to != active).then(|| spec.state_parameter.clone());
    let from = to.other();
    let flip = weights.share(to) < 100;
    let rejected_release = obs.release_of(from).map(str::to_string);
    if !flip {
        check_something_to_abandon(obs, to, rejected_release.as_deref())?;
    }
    if flip {
        check_capacity(spec, obs, to)?;
    }
    Ok(Rollback {
        from,
        to,
        flip,
        record_active,
        current_share: weights.share(to),
        rejected_release,
    })
}

/// The production weights, when production forwards to the colours at all.
fn production_weights(spec: &Spec, obs: &Observed) -> Result<Weights, RollbackRefusal> {
    let at = spec.production.weights_at();
    if obs.listener(at.port()).is_none() {
        return Err(RollbackRefusal::NoProductionListener { port: at.port() });
    }
    obs.weights_at(at)
        .filter(|w| w.blue + w.green > 0)
        .ok_or(RollbackRefusal::NotForwarding)
}

/// (the active colour, the colour traffic goes back to).
fn direction(obs: &Observed, weights: Weights) -> (Color, Color) {
    let active = obs
        .active
        .as_ref()
        .map(|a| a.color)
        .unwrap_or(if weights.blue >= weights.green {
            Color::Blue
        } else {
            Color::Green
        });
    let version = |c: Color| {
        obs.fleets
            .get(c)
            .as_ref()
            .and_then(|f| f.launch_template_version)
    };
    let other = active.other();
    let to = match (version(active), version(other)) {
        // The rule: traffic goes to the older release. This also finishes a
        // rollback whose parameter update failed (traffic already on the
        // older colour, parameter still on the newer one).
        (Some(a), Some(o)) if a != o => {
            if a < o {
                active
            } else {
                other
            }
        }
        _ if weights.share(active) < 100 => active,
        _ => other,
    };
    (active, to)
}

/// All traffic is already on `to`: a rollback only abandons the newer
/// release on the other colour, if there is one not abandoned yet.
fn check_something_to_abandon(
    obs: &Observed,
    to: Color,
    rejected: Option<&str>,
) -> Result<(), RollbackRefusal> {
    let from = to.other();
    let already = obs
        .fleets
        .get(from)
        .as_ref()
        .and_then(|f| f.rolled_back.as_ref())
        .is_some_and(|(fp, _)| Some(fp.as_str()) == rejected);
    if already || rejected.is_none() {
        return Err(RollbackRefusal::AlreadyHome {
            to,
            already_rolled_back: already,
        });
    }
    Ok(())
}

/// `to` can take all of production: every desired target healthy.
fn check_capacity(spec: &Spec, obs: &Observed, to: Color) -> Result<(), RollbackRefusal> {
    let Some(tg) = obs.target_groups.get(to) else {
        return Err(RollbackRefusal::NoPreviousColour { to });
    };
    let wanted = spec.fleet.capacity.desired;
    let healthy = tg.healthy_count();
    if healthy >= wanted {
        return Ok(());
    }
    let fleet = match obs.fleets.get(to) {
        None => FleetState::Missing,
        Some(f) if f.capacity.desired == 0 => FleetState::ScaledToZero,
        Some(f) => FleetState::Instances(f.instances.len()),
    };
    Err(RollbackRefusal::NoHealthyCapacity {
        color: to,
        healthy,
        wanted,
        fleet,
    })
}
