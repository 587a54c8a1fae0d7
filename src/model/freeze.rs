//! A freeze (`cutover freeze`): while one is in place, `apply` and
//! `promote` start nothing and a running rollout moves no further forward
//! and tears nothing down; it ends held at its next step boundary.
//! `rollback` is never blocked.
//!
//! A freeze is an SSM String parameter: [`REGION_FREEZE`] for every app in
//! the account and region, or [`names::freeze_parameter`] beside one app's
//! active-colour parameter. Its value says who froze, when and why (JSON);
//! a parameter of that name put by hand (`aws ssm put-parameter --value
//! "incident 4411"`) freezes all the same, its value read as the reason.

use crate::model::{format_timestamp, names, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The parameter that freezes every app in the account and region.
pub const REGION_FREEZE: &str = "/cutover/freeze";

/// Whom a freeze holds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every app in the account and region.
    Region,
    /// One app.
    App,
}

/// One freeze in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Freeze {
    pub scope: Scope,
    /// The parameter that holds it (delete it, or `cutover thaw`, to lift it).
    pub parameter: String,
    /// Who froze (user@host), when cutover wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When (the parameter's last change, seconds since the epoch).
    pub at: Timestamp,
    pub reason: String,
}

/// What `cutover freeze` writes as the parameter's value.
#[derive(Debug, Serialize, Deserialize)]
struct Written {
    by: String,
    reason: String,
}

impl Freeze {
    /// The value `cutover freeze` writes.
    pub fn value(by: &str, reason: &str) -> String {
        serde_json::to_string(&Written {
            by: by.to_string(),
            reason: reason.to_string(),
        })
        .expect("a freeze serialises")
    }

    /// A freeze from its parameter's value and last change; any value
    /// freezes.
    pub fn parse(scope: Scope, parameter: &str, value: &str, at: Timestamp) -> Freeze {
        let (by, reason) = match serde_json::from_str::<Written>(value) {
            Ok(w) => (Some(w.by), w.reason),
            Err(_) => (None, value.trim().to_string()),
        };
        Freeze {
            scope,
            parameter: parameter.to_string(),
            by,
            at,
            reason,
        }
    }

    /// The parameters an app's freezes live in: the region's, the app's.
    pub fn parameters(state_parameter: &str) -> [(Scope, String); 2] {
        [
            (Scope::Region, REGION_FREEZE.to_string()),
            (Scope::App, names::freeze_parameter(state_parameter)),
        ]
    }

    /// The freezes in place for the app whose active-colour parameter is
    /// `state_parameter`, from a read of parameters (value, last change).
    pub fn found(
        state_parameter: &str,
        read: impl Fn(&str) -> Option<(String, Timestamp)>,
    ) -> Vec<Freeze> {
        Freeze::parameters(state_parameter)
            .into_iter()
            .filter_map(|(scope, name)| {
                let (value, at) = read(&name)?;
                Some(Freeze::parse(scope, &name, &value, at))
            })
            .collect()
    }

    /// "every app in this account and region is frozen by alice@laptop
    /// since 2026-01-01 09:00:00 UTC: incident 4411".
    pub fn said(&self) -> String {
        let whom = match self.scope {
            Scope::Region => "every app in this account and region is frozen",
            Scope::App => "the app is frozen",
        };
        format!("{whom} {}", self.details())
    }

    /// "by alice@laptop since 2026-01-01 09:00:00 UTC: incident 4411".
    pub fn details(&self) -> String {
        let by = self
            .by
            .as_deref()
            .map(|b| format!("by {b}"))
            .unwrap_or_else(|| format!("(by hand: parameter {})", self.parameter));
        let reason = if self.reason.is_empty() {
            "no reason given"
        } else {
            &self.reason
        };
        format!("{by} since {}: {reason}", format_timestamp(self.at))
    }

    /// How to lift it, for the plan file at `path` (none: "this plan file").
    pub fn thaw_hint(&self, path: Option<&str>) -> String {
        match (self.scope, path) {
            (Scope::Region, _) => "`cutover thaw` lifts it".to_string(),
            (Scope::App, Some(path)) => format!("`cutover thaw {path}` lifts it"),
            (Scope::App, None) => "`cutover thaw` of this plan file lifts it".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freeze_cutover_wrote_says_who_and_why_and_one_put_by_hand_freezes_too() {
        let v = Freeze::value("alice@laptop", "incident 4411");
        let f = Freeze::parse(Scope::Region, REGION_FREEZE, &v, 1_767_258_000);
        assert_eq!(f.by.as_deref(), Some("alice@laptop"));
        assert_eq!(
            f.said(),
            "every app in this account and region is frozen by alice@laptop since 2026-01-01 09:00:00 UTC: incident 4411"
        );
        let by_hand = Freeze::parse(
            Scope::App,
            "/cutover/shop/active-freeze",
            " db migration ",
            0,
        );
        assert_eq!(by_hand.reason, "db migration");
        assert!(by_hand
            .said()
            .contains("(by hand: parameter /cutover/shop/active-freeze)"));
    }
}
