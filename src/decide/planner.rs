//! The planner: `(Spec, Observed) -> Plan`. Pure and synchronous: no tokio, no
//! AWS SDK, no clock (the observed snapshot carries `now`).
//!
//! Every lifecycle decision is made here, from live state each time, so an
//! interrupted deployment is resumed from where the cloud says it is: the
//! planner emits only the steps that are not already true, and a shift that
//! stopped at 25% continues at the next step instead of starting over.

use crate::model::observed::{Fleet, Observed, TargetState};
use crate::model::plan::{
    Action, Change, ChangeAction, FleetConfig, ListenerConfig, Plan, PlanKind, Step,
    TargetGroupConfig,
};
use crate::model::{format_duration, format_timestamp, Color, Release, Weights};
use crate::spec::{ListenerSpec, Spec, TeardownPolicy};

/// Live state the planner cannot plan around: cutover will not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("load balancer {0:?} was not found; cutover never creates or deletes load balancers: create it first, or fix `load_balancer.name`")]
    LoadBalancerMissing(String),
    #[error("the active-colour parameter is missing and production is split (blue {blue}%, green {green}%) between fleets that do not tell which one was live; record it with `aws ssm put-parameter` or fix the listener, then plan again")]
    AmbiguousActive { blue: u32, green: u32 },
    #[error("the active-colour parameter says {parameter} but production is all on {listener}: a rollback did not finish; run `cutover rollback` to record {listener} as active (or put the parameter right by hand), then plan again")]
    ActiveDisagrees { parameter: Color, listener: Color },
    #[error("target group {name} has {field} {live}, the plan says {wanted}; AWS cannot change that in place: delete the target group (after moving traffic off it) or keep the old value")]
    ImmutableTargetGroup {
        name: String,
        field: &'static str,
        live: String,
        wanted: String,
    },
}

struct Builder<'a> {
    spec: &'a Spec,
    opts: PlanOptions,
    timeline: Option<crate::model::plan::Timeline>,
    obs: &'a Observed,
    changes: Vec<Change>,
    steps: Vec<Step>,
    notes: Vec<String>,
}

impl Builder<'_> {
    fn step(&mut self, action: Action, reason: impl Into<String>) {
        self.steps.push(Step {
            action,
            reason: reason.into(),
        });
    }

    fn change(
        &mut self,
        action: ChangeAction,
        resource: impl Into<String>,
        fields: Vec<(String, String, String)>,
        reason: impl Into<String>,
    ) {
        self.changes.push(Change {
            action,
            resource: resource.into(),
            fields,
            reason: reason.into(),
        });
    }
}

/// Choices a user makes on the command line that change the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Deploy a release again although it was rolled back (`--retry`).
    pub retry: bool,
    /// Shift traffic to a release that waits for promotion (`cutover promote`).
    pub promote: bool,
}

/// Decides what `apply` must do to make live state match the plan file.
pub fn plan(spec: &Spec, obs: &Observed) -> Result<Plan, PlanError> {
    plan_with(spec, obs, PlanOptions::default())
}

/// [`plan`] with command-line choices.
pub fn plan_with(spec: &Spec, obs: &Observed, opts: PlanOptions) -> Result<Plan, PlanError> {
    if obs.load_balancer.is_none() {
        return Err(PlanError::LoadBalancerMissing(spec.load_balancer.clone()));
    }
    let mut b = Builder {
        spec,
        opts,
        timeline: None,
        obs,
        changes: Vec::new(),
        steps: Vec::new(),
        notes: Vec::new(),
    };
    let release = spec.release();

    target_groups(&mut b)?;
    let mut in_place = b.changes.len();

    // The active colour: the SSM parameter, or, when it is missing but the
    // production listener already carries traffic, the colour that has it
    // (never shift live traffic abruptly because a parameter was deleted).
    let prod_weights = obs
        .listener(spec.production.port)
        .and_then(|l| obs.weights(l));
    // The parameter names a colour with no production traffic while the
    // other, running the plan's release, has it all, and is not the newer
    // release of an interrupted shift: the parameter is what is wrong.
    let version = |c: Color| {
        obs.fleets
            .get(c)
            .as_ref()
            .and_then(|f| f.launch_template_version)
    };
    let misrecorded = match (&obs.active, prod_weights) {
        (Some(a), Some(w)) => {
            let (a, o) = (a.color, a.color.other());
            let o_newer = matches!((version(o), version(a)), (Some(vo), Some(va)) if vo > va);
            (w.get(a) == 0
                && w.get(o) > 0
                && obs.release_of(o) == Some(release.fingerprint.as_str())
                && !o_newer)
                .then_some(o)
        }
        _ => None,
    };
    if let Some(o) = misrecorded {
        record_corrected(
            &mut b,
            o,
            format!(
                "the active-colour parameter {} disagrees with the production listener, which sends everything to {o}: it is corrected",
                spec.state_parameter
            ),
            o.other().to_string(),
        );
    }
    let active = match &obs.active {
        Some(_) if misrecorded.is_some() => misrecorded,
        Some(a) => Some(a.color),
        None => match prod_weights.filter(|w| w.blue + w.green > 0) {
            None => None,
            Some(w) => {
                let c = infer_active(obs, w, &release)?;
                record_corrected(
                    &mut b,
                    c,
                    format!(
                        "the active-colour parameter {} is missing; the production listener says {c} is live",
                        spec.state_parameter
                    ),
                    "(none)".into(),
                );
                Some(c)
            }
        },
    };

    // A parameter naming one colour while production is all on the other,
    // which runs another release than the plan's: a rollback whose parameter
    // update failed. Re-promoting by plan would undo it: refuse.
    if let (Some(a), Some(w)) = (obs.active.as_ref().map(|a| a.color), prod_weights) {
        let o = a.other();
        if w.get(a) == 0 && w.get(o) > 0 && obs.release_of(o) != Some(release.fingerprint.as_str())
        {
            return Err(PlanError::ActiveDisagrees {
                parameter: a,
                listener: o,
            });
        }
    }
    let (kind, rollback_to) = match active {
        None => (first_deploy(&mut b, &release), None),
        // The live release, or a live colour whose fleet is gone (rebuilt in
        // place at once: traffic is already there, a blue-green shift from a
        // dead fleet would only prolong the outage).
        Some(a)
            if obs.release_of(a) == Some(release.fingerprint.as_str())
                || obs.fleets.get(a).is_none() =>
        {
            let before = b.changes.len();
            steady(&mut b, a, &release);
            in_place += b
                .changes
                .iter()
                .skip(before)
                .filter(|c| c.action == ChangeAction::Update)
                .count();
            (PlanKind::InPlace, None)
        }
        Some(a) => match rolled_back_at(obs, a.other(), &release) {
            // A release that was rolled back is not redeployed by a scheduled
            // apply: only `--retry` or a changed release moves on.
            Some(at) if !opts.retry => {
                let to = a.other();
                b.notes.push(format!(
                    "release {} was rolled back at {} and is not deployed again without `--retry`; {to} keeps it for inspection, and a changed release deploys normally",
                    release.fingerprint,
                    format_timestamp(at)
                ));
                // The test listener stays on the rejected release, for inspection.
                steady_listeners(&mut b, a, false);
                (PlanKind::InPlace, None)
            }
            _ => (new_release(&mut b, a, &release), Some(a)),
        },
    };
    let kind = if b.steps.is_empty() {
        PlanKind::NoChanges
    } else {
        kind
    };
    Ok(Plan {
        app: spec.app.clone(),
        source: spec.source.display().to_string(),
        kind,
        changes: b.changes,
        steps: b.steps,
        rollback_to,
        gates: spec.rollout.gates.clone(),
        timeline: b.timeline,
        in_place,
        observed_fingerprint: obs.fingerprint(),
        notes: b.notes,
    })
}

/// Records `c` as active because the parameter is missing or wrong: the
/// listener, which carries the traffic, is what is believed.
fn record_corrected(b: &mut Builder, c: Color, note: String, was: String) {
    let parameter = b.spec.state_parameter.clone();
    b.notes.push(note);
    b.change(
        ChangeAction::Update,
        format!("active colour {parameter}"),
        vec![("value".into(), was, c.to_string())],
        "record the colour that serves production",
    );
    b.step(
        Action::RecordActive {
            parameter,
            color: c,
        },
        "the parameter disagrees with the listener",
    );
}

/// The live colour when the parameter is missing: the only one with traffic,
/// or, mid-shift, the one not running the plan's release.
fn infer_active(obs: &Observed, w: Weights, release: &Release) -> Result<Color, PlanError> {
    match (w.blue > 0, w.green > 0) {
        (true, false) => Ok(Color::Blue),
        (false, true) => Ok(Color::Green),
        _ => {
            let old: Vec<Color> = Color::ALL
                .into_iter()
                .filter(|c| obs.release_of(*c) != Some(release.fingerprint.as_str()))
                .collect();
            match old.as_slice() {
                [c] => Ok(*c),
                _ => Err(PlanError::AmbiguousActive {
                    blue: w.share(Color::Blue),
                    green: w.share(Color::Green),
                }),
            }
        }
    }
}

/// Both target groups exist from the first deploy on, with the plan's health
/// check and attributes; differences are in-place updates.
fn target_groups(b: &mut Builder) -> Result<(), PlanError> {
    let tg = &b.spec.target_group;
    for c in Color::ALL {
        let name = b.spec.resource_name(c);
        match b.obs.target_groups.get(c) {
            None => {
                b.change(
                    ChangeAction::Create,
                    format!("target group {name}"),
                    vec![],
                    format!("{} :{} in {}", tg.protocol, tg.port, tg.vpc_id),
                );
                b.step(
                    Action::CreateTargetGroup {
                        color: c,
                        config: TargetGroupConfig {
                            name: name.clone(),
                            port: tg.port,
                            protocol: tg.protocol,
                            vpc_id: tg.vpc_id.clone(),
                            health_check: tg.health_check.clone(),
                            deregistration_delay_secs: tg.deregistration_delay_secs,
                        },
                    },
                    "does not exist",
                );
            }
            Some(live) => {
                let immutable = [
                    ("port", live.port.to_string(), tg.port.to_string()),
                    (
                        "protocol",
                        live.protocol.to_string(),
                        tg.protocol.to_string(),
                    ),
                    ("vpc_id", live.vpc_id.clone(), tg.vpc_id.clone()),
                ];
                if let Some((field, live, wanted)) = immutable.into_iter().find(|(_, l, w)| l != w)
                {
                    return Err(PlanError::ImmutableTargetGroup {
                        name,
                        field,
                        live,
                        wanted,
                    });
                }
                let mut fields: Vec<(String, String, String)> = live
                    .health_check
                    .diff(&tg.health_check)
                    .into_iter()
                    .map(|(f, a, b)| (format!("health_check.{f}"), a, b))
                    .collect();
                let dereg = (live.deregistration_delay_secs != tg.deregistration_delay_secs)
                    .then_some(tg.deregistration_delay_secs);
                if dereg.is_some() {
                    fields.push((
                        "deregistration_delay".into(),
                        format!("{}s", live.deregistration_delay_secs),
                        format!("{}s", tg.deregistration_delay_secs),
                    ));
                }
                if fields.is_empty() {
                    continue;
                }
                let hc = (live.health_check != tg.health_check).then(|| tg.health_check.clone());
                b.change(
                    ChangeAction::Update,
                    format!("target group {name}"),
                    fields,
                    "in place",
                );
                b.step(
                    Action::UpdateTargetGroup {
                        color: c,
                        health_check: hc,
                        deregistration_delay_secs: dereg,
                    },
                    "differs from the plan file",
                );
            }
        }
    }
    Ok(())
}

fn first_deploy(b: &mut Builder, release: &Release) -> PlanKind {
    let c = Color::Blue;
    b.change(
        ChangeAction::Create,
        format!("release {} on {c}", release.fingerprint),
        vec![],
        format!(
            "first deploy: {} ({}) at {}",
            release.data.image_id, release.data.instance_type, b.spec.fleet.capacity
        ),
    );
    build_color(b, c, release);
    if b.steps.iter().any(|s| {
        !matches!(
            s.action,
            Action::WaitHealthy { .. } | Action::RecordActive { .. }
        )
    }) {
        before_deploy(b, 0, c);
    }
    route_test_listener(b, c);
    smoke(b, c);
    let spec = b.spec;
    ensure_listener(
        b,
        &spec.production,
        Weights::all_on(c),
        "route all production traffic to blue",
    );
    record_active(b, c);
    PlanKind::FirstDeploy {
        color: c,
        release: release.clone(),
    }
}

/// The release is live on the active colour: in-place changes and housekeeping.
fn steady(b: &mut Builder, a: Color, release: &Release) {
    let spec = b.spec;
    let obs = b.obs;
    let fleet = obs.fleets.get(a).as_ref();
    match fleet {
        None => {
            b.notes.push(format!(
                "the fleet of the active colour {a} is missing: it is rebuilt"
            ));
            build_color(b, a, release);
        }
        Some(f) => {
            let want = fleet_config(spec, a, release);
            let attached = obs
                .tg_arn(a)
                .is_some_and(|arn| f.target_groups.iter().any(|t| t == arn));
            if f.capacity != want.capacity {
                b.change(
                    ChangeAction::Update,
                    format!("fleet {}", f.name),
                    vec![(
                        "capacity".into(),
                        f.capacity.to_string(),
                        want.capacity.to_string(),
                    )],
                    "in place",
                );
                b.step(
                    Action::SetCapacity {
                        color: a,
                        capacity: want.capacity,
                    },
                    "capacity differs from the plan file",
                );
            }
            if f.subnets != want.subnets || f.spot != want.spot || !attached {
                let mut fields = Vec::new();
                if f.spot != want.spot {
                    fields.push(("spot".into(), f.spot.to_string(), want.spot.to_string()));
                }
                if f.subnets != want.subnets {
                    fields.push((
                        "subnets".into(),
                        f.subnets.join(","),
                        want.subnets.join(","),
                    ));
                }
                if !attached {
                    fields.push((
                        "target_group".into(),
                        "(detached)".into(),
                        spec.resource_name(a),
                    ));
                }
                b.change(
                    ChangeAction::Update,
                    format!("fleet {}", f.name),
                    fields,
                    "in place",
                );
                b.step(
                    Action::EnsureFleet {
                        color: a,
                        config: want,
                    },
                    "fleet settings differ from the plan file",
                );
            }
        }
    }
    steady_listeners(b, a, true);
    teardown_idle(b, a, false);
}

/// Production (and, with `test_too`, the test listener) on the active
/// colour, as between releases.
fn steady_listeners(b: &mut Builder, a: Color, test_too: bool) {
    let spec = b.spec;
    let obs = b.obs;
    // The test listener follows the active colour between releases.
    if let Some(test) = spec.test.as_ref().filter(|_| test_too) {
        let current = obs.listener(test.port).and_then(|l| obs.weights(l));
        if current != Some(Weights::all_on(a)) || !listener_settings_match(b, test) {
            ensure_listener(
                b,
                test,
                Weights::all_on(a),
                "the test listener follows the active colour",
            );
        }
    }
    let prod_listener = obs.listener(spec.production.port);
    let prod = prod_listener.and_then(|l| obs.weights(l));
    let foreign = prod_listener.map(|l| obs.foreign_weight(l)).unwrap_or(0);
    if prod != Some(Weights::all_on(a))
        || foreign > 0
        || !listener_settings_match(b, &spec.production)
    {
        ensure_listener(
            b,
            &spec.production,
            Weights::all_on(a),
            "production traffic belongs entirely to the active colour",
        );
    }
}

/// When colour `c` carries `release` and it was rolled back: the time.
fn rolled_back_at(obs: &Observed, c: Color, release: &Release) -> Option<crate::model::Timestamp> {
    let fleet = obs.fleets.get(c).as_ref()?;
    let (fp, at) = fleet.rolled_back.as_ref()?;
    (fp == &release.fingerprint).then_some(*at)
}

/// Deploy `release` to the idle colour, shift to it, promote it, and tear the
/// old colour down when its rollback window has passed.
fn new_release(b: &mut Builder, a: Color, release: &Release) -> PlanKind {
    let spec = b.spec;
    let obs = b.obs;
    let to = a.other();
    let prod = obs
        .listener(spec.production.port)
        .and_then(|l| obs.weights(l));
    let mut reached = prod.map(|w| w.share(to)).unwrap_or(0);
    if reached > 0 && obs.release_of(to) != Some(release.fingerprint.as_str()) {
        // Traffic is on an older in-flight release: take it back first.
        b.change(
            ChangeAction::Update,
            format!("listener :{} (production)", spec.production.port),
            vec![(
                "weights".into(),
                prod.map(|w| w.to_string()).unwrap_or_default(),
                Weights::all_on(a).to_string(),
            )],
            format!("{to} carries traffic for a release that is no longer in the plan"),
        );
        b.step(
            Action::SetWeights {
                weights: Weights::all_on(a),
            },
            format!("abandon the in-flight release on {to}"),
        );
        reached = 0;
    }
    let resume_at = (reached > 0).then_some(reached);
    b.change(
        ChangeAction::Replace,
        format!("release on {to}"),
        vec![(
            "image".into(),
            obs.image_of(a).unwrap_or("(unknown)").to_string(),
            release.data.image_id.clone(),
        )],
        match resume_at {
            Some(w) => format!("resume the shift from {a} to {to} at {w}%"),
            None => format!(
                "blue-green: build {to}, shift {:?}%, then promote",
                spec.rollout.steps
            ),
        },
    );
    let before = b.steps.len();
    build_color(b, to, release);
    let builds = b.steps[before..]
        .iter()
        .any(|s| !matches!(s.action, Action::WaitHealthy { .. }));
    if builds {
        before_deploy(b, before, to);
    }
    route_test_listener(b, to);
    let hold = !spec.rollout.auto_promote && !b.opts.promote && resume_at.is_none();
    if hold {
        let only_waits = b.steps[before..]
            .iter()
            .all(|s| matches!(s.action, Action::WaitHealthy { .. }));
        if only_waits {
            // Built, healthy, smoke-tested before: it waits for a person.
            b.steps.truncate(before);
            b.changes.retain(|c| c.action != ChangeAction::Replace);
            b.notes.push(format!(
                "{to} runs release {} and waits for `cutover promote` (auto_promote = false); production stays on {a}",
                release.fingerprint
            ));
            return PlanKind::InPlace;
        }
        smoke(b, to);
        b.step(
            Action::AwaitPromotion { color: to },
            "auto_promote = false: a person promotes",
        );
        b.timeline = Some(timeline(b, a, to, true));
        return release_kind(b, a, to, release, resume_at);
    }
    smoke(b, to);
    if let Some(w) = resume_at {
        b.step(
            Action::Bake {
                color: to,
                weight: w,
                secs: spec.rollout.bake_secs,
            },
            "resume: observe the step the previous run reached",
        );
    }
    for &w in spec.rollout.steps.iter().filter(|&&w| w > reached) {
        b.step(
            Action::SetWeights {
                weights: Weights::split(to, w),
            },
            format!("step {w}%"),
        );
        b.step(
            Action::Bake {
                color: to,
                weight: w,
                secs: spec.rollout.bake_secs,
            },
            format!("bake at {w}%"),
        );
    }
    b.timeline = Some(timeline(b, a, to, false));
    record_active(b, to);
    teardown_idle(b, to, true);
    release_kind(b, a, to, release, resume_at)
}

/// The rollout at a glance, from the shift steps planned so far (or, when
/// the release waits for promotion, from the steps the promotion will run).
fn timeline(
    b: &Builder,
    a: Color,
    to: Color,
    awaits_promotion: bool,
) -> crate::model::plan::Timeline {
    let spec = b.spec;
    let steps = if awaits_promotion {
        spec.rollout
            .steps
            .iter()
            .map(|&w| crate::model::plan::TimelineStep {
                weight: w,
                weights: Weights::split(to, w),
                bake_secs: spec.rollout.bake_secs,
            })
            .collect()
    } else {
        b.steps
            .iter()
            .filter_map(|s| match s.action {
                Action::Bake { weight, secs, .. } => Some(crate::model::plan::TimelineStep {
                    weight,
                    weights: Weights::split(to, weight),
                    bake_secs: secs,
                }),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let mut gates = vec![format!("target health of {a} and {to}")];
    gates.extend(spec.rollout.gates.iter().map(|g| g.describe()));
    crate::model::plan::Timeline {
        from: a,
        to,
        bake_total_secs: steps.iter().map(|s| s.bake_secs).sum(),
        steps,
        gates,
        health_timeout_secs: spec.rollout.health_timeout_secs,
        extra_instances: spec.fleet.capacity.desired,
        rollback_window_secs: spec.teardown.delay_secs,
        teardown_policy: spec.teardown.policy,
        awaits_promotion,
    }
}

fn release_kind(
    b: &Builder,
    a: Color,
    to: Color,
    release: &Release,
    resume_at: Option<u32>,
) -> PlanKind {
    PlanKind::Release {
        from: a,
        to,
        from_release: b.obs.release_of(a).map(str::to_string),
        from_image: b.obs.image_of(a).map(str::to_string),
        release: release.clone(),
        resume_at,
    }
}

/// The smoke tests, when the plan has any.
fn smoke(b: &mut Builder, c: Color) {
    let checks = b.spec.rollout.smoke.clone();
    if !checks.is_empty() {
        b.step(
            Action::Smoke { color: c, checks },
            "before any production traffic",
        );
    }
}

fn fleet_config(spec: &Spec, c: Color, release: &Release) -> FleetConfig {
    FleetConfig {
        name: crate::model::names::fleet(&spec.app, c),
        release: release.fingerprint.clone(),
        capacity: spec.fleet.capacity,
        subnets: spec.fleet.subnets.clone(),
        spot: spec.fleet.spot,
    }
}

/// Steps that make colour `c` run `release` at full capacity, healthy.
fn build_color(b: &mut Builder, c: Color, release: &Release) {
    let spec = b.spec;
    let obs = b.obs;
    let has_version = obs
        .launch_template
        .as_ref()
        .is_some_and(|lt| lt.version_of(&release.fingerprint).is_some());
    if !has_version {
        b.change(
            ChangeAction::Create,
            format!("launch template {} version", spec.launch_template_name()),
            vec![],
            format!(
                "release {}: {} {}",
                release.fingerprint, release.data.image_id, release.data.instance_type
            ),
        );
        b.step(
            Action::CreateLaunchTemplateVersion {
                name: spec.launch_template_name(),
                release: release.clone(),
            },
            "no version holds this release yet",
        );
    }
    let want = fleet_config(spec, c, release);
    let fleet: Option<&Fleet> = obs.fleets.get(c).as_ref();
    match fleet {
        None => {
            b.change(
                ChangeAction::Create,
                format!("fleet {}", want.name),
                vec![],
                want.capacity.to_string(),
            );
            b.step(
                Action::EnsureFleet {
                    color: c,
                    config: want,
                },
                "does not exist",
            );
        }
        Some(f) => {
            let same_release = f.release.as_deref() == Some(release.fingerprint.as_str());
            let has_old_instances =
                !same_release && (f.capacity.desired > 0 || !f.instances.is_empty());
            if has_old_instances {
                b.step(
                    Action::RecycleFleet { color: c },
                    format!(
                        "{} runs release {}: start the new one on fresh instances",
                        f.name,
                        f.release.as_deref().unwrap_or("?")
                    ),
                );
            }
            let attached = obs
                .tg_arn(c)
                .is_some_and(|arn| f.target_groups.iter().any(|t| t == arn));
            if !same_release
                || f.capacity != want.capacity
                || f.subnets != want.subnets
                || f.spot != want.spot
                || !attached
            {
                b.change(
                    ChangeAction::Update,
                    format!("fleet {}", want.name),
                    vec![
                        (
                            "release".into(),
                            f.release.clone().unwrap_or("(none)".into()),
                            release.fingerprint.clone(),
                        ),
                        (
                            "capacity".into(),
                            f.capacity.to_string(),
                            want.capacity.to_string(),
                        ),
                    ]
                    .into_iter()
                    .filter(|(_, a, b)| a != b)
                    .collect(),
                    "scale up with the new release",
                );
                b.step(
                    Action::EnsureFleet {
                        color: c,
                        config: want,
                    },
                    "bring the fleet to the release and capacity of the plan",
                );
            }
        }
    }
    b.step(
        Action::WaitHealthy {
            color: c,
            count: spec.fleet.capacity.desired,
            timeout_secs: spec.rollout.health_timeout_secs,
        },
        format!(
            "every target healthy within {}",
            format_duration(spec.rollout.health_timeout_secs)
        ),
    );
}

fn listener_settings_match(b: &Builder, l: &ListenerSpec) -> bool {
    b.obs.listener(l.port).is_some_and(|live| {
        live.protocol == l.protocol && live.certificate_arn == l.certificate_arn
    })
}

fn ensure_listener(b: &mut Builder, l: &ListenerSpec, weights: Weights, reason: &str) {
    let obs = b.obs;
    let live = obs.listener(l.port);
    let resource = format!("listener :{} ({})", l.port, l.role);
    match live {
        None => b.change(
            ChangeAction::Create,
            resource,
            vec![("weights".into(), "".into(), weights.to_string())],
            reason,
        ),
        Some(live) => {
            let mut fields = Vec::new();
            if live.protocol != l.protocol {
                fields.push((
                    "protocol".into(),
                    live.protocol.to_string(),
                    l.protocol.to_string(),
                ));
            }
            if live.certificate_arn != l.certificate_arn {
                fields.push((
                    "certificate_arn".into(),
                    live.certificate_arn.clone().unwrap_or("(none)".into()),
                    l.certificate_arn.clone().unwrap_or("(none)".into()),
                ));
            }
            let current = obs.weights(live);
            if current != Some(weights) {
                fields.push((
                    "weights".into(),
                    current
                        .map(|w| w.to_string())
                        .unwrap_or("(not a forward to blue/green)".into()),
                    weights.to_string(),
                ));
            }
            b.change(ChangeAction::Update, resource, fields, reason);
        }
    }
    b.step(
        Action::EnsureListener {
            config: ListenerConfig {
                role: l.role,
                port: l.port,
                protocol: l.protocol,
                certificate_arn: l.certificate_arn.clone(),
            },
            weights,
        },
        reason.to_string(),
    );
}

fn route_test_listener(b: &mut Builder, c: Color) {
    let spec = b.spec;
    if let Some(test) = &spec.test {
        let current = b.obs.listener(test.port).and_then(|l| b.obs.weights(l));
        if current != Some(Weights::all_on(c)) || !listener_settings_match(b, test) {
            ensure_listener(
                b,
                test,
                Weights::all_on(c),
                &format!("test traffic to {c} before production moves"),
            );
        }
    }
}

fn record_active(b: &mut Builder, c: Color) {
    let spec = b.spec;
    let current = b.obs.active.as_ref().map(|a| a.color);
    if current == Some(c) {
        return;
    }
    b.change(
        ChangeAction::Update,
        format!("active colour {}", spec.state_parameter),
        vec![(
            "value".into(),
            current.map(|c| c.to_string()).unwrap_or("(none)".into()),
            c.to_string(),
        )],
        "promote",
    );
    b.step(
        Action::RecordActive {
            parameter: spec.state_parameter.clone(),
            color: c,
        },
        format!("{c} is the live colour"),
    );
}

/// Tear down the colour that is not `active`, by policy, when its rollback
/// window has passed. `promoting`: the plan promotes `active` in this run, so
/// the window starts now.
fn teardown_idle(b: &mut Builder, active: Color, promoting: bool) {
    let spec = b.spec;
    let obs = b.obs;
    let idle = active.other();
    let policy = spec.teardown.policy;
    let pending = obs
        .target_groups
        .get(idle)
        .as_ref()
        .and_then(|t| t.contract_pending.clone());
    let Some(fleet) = obs.fleets.get(idle).as_ref() else {
        contract(b, idle, pending);
        return;
    };
    let idle_tg = obs.tg_arn(idle);
    let attached = idle_tg.is_some_and(|arn| fleet.target_groups.iter().any(|t| t == arn));
    let torn_down = match policy {
        TeardownPolicy::Keep => true,
        TeardownPolicy::ScaleToZero => {
            !attached
                && fleet.capacity == crate::model::Capacity::ZERO
                && fleet.instances.is_empty()
        }
        TeardownPolicy::Delete => false,
    };
    if torn_down {
        if policy != TeardownPolicy::Keep {
            contract(b, idle, pending);
        }
        return;
    }
    // Invariant 2: a colour with production weight is never torn down. When
    // promoting, the shift steps in this plan leave it at 0 before we get here.
    if !promoting {
        let prod = obs
            .listener(spec.production.port)
            .and_then(|l| obs.weights(l));
        if prod.is_none_or(|w| w.get(idle) > 0) {
            return;
        }
    }
    let delay = spec.teardown.delay_secs;
    let since = match (&obs.active, promoting) {
        (Some(a), false) if a.color == active => a.since,
        _ => obs.now,
    };
    let due = since.saturating_add(delay as i64);
    if delay > 0 && (promoting || obs.now < due) {
        let when = if promoting {
            format!("{} after promotion", format_duration(delay))
        } else {
            format!(
                "at {} (in {})",
                format_timestamp(due),
                format_duration((due - obs.now) as u64)
            )
        };
        b.notes.push(format!(
            "teardown of {idle} ({}) is due {when}; until then `cutover rollback` flips back instantly, and the next `apply` after that tears it down",
            policy.as_str()
        ));
        return;
    }
    b.change(
        ChangeAction::Destroy,
        format!("fleet {}", fleet.name),
        vec![],
        format!(
            "teardown ({}) after the {} rollback window",
            policy.as_str(),
            format_duration(delay)
        ),
    );
    let contracting = spec
        .hooks
        .after_teardown
        .is_some()
        .then(|| fleet.release.clone())
        .flatten();
    if let Some(release) = &contracting {
        b.step(
            Action::MarkContractPending {
                color: idle,
                release: release.clone(),
            },
            "so the after_teardown hook survives a crash",
        );
    }
    // A run that died while targets drained left them draining: wait again.
    let draining = obs
        .target_groups
        .get(idle)
        .as_ref()
        .is_some_and(|tg| tg.targets.iter().any(|t| t.state == TargetState::Draining));
    if attached {
        b.step(
            Action::DetachFleet { color: idle },
            "deregister the old colour's targets",
        );
    }
    if attached || draining {
        b.step(
            Action::WaitDrain {
                color: idle,
                secs: spec.target_group.deregistration_delay_secs as u64,
            },
            "let connections drain (deregistration delay)",
        );
    }
    match policy {
        TeardownPolicy::ScaleToZero => b.step(
            Action::ScaleToZero { color: idle },
            "teardown policy scale-to-zero",
        ),
        TeardownPolicy::Delete => b.step(
            Action::DeleteFleet { color: idle },
            "teardown policy delete",
        ),
        TeardownPolicy::Keep => {}
    }
    if policy != TeardownPolicy::Keep {
        contract(b, idle, contracting);
    }
}

/// The after_teardown hook for the release `pending` on colour `c`.
fn contract(b: &mut Builder, c: Color, pending: Option<String>) {
    let (Some(command), Some(release)) = (b.spec.hooks.after_teardown.clone(), pending) else {
        return;
    };
    b.change(
        ChangeAction::Update,
        format!("hook after_teardown ({c})"),
        vec![],
        format!("contract: release {release} has no instances and no traffic"),
    );
    b.step(
        Action::Hook {
            phase: crate::model::plan::HookPhase::AfterTeardown,
            color: c,
            command,
            release: Some(release),
        },
        "expand/contract: the old release is gone",
    );
}

/// The before_deploy hook, placed at `at` (before anything of the new colour is built).
fn before_deploy(b: &mut Builder, at: usize, c: Color) {
    let Some(command) = b.spec.hooks.before_deploy.clone() else {
        return;
    };
    b.steps.insert(
        at,
        Step {
            action: Action::Hook {
                phase: crate::model::plan::HookPhase::BeforeDeploy,
                color: c,
                command,
                release: None,
            },
            reason: "expand/contract: before the new colour is built".into(),
        },
    );
}
