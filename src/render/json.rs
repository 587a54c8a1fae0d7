//! The plan as JSON: one versioned document per app, for bots and scripts.
//! Its JSON Schema (`cutover schema --plan-output`) is committed as
//! schemas/plan-output.schema.json.

use super::{describe_action, summary};
use crate::model::plan::{
    Action, Change, ChangeAction, FieldChange, Plan, PlanKind, Resource, Scope, Timeline,
};
use crate::model::Color;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning or goes away (adding fields does not).
/// 2: a change's `fields` are objects (`key`, `old`, `new`, null for none)
/// and its `target` names the resource by kind; values are no longer quoted.
pub const FORMAT_VERSION: u32 = 2;

/// `cutover plan --format json` for one app.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PlanDocument {
    pub format_version: u32,
    pub app: String,
    /// The plan file.
    pub source: String,
    /// One line saying what the plan does.
    pub summary: String,
    pub has_changes: bool,
    /// Fingerprint of the live state the plan was made from.
    pub observed_fingerprint: String,
    pub kind: PlanKind,
    /// Resource-level changes, each with its action and reason.
    pub changes: Vec<ChangeDocument>,
    /// The ordered steps `apply` will run.
    pub steps: Vec<StepDocument>,
    pub timeline: Option<Timeline>,
    /// Where production goes back to if a step fails before promotion.
    pub rollback_to: Option<Color>,
    /// The command that flips traffic back after this plan is applied.
    pub rollback_command: Option<String>,
    pub notes: Vec<String>,
}

/// A change, with its resource in words and by kind.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ChangeDocument {
    pub action: ChangeAction,
    /// "target group shop-blue", "listener :80 (production)".
    pub resource: String,
    pub target: Resource,
    pub fields: Vec<FieldChange>,
    pub reason: String,
    pub scope: Scope,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepDocument {
    /// 1-based.
    pub index: usize,
    pub description: String,
    pub reason: String,
    pub action: Action,
}

/// Several apps in one document (`cutover plan DIR --format json`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PlansDocument {
    pub format_version: u32,
    pub plans: Vec<PlanDocument>,
}

pub fn document(plan: &Plan) -> PlanDocument {
    let releases = matches!(
        plan.kind,
        PlanKind::Release { .. } | PlanKind::FirstDeploy { .. }
    );
    PlanDocument {
        format_version: FORMAT_VERSION,
        app: plan.app.clone(),
        source: plan.source.clone(),
        summary: summary(plan),
        has_changes: plan.has_changes(),
        observed_fingerprint: plan.observed_fingerprint.clone(),
        kind: plan.kind.clone(),
        changes: plan.changes.iter().map(change_document).collect(),
        steps: plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepDocument {
                index: i + 1,
                description: describe_action(&plan.app, &s.action),
                reason: s.reason.to_string(),
                action: s.action.clone(),
            })
            .collect(),
        timeline: plan.timeline.clone(),
        rollback_to: plan.rollback_to,
        rollback_command: releases.then(|| format!("cutover rollback {}", plan.source)),
        notes: plan.notes.iter().map(super::note).collect(),
    }
}

fn change_document(c: &Change) -> ChangeDocument {
    ChangeDocument {
        action: c.action,
        resource: super::resource(&c.resource),
        target: c.resource.clone(),
        fields: c.fields.clone(),
        reason: c.reason.to_string(),
        scope: c.scope,
    }
}

/// One plan as pretty JSON, or several in a [`PlansDocument`].
pub fn render(plans: &[Plan]) -> String {
    let value = |plan: &Plan| {
        let mut v = serde_json::to_value(document(plan)).expect("plan documents serialise");
        if plan.user_data_sensitive {
            hide_user_data(&mut v);
        }
        v
    };
    let text = match plans {
        [one] => serde_json::to_string_pretty(&value(one)),
        many => serde_json::to_string_pretty(&serde_json::json!({
            "format_version": FORMAT_VERSION,
            "plans": many.iter().map(value).collect::<Vec<_>>(),
        })),
    };
    text.expect("plan documents serialise") + "\n"
}

/// Every `user_data` text in a document (a release's launch data) as its
/// hash only.
fn hide_user_data(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                match child {
                    serde_json::Value::String(s) if k == "user_data" => {
                        *s = crate::model::sensitive_text(s);
                    }
                    _ => hide_user_data(child),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(hide_user_data),
        _ => {}
    }
}

/// The JSON Schema of `cutover plan --format json` (one plan or several).
pub fn schema() -> String {
    #[derive(JsonSchema)]
    #[allow(dead_code, clippy::large_enum_variant)]
    #[schemars(title = "cutover plan output", untagged)]
    enum Output {
        One(PlanDocument),
        Many(PlansDocument),
    }
    let mut schema = schemars::schema_for!(Output).to_value();
    crate::model::sort_keys(&mut schema);
    serde_json::to_string_pretty(&schema).expect("schema serialises") + "\n"
}

/// The JSON Schema of a run's rollout.json (`apply --report DIR`).
pub fn report_schema() -> String {
    schema_of::<crate::model::report::Report>()
}

/// The JSON Schema of `history --format json`.
pub fn history_schema() -> String {
    schema_of::<crate::model::history::History>()
}

/// The JSON Schema of `status --format json`: one app's status for a plan
/// named as a file, a list of them otherwise.
pub fn status_schema() -> String {
    #[derive(schemars::JsonSchema)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum StatusDocument {
        One(Box<crate::decide::status::Status>),
        Many(Vec<crate::decide::status::Status>),
    }
    schema_of::<StatusDocument>()
}

/// A type's JSON Schema, its keys sorted, as `cutover schema` prints it.
pub fn schema_of<T: schemars::JsonSchema>() -> String {
    let mut schema = schemars::schema_for!(T).to_value();
    crate::model::sort_keys(&mut schema);
    serde_json::to_string_pretty(&schema).expect("schema serialises") + "\n"
}
