//! `cutover apply` of many plans: how each app's run ended, one row per
//! plan file, in the order the waves ran them.

use schemars::JsonSchema;
use serde::Serialize;

/// How one app's part of a fleet apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// A release (or a first deploy) went live.
    Deployed,
    /// Only in-place changes, carried out.
    Changed,
    /// Deployed and waiting, as the plan says (`auto_promote = false`),
    /// for `cutover promote`: not finished, so the next wave waits too.
    Paused,
    /// Its plan had nothing to do: not run.
    NoChanges,
    /// A check failed, a person or CI stopped it: production is back on
    /// the colour it started from (exit 3).
    RolledBack,
    /// Held at a step (a freeze, its window closed, no evidence): production
    /// stays at that split; `apply` goes on from there (exit 1).
    Held,
    /// Anything else that went wrong (exit 1).
    Failed,
    /// Refused before it started: frozen, outside its window, locked, or
    /// its plan changed since it was shown (exit 1, nothing done).
    Refused,
    /// Never started: an app before it did not finish well, or the run
    /// was interrupted.
    NotStarted,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Deployed => "deployed",
            RunResult::Changed => "changed",
            RunResult::Paused => "paused for promote",
            RunResult::NoChanges => "no changes",
            RunResult::RolledBack => "rolled back",
            RunResult::Held => "held",
            RunResult::Failed => "failed",
            RunResult::Refused => "refused",
            RunResult::NotStarted => "not started",
        }
    }

    /// Finished well: the next wave may start.
    pub fn well(self) -> bool {
        matches!(
            self,
            RunResult::Deployed | RunResult::Changed | RunResult::NoChanges
        )
    }
}

/// One app's line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Row {
    pub app: String,
    /// The plan file.
    pub plan_file: String,
    pub wave: u32,
    /// The release production served before (its image), when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The release the plan deploys (its image), or "in place".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub result: RunResult,
    /// Why, in a sentence, when it did not go well (or what it was waiting for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How long its run took, seconds (none when it did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Where a rollback sent production, when one ran ("blue").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<String>,
    /// This app's exit code alone.
    pub exit_code: i32,
}

/// The summary of a fleet apply.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "cutover apply summary (several plans)")]
pub struct Summary {
    pub apps: Vec<Row>,
    /// The run's exit code: the worst of the apps' (130, else 1, else 3, else 0).
    pub exit_code: i32,
    /// Why nothing was applied, when the run stopped before any app started
    /// (a plan file that does not load, two plans for one app).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
