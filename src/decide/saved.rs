//! Saved plans: `cutover plan PLAN --out FILE` writes the plan with the
//! plan file it came from and the shape of the live state it read; `cutover
//! apply FILE` re-reads live state and refuses a stale plan, saying what
//! changed, instead of applying decisions made on state that is gone.

use crate::model::plan::Plan;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped when the file's meaning changes.
pub const SAVED_PLAN_VERSION: u32 = 1;

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
