//! `[teardown]`: what happens to the old colour after a promotion, and when.

use super::raw::RawTeardown;
use super::Validator;
use crate::model::TeardownPolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeardownSpec {
    pub policy: TeardownPolicy,
    pub delay_secs: u64,
}

impl Validator<'_> {
    pub(super) fn teardown(&mut self, t: Option<&RawTeardown>) -> TeardownSpec {
        let (policy, delay_secs) = match t {
            None => (TeardownPolicy::ScaleToZero, 1800),
            Some(t) => {
                let policy = match t.policy.as_ref() {
                    None => TeardownPolicy::ScaleToZero,
                    Some(p) => match p.get_ref().as_str() {
                        "scale-to-zero" => TeardownPolicy::ScaleToZero,
                        "delete" => TeardownPolicy::Delete,
                        "keep" => TeardownPolicy::Keep,
                        other => {
                            self.error(
                                p.span(),
                                format!("teardown policy {other:?} is not one cutover knows"),
                                "use \"scale-to-zero\", \"delete\" or \"keep\"",
                            );
                            TeardownPolicy::ScaleToZero
                        }
                    },
                };
                (
                    policy,
                    self.duration("teardown.delay", t.delay.as_ref(), 1800),
                )
            }
        };

        TeardownSpec { policy, delay_secs }
    }
}
