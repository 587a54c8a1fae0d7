//! Fault injection: what the sandbox file says goes wrong (images that never
//! turn healthy or fail to launch, denied calls, throttles, server errors,
//! lost answers, stale reads), and the seeded draws that pick a call's fault.

use crate::provider::{hint_for, ProviderError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Instances of these images never pass their health check.
    #[serde(default)]
    pub unhealthy_images: Vec<String>,
    /// Calls refused as AWS refuses a call the role may not make: an
    /// operation ("PutParameter") or an operation on one resource
    /// ("PutParameter /cutover/shop/active").
    #[serde(default)]
    pub denied: Vec<String>,
    /// Launches of these images fail: the scaling activity fails with
    /// AWS's message for an image that does not exist, and no instance
    /// starts.
    #[serde(default)]
    pub failing_images: Vec<String>,
    /// Calls refused as `denied` refuses them once this many of the
    /// operation have been made (counted in `calls`): a permission taken
    /// away in the middle of a run. {"ModifyListener": 5}.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub denied_after: std::collections::BTreeMap<String, u64>,
    /// Share of calls (0–1) that fail as throttled once the SDK's retries
    /// ran out: AWS's `Throttling`, nothing done.
    #[serde(default)]
    pub throttle_rate: f64,
    /// Share of calls of these operations (0–1) that fail as throttled
    /// once the SDK's retries ran out: {"GetMetricData": 0.3}.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub throttled: std::collections::BTreeMap<String, f64>,
    /// Share of calls that fail with a 500 once the retries ran out.
    #[serde(default)]
    pub error_rate: f64,
    /// Share of writes whose answer is lost: the change is made, the
    /// caller gets an error (a dropped connection).
    #[serde(default)]
    pub lost_rate: f64,
    /// Writes whose answer is always lost, named as `denied` names calls
    /// ("PutParameter /cutover/shop/active"): the change is made, the caller
    /// gets an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost: Vec<String>,
    /// Simulated seconds a listener's weights read back as they were before
    /// the last change (a describe right after a write, eventually
    /// consistent).
    #[serde(default)]
    pub stale_read_secs: u64,
    /// Alarms that go to ALARM while a healthy instance of an image serves
    /// production traffic, as an alarm on the app's errors would when a
    /// bad release takes its share: {"shop-5xx": "ami-…"}. The alarm must
    /// exist in `alarms`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub alarms_while_serving: std::collections::BTreeMap<String, String>,
    /// Seeds the draws above, so a run repeats; `draws` counts them.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub draws: u64,
}

/// A fault drawn for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    Throttled,
    ServerError,
    Lost,
}

impl Faults {
    /// The next number in [0, 1) of the seeded sequence (splitmix64).
    fn draw(&mut self) -> f64 {
        self.draws += 1;
        let mut z = self
            .seed
            .wrapping_add(self.draws.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fault this call meets, if any.
    pub(super) fn for_call(&mut self, op: &str, mutates: bool) -> Option<Fault> {
        let throttle_rate = self
            .throttled
            .get(op)
            .copied()
            .unwrap_or(self.throttle_rate);
        if throttle_rate <= 0.0 && self.error_rate <= 0.0 && self.lost_rate <= 0.0 {
            return None;
        }
        let x = self.draw();
        let lost = if mutates { self.lost_rate } else { 0.0 };
        if x < throttle_rate {
            Some(Fault::Throttled)
        } else if x < throttle_rate + self.error_rate {
            Some(Fault::ServerError)
        } else if x < throttle_rate + self.error_rate + lost {
            Some(Fault::Lost)
        } else {
            None
        }
    }
}

/// The error a call meets, worded as the AWS provider words AWS's.
pub(super) fn fault_error(op: &str, fault: Fault, request: u64) -> ProviderError {
    let (code, message): (Option<&str>, &str) = match fault {
        Fault::Throttled => (Some("Throttling"), "Rate exceeded"),
        Fault::ServerError => (Some("InternalFailure"), "Internal failure"),
        Fault::Lost => (None, "the answer could not be read"),
    };
    ProviderError::Aws {
        operation: op.to_string(),
        code: code.map(str::to_string),
        message: message.to_string(),
        request_id: Some(format!("sandbox-{request:08x}")),
        hint: match fault {
            Fault::Lost => {
                "the call may have taken effect: run the command again, it picks up from live state"
            }
            _ => hint_for(code.unwrap_or("")),
        }
        .into(),
    }
}
