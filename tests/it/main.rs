//! The integration tests: one binary, a readable harness.
//! - `cli`: the built binary's exit codes and messages.
//! - `sandbox`: whole deployments on the sandbox (virtual clock), golden output.
//! - `aws`: the same scenarios through the real AWS SDK against a moto server
//!   the harness starts (see CONTRIBUTING.md).

mod architecture;
mod aws;
mod cli;
mod cloudwatch;
mod exit_codes;
mod fleet;
mod harness;
mod metric_gates;
mod moto;
mod off_happy_path;
mod output;
mod plan_files;
mod planner;
mod preflight;
mod sandbox;
mod scenario;
