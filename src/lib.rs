//! cutover: declarative blue-green deployments for AWS.
//!
//! Functional core, imperative shell. The folders are the architecture:
//! - [`spec`]: the plan file, parsed and validated into a [`spec::Spec`];
//! - [`model`]: the data everything else speaks: values ([`model::Color`],
//!   [`model::Weights`] …), the [`model::observed::Observed`] snapshot of live
//!   state, and the [`model::plan::Plan`];
//! - [`gate`]: each kind of smoke test and gate: its keys, how it is
//!   shown, what it reads and its verdict;
//! - [`decide`]: pure decisions over that data: the planner, rollback, drift,
//!   diff, status, saved-plan staleness;
//! - [`render`]: text, markdown and JSON views of what `decide` produced;
//! - [`provider`]: the cloud behind one trait: real AWS and the sandbox;
//! - [`shell`]: everything with I/O: the CLI and its commands, the executor,
//!   the lock, checks, notifications and progress.
//!
//! `spec`, `model`, `decide` and `render` use no tokio, no AWS SDK, no HTTP and
//! no processes; `tests/it/architecture.rs` keeps it that way.

pub mod decide;
pub mod gate;
pub mod model;
pub mod provider;
pub mod render;
pub mod shell;
pub mod spec;
