//! What AWS does on its own between calls, as simulated time passes:
//! scaling activities, instances booting and passing (or failing) health
//! checks, terminations, draining; and what a read shows a moment after a
//! write (eventual consistency).

use super::world::{SbActivity, SbFleet, SbInstance, SbListener, SbTargetGroup, World};
use crate::model::observed::{TargetHealth, TargetState};
use crate::provider::{hint_for, ProviderError, Result};

/// How long Auto Scaling waits before it tries a failed launch again.
const RELAUNCH_SECS: f64 = 10.0;

impl World {
    /// A listener's forward as a describe shows it: for
    /// `faults.stale_read_secs` after a change, still the one before.
    pub(super) fn forward_as_read<'a>(&self, l: &'a SbListener) -> &'a Vec<(String, u32)> {
        match &l.before {
            Some((before, at))
                if self.simulated_secs_since(*at) < self.faults.stale_read_secs as f64 =>
            {
                before
            }
            _ => &l.forward,
        }
    }

    /// Auto Scaling finds a launch template version only
    /// `faults.stale_read_secs` after it was made (EC2 is eventually
    /// consistent); before that, the call fails as on AWS.
    pub(super) fn template_visible(&self, op: &str, template_id: &str, version: i64) -> Result<()> {
        let made = self
            .launch_templates
            .get(template_id)
            .and_then(|lt| lt.versions.iter().find(|v| v.number == version))
            .map(|v| v.created_ms);
        match made {
            Some(at) if self.simulated_secs_since(at) < self.faults.stale_read_secs as f64 => {
                Err(ProviderError::Aws {
                    operation: op.to_string(),
                    code: Some("ValidationError".into()),
                    message: format!("You must use a valid fully-formed launch template. The specified launch template, with template ID {template_id}, does not exist."),
                    request_id: None,
                    hint: hint_for("ValidationError").into(),
                })
            }
            _ => Ok(()),
        }
    }

    pub(super) fn instance_image(&self, fleet: &SbFleet, inst: &SbInstance) -> Option<String> {
        let lt = self.launch_templates.get(&fleet.template_id)?;
        lt.versions
            .iter()
            .find(|v| v.number == inst.template_version)
            .map(|v| v.data.image_id.clone())
    }

    pub(super) fn health_of(
        &self,
        tg: &SbTargetGroup,
        instance_id: &str,
        registered_ms: i64,
    ) -> TargetHealth {
        let found = self.fleets.values().find_map(|f| {
            f.instances
                .iter()
                .find(|i| i.id == instance_id)
                .map(|i| (f, i))
        });
        let Some((fleet, inst)) = found else {
            return TargetHealth {
                id: instance_id.to_string(),
                state: TargetState::Unused,
                reason: Some("Target.InvalidState".into()),
                description: Some("Target is in the stopped or terminated state".into()),
            };
        };
        let since = self.simulated_secs_since(inst.launched_ms.max(registered_ms));
        let boot = self.settings.boot_secs as f64;
        let hc = &tg.health_check;
        let checking = (hc.healthy_threshold * hc.interval_secs) as f64;
        let broken = self
            .instance_image(fleet, inst)
            .is_some_and(|img| self.faults.unhealthy_images.contains(&img));
        let (state, reason, description) = if since < boot {
            (
                TargetState::Initial,
                "Elb.RegistrationInProgress",
                "Target registration is in progress".to_string(),
            )
        } else if broken && since >= boot + (hc.unhealthy_threshold * hc.interval_secs) as f64 {
            (
                TargetState::Unhealthy,
                "Target.ResponseCodeMismatch",
                format!(
                    "Health checks failed with these codes: [503] (expected {} on {})",
                    hc.matcher, hc.path
                ),
            )
        } else if broken || since < boot + checking {
            (
                TargetState::Initial,
                "Elb.InitialHealthChecking",
                "Initial health checks in progress".to_string(),
            )
        } else {
            return TargetHealth {
                id: instance_id.to_string(),
                state: TargetState::Healthy,
                reason: None,
                description: None,
            };
        };
        TargetHealth {
            id: instance_id.to_string(),
            state,
            reason: Some(reason.into()),
            description: Some(description),
        }
    }

    /// Auto Scaling's and the load balancer's own work between calls, as
    /// simulated time passes: a capacity change is carried out by a scaling
    /// activity `scaling_delay_secs` after it was asked for; a fleet short
    /// of its capacity after a failed launch tries again every
    /// [`RELAUNCH_SECS`]; instances leave `terminating_secs` after they were
    /// scaled in; deregistered targets drain for the deregistration delay.
    /// True when anything changed.
    pub fn settle(&mut self) -> bool {
        // Users' requests flow through what was there until now.
        self.flow_traffic();
        let now = self.now_ms();
        let mut changed = false;
        let delay = self.settings.scaling_delay_secs as f64;
        // Each due activity with the time it ran.
        let due: Vec<(String, i64)> = self
            .fleets
            .iter()
            .filter_map(|(name, f)| {
                let asked = f
                    .activity_asked_ms
                    .map(|at| self.settings.ms_after(at, delay))
                    .filter(|ran| *ran <= now);
                let short = f.in_service().count() < f.capacity.desired as usize;
                let relaunch = f
                    .failed_activities
                    .last()
                    .filter(|_| short)
                    .map(|a| self.settings.ms_after(a.started_ms, RELAUNCH_SECS))
                    .filter(|ran| *ran <= now);
                asked.or(relaunch).map(|ran| (name.clone(), ran))
            })
            .collect();
        for (name, ran) in &due {
            self.reconcile_fleet(name, *ran);
            changed = true;
        }
        let gone_after = self.settings.terminating_secs as f64;
        let settings = &self.settings;
        let since = |ms: i64| settings.secs_between(ms, now);
        for f in self.fleets.values_mut() {
            let before = f.instances.len();
            f.instances
                .retain(|i| i.terminating_ms.is_none_or(|at| since(at) < gone_after));
            changed |= f.instances.len() != before;
        }
        for tg in self.target_groups.values_mut() {
            let delay = tg.attributes.deregistration_delay_secs as f64;
            let before = tg.draining.len();
            tg.draining.retain(|_, at| since(*at) < delay);
            changed |= tg.draining.len() != before;
        }
        changed
    }

    /// A capacity change was asked for: Auto Scaling acts on it later
    /// (at once with `scaling_delay_secs` 0). Changes asked for before the
    /// activity runs are carried out together, by the latest capacity: N,
    /// then 0, then N keeps the instances, as on AWS.
    pub(super) fn ask_scaling(&mut self, name: &str) {
        if self.settings.scaling_delay_secs == 0 {
            let now = self.now_ms();
            self.reconcile_fleet(name, now);
            return;
        }
        let now = self.now_ms();
        if let Some(f) = self.fleets.get_mut(name) {
            f.activity_asked_ms.get_or_insert(now);
        }
    }

    /// A scaling activity: brings a fleet's instances in service to its
    /// desired capacity. Scale-in marks the oldest Terminating and
    /// deregisters them (they drain); scale-out launches from the group's
    /// launch template version and registers with attached target groups,
    /// unless the launch fails (`faults.failing_images`).
    /// `now`: when the activity ran (ms).
    fn reconcile_fleet(&mut self, name: &str, now: i64) {
        let Some(mut fleet) = self.fleets.get(name).cloned() else {
            return;
        };
        fleet.activity_asked_ms = None;
        let desired = fleet.capacity.desired as usize;
        let mut serving = fleet.in_service().count();
        for inst in fleet.instances.iter_mut() {
            if serving <= desired {
                break;
            }
            if inst.terminating_ms.is_none() {
                inst.terminating_ms = Some(now);
                serving -= 1;
                for tg in self.target_groups.values_mut() {
                    tg.deregister(&inst.id, now);
                }
            }
        }
        let image = self
            .launch_templates
            .get(&fleet.template_id)
            .and_then(|lt| {
                lt.versions
                    .iter()
                    .find(|v| v.number == fleet.template_version)
            })
            .map(|v| v.data.image_id.clone());
        if serving < desired {
            if let Some(image) = image.filter(|i| self.faults.failing_images.contains(i)) {
                let reason = format!(
                    "The image id '[{image}]' does not exist. Launching EC2 instance failed."
                );
                fleet.failed_activities.push(SbActivity {
                    started_ms: now,
                    description: format!("Launching a new EC2 instance.  Status Reason: {reason}"),
                    message: reason,
                });
                let keep = fleet.failed_activities.len().saturating_sub(20);
                fleet.failed_activities.drain(..keep);
                serving = desired;
            }
        }
        while serving < desired {
            let id = format!("i-{:017x}", self.id());
            for arn in &fleet.target_groups {
                if let Some(tg) = self.target_groups.get_mut(arn) {
                    tg.targets.insert(id.clone(), now);
                }
            }
            fleet.instances.push(SbInstance {
                id,
                launched_ms: now,
                template_version: fleet.template_version,
                terminating_ms: None,
            });
            serving += 1;
        }
        self.fleets.insert(name.to_string(), fleet);
    }
}
