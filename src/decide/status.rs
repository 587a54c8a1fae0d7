//! `cutover status` as data: per colour, what runs, how healthy, how much
//! traffic; the active colour; what a rollback would do. Pure.

use crate::decide::rollback::{rollback, Rollback};
use crate::model::observed::{Observed, TargetHealth};
use crate::model::{Color, Timestamp, Weights};
use crate::spec::Spec;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Status {
    pub app: String,
    pub now: Timestamp,
    pub active: Option<Color>,
    pub active_since: Option<Timestamp>,
    pub weights: Option<Weights>,
    pub colors: Vec<ColorStatus>,
    /// `{"possible": true, "to": …}` or `{"possible": false, "refused": "why"}`.
    #[serde(serialize_with = "rollback_json")]
    #[schemars(with = "RollbackJson")]
    pub rollback: Result<Rollback, String>,
    /// The lock parameter's value, when a run holds it.
    pub lock: Option<String>,
    /// The lock's holder is gone (its process, on this host, has exited).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lock_holder_gone: bool,
    /// A colour that is ready with the plan's release and waits for
    /// `cutover promote` (auto_promote = false): (colour, release), in JSON
    /// `{"color": …, "release": …}`.
    #[serde(serialize_with = "paused_json")]
    #[schemars(with = "Option<Paused>")]
    pub paused: Option<(Color, String)>,
    /// A release held mid-shift for lack of evidence from a metric gate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// The freezes in place (`cutover freeze`): the region's, the app's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freezes: Vec<crate::model::freeze::Freeze>,
}

/// What a rollback would do (`possible` true, and the rollback's fields),
/// or why it cannot (`possible` false, and `refused`): one JSON object,
/// not a Rust `Result`'s `{"Ok": …}`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
enum RollbackJson<'a> {
    Possible {
        possible: bool,
        #[serde(flatten)]
        rollback: &'a Rollback,
    },
    Refused {
        possible: bool,
        refused: &'a str,
    },
}

fn rollback_json<S: serde::Serializer>(
    r: &Result<Rollback, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        Ok(rollback) => RollbackJson::Possible {
            possible: true,
            rollback,
        },
        Err(refused) => RollbackJson::Refused {
            possible: false,
            refused,
        },
    }
    .serialize(s)
}

/// The colour that waits for promotion, and its release.
#[derive(Serialize, schemars::JsonSchema)]
struct Paused<'a> {
    color: Color,
    release: &'a str,
}

fn paused_json<S: serde::Serializer>(p: &Option<(Color, String)>, s: S) -> Result<S::Ok, S::Error> {
    p.as_ref()
        .map(|(color, release)| Paused {
            color: *color,
            release,
        })
        .serialize(s)
}

/// A release held mid-shift: production stays at its step until `cutover
/// apply` (or `promote`) judges it again, or `cutover rollback` goes home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Held {
    pub color: Color,
    pub release: String,
    /// Its share of production.
    pub weight: u32,
    pub since: Timestamp,
    pub why: String,
}

/// The release held mid-shift, if one is: the colour that is not active
/// carries the held mark for the release it runs, and production is split
/// onto it. (A mark left from before is stale once production moved on.)
pub fn held(obs: &Observed, weights: Option<Weights>) -> Option<Held> {
    let active = obs.active.as_ref()?.color;
    let color = active.other();
    let fleet = obs.fleets.get(color).as_ref()?;
    let (release, since) = fleet.held.clone()?;
    let weight = weights?.share(color);
    (fleet.release.as_deref() == Some(release.as_str()) && weight > 0 && weight < 100).then(|| {
        Held {
            color,
            release,
            weight,
            since,
            why: fleet.held_why.clone().unwrap_or_default(),
        }
    })
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ColorStatus {
    pub color: Color,
    pub release: Option<String>,
    pub image: Option<String>,
    pub desired: u32,
    pub instances: u32,
    pub healthy: u32,
    /// The targets that are not healthy.
    pub unhealthy: Vec<TargetHealth>,
    pub share: u32,
    /// When the release this colour runs was rolled back.
    pub rolled_back_at: Option<Timestamp>,
}

/// The idle colour when it holds the plan's release, healthy, with no
/// production traffic, not rolled back, and auto_promote is off.
pub fn paused(spec: &Spec, obs: &Observed, weights: Option<Weights>) -> Option<(Color, String)> {
    if spec.rollout.auto_promote {
        return None;
    }
    let idle = obs.active.as_ref()?.color.other();
    let fp = crate::decide::planner::effective_release(spec, obs).fingerprint;
    let fleet = obs.fleets.get(idle).as_ref()?;
    let ready = fleet.release.as_deref() == Some(fp.as_str())
        && fleet.rolled_back.as_ref().is_none_or(|(r, _)| r != &fp)
        && weights.is_some_and(|w| w.get(idle) == 0)
        && obs.healthy(idle) >= spec.fleet.capacity.desired;
    ready.then_some((idle, fp))
}

pub fn status(spec: &Spec, obs: &Observed) -> Status {
    let weights = obs.weights_at(spec.production.weights_at());
    let colors = Color::ALL
        .into_iter()
        .map(|c| {
            let fleet = obs.fleets.get(c).as_ref();
            let unhealthy = obs
                .target_groups
                .get(c)
                .as_ref()
                .map(|tg| {
                    tg.targets
                        .iter()
                        .filter(|t| !t.state.is_healthy())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            ColorStatus {
                color: c,
                release: obs.release_of(c).map(str::to_string),
                image: obs.image_of(c).map(str::to_string),
                desired: fleet.map(|f| f.capacity.desired).unwrap_or(0),
                instances: fleet.map(|f| f.instances.len() as u32).unwrap_or(0),
                healthy: obs.healthy(c),
                unhealthy,
                share: weights.map(|w| w.share(c)).unwrap_or(0),
                rolled_back_at: fleet
                    .and_then(|f| {
                        f.rolled_back
                            .as_ref()
                            .filter(|(fp, _)| f.release.as_ref() == Some(fp))
                    })
                    .map(|(_, at)| *at),
            }
        })
        .collect();
    Status {
        app: spec.app.clone(),
        now: obs.now,
        active: obs.active.as_ref().map(|a| a.color),
        active_since: obs.active.as_ref().map(|a| a.since),
        weights,
        colors,
        rollback: rollback(spec, obs).map_err(|e| e.to_string()),
        paused: paused(spec, obs, weights),
        held: held(obs, weights),
        lock: obs.lock.clone(),
        freezes: obs.freezes.clone(),
        lock_holder_gone: false,
    }
}
