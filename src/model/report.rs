//! A run's record (`apply --report DIR`): what it set out to do, each step
//! as it went (with the provider's clock), every metric-gate evaluation
//! with its numbers, the outcome and the state a fresh read showed at the
//! end. Written as the run goes (rollout.json), so a killed run leaves what
//! it saw. Pure data: `shell::report` writes it, `render::report` says it.

use crate::model::{Color, Timestamp, Weights};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the report's shape; a change that is not an addition
/// raises it.
pub const REPORT_VERSION: u32 = 1;

/// rollout.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub report_version: u32,
    pub app: String,
    /// The plan file.
    pub plan: String,
    /// "release", "first_deploy", "in_place", "rollback" (`rollback
    /// --report`: `from` is the colour sent back from, `release` the
    /// release rolled back), …: what the plan does.
    pub kind: String,
    /// The release deployed, when the plan deploys one.
    pub release: Option<String>,
    /// The colour production comes from, and the one it goes to.
    pub from: Option<Color>,
    pub to: Option<Color>,
    /// When the run began (the provider's clock, seconds since the epoch).
    pub started_at: Timestamp,
    pub steps: Vec<ReportStep>,
    /// Every metric-gate evaluation, in the order judged.
    pub evaluations: Vec<Evaluation>,
    pub warnings: Vec<String>,
    /// How the run ended; `None` while it runs (or when it was killed).
    pub outcome: Option<ReportOutcome>,
}

/// One step of the plan as the run carried it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportStep {
    /// 1-based, of `total`.
    pub index: usize,
    pub total: usize,
    /// What the step does, in words.
    pub what: String,
    pub started_at: Timestamp,
    /// `None` while it runs, or when the run stopped in it.
    pub ended_at: Option<Timestamp>,
    /// What it found or did ("read back", "2 of 2 healthy").
    pub detail: Option<String>,
    /// The production weights the step wrote, when it shifts traffic.
    pub weights: Option<Weights>,
    /// Lines it said as it went (not evaluations, which have their own list).
    pub notes: Vec<String>,
}

/// One metric gate's judgement of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluation {
    /// When it was judged (the provider's clock).
    pub at: Timestamp,
    /// The gate's name ("error_rate", "latency p99", a custom gate's name),
    pub gate: String,
    /// and all its settings in words.
    pub described: String,
    /// The colour judged, and its share of production then.
    pub color: Color,
    pub weight: u32,
    /// The whole minutes judged: from (inclusive) to (exclusive).
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    /// "fraction" (an error rate, 0.01 is 1%), "seconds" (latency) or
    /// "value" (a custom gate).
    pub unit: String,
    /// The judged colour's window: `None` when it had nothing to judge.
    pub green: Option<WindowValue>,
    /// What it was compared with, when a limit is relative to blue.
    pub blue: Option<BaselineValue>,
    pub limits: ReportLimits,
    /// "pass", "fail" or "no_evidence".
    pub verdict: String,
    /// Why, for a failure or no evidence.
    pub why: Option<String>,
    /// The evaluation as the terminal showed it.
    pub text: String,
}

/// A window's requests and value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WindowValue {
    pub requests: f64,
    pub value: f64,
}

/// Blue's numbers, and from when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineValue {
    pub requests: f64,
    pub value: f64,
    /// "same_minutes", or "step_before" (blue had none in these minutes).
    pub from: String,
}

/// A gate's limits, in the evaluation's unit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ReportLimits {
    pub max: Option<f64>,
    pub max_above_baseline: Option<f64>,
    pub max_ratio: Option<f64>,
    pub min_requests: u64,
}

/// How the run ended, and where production was after it, read fresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportOutcome {
    /// "converged", "paused", "rolled_back", "held", "aborted", "moved".
    pub result: String,
    /// The process's exit code.
    pub exit_code: i32,
    /// The summary apply printed.
    pub said: String,
    pub ended_at: Timestamp,
    /// Production and the active colour after the run (`None`: not read).
    pub weights: Option<Weights>,
    pub active: Option<Color>,
}
