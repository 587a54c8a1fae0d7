//! The AWS provider's time: the system clock. A build with the
//! `test-switches` feature (the tests', never a release) may compress it,
//! so that a rollout of minutes runs in seconds against a local AWS:
//! `CUTOVER_TEST_MINUTE_MS=1000` makes one of the provider's minutes last
//! a second of wall time, counted from `CUTOVER_TEST_EPOCH_MS` (wall
//! milliseconds since the Unix epoch, which is also the provider's time at
//! that instant). Every process given the same two values agrees on what
//! minute it is: the tests' CloudWatch endpoint builds its clock with
//! [`Clock::compressed`] from the same numbers.
//!
//! Only cutover's own time is compressed (`now`, `sleep`, so bakes, waits
//! and timeouts); the timestamps AWS sends back stay real, so a
//! comparison of the two (a scaling activity newer than a wait's start)
//! means nothing under a compressed clock.

use crate::model::Timestamp;
use std::time::Duration;

/// How long one provider minute lasts, in wall milliseconds.
pub const MINUTE_MS_ENV: &str = "CUTOVER_TEST_MINUTE_MS";
/// Where the compressed clock starts (wall milliseconds since the epoch).
pub const EPOCH_MS_ENV: &str = "CUTOVER_TEST_EPOCH_MS";

const REAL_MINUTE_MS: u64 = 60_000;

/// The provider's clock: the system's, or the tests' compressed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    compressed: Option<Compressed>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Compressed {
    epoch_ms: u64,
    minute_ms: u64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// One minute lasting `minute_ms` of wall time from `epoch_ms` on.
    pub fn compressed(epoch_ms: u64, minute_ms: u64) -> Clock {
        Clock {
            compressed: Some(Compressed {
                epoch_ms,
                minute_ms: minute_ms.max(1),
            }),
        }
    }

    /// The compressed clock when a test build is given both variables as
    /// whole numbers, else the system clock (always in a release build).
    pub fn from_env() -> Clock {
        if !cfg!(feature = "test-switches") {
            return Clock::system();
        }
        let number = |var: &str| std::env::var(var).ok()?.trim().parse::<u64>().ok();
        match (number(MINUTE_MS_ENV), number(EPOCH_MS_ENV)) {
            (Some(minute_ms), Some(epoch_ms)) => Clock::compressed(epoch_ms, minute_ms),
            _ => Clock::system(),
        }
    }

    /// Milliseconds since the Unix epoch on this clock.
    pub fn now_ms(&self) -> u64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        match self.compressed {
            None => wall,
            Some(c) => c.epoch_ms + wall.saturating_sub(c.epoch_ms) * REAL_MINUTE_MS / c.minute_ms,
        }
    }

    /// Seconds since the Unix epoch on this clock.
    pub fn now_secs(&self) -> Timestamp {
        (self.now_ms() / 1000) as Timestamp
    }

    /// The wall time that `d` of this clock's time takes.
    pub fn wall(&self, d: Duration) -> Duration {
        match self.compressed {
            None => d,
            Some(c) => {
                let nanos = d.as_nanos() * u128::from(c.minute_ms) / u128::from(REAL_MINUTE_MS);
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compressed_minute_lasts_its_wall_time() {
        let clock = Clock::compressed(0, 1000);
        assert_eq!(clock.wall(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(
            clock.wall(Duration::from_secs(2)),
            Duration::from_nanos(33_333_333)
        );
        assert_eq!(
            Clock::system().wall(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
        // From its epoch on, 60 times as fast as the wall.
        let epoch = Clock::system().now_ms() - 1000;
        let now = Clock::compressed(epoch, 1000).now_ms();
        assert!(now >= epoch + 60_000 && now < epoch + 70_000, "{now}");
    }
}
