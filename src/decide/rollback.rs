//! The rollback decision: where `cutover rollback` sends production, and
//! whether it may. Pure: (Spec, Observed) → a [`Rollback`] and the [`Plan`]
//! the executor carries out, as it carries out any other plan.

use crate::model::observed::Observed;
use crate::model::plan::{Action, Plan, PlanKind, PreviousRecord, Step};
use crate::model::{names, Color, Timestamp, Weights};
use crate::spec::Spec;

/// What `cutover rollback` does: one listener update, plus the SSM update
/// when the active colour changes, sent together.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Rollback {
    pub from: Color,
    pub to: Color,
    /// Why `to`.
    pub why: Why,
    /// How many healthy targets `to` needs to take production: its own
    /// desired capacity when it last served, at least 1.
    pub wanted: u32,
    /// `to` has fewer healthy targets than `wanted` and `--force` insists:
    /// (healthy, wanted), said before the flip; in JSON the number healthy.
    #[serde(rename = "short_healthy", serialize_with = "short_json")]
    #[schemars(with = "Option<u32>")]
    pub short: Option<(u32, u32)>,
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
    /// The session affinity the flip turns off (seconds; 0: there was
    /// none): users kept on `from` go home with everyone else.
    pub ends_affinity_secs: u32,
}

/// Of (healthy, wanted), the healthy: `wanted` is beside it.
fn short_json<S: serde::Serializer>(short: &Option<(u32, u32)>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&short.map(|(healthy, _)| healthy), s)
}

/// Why a rollback goes where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Why {
    /// Mid-shift: production returns to the colour that is still active.
    MidShift,
    /// `to` served before `from` was promoted at `at` (the promotion record).
    Recorded { at: Timestamp },
    /// Production is already all on `to`: recording it as active finishes a
    /// rollback whose record did not go through.
    Finish,
    /// Production is all on `to`, which is active; `from` runs a newer
    /// release that never got traffic (paused): it is abandoned.
    Abandon,
    /// No promotion record (an app promoted by an older cutover, or a lost
    /// record): `to` runs the older launch template version.
    Inferred,
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
    #[error("nothing to roll back: production is on {to}, and release {release} on {from} was already rolled back from; `cutover apply --retry` deploys it again")]
    AlreadyRolledBack {
        to: Color,
        from: Color,
        release: String,
    },
    #[error("nothing to roll back: {to} has no target group: there is no previous colour")]
    NoPreviousColour { to: Color },
    #[error("nothing to roll back to: {color}, which served before, was torn down (its fleet is deleted); `cutover apply` with the earlier release builds it again")]
    PreviousGone { color: Color },
    #[error("cannot roll back to {color}: none of its {wanted} targets is healthy ({fleet}); routing production there would take the service down")]
    NothingHealthy {
        color: Color,
        wanted: u32,
        fleet: FleetState,
    },
    #[error("cannot roll back to {color}: {healthy} of its {wanted} targets are healthy ({fleet}); routing production there would send traffic to a fleet that cannot serve it. `cutover rollback --force` flips anyway, onto the {healthy} healthy targets it has")]
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
    #[error("the Auto Scaling group of its name is not the app's (its tags say so)")]
    NotTheApps,
}

/// The plan `cutover rollback` carries out: the flip (when traffic moves) and
/// remembering the release as rolled back.
pub fn plan(spec: &Spec, obs: &Observed, force: bool) -> Result<(Rollback, Plan), RollbackRefusal> {
    let r = decide(spec, obs, force)?;
    let mut steps = Vec::new();
    // The colour rolled back from is not where a second rollback goes: the
    // record goes out with the flip, so a flip without it cannot be mistaken
    // for an unfinished rollback.
    let record = r.record_active.as_ref().map(|_| {
        let capacity = obs.fleets.get(r.from).as_ref().map(|f| f.capacity.desired);
        record_left(
            &spec.state_parameter,
            r.to,
            r.from,
            r.rejected_release.clone(),
            capacity.unwrap_or(0),
        )
    });
    if r.flip || r.record_active.is_some() {
        steps.push(Step {
            action: Action::Flip {
                to: r.to,
                traffic: r.flip,
                record_active: r.record_active.clone(),
                record,
            },
            reason: crate::model::reason::Reason::BackOn { color: r.to },
        });
    }
    if let Some(release) = &r.rejected_release {
        steps.push(Step {
            action: Action::RememberRolledBack {
                color: r.from,
                release: release.clone(),
            },
            reason: crate::model::reason::Reason::NotRedeployedWithoutRetry,
        });
    }
    let plan = Plan {
        app: spec.app.clone(),
        source: spec.source.display().to_string(),
        wave: spec.wave,
        kind: PlanKind::Rollback {
            from: r.from,
            to: r.to,
        },
        changes: vec![],
        steps,
        rollback_to: None,
        home_capacity: None,
        gates: vec![],
        evidence: Default::default(),
        timeline: None,
        in_place: 0,
        observed_fingerprint: String::new(),
        notes: vec![],
        user_data_sensitive: spec.fleet.user_data_sensitive,
    };
    Ok((r, plan))
}

/// The promotion record a rollback from `from` (running `release` at
/// `capacity`) to `to` leaves: `to` promoted back, `from` rolled back from.
/// Sent with the flip, so a second rollback does not go back to `from`.
pub fn record_left(
    state_parameter: &str,
    to: Color,
    from: Color,
    release: Option<String>,
    capacity: u32,
) -> PreviousRecord {
    PreviousRecord {
        parameter: names::previous_parameter(state_parameter),
        promoted: to,
        color: from,
        release,
        capacity: capacity.max(1),
        rolled_back: true,
    }
}

/// Where `cutover rollback` would go now, and whether it may (without `--force`).
pub fn rollback(spec: &Spec, obs: &Observed) -> Result<Rollback, RollbackRefusal> {
    decide(spec, obs, false)
}

/// Decides a rollback from live state. Mid-shift, traffic returns to the
/// colour still active. After a promotion it returns to the colour that
/// served before, as the promotion record says (chronologically, whatever
/// the launch template versions are), judged by that colour's own capacity
/// then; without a record, to the colour running the older version. A
/// release that never got all traffic (paused) or was just rolled back
/// from is never rolled back *to*. `force` flips onto a colour that is
/// short of healthy targets.
fn decide(spec: &Spec, obs: &Observed, force: bool) -> Result<Rollback, RollbackRefusal> {
    let weights = production_weights(spec, obs)?;
    let (active, to, why) = direction(obs, weights)?;
    let record_active = (to != active).then(|| spec.state_parameter.clone());
    let from = to.other();
    let flip = weights.share(to) < 100;
    let rejected_release = obs.release_of(from).map(str::to_string);
    if !flip && record_active.is_none() {
        check_something_to_abandon(obs, to, rejected_release.as_deref())?;
    }
    let wanted = match (why, &obs.previous) {
        (Why::Recorded { .. }, Some(p)) => p.capacity.max(1),
        // Mid-shift, inferred, or finishing a rollback: the colour's own
        // capacity now.
        _ => obs
            .fleets
            .get(to)
            .as_ref()
            .map(|f| f.capacity.desired.max(1))
            .unwrap_or(spec.fleet.capacity.desired),
    };
    let short = if flip {
        check_capacity(obs, to, wanted, force)?
    } else {
        None
    };
    Ok(Rollback {
        from,
        to,
        why,
        wanted,
        short,
        flip,
        record_active,
        current_share: weights.share(to),
        rejected_release,
        ends_affinity_secs: if flip {
            obs.affinity_at(spec.production.weights_at())
        } else {
            0
        },
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

/// (the active colour, the colour traffic goes back to, why).
fn direction(obs: &Observed, weights: Weights) -> Result<(Color, Color, Why), RollbackRefusal> {
    let active = obs
        .active
        .as_ref()
        .map(|a| a.color)
        .unwrap_or(if weights.blue >= weights.green {
            Color::Blue
        } else {
            Color::Green
        });
    let share = weights.share(active);
    if share > 0 && share < 100 {
        return Ok((active, active, Why::MidShift));
    }
    if share == 0 {
        // All on the other colour while the parameter names this one: a
        // rollback to the other whose record of the active colour did not go
        // through (its promotion record says so), or a shift whose last step
        // baked at 100% without being promoted (back to the active colour).
        let finishing = obs
            .previous
            .as_ref()
            .is_some_and(|p| p.promoted == active.other() && p.rolled_back);
        return Ok(if finishing {
            (active, active.other(), Why::Finish)
        } else {
            (active, active, Why::MidShift)
        });
    }
    match &obs.previous {
        Some(p) if p.promoted == active && p.color != active => {
            if p.rolled_back {
                return Err(RollbackRefusal::AlreadyRolledBack {
                    to: active,
                    from: p.color,
                    release: p.release.clone().unwrap_or_else(|| "?".into()),
                });
            }
            if obs.fleets.get(p.color).is_none() {
                return Err(RollbackRefusal::PreviousGone { color: p.color });
            }
            if obs.release_of(p.color) == p.release.as_deref() {
                Ok((active, p.color, Why::Recorded { at: p.at }))
            } else {
                // The colour that served runs another release now: a newer
                // one that never got traffic. Nothing to go back to.
                Ok((active, active, Why::Abandon))
            }
        }
        _ => Ok((active, inferred(obs, active), Why::Inferred)),
    }
}

/// Without a promotion record: the colour running the older launch template
/// version (not chronological once a plan goes back to an earlier release).
fn inferred(obs: &Observed, active: Color) -> Color {
    let version = |c: Color| {
        obs.fleets
            .get(c)
            .as_ref()
            .and_then(|f| f.launch_template_version)
    };
    let other = active.other();
    match (version(active), version(other)) {
        (Some(a), Some(o)) if a < o => active,
        _ => other,
    }
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

/// `to` can take all of production: `wanted` targets healthy. Short, with
/// `force`, is allowed and said: (healthy, wanted).
fn check_capacity(
    obs: &Observed,
    to: Color,
    wanted: u32,
    force: bool,
) -> Result<Option<(u32, u32)>, RollbackRefusal> {
    let Some(tg) = obs.target_groups.get(to) else {
        return Err(RollbackRefusal::NoPreviousColour { to });
    };
    // Only the app's own instances take production back: targets in a
    // group of that name someone else made, or registered by hand, are
    // never where production goes.
    let own = obs.fleets.get(to).as_ref().filter(|f| f.held_by.is_none());
    let healthy = tg
        .targets
        .iter()
        .filter(|t| t.state.is_healthy())
        .filter(|t| own.is_some_and(|f| f.instances.contains(&t.id)))
        .count() as u32;
    if healthy >= wanted {
        return Ok(None);
    }
    let fleet = match obs.fleets.get(to) {
        None => FleetState::Missing,
        Some(f) if f.held_by.is_some() => FleetState::NotTheApps,
        Some(f) if f.capacity.desired == 0 => FleetState::ScaledToZero,
        Some(f) => FleetState::Instances(f.instances.len()),
    };
    if healthy == 0 {
        return Err(RollbackRefusal::NothingHealthy {
            color: to,
            wanted,
            fleet,
        });
    }
    if force {
        return Ok(Some((healthy, wanted)));
    }
    Err(RollbackRefusal::NoHealthyCapacity {
        color: to,
        healthy,
        wanted,
        fleet,
    })
}
