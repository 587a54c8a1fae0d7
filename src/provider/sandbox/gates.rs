//! What gates read from the simulated cloud: alarms the sandbox file sets.

use super::world::{not_found, World};
use crate::gate::{Read, Reading};
use crate::model::observed::AlarmState;
use crate::provider::Result;

/// The AWS operation that answers `read` (what a fault or a denial names).
pub(super) fn operation(read: &Read) -> &'static str {
    match read {
        Read::Alarm(_) => "DescribeAlarms",
    }
}

impl World {
    /// What a gate reads; what it names not existing is `NotFound`.
    pub(super) fn read_gate(&self, read: &Read) -> Result<Reading> {
        match read {
            Read::Alarm(name) => self
                .alarm_state(name)
                .map(Reading::Alarm)
                .ok_or_else(|| not_found(&format!("alarm {name}"))),
        }
    }

    /// An alarm's state: ALARM while an image it watches
    /// (`faults.alarms_while_serving`) serves production traffic, else
    /// what the file sets.
    pub(super) fn alarm_state(&self, name: &str) -> Option<AlarmState> {
        let state = self.alarms.get(name).copied()?;
        let firing = self
            .faults
            .alarms_while_serving
            .get(name)
            .is_some_and(|image| self.image_serves_production(image));
        Some(if firing { AlarmState::Alarm } else { state })
    }
}
