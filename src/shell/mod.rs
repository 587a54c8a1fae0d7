//! The imperative shell: the only code with I/O. The CLI and one thin
//! command per subcommand, the executor that carries out a plan through a
//! provider, the lock, smoke tests and gates, notifications and progress.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod executor;
pub mod exit;
pub mod lock;
pub mod notify;
pub mod progress;
pub mod report;
pub mod run;
pub mod timing;
