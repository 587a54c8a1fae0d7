//! `cutover diff OLD NEW`: what merging a plan-file change will do, from the
//! two files alone (no cloud, no credentials): a new release, deployed
//! blue-green, or in-place changes, or settings that shape later runs. Pure.

use crate::model::format_duration;
use crate::spec::Spec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A setting that differs between the two plan files, by its key there
/// ("target_group.health_check.path").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SettingChange {
    pub key: String,
    /// The old plan file's value; `None` when it has none.
    pub old: Option<String>,
    /// The new plan file's value; `None` when it has none.
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SpecDiff {
    pub app: String,
    /// The launch data changed: a new release, deployed to the idle colour.
    pub release: Option<ReleaseChange>,
    /// Applied in place by the next apply (health check, capacity, listeners…).
    pub in_place: Vec<SettingChange>,
    /// How later deployments behave (steps, bakes, gates, teardown, hooks…).
    pub settings: Vec<SettingChange>,
    /// The app itself is another one: nothing carries over.
    pub app_renamed: Option<SettingChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseChange {
    pub old_release: String,
    pub new_release: String,
    /// What changed in the launch data.
    pub fields: Vec<SettingChange>,
    /// The shift, as the new plan file has it (% on the new colour).
    pub steps: Vec<u32>,
    pub bake_secs: u64,
}

impl SpecDiff {
    pub fn is_empty(&self) -> bool {
        self.release.is_none()
            && self.in_place.is_empty()
            && self.settings.is_empty()
            && self.app_renamed.is_none()
    }
}

struct Fields(Vec<SettingChange>);

impl Fields {
    fn cmp(&mut self, key: &str, old: impl ToString, new: impl ToString) {
        self.cmp_opt(key, Some(old.to_string()), Some(new.to_string()));
    }

    /// A value the plan file may leave out.
    fn cmp_opt(&mut self, key: &str, old: Option<String>, new: Option<String>) {
        if old != new {
            self.0.push(SettingChange {
                key: key.to_string(),
                old,
                new,
            });
        }
    }

    /// Changes the planner names by their own keys, under `prefix` (the
    /// plan file's table).
    fn under(&mut self, prefix: &str, changes: Vec<crate::model::plan::FieldChange>) {
        for c in changes {
            self.cmp_opt(&format!("{prefix}{}", c.key), c.old, c.new);
        }
    }
}

fn list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

/// What changes between two validated plans.
pub fn diff(old: &Spec, new: &Spec) -> SpecDiff {
    let mut renamed = Fields(Vec::new());
    renamed.cmp("app.name", &old.app, &new.app);
    SpecDiff {
        app: new.app.clone(),
        release: release(old, new),
        in_place: in_place(old, new),
        settings: settings(old, new),
        app_renamed: renamed.0.pop(),
    }
}

/// The launch data: a change is a new release.
fn release(old: &Spec, new: &Spec) -> Option<ReleaseChange> {
    let mut launch = Fields(Vec::new());
    // A line diff, unless either side says its user data is sensitive:
    // then only hashes.
    let sensitive = old.fleet.user_data_sensitive || new.fleet.user_data_sensitive;
    let (ol, nl) = (&old.fleet.launch, &new.fleet.launch);
    for (field, o, n) in crate::model::LaunchField::differences(ol, nl, sensitive) {
        launch.cmp_opt(&field.plan_key(), o, n);
    }
    (!launch.0.is_empty()).then(|| ReleaseChange {
        old_release: old.release().fingerprint,
        new_release: new.release().fingerprint,
        fields: launch.0,
        steps: new.rollout.steps.clone(),
        bake_secs: new.rollout.bake_secs,
    })
}

/// What the next apply changes in place.
fn in_place(old: &Spec, new: &Spec) -> Vec<SettingChange> {
    let mut in_place = Fields(Vec::new());
    let (ot, nt) = (&old.target_group, &new.target_group);
    in_place.under("target_group.", ot.health_check.diff(&nt.health_check));
    in_place.under("target_group.", ot.attributes.diff(&nt.attributes));
    in_place.cmp("target_group.port", ot.port, nt.port);
    in_place.cmp("target_group.protocol", ot.protocol, nt.protocol);
    in_place.cmp("target_group.vpc_id", &ot.vpc_id, &nt.vpc_id);
    let (oc, nc) = (old.fleet.capacity, new.fleet.capacity);
    in_place.cmp("fleet.min_size", oc.min, nc.min);
    in_place.cmp("fleet.desired_capacity", oc.desired, nc.desired);
    in_place.cmp("fleet.max_size", oc.max, nc.max);
    in_place.cmp(
        "fleet.subnets",
        list(&old.fleet.subnets),
        list(&new.fleet.subnets),
    );
    in_place.cmp("fleet.spot", old.fleet.spot, new.fleet.spot);
    in_place.cmp("load_balancer.name", &old.load_balancer, &new.load_balancer);
    let listener = |s: &Spec| -> Vec<String> {
        s.listeners()
            .map(|l| {
                format!(
                    ":{} {} {}{}{}",
                    l.port,
                    l.protocol,
                    l.role,
                    l.certificate_arn
                        .as_ref()
                        .map(|c| format!(" {c}"))
                        .unwrap_or_default(),
                    l.rule
                        .as_ref()
                        .map(|r| format!(" rule {} ({})", r.priority, r.matches_text()))
                        .unwrap_or_default()
                )
            })
            .collect()
    };
    in_place.cmp("listeners", list(&listener(old)), list(&listener(new)));

    in_place.0
}

/// What shapes later deployments.
fn settings(old: &Spec, new: &Spec) -> Vec<SettingChange> {
    let mut settings = Fields(Vec::new());
    let (or, nr) = (&old.rollout, &new.rollout);
    let steps = |s: &[u32]| list(&s.iter().map(u32::to_string).collect::<Vec<_>>());
    settings.cmp("rollout.steps", steps(&or.steps), steps(&nr.steps));
    settings.cmp(
        "rollout.bake",
        format_duration(or.bake_secs),
        format_duration(nr.bake_secs),
    );
    settings.cmp(
        "rollout.health_timeout",
        format_duration(or.health_timeout_secs),
        format_duration(nr.health_timeout_secs),
    );
    settings.cmp("rollout.auto_promote", or.auto_promote, nr.auto_promote);
    let checks =
        |c: &[crate::gate::Check]| list(&c.iter().map(|c| c.describe()).collect::<Vec<_>>());
    settings.cmp("rollout.smoke", checks(&or.smoke), checks(&nr.smoke));
    settings.cmp("rollout.gates", checks(&or.gates), checks(&nr.gates));
    settings.cmp(
        "teardown.policy",
        old.teardown.policy.as_str(),
        new.teardown.policy.as_str(),
    );
    settings.cmp(
        "teardown.delay",
        format_duration(old.teardown.delay_secs),
        format_duration(new.teardown.delay_secs),
    );
    settings.cmp(
        "state.parameter",
        &old.state_parameter,
        &new.state_parameter,
    );
    let hook = |h: &Option<Vec<String>>| h.as_ref().map(|c| c.join(" "));
    settings.cmp_opt(
        "hooks.before_deploy",
        hook(&old.hooks.before_deploy),
        hook(&new.hooks.before_deploy),
    );
    settings.cmp_opt(
        "hooks.after_teardown",
        hook(&old.hooks.after_teardown),
        hook(&new.hooks.after_teardown),
    );
    settings.cmp_opt(
        "notify.webhook_env",
        old.notify_webhook_env.clone(),
        new.notify_webhook_env.clone(),
    );
    settings.cmp_opt("app.region", old.region.clone(), new.region.clone());

    settings.0
}
