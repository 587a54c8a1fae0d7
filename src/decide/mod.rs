//! Pure decisions: data in, data out. No tokio, no SDK, no clock (the
//! observed snapshot carries `now`), no I/O.
//!
//! - [`planner`]: (Spec, Observed) → Plan, what `apply` does;
//! - [`rollback`]: (Spec, Observed) → where `cutover rollback` goes;
//! - [`drift`]: (Spec, Observed) → findings, derived from the planner;
//! - [`diff`]: (Spec, Spec) → what a plan-file change does;
//! - [`preflight`]: (Spec, what exists) → errors on plan keys, warnings;
//! - [`status`]: (Spec, Observed) → Status;
//! - [`saved`]: saved plans and what changed since one was made;
//! - [`fleet`]: `apply` of many plans: waves, and the summary's rows.

pub mod diff;
pub mod drift;
pub mod fleet;
pub mod history;
pub mod planner;
pub mod preflight;
pub mod rollback;
pub mod saved;
pub mod status;
