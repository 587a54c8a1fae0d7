//! The executor: carries out a Plan step by step through a Provider.
//!
//! Every step is an idempotent "ensure" and the executor makes no choice the
//! plan did not record. What it adds are the safety checks of DESIGN.md,
//! made right before the mutation they guard, and the recorded failure path:
//! when a step fails before promotion, production goes back to the plan's
//! `rollback_to` colour in one listener update.

use crate::model::{format_duration, Capacity, Color, PerColor, Weights};
use crate::observed::{Observed, TargetHealth};
use crate::plan::{Action, Plan, PlanKind};
use crate::progress::{Event, Reporter};
use crate::provider::{forward_for, AppRef, Provider, ProviderError};
use crate::render::describe_action;
use std::collections::BTreeMap;
use std::time::Duration;

/// How a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{color} was not healthy within {}: {healthy} of {wanted} targets healthy{}", format_duration(*timeout_secs), unhealthy_list(.targets))]
    NotHealthy {
        color: Color,
        healthy: u32,
        wanted: u32,
        timeout_secs: u64,
        targets: Vec<TargetHealth>,
    },
    #[error("{color} lost health during the bake at {weight}%: {healthy} of {wanted} targets healthy{}", unhealthy_list(.targets))]
    GateFailed {
        color: Color,
        weight: u32,
        healthy: u32,
        wanted: u32,
        targets: Vec<TargetHealth>,
    },
    #[error("{phase} failed on {color}{}: {what}{}", weight.map(|w| format!(" at {w}%")).unwrap_or_default(), if output.is_empty() { String::new() } else { format!("\n  output:\n    {}", output.replace('\n', "\n    ")) })]
    CheckFailed {
        phase: &'static str,
        color: Color,
        weight: Option<u32>,
        what: String,
        output: String,
    },
    #[error("interrupted (Ctrl-C or SIGTERM)")]
    Interrupted,
    #[error("refusing to send traffic to {color}: {healthy} of {wanted} targets healthy (DESIGN.md invariant 1)")]
    UnsafeWeights {
        color: Color,
        healthy: u32,
        wanted: u32,
    },
    #[error("refusing to shrink {color}: {reason} (DESIGN.md invariants 2 and 3)")]
    UnsafeTeardown { color: Color, reason: String },
    #[error("the listener read back {got}, not the {wanted} that was set")]
    WeightsMismatch { wanted: String, got: String },
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

fn unhealthy_list(targets: &[TargetHealth]) -> String {
    let bad: Vec<String> = targets
        .iter()
        .filter(|t| t.state != "healthy")
        .map(|t| {
            let mut s = format!("\n  {} {}", t.id, t.state);
            if let Some(r) = &t.reason {
                s.push_str(&format!(" ({r})"));
            }
            if let Some(d) = &t.description {
                s.push_str(&format!(": {d}"));
            }
            s
        })
        .collect();
    if bad.is_empty() && targets.is_empty() {
        "\n  no targets are registered".into()
    } else {
        bad.concat()
    }
}

/// How an apply ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every step ran.
    Converged,
    /// A step failed; production traffic was put back where it belongs.
    Aborted(Abort),
}

#[derive(Debug)]
pub struct Abort {
    /// 1-based index of the failed step and what it was.
    pub step: usize,
    pub what: String,
    pub error: StepError,
    /// Where production traffic is now, when known.
    pub weights_now: Option<Weights>,
    /// The rollback that ran, if one was needed.
    pub rolled_back_to: Option<Color>,
    /// The failure came after the new colour was recorded as active (teardown).
    pub after_promotion: bool,
    pub rollback_error: Option<ProviderError>,
    /// The failed release was tagged as rolled back on its fleet.
    pub remembered: Option<String>,
}

/// ARNs and ids known so far: from the snapshot, then from what this run created.
struct Resolved {
    load_balancer: String,
    target_groups: PerColor<Option<String>>,
    listeners: BTreeMap<u16, String>,
    template_id: Option<String>,
    versions: BTreeMap<String, i64>,
    fleets: PerColor<Option<Vec<String>>>,
    prod_port: u16,
    weights: Option<Weights>,
    desired: u32,
    gates: Vec<crate::spec::Check>,
}

pub struct Executor<'a> {
    pub provider: &'a dyn Provider,
    pub app: AppRef,
    pub reporter: &'a dyn Reporter,
    /// How often to poll target health while waiting.
    pub poll: Duration,
    /// The plan's production listener port and desired capacity.
    pub production_port: u16,
    pub desired: u32,
    /// The test listener's URL for smoke tests and gates (`CUTOVER_TEST_URL`).
    pub test_url: String,
    /// Environment variables hooks, smoke tests and gates must not see (the
    /// webhook URL's variable).
    pub hidden_env: Vec<String>,
    /// Set (by Ctrl-C or SIGTERM) to stop at the next wait, as a failed step would.
    pub interrupt: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How long a `[hooks]` command may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long teardown may take to terminate the old colour's instances.
const EMPTY_TIMEOUT_SECS: i64 = 15 * 60;

/// How often command, HTTP and alarm gates run during a bake (target health
/// is checked at every poll).
const GATE_INTERVAL_SECS: i64 = 10;

impl Executor<'_> {
    pub async fn execute(&self, plan: &Plan, obs: &Observed) -> Outcome {
        let mut r = Resolved {
            load_balancer: obs
                .load_balancer
                .as_ref()
                .map(|l| l.arn.clone())
                .unwrap_or_default(),
            target_groups: PerColor {
                blue: obs.tg_arn(Color::Blue).map(str::to_string),
                green: obs.tg_arn(Color::Green).map(str::to_string),
            },
            listeners: obs
                .listeners
                .iter()
                .map(|l| (l.port, l.arn.clone()))
                .collect(),
            template_id: obs.launch_template.as_ref().map(|t| t.id.clone()),
            versions: obs
                .launch_template
                .iter()
                .flat_map(|t| t.versions.iter())
                .filter_map(|v| v.fingerprint.clone().map(|f| (f, v.number)))
                .collect(),
            fleets: PerColor {
                blue: obs.fleets.blue.as_ref().map(|f| f.target_groups.clone()),
                green: obs.fleets.green.as_ref().map(|f| f.target_groups.clone()),
            },
            prod_port: self.production_port,
            weights: obs
                .listener(self.production_port)
                .and_then(|l| obs.weights(l)),
            desired: self.desired,
            gates: plan.gates.clone(),
        };
        let total = plan.steps.len();
        let mut promoted = false;
        for (i, step) in plan.steps.iter().enumerate() {
            let what = describe_action(&plan.app, &step.action);
            self.reporter.event(Event::Started {
                index: i + 1,
                total,
                what: what.clone(),
            });
            let result = if self.interrupted() {
                Err(StepError::Interrupted)
            } else {
                self.run(&step.action, &mut r).await
            };
            match result {
                Ok(detail) => self.reporter.event(Event::Finished { detail }),
                Err(error) => {
                    let mut abort = Abort {
                        step: i + 1,
                        what,
                        error,
                        weights_now: r.weights,
                        rolled_back_to: None,
                        rollback_error: None,
                        after_promotion: promoted,
                        remembered: None,
                    };
                    if let (Some(to), false) = (plan.rollback_to, promoted) {
                        if r.weights.is_some_and(|w| w != Weights::all_on(to)) {
                            match self.restore(&mut r, to).await {
                                Ok(()) => abort.rolled_back_to = Some(to),
                                Err(e) => abort.rollback_error = Some(e),
                            }
                            abort.weights_now = r.weights;
                        }
                    }
                    if let (PlanKind::Release { to, release, .. }, false) = (&plan.kind, promoted) {
                        let fleet = self.app.name(*to);
                        let at = self.provider.now();
                        if self
                            .provider
                            .mark_rolled_back(&fleet, &release.fingerprint, at)
                            .await
                            .is_ok()
                        {
                            abort.remembered = Some(release.fingerprint.clone());
                        }
                    }
                    return Outcome::Aborted(abort);
                }
            }
            // Promotion is recording the new colour; recording the colour
            // traffic already belongs to (a lost parameter) is not.
            if let Action::RecordActive { color, .. } = step.action {
                if plan.rollback_to.is_some_and(|from| from != color) {
                    promoted = true;
                }
            }
            crash_point(i + 1);
        }
        Outcome::Converged
    }

    /// All production traffic back on `to`, one listener update, provided
    /// `to` can serve it (DESIGN.md invariants 1 and 7).
    async fn restore(&self, r: &mut Resolved, to: Color) -> Result<(), ProviderError> {
        let healthy = match self.healthy(r, to).await {
            Ok((healthy, _)) => healthy,
            Err(StepError::Provider(e)) => return Err(e),
            Err(e) => return Err(ProviderError::NotFound(e.to_string())),
        };
        if healthy < r.desired {
            return Err(ProviderError::NotFound(format!(
                "{to} has {healthy} of {} targets healthy, so traffic was left where it is",
                r.desired
            )));
        }
        let arn = r
            .listeners
            .get(&r.prod_port)
            .cloned()
            .ok_or_else(|| ProviderError::NotFound("production listener".into()))?;
        let w = Weights::all_on(to);
        self.provider
            .set_weights(&arn, &forward_for(&r.target_groups, w))
            .await?;
        r.weights = Some(w);
        Ok(())
    }

    fn tg(&self, r: &Resolved, c: Color) -> Result<String, StepError> {
        r.target_groups.get(c).clone().ok_or_else(|| {
            StepError::Missing(format!("target group {} does not exist", self.app.name(c)))
        })
    }

    async fn healthy(&self, r: &Resolved, c: Color) -> Result<(u32, Vec<TargetHealth>), StepError> {
        let targets = self.provider.target_health(&self.tg(r, c)?).await?;
        let healthy = targets.iter().filter(|t| t.state == "healthy").count() as u32;
        Ok((healthy, targets))
    }

    /// Invariant 1: every colour that gets weight has its full capacity healthy.
    async fn check_weights_safe(&self, r: &Resolved, w: Weights) -> Result<(), StepError> {
        for c in Color::ALL {
            let gains = w.get(c) > 0 && r.weights.is_none_or(|cur| cur.get(c) < w.get(c));
            if gains {
                let (healthy, _) = self.healthy(r, c).await?;
                if healthy < r.desired {
                    return Err(StepError::UnsafeWeights {
                        color: c,
                        healthy,
                        wanted: r.desired,
                    });
                }
            }
        }
        Ok(())
    }

    /// Runs checks against `color`; the first failure ends the step.
    async fn run_checks(
        &self,
        r: &Resolved,
        color: Color,
        weight: Option<u32>,
        checks: &[crate::spec::Check],
        phase: &'static str,
    ) -> Result<(), StepError> {
        let env = crate::checks::CheckEnv {
            app: self.app.app.clone(),
            color: color.to_string(),
            target_group_arn: r.target_groups.get(color).clone().unwrap_or_default(),
            test_url: self.test_url.clone(),
            weight,
            hidden_env: self.hidden_env.clone(),
        };
        for check in checks {
            let result = match &check.kind {
                crate::spec::CheckKind::Alarm(name) => {
                    match self.provider.alarm_state(name).await {
                        Ok(state) if state == "ALARM" => Err(crate::checks::CheckFailure {
                            what: format!("alarm {name} is in ALARM"),
                            output: String::new(),
                        }),
                        Ok(_) => Ok(()),
                        Err(e) => Err(crate::checks::CheckFailure {
                            what: format!("alarm {name} could not be read: {e}"),
                            output: String::new(),
                        }),
                    }
                }
                _ => crate::checks::run(check, &env).await,
            };
            if let Err(f) = result {
                return Err(StepError::CheckFailed {
                    phase,
                    color,
                    weight,
                    what: f.what,
                    output: f.output,
                });
            }
        }
        Ok(())
    }

    fn interrupted(&self) -> bool {
        self.interrupt.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sleeps, unless interrupted before or during the wait.
    async fn pause(&self, d: Duration) -> Result<(), StepError> {
        if self.interrupted() {
            return Err(StepError::Interrupted);
        }
        self.provider.sleep(d).await;
        if self.interrupted() {
            return Err(StepError::Interrupted);
        }
        Ok(())
    }

    /// Waits until a colour's fleet has no instances (or is gone).
    async fn wait_empty(&self, color: Color) -> Result<(), StepError> {
        let start = self.provider.now();
        loop {
            match self.provider.fleet_instances(&self.app.name(color)).await? {
                None | Some(0) => return Ok(()),
                Some(n) if self.provider.now() - start >= EMPTY_TIMEOUT_SECS => {
                    return Err(StepError::Missing(format!(
                        "{} still has {n} instances after {}; the after_teardown hook waits for none",
                        self.app.name(color),
                        format_duration(EMPTY_TIMEOUT_SECS as u64)
                    )))
                }
                Some(n) => {
                    self.reporter.event(Event::Waiting {
                        done: 0,
                        of: n as u64,
                        message: format!("{n} instances still terminating"),
                    });
                    self.pause(self.poll).await?;
                }
            }
        }
    }

    /// Invariants 2 and 3: never shrink a colour that has production weight.
    fn check_shrink_safe(&self, r: &Resolved, c: Color) -> Result<(), StepError> {
        match r.weights {
            Some(w) if w.get(c) > 0 => Err(StepError::UnsafeTeardown {
                color: c,
                reason: format!("it has {}% of production traffic", w.share(c)),
            }),
            _ => Ok(()),
        }
    }

    async fn run(&self, action: &Action, r: &mut Resolved) -> Result<Option<String>, StepError> {
        let p = self.provider;
        match action {
            Action::CreateTargetGroup { color, config } => {
                let arn = p.create_target_group(&self.app, *color, config).await?;
                *r.target_groups.get_mut(*color) = Some(arn);
            }
            Action::UpdateTargetGroup {
                color,
                health_check,
                deregistration_delay_secs,
            } => {
                let arn = self.tg(r, *color)?;
                if let Some(hc) = health_check {
                    p.modify_health_check(&arn, hc).await?;
                }
                if let Some(d) = deregistration_delay_secs {
                    p.set_deregistration_delay(&arn, *d).await?;
                }
            }
            Action::CreateLaunchTemplateVersion { name, release } => {
                let (id, v) = p
                    .create_launch_template_version(
                        &self.app,
                        r.template_id.as_deref(),
                        name,
                        release,
                    )
                    .await?;
                r.template_id = Some(id);
                r.versions.insert(release.fingerprint.clone(), v);
                return Ok(Some(format!("version {v}")));
            }
            Action::RecycleFleet { color } => {
                self.check_shrink_safe(r, *color)?;
                let name = self.app.name(*color);
                let tg = self.tg(r, *color)?;
                if r.fleets
                    .get(*color)
                    .as_ref()
                    .is_some_and(|tgs| tgs.contains(&tg))
                {
                    p.detach_target_group(&name, &tg).await?;
                }
                p.set_capacity(&name, Capacity::ZERO).await?;
                *r.fleets.get_mut(*color) = Some(Vec::new());
            }
            Action::EnsureFleet { color, config } => {
                let tg = self.tg(r, *color)?;
                let template = r.template_id.clone().ok_or_else(|| {
                    StepError::Missing("the launch template does not exist".into())
                })?;
                let version = *r.versions.get(&config.release).ok_or_else(|| {
                    StepError::Missing(format!(
                        "no launch template version holds release {}",
                        config.release
                    ))
                })?;
                match r.fleets.get(*color).clone() {
                    None => {
                        p.create_fleet(&self.app, *color, config, &template, version, &tg)
                            .await?;
                    }
                    Some(attached) => {
                        if !attached.contains(&tg) {
                            p.attach_target_group(&config.name, &tg).await?;
                        }
                        p.update_fleet(config, &template, version).await?;
                    }
                }
                *r.fleets.get_mut(*color) = Some(vec![tg]);
            }
            Action::SetCapacity { color, capacity } => {
                p.set_capacity(&self.app.name(*color), *capacity).await?;
            }
            Action::WaitHealthy {
                color,
                count,
                timeout_secs,
            } => {
                let start = p.now();
                loop {
                    let (healthy, targets) = self.healthy(r, *color).await?;
                    let all_ok = targets.iter().all(|t| t.state == "healthy");
                    self.reporter.event(Event::Waiting {
                        done: healthy as u64,
                        of: *count as u64,
                        message: format!("{healthy} of {count} healthy"),
                    });
                    if healthy >= *count && all_ok {
                        return Ok(Some(format!("{healthy} of {count} healthy")));
                    }
                    if p.now() - start >= *timeout_secs as i64 {
                        return Err(StepError::NotHealthy {
                            color: *color,
                            healthy,
                            wanted: *count,
                            timeout_secs: *timeout_secs,
                            targets,
                        });
                    }
                    self.pause(self.poll).await?;
                }
            }
            Action::EnsureListener { config, weights } => {
                let is_prod = config.port == r.prod_port;
                if is_prod {
                    self.check_weights_safe(r, *weights).await?;
                }
                let forward = forward_for(&r.target_groups, *weights);
                match r.listeners.get(&config.port).cloned() {
                    Some(arn) => p.modify_listener(&arn, config, &forward).await?,
                    None => {
                        let arn = p
                            .create_listener(&r.load_balancer, config, &forward)
                            .await?;
                        r.listeners.insert(config.port, arn);
                    }
                }
                if is_prod {
                    r.weights = Some(*weights);
                }
            }
            Action::SetWeights { weights } => {
                self.check_weights_safe(r, *weights).await?;
                let arn = r.listeners.get(&r.prod_port).cloned().ok_or_else(|| {
                    StepError::Missing("the production listener does not exist".into())
                })?;
                let forward = forward_for(&r.target_groups, *weights);
                let back = p.set_weights(&arn, &forward).await?;
                let mut got = back.clone();
                let mut want = forward.clone();
                got.sort();
                want.sort();
                if got != want {
                    return Err(StepError::WeightsMismatch {
                        wanted: format!("{want:?}"),
                        got: format!("{got:?}"),
                    });
                }
                r.weights = Some(*weights);
                return Ok(Some("read back".into()));
            }
            Action::Bake {
                color,
                weight,
                secs,
            } => {
                let start = p.now();
                let mut gates_run_at: Option<i64> = None;
                loop {
                    // Always-on gate: both colours keep their full healthy capacity.
                    for c in [*color, color.other()] {
                        let serving = c == *color || r.weights.is_some_and(|w| w.get(c) > 0);
                        if !serving {
                            continue;
                        }
                        let (healthy, targets) = self.healthy(r, c).await?;
                        if healthy < r.desired {
                            return Err(StepError::GateFailed {
                                color: c,
                                weight: *weight,
                                healthy,
                                wanted: r.desired,
                                targets,
                            });
                        }
                    }
                    let now = p.now();
                    let elapsed = (now - start).max(0) as u64;
                    let due = gates_run_at.is_none_or(|t| now - t >= GATE_INTERVAL_SECS)
                        || elapsed >= *secs;
                    if due && !r.gates.is_empty() {
                        self.run_checks(r, *color, Some(*weight), &r.gates, "gate")
                            .await?;
                        gates_run_at = Some(now);
                    }
                    self.reporter.event(Event::Waiting {
                        done: elapsed.min(*secs),
                        of: *secs,
                        message: format!(
                            "{color} at {weight}%: {}s of {secs}s, gates passing",
                            elapsed.min(*secs)
                        ),
                    });
                    if elapsed >= *secs {
                        break;
                    }
                    let left = Duration::from_secs(secs - elapsed);
                    self.pause(left.min(self.poll)).await?;
                }
            }
            Action::RecordActive { parameter, color } => {
                p.put_active(parameter, *color).await?;
            }
            Action::Hook {
                phase,
                color,
                command,
                release,
            } => {
                if *phase == crate::plan::HookPhase::AfterTeardown {
                    self.check_shrink_safe(r, *color)?;
                    self.wait_empty(*color).await?;
                }
                let vars = vec![
                    ("CUTOVER_APP", self.app.app.clone()),
                    ("CUTOVER_COLOR", color.to_string()),
                    ("CUTOVER_PHASE", phase.as_str().to_string()),
                ];
                crate::checks::command(command, vars, &self.hidden_env, HOOK_TIMEOUT)
                    .await
                    .map_err(|f| StepError::CheckFailed {
                        phase: phase.as_str(),
                        color: *color,
                        weight: None,
                        what: f.what,
                        output: f.output,
                    })?;
                if release.is_some() {
                    p.set_contract_pending(&self.tg(r, *color)?, None).await?;
                }
            }
            Action::MarkContractPending { color, release } => {
                p.set_contract_pending(&self.tg(r, *color)?, Some(release))
                    .await?;
            }
            Action::Smoke { color, checks } => {
                self.run_checks(r, *color, None, checks, "smoke test")
                    .await?;
                return Ok(Some(format!("{} passed", checks.len())));
            }
            Action::AwaitPromotion { color } => {
                return Ok(Some(format!(
                    "{color} is ready; `cutover promote` shifts traffic to it"
                )));
            }
            Action::DetachFleet { color } => {
                self.check_shrink_safe(r, *color)?;
                let tg = self.tg(r, *color)?;
                p.detach_target_group(&self.app.name(*color), &tg).await?;
                if let Some(tgs) = r.fleets.get_mut(*color) {
                    tgs.retain(|t| t != &tg);
                }
            }
            Action::WaitDrain { secs, .. } => {
                let start = p.now();
                loop {
                    let elapsed = (p.now() - start).max(0) as u64;
                    self.reporter.event(Event::Waiting {
                        done: elapsed.min(*secs),
                        of: *secs,
                        message: format!("draining: {}s of {secs}s", elapsed.min(*secs)),
                    });
                    if elapsed >= *secs {
                        break;
                    }
                    self.pause(Duration::from_secs(secs - elapsed).min(self.poll))
                        .await?;
                }
            }
            Action::ScaleToZero { color } => {
                self.check_shrink_safe(r, *color)?;
                p.set_capacity(&self.app.name(*color), Capacity::ZERO)
                    .await?;
            }
            Action::DeleteFleet { color } => {
                self.check_shrink_safe(r, *color)?;
                p.delete_fleet(&self.app.name(*color)).await?;
                *r.fleets.get_mut(*color) = None;
            }
        }
        Ok(None)
    }
}

/// Test hook for crash recovery: `CUTOVER_CRASH_AFTER_STEP=N` aborts the
/// process right after step N, as `kill -9` would, leaving live state as it is.
fn crash_point(step: usize) {
    if let Ok(n) = std::env::var("CUTOVER_CRASH_AFTER_STEP") {
        if n.trim().parse() == Ok(step) {
            eprintln!("CUTOVER_CRASH_AFTER_STEP={step}: aborting");
            std::process::abort();
        }
    }
}
