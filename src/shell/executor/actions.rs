//! One function per [`Action`]: what carrying it out means, with the safety
//! check that guards its mutation.

use super::confirm::Unlanded;
use super::resolved::Resolved;
use super::wait::Look;
use super::{Executor, StepError};
use crate::gate::{Check, CheckEnv, How};
use crate::model::observed::{Previous, TargetState};
use crate::model::plan::{
    Action, FleetConfig, HookPhase, ListenerConfig, Plan, PreviousRecord, TargetGroupConfig,
};
use crate::model::{names, AttributeChanges, Capacity, Color, HealthCheck, Release, Weights};
use crate::provider::forward_for;
use crate::shell::checks;
use crate::shell::progress::Event;
use std::time::Duration;

/// How long a `[hooks]` command may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long teardown may take to terminate the old colour's instances.
const EMPTY_TIMEOUT_SECS: u64 = 15 * 60;
/// How far before this run's fleet step a failed launch may have started,
/// by the clock of this machine, and still be this run's.
const LAUNCH_CLOCK_SLACK_SECS: i64 = 5;
/// How often command, HTTP and alarm gates run during a bake (target health
/// is checked at every poll).
const GATE_INTERVAL_SECS: u64 = 10;

/// What a rollback's flip writes at once.
struct FlipWrites<'a> {
    at: &'a crate::model::ForwardAt,
    to: Color,
    traffic: bool,
    record_active: Option<&'a str>,
    previous_record: Option<&'a PreviousRecord>,
    /// The rolled-back tag (colour, release) to send with it.
    remember: Option<&'a (Color, String)>,
    /// What the writes replace, which a lagging read may still show.
    weights_before: Option<(Weights, u32)>,
    active_before: Option<Color>,
}

/// The answers to [`FlipWrites`]: the flip, the active colour, the
/// promotion record, the tag (when sent).
type FlipAnswers = (
    Result<(), Unlanded<(Weights, u32)>>,
    Result<(), Unlanded<Option<Color>>>,
    Result<(), StepError>,
    Option<Result<(), crate::provider::ProviderError>>,
);

/// Why a release that `cutover rollback` left is remembered as rolled back.
const BY_A_PERSON: &str = "a person rolled it back (`cutover rollback`)";

/// What a finished step has to say ("version 3", "2 of 2 healthy"), if anything.
pub(super) type Detail = Option<String>;

impl Executor<'_> {
    /// Carries out one action.
    // Long: one arm per Action, each a call or two; the work is in the
    // functions below.
    pub(super) async fn run(
        &self,
        plan: &Plan,
        action: &Action,
        r: &mut Resolved,
    ) -> Result<Detail, StepError> {
        match action {
            Action::CreateTargetGroup { color, config } => {
                self.create_target_group(r, *color, config).await
            }
            Action::UpdateTargetGroup {
                color,
                health_check,
                attributes,
            } => {
                self.update_target_group(r, *color, health_check.as_ref(), attributes)
                    .await
            }
            Action::CreateLaunchTemplateVersion { name, release } => {
                self.create_version(r, name, release).await
            }
            Action::RecycleFleet { color } => self.recycle_fleet(r, *color).await,
            Action::EnsureFleet { color, config } => self.ensure_fleet(r, *color, config).await,
            Action::SetCapacity { color, capacity } => {
                self.provider
                    .set_capacity(&r.fleet(*color), *capacity)
                    .await?;
                Ok(None)
            }
            Action::WaitHealthy {
                color,
                count,
                timeout_secs,
            } => self.wait_healthy(r, *color, *count, *timeout_secs).await,
            Action::EnsureListener { config, weights } => {
                self.ensure_listener(r, config, *weights).await
            }
            Action::SetWeights {
                weights,
                affinity_secs,
            } => self.set_weights(r, *weights, *affinity_secs).await,
            Action::DeleteRule { port } => self.delete_rule(r, *port).await,
            Action::TagListener { port, role } => {
                let arn = r.listeners.get(port).cloned().ok_or_else(|| {
                    StepError::Missing(format!("there is no listener on port {port}"))
                })?;
                self.fence().await?;
                self.provider.tag_listener(&self.app, &arn, *role).await?;
                Ok(None)
            }
            Action::DeleteListener { port, arn } => {
                self.fence().await?;
                self.provider.delete_listener(arn).await?;
                r.listeners.remove(port);
                Ok(None)
            }
            Action::SetScaling { color, scaling } => {
                self.set_scaling(r, *color, scaling.as_ref()).await
            }
            Action::Bake {
                color,
                weight,
                secs,
            } => self.bake(r, &plan.gates, *color, *weight, *secs).await,
            Action::RecordActive { parameter, color } => {
                self.record_active(r, parameter, *color).await
            }
            Action::RecordPrevious { record } => self.record_previous(r, record).await,
            Action::Hook {
                phase,
                color,
                command,
                release,
            } => {
                self.hook(r, *phase, *color, command, release.is_some())
                    .await
            }
            Action::MarkContractPending { color, release } => {
                self.provider
                    .set_contract_pending(&r.tg(*color)?, Some(release))
                    .await?;
                Ok(None)
            }
            Action::Smoke { color, checks } => {
                self.run_checks(r, *color, None, checks, "smoke test")
                    .await?;
                Ok(Some(format!("{} passed", checks.len())))
            }
            Action::AwaitPromotion { color } => Ok(Some(format!(
                "{color} is ready; `cutover promote` shifts traffic to it"
            ))),
            Action::DetachFleet { color } => self.detach_fleet(r, *color).await,
            Action::WaitDrain { color, secs } => self.wait_drain(r, *color, *secs).await,
            Action::ScaleToZero { color } => {
                self.check_shrink_safe(r, *color).await?;
                self.provider
                    .set_capacity(&r.fleet(*color), Capacity::ZERO)
                    .await?;
                Ok(None)
            }
            Action::Flip {
                to,
                traffic,
                record_active,
                record,
            } => {
                self.flip(r, *to, *traffic, record_active.as_deref(), record.as_ref())
                    .await
            }
            Action::RememberRolledBack { color, release } => {
                if let Some(sent) = r.remembered.take() {
                    sent?;
                    return Ok(None);
                }
                let at = self.provider.now();
                self.provider
                    .mark_rolled_back(&r.fleet(*color), release, at, BY_A_PERSON)
                    .await?;
                Ok(None)
            }
            Action::ClearRolledBack { color } => {
                self.provider.clear_rolled_back(&r.fleet(*color)).await?;
                Ok(None)
            }
            Action::DeleteFleet { color } => {
                self.check_shrink_safe(r, *color).await?;
                self.provider.delete_fleet(&r.fleet(*color)).await?;
                *r.fleets.get_mut(*color) = None;
                Ok(None)
            }
        }
    }

    async fn create_target_group(
        &self,
        r: &mut Resolved,
        color: Color,
        config: &TargetGroupConfig,
    ) -> Result<Detail, StepError> {
        let arn = self
            .provider
            .create_target_group(&self.app, color, config)
            .await?;
        *r.target_groups.get_mut(color) = Some(arn);
        Ok(None)
    }

    /// The app's rule on `port` goes (the listener forwards already).
    async fn delete_rule(&self, r: &mut Resolved, port: u16) -> Result<Detail, StepError> {
        if let Some(arn) = r.rules.get(&port).cloned() {
            self.fence().await?;
            self.provider.delete_rule(&arn).await?;
            r.rules.remove(&port);
        }
        Ok(None)
    }

    async fn set_scaling(
        &self,
        r: &Resolved,
        color: Color,
        scaling: Option<&crate::model::Scaling>,
    ) -> Result<Detail, StepError> {
        let (fleet, tg) = (r.fleet(color), r.tg(color)?);
        self.provider
            .set_scaling(&fleet, scaling, &r.load_balancer, &tg)
            .await?;
        Ok(None)
    }

    /// The active colour recorded, with a last look at the lock and at the
    /// parameter. A write whose answer was lost is settled by what the
    /// parameter then says: a promotion that landed is a promotion.
    async fn record_active(
        &self,
        r: &mut Resolved,
        parameter: &str,
        color: Color,
    ) -> Result<Detail, StepError> {
        self.fence().await?;
        self.check_active_unchanged(r, parameter).await?;
        r.active_written(self.provider.now());
        let before = r.active;
        let written = self.write_active(parameter, color, before).await;
        match written {
            Ok(answered) => {
                r.active = Some(color);
                r.active_uncertain = false;
                Ok(answered
                    .is_none()
                    .then(|| "the answer was lost; read back".into()))
            }
            Err(Unlanded::Failed { error, seen }) => {
                match seen {
                    Some(seen) => r.active = seen,
                    None => r.active_uncertain = true,
                }
                Err(StepError::Provider(error))
            }
            Err(Unlanded::Stopped(e)) => Err(e),
        }
    }

    /// The promotion's first write, with the same looks as before recording
    /// the active colour.
    async fn record_previous(
        &self,
        r: &Resolved,
        record: &PreviousRecord,
    ) -> Result<Detail, StepError> {
        self.fence().await?;
        if let Some(active) = names::state_parameter_of_previous(&record.parameter) {
            self.check_active_unchanged(r, active).await?;
        }
        self.put_previous(record).await?;
        Ok(None)
    }

    async fn update_target_group(
        &self,
        r: &Resolved,
        color: Color,
        health_check: Option<&HealthCheck>,
        attributes: &AttributeChanges,
    ) -> Result<Detail, StepError> {
        let arn = r.tg(color)?;
        if let Some(hc) = health_check {
            self.provider.modify_health_check(&arn, hc).await?;
        }
        if !attributes.is_empty() {
            self.provider.set_attributes(&arn, attributes).await?;
        }
        Ok(None)
    }

    async fn create_version(
        &self,
        r: &mut Resolved,
        name: &str,
        release: &Release,
    ) -> Result<Detail, StepError> {
        let (id, v) = self
            .provider
            .create_launch_template_version(&self.app, r.template_id.as_deref(), name, release)
            .await?;
        r.template_id = Some(id);
        r.versions.insert(release.fingerprint.clone(), v);
        Ok(Some(format!("version {v}")))
    }

    /// An idle fleet running an older release leaves its target group and
    /// goes to zero, and the run waits until its instances are gone, so the
    /// new release starts on fresh instances. Auto Scaling acts after the
    /// call: a capacity of 0 then N before its activity runs would keep the
    /// old instances, and a new launch template version never replaces
    /// running ones.
    async fn recycle_fleet(&self, r: &mut Resolved, color: Color) -> Result<Detail, StepError> {
        self.check_shrink_safe(r, color).await?;
        let fleet = r.fleet(color);
        if r.attached(color) {
            self.provider
                .detach_target_group(&fleet, &r.tg(color)?)
                .await?;
        }
        self.provider.set_capacity(&fleet, Capacity::ZERO).await?;
        *r.fleets.get_mut(color) = Some(Vec::new());
        self.wait_empty(r, color).await?;
        Ok(None)
    }

    async fn ensure_fleet(
        &self,
        r: &mut Resolved,
        color: Color,
        config: &FleetConfig,
    ) -> Result<Detail, StepError> {
        let tg = r.tg(color)?;
        let template = r
            .template_id
            .clone()
            .ok_or_else(|| StepError::Missing("the launch template does not exist".into()))?;
        let version = *r.versions.get(&config.release).ok_or_else(|| {
            StepError::Missing(format!(
                "no launch template version holds release {}",
                config.release
            ))
        })?;
        let p = self.provider;
        *r.fleet_set_at.get_mut(color) = Some(p.now());
        match r.fleets.get(color) {
            None => {
                p.create_fleet(&self.app, color, config, &template, version, &tg)
                    .await?
            }
            Some(attached) => {
                if !attached.contains(&tg) {
                    p.attach_target_group(&config.name, &tg).await?;
                }
                p.update_fleet(config, &template, version).await?;
            }
        }
        *r.fleets.get_mut(color) = Some(vec![tg]);
        Ok(None)
    }

    /// Until `count` targets are healthy and none is not, or the timeout.
    /// A scaling activity that fails to launch an instance ends the wait at
    /// once with Auto Scaling's reason, rather than as "0 of 2 healthy"
    /// when the timeout runs out.
    async fn wait_healthy(
        &self,
        r: &Resolved,
        color: Color,
        count: u32,
        timeout_secs: u64,
    ) -> Result<Detail, StepError> {
        // This run's launches start after its fleet step (the slack allows
        // for a clock a little ahead of AWS's); when the run left the fleet
        // as it was, Auto Scaling's launches from now on. A failure from
        // before, a run that failed a moment ago, is not this one's.
        let since = match r.fleet_set_at.get(color) {
            Some(at) => at - LAUNCH_CLOCK_SLACK_SECS,
            None => self.provider.now(),
        };
        let fleet = r.fleet(color);
        // A role that may not read scaling activities waits on health alone.
        let mut ask = true;
        self.poll(None, async |elapsed| {
            let (healthy, targets) = self.healthy(r, color).await?;
            // Targets on their way out (a recycled colour's old instances)
            // get no new traffic and do not hold the release up.
            let all_ok = targets
                .iter()
                .filter(|t| !matches!(t.state, TargetState::Draining | TargetState::Unused))
                .all(|t| t.state.is_healthy());
            let said = format!("{healthy} of {count} healthy");
            let look = Look::waiting(healthy as u64, count as u64, said.clone());
            if healthy >= count && all_ok {
                return Ok(look.then(Some(said)));
            }
            let failed = if ask {
                match self.provider.failed_launch(&fleet, since).await {
                    Err(e) if e.is_denied() => {
                        ask = false;
                        None
                    }
                    found => found?,
                }
            } else {
                None
            };
            if let Some(failed) = failed {
                return Err(StepError::LaunchFailed {
                    fleet: fleet.clone(),
                    message: failed.message,
                    description: failed.description,
                });
            }
            if elapsed >= timeout_secs {
                return Err(StepError::NotHealthy {
                    color,
                    healthy,
                    wanted: count,
                    timeout_secs,
                    targets,
                });
            }
            Ok(look)
        })
        .await
    }

    async fn ensure_listener(
        &self,
        r: &mut Resolved,
        config: &ListenerConfig,
        weights: Weights,
    ) -> Result<Detail, StepError> {
        let is_prod = r.production == config.weights_at();
        if is_prod {
            self.check_weights_safe(r, weights).await?;
        }
        let forward = forward_for(&r.target_groups, weights);
        self.fence().await?;
        if is_prod {
            self.check_weights_unchanged(r).await?;
        }
        match (r.listeners.get(&config.port).cloned(), &config.rule) {
            (Some(listener), Some(rule)) => match r.rules.get(&config.port).cloned() {
                Some(arn) => self.provider.modify_rule(&arn, rule, &forward).await?,
                None => {
                    let arn = self
                        .provider
                        .create_rule(&self.app, config.role, &listener, rule, &forward)
                        .await?;
                    r.rules.insert(config.port, arn);
                }
            },
            (None, Some(_)) => {
                return Err(StepError::Missing(format!(
                    "the listener on port {} does not exist (with `rule`, it is someone else's)",
                    config.port
                )))
            }
            (Some(arn), None) => {
                // Read back when the answer is lost: the forward it holds.
                let at = crate::model::ForwardAt::Listener(arn.clone());
                let sorted = |mut f: crate::model::Forward| {
                    f.sort();
                    f
                };
                if is_prod {
                    r.weights_written(self.provider.now());
                }
                self.write_surely(
                    &format!("updating listener :{}", config.port),
                    &sorted(forward.clone()),
                    None,
                    async || self.provider.modify_listener(&arn, config, &forward).await,
                    async || Ok(sorted(self.provider.forward_of(&at).await?)),
                )
                .await
                .map_err(Unlanded::into_step_error)?;
            }
            (None, None) => {
                let arn = self
                    .provider
                    .create_listener(&self.app, &r.load_balancer, config, &forward)
                    .await?;
                r.listeners.insert(config.port, arn);
            }
        }
        if is_prod {
            r.weights = Some(weights);
            r.foreign = 0;
        }
        Ok(None)
    }

    /// One step of the shift: set the production weights and read them back.
    async fn set_weights(
        &self,
        r: &mut Resolved,
        weights: Weights,
        affinity_secs: u32,
    ) -> Result<Detail, StepError> {
        self.check_weights_safe(r, weights).await?;
        let at = r.production_forward()?;
        let forward = forward_for(&r.target_groups, weights);
        // Last look before the write: a rollback may have taken over, or
        // someone may have moved the weights.
        self.fence().await?;
        self.check_weights_unchanged(r).await?;
        r.weights_written(self.provider.now());
        let before = r.split();
        let written = self
            .write_surely(
                "shifting production",
                &(weights, 0),
                before.as_ref(),
                async || {
                    self.provider
                        .set_weights(&at, &forward, affinity_secs)
                        .await
                },
                async || self.read_split(r).await,
            )
            .await;
        let got = match written {
            Ok(got) => got,
            Err(Unlanded::Failed { error, seen }) => {
                // Production is where AWS shows it, or, unread, anywhere
                // this write or the one before put it.
                match seen {
                    Some((w, foreign)) => (r.weights, r.foreign) = (Some(w), foreign),
                    None => r.weights_uncertain = true,
                }
                return Err(StepError::Provider(error));
            }
            Err(Unlanded::Stopped(e)) => return Err(e),
        };
        if let Some(mut got) = got {
            let mut wanted = forward;
            got.sort();
            wanted.sort();
            if got != wanted {
                r.weights_uncertain = true;
                return Err(StepError::WeightsMismatch { wanted, got });
            }
        }
        r.weights = Some(weights);
        r.foreign = 0;
        r.weights_uncertain = false;
        Ok(Some("read back".into()))
    }

    /// Rollback: production all on `to` and, when it changes, `to` recorded
    /// as active, sent together so nothing slow stands before the flip. The
    /// decision was made on a read of target health moments before (a
    /// rollback must not wait for another). Each write whose answer is lost
    /// is sent again and read back (see `confirm.rs`). If the flip did not
    /// land but the record did, the record is put back: it keeps naming the
    /// colour that still has the traffic.
    async fn flip(
        &self,
        r: &mut Resolved,
        to: Color,
        traffic: bool,
        record_active: Option<&str>,
        previous_record: Option<&PreviousRecord>,
    ) -> Result<Detail, StepError> {
        let at = r.production_forward()?;
        let now = self.provider.now();
        let before = (r.split(), r.active);
        if traffic {
            r.weights_written(now);
        }
        if record_active.is_some() {
            r.active_written(now);
        }
        let remember = r.remember_with_flip.take();
        let writes = FlipWrites {
            at: &at,
            to,
            traffic,
            record_active,
            previous_record,
            remember: remember.as_ref(),
            weights_before: before.0,
            active_before: before.1,
        };
        let (flipped, recorded, previous, tagged) = self.flip_writes(r, writes).await;
        if let (Some(Ok(())), Some((_, release))) = (&tagged, &remember) {
            r.tagged_with_flip = Some(release.clone());
        }
        r.remembered = tagged;
        let p = self.provider;
        if let Err(e) = previous {
            self.reporter.event(Event::Warning(format!(
                "could not write the promotion record ({e}); a second rollback may not know where the first one came from"
            )));
        }
        if let (Err(_), Some(param), Ok(())) = (&flipped, record_active, &recorded) {
            if let Err(e) = p.put_active(param, to.other()).await {
                self.reporter.event(Event::Warning(format!(
                    "could not put {param} back to {} ({e}); `cutover drift` will show the mismatch",
                    to.other()
                )));
            }
        }
        if let Err(e) = flipped {
            if let Unlanded::Failed { seen: None, .. } = &e {
                r.weights_uncertain = true;
            }
            return Err(e.into_step_error());
        }
        r.weights = Some(Weights::all_on(to));
        r.weights_uncertain = false;
        match recorded {
            Ok(()) => {
                if record_active.is_some() {
                    r.active = Some(to);
                }
                Ok(None)
            }
            Err(Unlanded::Stopped(e)) => Err(e),
            Err(Unlanded::Failed { error, .. }) => Err(StepError::Unrecorded {
                color: to,
                source: error,
            }),
        }
    }

    /// The rollback's writes, all at once: the flip, the active colour,
    /// the promotion record and the rolled-back tag.
    async fn flip_writes(&self, r: &Resolved, w: FlipWrites<'_>) -> FlipAnswers {
        let p = self.provider;
        let weights = Weights::all_on(w.to);
        let forward = forward_for(&r.target_groups, weights);
        let flip = async {
            if !w.traffic {
                return Ok(());
            }
            // Session affinity off in the same write: nobody stays behind.
            self.write_surely(
                "flipping production",
                &(weights, 0),
                w.weights_before.as_ref(),
                async || p.set_weights(w.at, &forward, 0).await.map(|_| ()),
                async || self.read_split(r).await,
            )
            .await
            .map(|_| ())
        };
        let record = async {
            let Some(param) = w.record_active else {
                return Ok(());
            };
            self.write_active(param, w.to, w.active_before)
                .await
                .map(|_| ())
        };
        let previous = async {
            match w.previous_record {
                Some(rec) => self.put_previous(rec).await,
                None => Ok(()),
            }
        };
        // The tag of the release rolled back, when it is the next step, goes
        // out too: if the flip fails, the release is tagged all the same,
        // which errs on the safe side (a later apply asks for --retry; the
        // rollback run again tags it again).
        let tag = async {
            match w.remember {
                Some((color, release)) => Some(
                    p.mark_rolled_back(&r.fleet(*color), release, p.now(), BY_A_PERSON)
                        .await,
                ),
                None => None,
            }
        };
        futures::join!(flip, record, previous, tag)
    }

    /// Writes a promotion record, stamped now, sent until it lands (it is
    /// settled by what the record then holds, whatever its time).
    async fn put_previous(&self, rec: &PreviousRecord) -> Result<(), StepError> {
        let record = Previous {
            promoted: rec.promoted,
            color: rec.color,
            release: rec.release.clone(),
            capacity: rec.capacity,
            at: self.provider.now(),
            rolled_back: rec.rolled_back,
        };
        let value = record.to_value();
        let untimed = |p: Option<Previous>| p.map(|p| Previous { at: 0, ..p });
        let read = async || {
            let v = self.provider.read_lock(&rec.parameter).await?;
            Ok(untimed(v.as_deref().and_then(Previous::parse)))
        };
        self.write_surely(
            "writing the promotion record",
            &untimed(Some(record.clone())),
            None,
            async || self.provider.put_record(&rec.parameter, &value).await,
            read,
        )
        .await
        .map_err(Unlanded::into_step_error)?;
        Ok(())
    }

    /// Observe `color` at `weight`% for `secs`: both serving colours keep
    /// their full healthy capacity at every poll, and the plan's gates pass
    /// every [`GATE_INTERVAL_SECS`] and at the end.
    async fn bake(
        &self,
        r: &Resolved,
        gates: &[Check],
        color: Color,
        weight: u32,
        secs: u64,
    ) -> Result<Detail, StepError> {
        let mut gates_run_at: Option<u64> = None;
        self.poll(Some(secs), async |elapsed| {
            self.check_weights_unchanged(r).await?;
            // Evidence against the release first: when the new colour fails
            // too, that is the verdict, whatever the old colour's state.
            self.check_health_gate(r, color, true, weight).await?;
            let due = gates_run_at.is_none_or(|t| elapsed.saturating_sub(t) >= GATE_INTERVAL_SECS)
                || elapsed >= secs;
            if due && !gates.is_empty() {
                self.run_checks(r, color, Some(weight), gates, "gate")
                    .await?;
                gates_run_at = Some(elapsed);
            }
            let old = color.other();
            if r.weights.is_some_and(|w| w.get(old) > 0) {
                self.check_health_gate(r, old, false, weight).await?;
            }
            let baked = elapsed.min(secs);
            let look = Look::waiting(
                baked,
                secs,
                format!("{color} at {weight}%: {baked}s of {secs}s, gates passing"),
            );
            Ok(if elapsed >= secs {
                look.then(None)
            } else {
                look
            })
        })
        .await
    }

    /// The always-on gate: colour `c` keeps its full healthy capacity. The
    /// new colour (`is_new`) losing it is a verdict on the release; the
    /// colour production came from losing it is not.
    async fn check_health_gate(
        &self,
        r: &Resolved,
        c: Color,
        is_new: bool,
        weight: u32,
    ) -> Result<(), StepError> {
        let (healthy, targets) = self.healthy(r, c).await?;
        let wanted = self.wanted(r, c);
        if healthy >= wanted {
            return Ok(());
        }
        Err(if is_new {
            StepError::HealthLost {
                color: c,
                weight,
                healthy,
                wanted,
                targets,
            }
        } else {
            StepError::OldColorLost {
                color: c,
                weight,
                healthy,
                wanted,
                targets,
            }
        })
    }

    async fn hook(
        &self,
        r: &Resolved,
        phase: HookPhase,
        color: Color,
        command: &[String],
        clears_contract: bool,
    ) -> Result<Detail, StepError> {
        if phase == HookPhase::AfterTeardown {
            self.check_shrink_safe(r, color).await?;
            self.wait_empty(r, color).await?;
        }
        let vars = vec![
            ("CUTOVER_APP", self.app.app.clone()),
            ("CUTOVER_COLOR", color.to_string()),
            ("CUTOVER_PHASE", phase.as_str().to_string()),
        ];
        checks::command(command, vars, &self.hidden_env, HOOK_TIMEOUT)
            .await
            .map_err(|f| StepError::of_check(f, phase.as_str(), color, None))?;
        if clears_contract {
            self.provider
                .set_contract_pending(&r.tg(color)?, None)
                .await?;
        }
        Ok(None)
    }

    /// Until a colour's fleet has no instances (or is gone).
    async fn wait_empty(&self, r: &Resolved, color: Color) -> Result<(), StepError> {
        let fleet = r.fleet(color);
        self.poll(None, async |elapsed| {
            match self
                .provider
                .fleet_members(&fleet)
                .await?
                .map(|m| m.running)
            {
                None | Some(0) => Ok(Look::done(())),
                Some(n) if elapsed >= EMPTY_TIMEOUT_SECS => Err(StepError::StillRunning {
                    fleet: fleet.clone(),
                    instances: n,
                    waited_secs: EMPTY_TIMEOUT_SECS,
                }),
                Some(n) => Ok(Look::waiting(
                    0,
                    n as u64,
                    format!("{n} instances still terminating"),
                )),
            }
        })
        .await
    }

    /// Teardown, first part: the colour leaves its target group and drains.
    async fn detach_fleet(&self, r: &mut Resolved, color: Color) -> Result<Detail, StepError> {
        self.check_shrink_safe(r, color).await?;
        let tg = r.tg(color)?;
        self.provider
            .detach_target_group(&r.fleet(color), &tg)
            .await?;
        if let Some(tgs) = r.fleets.get_mut(color) {
            tgs.retain(|t| t != &tg);
        }
        Ok(None)
    }

    /// Waits while `color`'s targets drain: until none is registered
    /// (ELB lists a deregistered target as `draining` for up to the
    /// deregistration delay, and ends it early once its requests are done),
    /// and never longer than the delay. A target that still looks
    /// registered (a read that lags the deregistration) keeps the wait
    /// going; only the delay ends it then.
    async fn wait_drain(&self, r: &Resolved, color: Color, secs: u64) -> Result<Detail, StepError> {
        let tg = r.tg(color)?;
        self.poll(Some(secs), async |elapsed| {
            let drained = elapsed.min(secs);
            let left = if elapsed >= secs {
                0
            } else {
                let targets = self.provider.target_health(&tg).await?;
                targets
                    .iter()
                    .filter(|t| t.state != TargetState::Unused)
                    .count()
            };
            let look = Look::waiting(
                drained,
                secs,
                format!("draining: {drained}s of {secs}s, {left} targets still registered"),
            );
            Ok(if elapsed >= secs {
                look.then(None)
            } else if left == 0 {
                look.then(Some(format!("drained after {drained}s")))
            } else {
                look
            })
        })
        .await
    }

    /// Runs checks against `color`; the first failure ends the step.
    async fn run_checks(
        &self,
        r: &Resolved,
        color: Color,
        weight: Option<u32>,
        list: &[Check],
        phase: &'static str,
    ) -> Result<(), StepError> {
        let env = CheckEnv {
            app: self.app.app.clone(),
            color: color.to_string(),
            target_group_arn: r
                .target_groups
                .get(color)
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            test_url: self.test_url.clone(),
            weight,
            hidden_env: self.hidden_env.clone(),
        };
        for check in list {
            let result = match check.kind.how() {
                How::Run(run) => checks::run(&run, check.timeout_secs, &env).await,
                // A gate that reads the cloud: what it reads not existing
                // is the plan's mistake, and a read that fails is AWS's
                // failure; neither is evidence against the release.
                How::Read(read) => match self.provider.read_gate(&read).await {
                    Ok(reading) => check.kind.judge(&reading),
                    Err(crate::provider::ProviderError::NotFound(e)) => Err(check.kind.missing(&e)),
                    Err(e) => return Err(StepError::Provider(e)),
                },
            };
            if let Err(f) = result {
                return Err(StepError::of_check(f, phase, color, weight));
            }
        }
        Ok(())
    }
}
