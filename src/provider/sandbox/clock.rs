//! The sandbox's time: the real clock, a virtual one that moves only when
//! cutover waits, or the real clock with every wait skipped (a new sandbox
//! file's), and how simulated seconds map onto it (`time_scale`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Wall-clock time; simulated boot and health checks run `time_scale` times faster.
    Real,
    /// Simulated time that only moves when cutover waits: instant and deterministic.
    Virtual,
    /// Wall-clock time, but a wait takes none: the clock jumps over it.
    /// Bakes of minutes (and the metric gates' windows) pass at once,
    /// while time still passes between commands (a teardown delay, a
    /// rollback window). A new sandbox file's clock.
    #[serde(rename = "skip-waits")]
    SkipWaits,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub clock: Clock,
    /// How much faster than real time instances boot and pass health checks (real clock).
    pub time_scale: f64,
    /// Simulated seconds from launch until the first health check.
    pub boot_secs: u64,
    /// The virtual clock, milliseconds since the epoch.
    pub virtual_now_ms: i64,
    /// How far waits have moved the skip-waits clock ahead of the wall
    /// clock (ms).
    #[serde(default)]
    pub skipped_ms: i64,
    /// Simulated seconds between a capacity change and the scaling activity
    /// that carries it out (AWS: seconds). 0 acts inside the call.
    #[serde(default = "default_scaling_delay")]
    pub scaling_delay_secs: u64,
    /// Simulated seconds an instance spends Terminating once scaled in.
    #[serde(default = "default_terminating")]
    pub terminating_secs: u64,
}

impl Settings {
    /// How many clock seconds a simulated one takes.
    fn clock_secs_per_simulated(&self) -> f64 {
        match self.clock {
            Clock::Virtual | Clock::SkipWaits => 1.0,
            Clock::Real => 1.0 / self.time_scale.max(0.001),
        }
    }

    /// The clock time (ms) `secs` simulated seconds after `from_ms`.
    pub(super) fn ms_after(&self, from_ms: i64, secs: f64) -> i64 {
        from_ms + (secs * self.clock_secs_per_simulated() * 1000.0) as i64
    }

    /// Simulated seconds from `from_ms` to `to_ms`.
    pub(super) fn secs_between(&self, from_ms: i64, to_ms: i64) -> f64 {
        (to_ms - from_ms).max(0) as f64 / 1000.0 / self.clock_secs_per_simulated()
    }

    /// The clock's time now, milliseconds since the epoch.
    pub(super) fn now_ms(&self) -> i64 {
        let wall = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0)
        };
        match self.clock {
            Clock::Virtual => self.virtual_now_ms,
            Clock::Real => wall(),
            Clock::SkipWaits => wall() + self.skipped_ms,
        }
    }

    /// Passes `d` of a wait: moves a clock that does not wait, and says
    /// whether the wait is still to be slept (the real clock's).
    pub(super) fn skip(&mut self, d: std::time::Duration) -> bool {
        let ms = d.as_millis() as i64;
        match self.clock {
            Clock::Real => return true,
            Clock::Virtual => self.virtual_now_ms += ms,
            Clock::SkipWaits => self.skipped_ms += ms,
        }
        false
    }

    /// Simulated seconds elapsed since `since_ms`.
    pub(super) fn secs_since(&self, since_ms: i64) -> f64 {
        self.secs_between(since_ms, self.now_ms())
    }
}

fn default_scaling_delay() -> u64 {
    5
}

fn default_terminating() -> u64 {
    10
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            clock: Clock::Real,
            time_scale: 10.0,
            boot_secs: 20,
            // 2026-01-01T00:00:00Z
            virtual_now_ms: 1_767_225_600_000,
            skipped_ms: 0,
            scaling_delay_secs: default_scaling_delay(),
            terminating_secs: default_terminating(),
        }
    }
}
