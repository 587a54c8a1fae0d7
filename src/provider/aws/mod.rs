//! The AWS provider: the real AWS SDK for Rust over HTTP.
//!
//! Credentials and region come from the aws-config chain (`--region`,
//! `--profile`, the environment); `AWS_ENDPOINT_URL` or `--endpoint-url`
//! point it at any AWS-compatible endpoint (moto in the tests), and a
//! service's own `AWS_ENDPOINT_URL_<SERVICE>` sends that service elsewhere
//! (`endpoints.rs`). Observing an app takes two rounds of concurrent
//! describe calls. Where AWS (or moto) is not idempotent, cutover looks
//! before it creates: the planner only asks for what the snapshot showed
//! missing.

pub mod clock;
mod convert;
mod endpoints;
mod errors;
mod fleets;
mod gates;
pub use gates::{alarm_state, alarm_states};
mod listeners;
mod metrics;
pub use metrics::metric_data;
mod observe;
mod parameters;
mod preflight;
mod retry;
mod rules;
mod scaling;
mod target_groups;
mod templates;

use crate::model::observed::{Managed, Observed, Reads, TargetHealth};
use crate::model::plan::{FleetConfig, ListenerConfig, TargetGroupConfig};
use crate::model::{
    Capacity, Color, FleetName, Forward, HealthCheck, ListenerArn, LoadBalancerArn, Release,
    TargetGroupArn, Timestamp,
};
use crate::provider::{AppRef, FailedLaunch, Members, Provider, Result};
use async_trait::async_trait;
use aws_sdk_acm as acm;
use aws_sdk_autoscaling as asg;
use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_ssm as ssm;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Where to find AWS: everything optional falls back to the aws-config chain.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

pub struct Aws {
    elb: elb::Client,
    asg: asg::Client,
    ec2: ec2::Client,
    ssm: ssm::Client,
    cloudwatch: cloudwatch::Client,
    acm: acm::Client,
    region: String,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    /// Per listener ARN, the default actions before its forward as last
    /// read (say an authenticate-oidc someone configured): a weight change
    /// sends them back unchanged, in one call.
    kept_actions: Mutex<BTreeMap<String, Vec<elb::types::Action>>>,
    total_calls: AtomicU64,
    /// The region's target groups, as the last observation of many apps
    /// listed them, for `list_managed` right after.
    listed: Mutex<Option<observe::Listed>>,
    /// The system clock (a test build's may be compressed: `clock.rs`).
    clock: clock::Clock,
}

impl Aws {
    /// The shared configuration: region, credentials chain, retries and
    /// timeouts (a start-up phase of its own, timed by the shell). `Err`
    /// says which retry setting of the user's is wrong.
    pub async fn load_config(
        opts: &AwsOptions,
    ) -> std::result::Result<aws_types::SdkConfig, String> {
        let user = retry::UserRetry::load(opts.profile.as_deref()).await?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(retry::retry_config(&user, retry::test_backoff_ms()))
            .timeout_config(retry::timeout_config());
        if let Some(r) = &opts.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        let conf = loader.load().await;
        Ok(match &opts.endpoint_url {
            Some(u) => endpoints::shared(conf, u),
            None => conf,
        })
    }

    /// Each service's client on `conf`.
    pub fn from_config(conf: &aws_types::SdkConfig) -> Aws {
        let budget = retry::Budget::of_run();
        // Each service's client: the shared config, its own retry
        // partition, and the run's retry budget.
        macro_rules! client {
            ($service:ident) => {
                $service::Client::from_conf(
                    $service::config::Builder::from(conf)
                        .retry_partition(retry::partition(concat!(
                            "cutover-",
                            stringify!($service)
                        )))
                        .retry_classifier(budget.clone())
                        .build(),
                )
            };
        }
        Aws {
            elb: client!(elb),
            asg: client!(asg),
            ec2: client!(ec2),
            ssm: client!(ssm),
            cloudwatch: client!(cloudwatch),
            acm: client!(acm),
            region: conf
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "(no region)".into()),
            calls: Mutex::new(BTreeMap::new()),
            kept_actions: Mutex::new(BTreeMap::new()),
            total_calls: AtomicU64::new(0),
            listed: Mutex::new(None),
            clock: clock::Clock::from_env(),
        }
    }

    fn now_secs(&self) -> Timestamp {
        self.clock.now_secs()
    }

    fn count(&self, op: &'static str) {
        *self.calls.lock().expect("lock").entry(op).or_default() += 1;
        self.total_calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(operation = op, "aws call");
    }
}

/// Each call of the provider, carried out in the file of its concern.
#[async_trait]
impl Provider for Aws {
    fn describe(&self) -> String {
        format!("aws {}", self.region)
    }

    async fn observe_apps(&self, apps: &[AppRef], reads: Reads) -> Vec<Result<Observed>> {
        self.observe_batch(apps, reads).await
    }

    async fn target_health(&self, arn: &TargetGroupArn) -> Result<Vec<TargetHealth>> {
        Aws::target_health(self, arn).await
    }

    async fn create_target_group(
        &self,
        app: &AppRef,
        color: Color,
        c: &TargetGroupConfig,
    ) -> Result<TargetGroupArn> {
        Aws::create_target_group(self, app, color, c).await
    }

    async fn modify_health_check(&self, arn: &TargetGroupArn, hc: &HealthCheck) -> Result<()> {
        Aws::modify_health_check(self, arn, hc).await
    }

    async fn set_scaling(
        &self,
        fleet: &FleetName,
        scaling: Option<&crate::model::Scaling>,
        load_balancer: &LoadBalancerArn,
        target_group: &TargetGroupArn,
    ) -> Result<()> {
        Aws::set_scaling(self, fleet, scaling, load_balancer, target_group).await
    }

    async fn set_attributes(
        &self,
        arn: &TargetGroupArn,
        changes: &crate::model::AttributeChanges,
    ) -> Result<()> {
        Aws::set_attributes(self, arn, changes).await
    }

    async fn create_launch_template_version(
        &self,
        app: &AppRef,
        template_id: Option<&str>,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        Aws::create_launch_template_version(self, app, template_id, name, release).await
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
        Aws::create_fleet(self, app, color, c, template_id, version, tg_arn).await
    }

    async fn update_fleet(&self, c: &FleetConfig, template_id: &str, version: i64) -> Result<()> {
        Aws::update_fleet(self, c, template_id, version).await
    }

    async fn set_capacity(&self, fleet: &FleetName, c: Capacity) -> Result<()> {
        Aws::set_capacity(self, fleet, c).await
    }

    async fn attach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
        Aws::attach_target_group(self, fleet, tg_arn).await
    }

    async fn detach_target_group(&self, fleet: &FleetName, tg_arn: &TargetGroupArn) -> Result<()> {
        Aws::detach_target_group(self, fleet, tg_arn).await
    }

    async fn delete_fleet(&self, fleet: &FleetName) -> Result<()> {
        Aws::delete_fleet(self, fleet).await
    }

    async fn create_listener(
        &self,
        app: &AppRef,
        lb_arn: &LoadBalancerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<ListenerArn> {
        Aws::create_listener(self, app, lb_arn, c, forward).await
    }

    async fn modify_listener(
        &self,
        arn: &ListenerArn,
        c: &ListenerConfig,
        forward: &Forward,
    ) -> Result<()> {
        Aws::modify_listener(self, arn, c, forward).await
    }

    async fn create_rule(
        &self,
        app: &AppRef,
        role: crate::model::ListenerRole,
        listener: &ListenerArn,
        rule: &crate::model::ListenerRule,
        forward: &Forward,
    ) -> Result<crate::model::RuleArn> {
        Aws::create_rule(self, app, role, listener, rule, forward).await
    }

    async fn tag_listener(
        &self,
        app: &AppRef,
        listener: &ListenerArn,
        role: crate::model::ListenerRole,
    ) -> Result<()> {
        Aws::tag_listener(self, app, listener, role).await
    }

    async fn delete_listener(&self, listener: &ListenerArn) -> Result<()> {
        Aws::delete_listener(self, listener).await
    }

    async fn forwards_on(&self, lb: &LoadBalancerArn) -> Result<Vec<crate::provider::Forwarding>> {
        Aws::forwards_on(self, lb).await
    }

    async fn modify_rule(
        &self,
        arn: &crate::model::RuleArn,
        rule: &crate::model::ListenerRule,
        forward: &Forward,
    ) -> Result<()> {
        Aws::modify_rule(self, arn, rule, forward).await
    }

    async fn delete_rule(&self, arn: &crate::model::RuleArn) -> Result<()> {
        Aws::delete_rule(self, arn).await
    }

    async fn forward_of(&self, at: &crate::model::ForwardAt) -> Result<Forward> {
        Aws::forward_of(self, at).await
    }

    async fn set_weights(
        &self,
        at: &crate::model::ForwardAt,
        forward: &Forward,
        affinity_secs: u32,
    ) -> Result<Forward> {
        Aws::set_weights(self, at, forward, affinity_secs).await
    }

    async fn put_active(&self, parameter: &str, color: Color) -> Result<()> {
        Aws::put_active(self, parameter, color).await
    }

    async fn put_record(&self, parameter: &str, value: &str) -> Result<()> {
        Aws::put_record(self, parameter, value).await
    }

    async fn set_contract_pending(
        &self,
        arn: &TargetGroupArn,
        release: Option<&str>,
    ) -> Result<()> {
        Aws::set_contract_pending(self, arn, release).await
    }

    async fn fleet_members(&self, fleet: &FleetName) -> Result<Option<Members>> {
        Aws::fleet_members(self, fleet).await
    }

    async fn look_up(
        &self,
        named: &crate::model::named::Named,
    ) -> Result<crate::model::named::Found> {
        Aws::look_up(self, named).await
    }

    async fn failed_launch(
        &self,
        fleet: &FleetName,
        since: Timestamp,
    ) -> Result<Option<FailedLaunch>> {
        Aws::failed_launch(self, fleet, since).await
    }

    async fn list_managed(&self) -> Result<Vec<Managed>> {
        Aws::list_managed(self).await
    }

    async fn read_gate(&self, read: &crate::gate::Read) -> Result<crate::gate::Reading> {
        Aws::read_gate(self, read).await
    }

    async fn read_metrics(
        &self,
        q: &crate::gate::metric::read::MetricQuery,
    ) -> Result<crate::gate::metric::read::MetricData> {
        metrics::metric_data_counted(&self.cloudwatch, q, &|| self.count("GetMetricData")).await
    }

    async fn mark(
        &self,
        fleet: &FleetName,
        mark: crate::provider::convention::tags::Mark,
        fingerprint: &str,
        at: Timestamp,
        why: &str,
    ) -> Result<()> {
        Aws::mark(self, fleet, mark, fingerprint, at, why).await
    }

    async fn clear_mark(
        &self,
        fleet: &FleetName,
        mark: crate::provider::convention::tags::Mark,
    ) -> Result<()> {
        Aws::clear_mark(self, fleet, mark).await
    }

    async fn try_lock(&self, name: &str, holder: &str) -> Result<Option<String>> {
        Aws::try_lock(self, name, holder).await
    }

    async fn read_lock(&self, name: &str) -> Result<Option<String>> {
        Aws::read_lock(self, name).await
    }

    async fn parameter_history(&self, name: &str) -> Result<Vec<(String, Timestamp)>> {
        Aws::parameter_history(self, name).await
    }

    async fn template_versions(&self, name: &str) -> Result<Vec<crate::provider::TemplateVersion>> {
        Aws::template_versions(self, name).await
    }

    async fn delete_parameter(&self, name: &str) -> Result<()> {
        Aws::delete_parameter(self, name).await
    }

    async fn parameters(
        &self,
        names: &[String],
    ) -> Result<std::collections::BTreeMap<String, (String, Timestamp)>> {
        Aws::parameters(self, names).await
    }

    fn now(&self) -> Timestamp {
        self.now_secs()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(self.clock.wall(d)).await
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_secs(2)
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }
}
