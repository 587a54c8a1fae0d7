//! Saved plans: `cutover plan PLAN --out FILE` writes the plan with the
//! plan file it came from and the live state it read; `cutover apply FILE`
//! checks the file, then re-reads live state and refuses a stale plan,
//! saying what changed, instead of applying decisions made on state that is
//! gone.
//!
//! The file is checked, not trusted: its steps must be what planning its
//! own plan file text against its own observed state gives, so a step
//! edited by hand (another image under the original release's
//! fingerprint, another app's resources) is refused before anything runs.

use crate::model::observed::Observed;
use crate::model::plan::Plan;
use crate::spec::Spec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped when the file's meaning changes (2: the whole observed state is
/// saved, so the plan can be made again from it; 3: launch template
/// versions hold their launch data, reasons and change keys are typed).
pub const SAVED_PLAN_VERSION: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub saved_plan_version: u32,
    /// The plan file's path when the plan was made (for messages).
    pub plan_file: String,
    /// The plan file's text, so apply acts on exactly what was reviewed.
    pub plan_file_text: String,
    pub retry: bool,
    pub plan: Plan,
    /// `Observed::shape` of the live state the plan was made from.
    pub observed: Value,
    /// That live state, whole: the plan is made again from it to check the
    /// file.
    pub observed_state: Observed,
}

/// Why a saved plan is not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("the saved plan is for app {saved:?}, but the plan file saved with it is for app {file:?}: it was edited; run `cutover plan --out` again")]
    OtherApp { saved: String, file: String },
    #[error("the saved plan's live state does not match its fingerprint ({saved} saved, {actual} now): it was edited; run `cutover plan --out` again")]
    StateEdited { saved: String, actual: String },
    #[error("the saved plan is not what its plan file and live state give: it was edited after it was made ({first}); run `cutover plan --out` again")]
    Edited { first: String },
    #[error("its plan file and saved state no longer make a plan: {0}")]
    Unplannable(String),
}

/// The saved plan is exactly what planning its plan file (`spec`, parsed
/// from the saved text) against its saved live state gives.
pub fn verify(saved: &SavedPlan, spec: &Spec) -> Result<(), SavedPlanError> {
    if saved.plan.app != spec.app {
        return Err(SavedPlanError::OtherApp {
            saved: saved.plan.app.clone(),
            file: spec.app.clone(),
        });
    }
    let actual = saved.observed_state.fingerprint();
    if actual != saved.plan.observed_fingerprint || saved.observed_state.shape() != saved.observed {
        return Err(SavedPlanError::StateEdited {
            saved: saved.plan.observed_fingerprint.clone(),
            actual,
        });
    }
    let opts = crate::decide::planner::PlanOptions {
        retry: saved.retry,
        promote: false,
    };
    let again = crate::decide::planner::plan_with(spec, &saved.observed_state, opts)
        .map_err(|e| SavedPlanError::Unplannable(e.to_string()))?;
    let (made, kept) = (to_value(&again), to_value(&saved.plan));
    match changes(&made, &kept, 1).into_iter().next() {
        None => Ok(()),
        Some(first) => Err(SavedPlanError::Edited { first }),
    }
}

fn to_value(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).expect("a plan serialises");
    crate::model::sort_keys(&mut v);
    v
}

/// True when `bytes` look like a saved plan rather than a TOML plan file.
pub fn is_saved_plan(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.trim_start().starts_with('{') && text.contains("\"saved_plan_version\"")
}

/// The differences between two shapes, as "path: old → new" lines (at most `max`).
pub fn changes(old: &Value, new: &Value, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    walk("", old, new, &mut out, max);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<String>, max: usize) {
    if out.len() >= max || old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    &child,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                    max,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), x, y, out, max);
            }
        }
        _ => out.push(format!("{path}: {} → {}", short(old), short(new))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}
