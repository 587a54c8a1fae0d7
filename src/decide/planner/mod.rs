//! The planner: `(Spec, Observed) -> Plan`. Pure and synchronous: no tokio, no
//! AWS SDK, no clock (the observed snapshot carries `now`).
//!
//! Every lifecycle decision is made here, from live state each time, so an
//! interrupted deployment is resumed from where the cloud says it is: the
//! planner emits only the steps that are not already true, and a shift that
//! stopped at 25% continues at the next step instead of starting over.
//!
//! Each decision is recorded once, through [`Builder::decide`]: the change a
//! person reads and the steps that carry it out go in together, so a plan's
//! changes and its steps are two views of the same decisions. Drift reads
//! the same decisions (see `decide::drift`).
//!
//! - `active.rs`: which colour is live, and correcting a wrong record of it;
//! - `target_groups.rs`: both target groups, created or updated in place;
//! - `release.rs`: a first deploy, a new release, building a colour;
//! - `steady.rs`: the live release: in-place changes and repairs;
//! - `listeners.rs`: listeners and the active-colour record;
//! - `teardown.rs`: the old colour's teardown and the expand/contract hooks.

mod active;
mod colour;
mod listeners;
mod release;
mod steady;
mod target_groups;
mod teardown;

use crate::model::observed::Observed;
use crate::model::plan::{
    Action, Change, ChangeAction, FieldChange, Note, Plan, PlanKind, Resource, Scope, Step,
    Timeline,
};
use crate::model::reason::Reason;
use crate::model::Color;
use crate::spec::Spec;

/// Live state the planner cannot plan around: cutover will not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("load balancer {0:?} was not found; cutover never creates or deletes load balancers: create it first, or fix `load_balancer.name`")]
    LoadBalancerMissing(String),
    #[error("there is no listener on port {port} of load balancer {load_balancer:?}; with `rule`, cutover adds its rule to a listener someone else owns: create the listener first, or leave `rule` out to let cutover own the whole listener")]
    SharedListenerMissing { load_balancer: String, port: u16 },
    #[error("priority {priority} on the listener on port {port} is taken by {holder}; choose a free priority for `rule.priority` (`aws elbv2 describe-rules --listener-arn …` lists them)")]
    RulePriorityTaken {
        port: u16,
        priority: u32,
        holder: String,
    },
    #[error("the active-colour parameter is missing and production is split (blue {blue}%, green {green}%) between fleets that do not tell which one was live; record it with `aws ssm put-parameter` or fix the listener, then plan again")]
    AmbiguousActive { blue: u32, green: u32 },
    #[error("the active-colour parameter says {parameter} but production is all on {listener}, which does not run the plan's release: a rollback that did not finish, or a shift that stopped at 100%; `cutover rollback` finishes the one or returns production to {parameter} from the other (or put the parameter right by hand), then plan again")]
    ActiveDisagrees { parameter: Color, listener: Color },
    #[error("the listener on port {port} of load balancer {load_balancer:?} belongs to {holder}; cutover writes only listeners it owns, so nothing was made: give {app} another port, or share the listener through a `rule`, or, if it is {app}'s after all, tag it cutover:app={app}")]
    ListenerTaken {
        load_balancer: String,
        port: u16,
        holder: String,
        app: String,
    },
    #[error("target group {name} is used by load balancer {load_balancer}, and AWS lets a target group serve one load balancer, so {plan_lb:?} cannot forward to it and nothing was made; delete the listeners and rules on that load balancer that forward to the app's target groups (or keep `load_balancer.name`), then plan again")]
    TargetGroupElsewhere {
        name: String,
        load_balancer: String,
        plan_lb: String,
    },
    #[error("the listener on port {port}, which the plan file no longer names, also holds {holders}: deleting it would take their traffic with it, so nothing was made; keep port {port} in the plan file, or move those rules to another listener first")]
    StrayShared { port: u16, holders: String },
    #[error("{kind} {name} has the name cutover gives {app}'s {color} colour, but {holder}; cutover does not adopt what it did not make, so nothing was made: rename or delete it, or give the app another `app.name`; if it is {app}'s after all, tag it cutover:app={app} cutover:color={color}")]
    NotAdopted {
        kind: Adoptable,
        name: String,
        app: String,
        color: Color,
        holder: String,
    },
    #[error("target group {name} has {field} {live}, the plan says {wanted}; AWS cannot change that in place: delete the target group (after moving traffic off it) or keep the old value")]
    ImmutableTargetGroup {
        name: String,
        field: &'static str,
        live: String,
        wanted: String,
    },
}

/// What cutover makes under a colour's name, and would otherwise adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adoptable {
    TargetGroup,
    Fleet,
}

impl std::fmt::Display for Adoptable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Adoptable::TargetGroup => "target group",
            Adoptable::Fleet => "Auto Scaling group",
        })
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

/// A plan in the making.
pub(super) struct Builder<'a> {
    spec: &'a Spec,
    opts: PlanOptions,
    obs: &'a Observed,
    timeline: Option<Timeline>,
    changes: Vec<Change>,
    steps: Vec<Step>,
    notes: Vec<Note>,
    /// The scope of the changes being decided now.
    scope: Scope,
}

impl Builder<'_> {
    /// Records one decision: the change a person reads (if any) and the
    /// steps that make it true.
    fn decide(&mut self, change: Option<Change>, steps: impl IntoIterator<Item = Step>) {
        self.changes.extend(change);
        self.steps.extend(steps);
    }

    /// Where the plan stands now, to [`Builder::retract`] to.
    fn mark(&self) -> Mark {
        Mark {
            changes: self.changes.len(),
            steps: self.steps.len(),
        }
    }

    /// Takes back every decision recorded since `mark`.
    fn retract(&mut self, mark: Mark) {
        self.changes.truncate(mark.changes);
        self.steps.truncate(mark.steps);
    }

    /// A step with no change of its own that must run before decisions
    /// recorded since `mark` (the before_deploy hook: before anything of the
    /// new colour is built, which is known only once the build is decided).
    fn then_before(&mut self, mark: Mark, action: Action, reason: Reason) {
        self.steps.insert(mark.steps, step(action, reason));
    }

    /// A step with no change of its own (a wait, a bake, a smoke test).
    fn then(&mut self, action: Action, reason: Reason) {
        self.decide(None, [step(action, reason)]);
    }

    /// A change in the current scope.
    fn change(
        &self,
        action: ChangeAction,
        resource: Resource,
        fields: Vec<FieldChange>,
        reason: Reason,
    ) -> Change {
        Change {
            action,
            resource,
            fields,
            reason,
            scope: self.scope,
        }
    }

    /// Runs `f` with the changes it decides in `scope`.
    fn in_scope<T>(&mut self, scope: Scope, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = std::mem::replace(&mut self.scope, scope);
        let out = f(self);
        self.scope = outer;
        out
    }
}

/// A point in the plan being built.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    changes: usize,
    steps: usize,
}

impl Mark {
    /// Before anything was decided.
    const START: Mark = Mark {
        changes: 0,
        steps: 0,
    };

    fn steps(self) -> usize {
        self.steps
    }
}

fn step(action: Action, reason: Reason) -> Step {
    Step { action, reason }
}

/// The release the plan stands for against live state (see
/// `release::effective`: defaults a later cutover added wait for the next
/// release).
pub fn effective_release(spec: &Spec, obs: &Observed) -> crate::model::Release {
    release::effective(spec, obs, &mut Vec::new())
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
    listeners::shared_listeners_ready(spec, obs)?;
    listeners::owned(spec, obs)?;
    target_groups::not_adopted(spec, obs)?;
    let mut b = Builder {
        spec,
        opts,
        timeline: None,
        obs,
        changes: Vec::new(),
        steps: Vec::new(),
        notes: Vec::new(),
        scope: Scope::InPlace,
    };
    let release = release::effective(spec, obs, &mut b.notes);
    if spec.fleet.launch.imdsv2 == Some(false) {
        b.notes.push(Note::ImdsV1Allowed);
    }
    b.notes.extend(
        obs.freezes
            .iter()
            .map(|f| Note::Frozen { freeze: f.clone() }),
    );
    target_groups::target_groups(&mut b)?;
    listeners::tag_untagged(&mut b);
    // Roles change first, alone: until then, production is where the
    // listener tagged production says, not where the plan file now says.
    if listeners::swap_roles(&mut b) {
        return Ok(b.finish(PlanKind::InPlace, None));
    }
    let active = active::active_colour(&mut b, &release)?;
    let (kind, rollback_to) = match active {
        None => (release::first_deploy(&mut b, &release), None),
        Some(a) => release::next(&mut b, a, &release),
    };
    if let (Some(a), PlanKind::Release { .. }) = (rollback_to, &kind) {
        // Both target groups take the plan's health check in place, the
        // serving colour's too: said, so a reviewer sees it comes first.
        let serving = spec.resource_name(a);
        let moves_check = b.changes.iter().any(|c| {
            matches!(&c.resource, Resource::TargetGroup { name } if *name == serving)
                && c.fields
                    .iter()
                    .any(|f| matches!(f.key, crate::model::Key::HealthCheck(_)))
        });
        if moves_check {
            b.notes.push(Note::HealthCheckBeforeRelease { color: a });
        }
    }
    Ok(b.finish(kind, rollback_to))
}

impl Builder<'_> {
    /// The plan decided: of `kind` (no changes when it has no steps), going
    /// home to `rollback_to` on a failure.
    fn finish(self, kind: PlanKind, rollback_to: Option<Color>) -> Plan {
        let (spec, obs) = (self.spec, self.obs);
        let kind = if self.steps.is_empty() {
            PlanKind::NoChanges
        } else {
            kind
        };
        let in_place = self
            .changes
            .iter()
            .filter(|c| matches!(c.scope, Scope::InPlace | Scope::Repair))
            .count();
        Plan {
            app: spec.app.clone(),
            source: spec.source.display().to_string(),
            wave: spec.wave,
            kind,
            changes: self.changes,
            steps: self.steps,
            rollback_to,
            home_capacity: rollback_to.map(|c| {
                obs.fleets
                    .get(c)
                    .as_ref()
                    .map(|f| f.capacity.desired.max(1))
                    .unwrap_or(spec.fleet.capacity.desired)
            }),
            gates: spec.rollout.gates.clone(),
            evidence: crate::gate::metric::EvidenceRules {
                on_no_evidence: spec.rollout.on_no_evidence,
                timeout_secs: spec.rollout.evidence_timeout_secs,
                affinity: spec.rollout.session_affinity_secs > 0,
            },
            timeline: self.timeline,
            in_place,
            observed_fingerprint: obs.fingerprint(),
            notes: self.notes,
            user_data_sensitive: spec.fleet.user_data_sensitive,
        }
    }
}
