//! The sandbox: an in-process simulated cloud with the same resources cutover
//! owns on AWS, persisted to a JSON file between runs.
//!
//! It exists so a newcomer can run the whole flow with no AWS account, and so
//! engine tests are fast and deterministic. Instances boot and pass health
//! checks on a schedule derived from the target group's health check
//! (healthy after boot + healthy_threshold × interval), compressed by
//! `time_scale` on the real clock. With `clock = "virtual"` nothing waits:
//! `sleep` moves the sandbox's clock, so tests of hour-long bakes take
//! milliseconds and always produce the same output. A new file's clock,
//! `"skip-waits"`, is the wall clock with every wait jumped over (the
//! demo: bakes and metric windows pass at once, a teardown delay between
//! commands in real time); it also gets users' traffic (`traffic.rs`).
//!
//! Fault injection: instances of an image listed in `faults.unhealthy_images`
//! boot but never pass their health check.
//!
//! The folder: [`World`] and its resources in `world.rs`, the time in
//! `clock.rs`, fault injection in `faults.rs`, the file in `store.rs`, what
//! AWS does on its own between calls in `simulation.rs`, what an observation
//! lists in `listing.rs`, and the calls by service: `elb.rs`,
//! `autoscaling.rs`, `ssm.rs`, `seed.rs` (what exists before cutover).

mod autoscaling;
mod clock;
mod elb;
mod faults;
mod gates;
mod listing;
mod seed;
mod simulation;
mod ssm;
mod store;
mod traffic;
mod world;

pub use clock::{Clock, Settings};
pub use faults::Faults;
pub use world::{ImageTraffic, Traffic};
pub use world::{
    SbActivity, SbFleet, SbInstance, SbLaunchTemplate, SbListener, SbLoadBalancer, SbParameter,
    SbRule, SbTargetGroup, SbTemplateVersion, SbVpc, World, DEFAULT_REGION,
};

use crate::gate::metric::read::{MetricData, MetricQuery};
use crate::gate::{Read, Reading};
use crate::model::named::{Found, Named};
use crate::model::observed::{Managed, Observed, Reads, TargetHealth};
use crate::model::plan::{FleetConfig, ListenerConfig, TargetGroupConfig};
use crate::model::{
    AttributeChanges, Capacity, Color, FleetName, Forward, ForwardAt, HealthCheck, ListenerArn,
    ListenerRole, ListenerRule, LoadBalancerArn, Release, RuleArn, Scaling, TargetGroupArn,
    Timestamp,
};
use crate::provider::convention::tags::Mark;
use crate::provider::{
    hint_for, AppRef, FailedLaunch, Forwarding, Members, Provider, ProviderError, Result,
};
use async_trait::async_trait;
use faults::{fault_error, Fault};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use world::ACCOUNT;

/// The sandbox provider: a [`World`] kept in its file. Several processes
/// may share one sandbox, as several runs share one AWS account (a rollback
/// from another terminal while an apply runs): every call takes the file's
/// lock, reads what other processes changed, and saves its own change
/// before it lets go.
pub struct Sandbox {
    path: PathBuf,
    world: Mutex<World>,
    /// The file as this process last read or wrote it (modified, length):
    /// unchanged, it is not read again.
    seen: Mutex<Option<(std::time::SystemTime, u64)>>,
}

impl Sandbox {
    /// Opens the sandbox in `path`, creating it when missing.
    pub fn open(path: &Path) -> Result<Sandbox> {
        Sandbox::open_in(path, None)
    }

    /// The sandbox of `region` (`None`: whichever the file simulates):
    /// `path` when it simulates that region or does not exist yet, else the
    /// file beside it named for the region (`sandbox.eu-west-1.json`), so
    /// that regions are kept apart as AWS keeps them.
    pub fn open_in(path: &Path, region: Option<&str>) -> Result<Sandbox> {
        let Some(region) = region else {
            return Sandbox::open_file(path, None);
        };
        let here = Sandbox::open_file(path, Some(region))?;
        let holds = here
            .world
            .lock()
            .expect("sandbox lock")
            .region()
            .to_string();
        if holds == region {
            return Ok(here);
        }
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let beside = path.with_file_name(format!("{stem}.{region}.json"));
        Sandbox::open_file(&beside, Some(region))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads or changes the world directly (tests, fault injection), then saves.
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> Result<T> {
        let mut w = self.world.lock().expect("sandbox lock");
        let _lock = self.sync(&mut w)?;
        let out = f(&mut w);
        self.save(&w)?;
        Ok(out)
    }

    /// One API call: counts it, runs it on the world, and saves when it changed.
    fn call<T>(
        &self,
        op: &str,
        mutates: bool,
        f: impl FnOnce(&mut World) -> Result<T>,
    ) -> Result<T> {
        self.call_on(op, "", mutates, f)
    }

    /// A call on one resource, which `faults.denied` may name.
    fn call_on<T>(
        &self,
        op: &str,
        resource: &str,
        mutates: bool,
        f: impl FnOnce(&mut World) -> Result<T>,
    ) -> Result<T> {
        let mut w = self.world.lock().expect("sandbox lock");
        let _lock = self.sync(&mut w)?;
        *w.calls.entry(op.to_string()).or_default() += 1;
        let made = w.calls[op];
        let named = |d: &String| *d == op || *d == format!("{op} {resource}");
        let denied = w.faults.denied.iter().any(named)
            || (w.faults.denied_after.iter()).any(|(d, n)| named(d) && made > *n);
        if denied {
            let on = if resource.is_empty() {
                String::new()
            } else {
                format!(" on resource: {resource}")
            };
            return Err(ProviderError::Aws {
                operation: op.to_string(),
                code: Some("AccessDenied".into()),
                message: format!(
                    "User: arn:aws:iam::{ACCOUNT}:user/sandbox is not authorized to perform: {op}{on}"
                ),
                request_id: None,
                hint: hint_for("AccessDenied").into(),
            });
        }
        let draws = w.faults.draws;
        let always_lost = mutates
            && w.faults
                .lost
                .iter()
                .any(|d| d == op || *d == format!("{op} {resource}"));
        let fault = match w.faults.for_call(op, mutates) {
            None if always_lost => Some(Fault::Lost),
            drawn => drawn,
        };
        if let Some(f @ (Fault::Throttled | Fault::ServerError)) = fault {
            self.save(&w)?;
            return Err(fault_error(op, f, w.faults.draws));
        }
        let settled = w.settle();
        let out = match f(&mut w) {
            Ok(out) => out,
            Err(e) => {
                if settled || w.faults.draws != draws {
                    self.save(&w)?;
                }
                return Err(e);
            }
        };
        // The draws are saved too, so the next process goes on with the
        // seeded sequence.
        if mutates || settled || w.faults.draws != draws {
            self.save(&w)?;
        }
        if fault == Some(Fault::Lost) {
            return Err(fault_error(op, Fault::Lost, w.faults.draws));
        }
        Ok(out)
    }
}

#[async_trait]
impl Provider for Sandbox {
    fn describe(&self) -> String {
        format!("sandbox {}", self.path.display())
    }

    async fn observe_apps(&self, apps: &[AppRef], reads: Reads) -> Vec<Result<Observed>> {
        apps.iter()
            .map(|app| self.call("Observe", false, |w| w.observe(app, reads)))
            .collect()
    }

    async fn target_health(&self, arn: &TargetGroupArn) -> Result<Vec<TargetHealth>> {
        self.call("DescribeTargetHealth", false, |w| w.target_health(arn))
    }

    async fn create_target_group(
        &self,
        app: &AppRef,
        color: Color,
        c: &TargetGroupConfig,
    ) -> Result<TargetGroupArn> {
        self.call("CreateTargetGroup", true, |w| {
            w.create_target_group(app, color, c)
        })
    }

    async fn modify_health_check(&self, arn: &TargetGroupArn, hc: &HealthCheck) -> Result<()> {
        self.call("ModifyTargetGroup", true, |w| {
            w.modify_health_check(arn, hc)
        })
    }

    async fn set_scaling(
        &self,
        fleet: &FleetName,
        scaling: Option<&Scaling>,
        _load_balancer: &LoadBalancerArn,
        _target_group: &TargetGroupArn,
    ) -> Result<()> {
        let op = if scaling.is_some() {
            "PutScalingPolicy"
        } else {
            "DeletePolicy"
        };
        self.call(op, true, |w| w.set_scaling(fleet, scaling))
    }

    async fn set_attributes(&self, arn: &TargetGroupArn, changes: &AttributeChanges) -> Result<()> {
        self.call("ModifyTargetGroupAttributes", true, |w| {
            w.set_attributes(arn, changes)
        })
    }

    async fn create_launch_template_version(
        &self,
        _app: &AppRef,
        template_id: Option<&str>,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        let op = if template_id.is_some() {
            "CreateLaunchTemplateVersion"
        } else {
            "CreateLaunchTemplate"
        };
        self.call(op, true, |w| {
            w.create_launch_template_version(template_id, name, release)
        })
    }

    async fn create_fleet(
        &self,
        app: &AppRef,
        color: Color,
        c: &FleetConfig,
        template_id: &str,
        version: i64,
        tg_arn: &TargetGroupArn,
    ) -> Result<()> {
        self.call("CreateAutoScalingGroup", true, |w| {
            w.create_fleet(app, color, c, template_id, version, tg_arn)
        })
    }

    async fn update_fleet(&self, c: &FleetConfig, template_id: &str, version: i64) -> Result<()> {
        self.call("UpdateAutoScalingGroup", true, |w| {
            w.update_fleet(c, template_id, version)
        })
    }

    async fn set_capacity(&self, fleet: &FleetName, capacity: Capacity) -> Result<()> {
        let fleet = fleet.as_str();
        self.call("UpdateAutoScalingGroup", true, |w| {
            w.set_capacity(fleet, capacity)
        })
    }

    async fn attach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
        let (fleet, tg_arn) = (fleet.as_str(), tg_arn.as_str());
        self.call("AttachLoadBalancerTargetGroups", true, |w| {
            w.attach_target_group(fleet, tg_arn)
        })
    }

    async fn detach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
        let (fleet, tg_arn) = (fleet.as_str(), tg_arn.as_str());
        self.call("DetachLoadBalancerTargetGroups", true, |w| {
            w.detach_target_group(fleet, tg_arn)
        })
    }

    async fn delete_fleet(&self, fleet: &FleetName) -> Result<()> {
        let fleet = fleet.as_str();
        self.call("DeleteAutoScalingGroup", true, |w| w.delete_fleet(fleet))
    }

    async fn create_listener(
        &self,
        app: &AppRef,
        lb_arn: &LoadBalancerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<ListenerArn> {
        let lb_arn = lb_arn.as_str();
        self.call("CreateListener", true, |w| {
            w.create_listener(app, lb_arn, c, forward)
        })
    }

    async fn tag_listener(
        &self,
        app: &AppRef,
        listener: &ListenerArn,
        role: ListenerRole,
    ) -> Result<()> {
        self.call_on("AddTags", listener.as_str(), true, |w| {
            w.tag_listener(app, listener, role)
        })
    }

    async fn delete_listener(&self, listener: &ListenerArn) -> Result<()> {
        self.call_on("DeleteListener", listener.as_str(), true, |w| {
            w.delete_listener(listener)
        })
    }

    async fn forwards_on(&self, lb: &LoadBalancerArn) -> Result<Vec<Forwarding>> {
        self.call_on("DescribeListeners", lb.as_str(), false, |w| {
            w.forwards_on(lb)
        })
    }

    async fn modify_listener(
        &self,
        arn: &ListenerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<()> {
        self.call("ModifyListener", true, |w| {
            w.modify_listener(arn, c, forward)
        })
    }

    async fn create_rule(
        &self,
        app: &AppRef,
        role: ListenerRole,
        listener: &ListenerArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<RuleArn> {
        self.call_on("CreateRule", listener.as_str(), true, |w| {
            w.create_rule(app, role, listener, rule, forward)
        })
    }

    async fn modify_rule(
        &self,
        arn: &RuleArn,
        rule: &ListenerRule,
        forward: &Forward,
    ) -> Result<()> {
        self.call_on("ModifyRule", arn.as_str(), true, |w| {
            w.modify_rule(arn, rule, forward)
        })
    }

    async fn delete_rule(&self, arn: &RuleArn) -> Result<()> {
        self.call_on("DeleteRule", arn.as_str(), true, |w| w.delete_rule(arn))
    }

    async fn forward_of(&self, at: &ForwardAt) -> Result<Forward> {
        match at {
            ForwardAt::Listener(arn) => {
                self.call_on("DescribeListeners", arn.as_str(), false, |w| {
                    w.listener_forward(arn)
                })
            }
            ForwardAt::Rule(arn) => self.call_on("DescribeRules", arn.as_str(), false, |w| {
                w.rule_forward(arn)
            }),
        }
    }

    async fn set_weights(
        &self,
        at: &ForwardAt,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        match at {
            ForwardAt::Listener(arn) => self.call_on("ModifyListener", arn.as_str(), true, |w| {
                w.set_listener_weights(arn, forward, affinity_secs)
            }),
            ForwardAt::Rule(arn) => self.call_on("ModifyRule", arn.as_str(), true, |w| {
                w.set_rule_weights(arn, forward, affinity_secs)
            }),
        }
    }

    async fn put_active(&self, parameter: &str, color: Color) -> Result<()> {
        self.put_record(parameter, color.as_str()).await
    }

    async fn put_record(&self, parameter: &str, value: &str) -> Result<()> {
        self.call_on("PutParameter", parameter, true, |w| {
            w.put_parameter(parameter, value)
        })
    }

    async fn set_contract_pending(
        &self,
        arn: &TargetGroupArn,
        release: Option<&str>,
    ) -> Result<()> {
        self.call("AddTags", true, |w| w.set_contract_pending(arn, release))
    }

    async fn fleet_members(&self, fleet: &FleetName) -> Result<Option<Members>> {
        self.call("DescribeAutoScalingGroups", false, |w| {
            w.fleet_members(fleet)
        })
    }

    async fn look_up(&self, named: &Named) -> Result<Found> {
        // One call per lookup AWS would make, each with its own faults.
        let ops = [
            "DescribeLoadBalancers",
            "DescribeVpcs",
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeKeyPairs",
            "DescribeCertificate",
            "DescribeAlarms",
        ];
        let asked = |op: &str| match op {
            "DescribeKeyPairs" => named.key_pair.is_some(),
            "DescribeCertificate" => !named.certificates.is_empty(),
            "DescribeAlarms" => !named.alarms.is_empty(),
            _ => true,
        };
        let mut denied = Vec::new();
        for op in ops.into_iter().filter(|op| asked(op)) {
            match self.call(op, false, |_| Ok(())) {
                Ok(()) => {}
                Err(e) if e.is_denied() => denied.push(op),
                Err(e) => return Err(e),
            }
        }
        let w = self.world.lock().expect("sandbox lock");
        Ok(w.look_up(named, |op| denied.contains(&op)))
    }

    async fn failed_launch(
        &self,
        fleet: &FleetName,
        since: Timestamp,
    ) -> Result<Option<FailedLaunch>> {
        self.call("DescribeScalingActivities", false, |w| {
            w.failed_launch(fleet, since)
        })
    }

    async fn list_managed(&self) -> Result<Vec<Managed>> {
        self.call("ListManaged", false, |w| w.managed())
    }

    async fn read_gate(&self, read: &Read) -> Result<Reading> {
        self.call(gates::operation(read), false, |w| w.read_gate(read))
    }

    async fn read_metrics(&self, q: &MetricQuery) -> Result<MetricData> {
        self.call("GetMetricData", false, |w| Ok(w.metric_data(q)))
    }

    async fn mark(
        &self,
        fleet: &FleetName,
        mark: Mark,
        fingerprint: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<()> {
        self.call("CreateOrUpdateTags", true, |w| {
            w.mark(fleet, mark, fingerprint, at, why)
        })
    }

    async fn clear_mark(&self, fleet: &FleetName, mark: Mark) -> Result<()> {
        self.call("DeleteTags", true, |w| w.clear_mark(fleet, mark))
    }

    async fn try_lock(&self, name: &str, holder: &str) -> Result<Option<String>> {
        self.call_on("PutParameter", name, true, |w| w.try_lock(name, holder))
    }

    async fn read_lock(&self, name: &str) -> Result<Option<String>> {
        self.call("GetParameter", false, |w| w.read_lock(name))
    }

    async fn parameter_history(&self, name: &str) -> Result<Vec<(String, Timestamp)>> {
        self.call("GetParameterHistory", false, |w| w.parameter_history(name))
    }

    async fn template_versions(&self, name: &str) -> Result<Vec<crate::provider::TemplateVersion>> {
        self.call("DescribeLaunchTemplateVersions", false, |w| {
            Ok(w.launch_templates
                .values()
                .filter(|t| t.name == name)
                .flat_map(|t| &t.versions)
                .map(|v| crate::provider::TemplateVersion {
                    number: v.number,
                    description: Some(v.description.clone()),
                    image: Some(v.data.image_id.clone()),
                    created: Some(v.created_ms / 1000),
                })
                .collect())
        })
    }

    async fn delete_parameter(&self, name: &str) -> Result<()> {
        self.call("DeleteParameter", true, |w| w.delete_parameter(name))
    }

    async fn parameters(&self, names: &[String]) -> Result<BTreeMap<String, (String, Timestamp)>> {
        self.call("GetParameters", false, |w| Ok(w.parameters_named(names)))
    }

    fn now(&self) -> Timestamp {
        self.world.lock().expect("sandbox lock").now_ms() / 1000
    }

    fn poll_interval(&self) -> Duration {
        match self.world.lock().expect("sandbox lock").settings.clock {
            Clock::Real => Duration::from_millis(250),
            Clock::Virtual | Clock::SkipWaits => Duration::from_secs(5),
        }
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        self.world.lock().expect("sandbox lock").calls.clone()
    }

    async fn sleep(&self, d: Duration) {
        let clock = self.world.lock().expect("sandbox lock").settings.clock;
        // A clock that does not wait moves in the file, so that other
        // processes see it moved.
        let sleeps =
            clock == Clock::Real || self.with_world(|w| w.settings.skip(d)).unwrap_or(false);
        if sleeps {
            tokio::time::sleep(d).await;
        }
    }
}
