//! An alarm gate: a CloudWatch alarm (metric or composite) the provider
//! reads; in ALARM it fails the gate. OK and INSUFFICIENT_DATA pass: the
//! alarm's own settings say whether missing data breaches. An alarm that
//! does not exist is the plan's mistake, never a pass.

use super::{CheckFailure, CheckKind, Read, Rules};
use crate::model::observed::AlarmState;
use crate::spec::located::Located;

/// What to do when the alarm does not exist.
pub(super) const WHEN_MISSING: &str = "create it, or fix the gate's `alarm`";

/// "alarm shop-5xx".
pub fn describe(name: &str) -> String {
    format!("alarm {name}")
}

/// The check an `alarm` key sets: gates only.
pub(super) fn kind(name: &Located<String>, gate: bool, rules: &mut dyn Rules) -> CheckKind {
    if !gate {
        rules.error(
            name.span(),
            "an alarm is a gate, not a smoke test".into(),
            "move it to a [[rollout.gates]] table".into(),
        );
    }
    CheckKind::Alarm(name.get_ref().clone())
}

pub(super) fn read(name: &str) -> Read {
    Read::Alarm(name.to_string())
}

/// ALARM fails the gate; any other state passes it.
pub(super) fn judge(name: &str, state: AlarmState) -> Result<(), CheckFailure> {
    match state {
        AlarmState::Alarm => Err(CheckFailure::failed(
            format!("alarm {name} is in ALARM"),
            String::new(),
        )),
        AlarmState::Ok | AlarmState::InsufficientData => Ok(()),
    }
}
