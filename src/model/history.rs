//! An app's releases over time (`cutover history`): which went live when,
//! which were rolled back, by what. Read from AWS alone: the release log
//! (each version of the `-history` parameter beside the active colour is
//! one [`LogEntry`]), the launch template's versions (one per release
//! built), and the rolled-back marks on the fleets (which also cover a
//! rollback whose log entry could not be written).

use crate::model::{Color, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of `history --format json`'s shape.
pub const HISTORY_VERSION: u32 = 1;

/// What happened to a release: one version of the release log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogEntry {
    pub event: LogEvent,
    /// The release's fingerprint (none: a release made before cutover
    /// recorded releases).
    pub release: Option<String>,
    /// The colour it ran on.
    pub color: Color,
    /// When (the cloud's clock, seconds since the epoch).
    pub at: Timestamp,
    /// Why, for a rollback: the gate and its numbers, a person, a health
    /// timeout; for going live, a window ignored (by whom, and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogEvent {
    /// Promoted: all of production on it, recorded as the active colour.
    Live,
    /// Sent back from: production went home to the other colour.
    RolledBack,
}

impl LogEntry {
    /// The value as the parameter holds it.
    pub fn to_value(&self) -> String {
        serde_json::to_string(self).expect("a log entry serialises")
    }

    /// From a version of the parameter; a value cutover did not write is
    /// `None`.
    pub fn parse(value: &str) -> Option<LogEntry> {
        serde_json::from_str(value).ok()
    }
}

/// A launch template version that holds a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub version: i64,
    pub release: String,
    pub image: Option<String>,
    pub at: Option<Timestamp>,
}

/// `cutover history --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct History {
    pub history_version: u32,
    pub app: String,
    /// Newest first (by the last thing that happened to each).
    pub releases: Vec<ReleaseHistory>,
    /// What the history cannot say (a log that could not be read, an
    /// older part AWS no longer keeps).
    pub notes: Vec<String>,
}

/// One release's story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseHistory {
    pub release: String,
    /// Its launch template version and image, when the version is still
    /// there.
    pub version: Option<i64>,
    pub image: Option<String>,
    /// When its launch template version was made.
    pub built_at: Option<Timestamp>,
    /// The colour it ran on last.
    pub color: Option<Color>,
    /// Each time it went live (with a note when it was deployed outside
    /// its window: by whom, and why).
    pub went_live: Vec<Happened>,
    /// Each time it was rolled back, and why.
    pub rolled_back: Vec<Happened>,
    /// Where it stands now: "live" (on the active colour), "held" (mid-
    /// shift for lack of evidence), "shifting" (some of production on it,
    /// not promoted: a rollout under way or stopped part-way), "idle" (on
    /// the idle colour with no traffic, never promoted: paused, or a run
    /// that stopped before its shift), "rolled_back", "replaced" (it was
    /// live, a later release took over) or "never_live".
    pub now: String,
    /// Its share of production, when a fleet runs it.
    pub share: Option<u32>,
}

/// When something happened to a release, and why (when recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Happened {
    pub at: Timestamp,
    /// Why, when it was recorded.
    pub why: Option<String>,
}
