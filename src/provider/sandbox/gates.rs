//! What gates read from the simulated cloud: alarms the sandbox file sets.

use super::world::{not_found, World};
use crate::gate::{Read, Reading};
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
                .alarms
                .get(name)
                .cloned()
                .map(Reading::Alarm)
                .ok_or_else(|| not_found(&format!("alarm {name}"))),
        }
    }
}
