//! cutover: declarative blue-green deployments for AWS.
//!
//! Functional core, imperative shell (see DESIGN.md):
//! - [`spec`] parses and validates the plan file into a [`spec::Spec`];
//! - a [`provider::Provider`] observes live state into an [`observed::Observed`];
//! - the pure [`planner`] turns both into a [`plan::Plan`];
//! - [`render`] shows it, the [`executor`] carries it out.
//!
//! `spec`, `model`, `observed`, `plan`, `planner`, `status` and `render` use
//! neither tokio nor the AWS SDK.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod drift;
pub mod executor;
pub mod exit;
pub mod lock;
pub mod model;
pub mod notify;
pub mod observed;
pub mod plan;
pub mod planner;
pub mod progress;
pub mod provider;
pub mod render;
pub mod saved;
pub mod spec;
pub mod status;
