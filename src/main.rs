//! The `cutover` binary: parse arguments, run the command, map the result to
//! an exit code. Everything else lives in the library.

use clap::Parser;
use cutover::shell::cli::Cli;
use cutover::shell::exit::ExitStatus;
use cutover::spec::PlanFileError;

fn main() {
    cutover::shell::timing::start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are successes; a usage error is bad input: exit 1
            // (clap's own 2 would read as "changes" to a script).
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 1 } else { 0 });
        }
    };
    cutover::shell::cli::init_tracing(&cli.global);
    let verbose = cli.global.verbose > 0;
    cutover::shell::timing::mark("arguments");
    let status = match cutover::shell::commands::run(cli) {
        Ok(status) => status,
        Err(err) => {
            if let Some(plan_err) = err.downcast_ref::<PlanFileError>() {
                eprintln!("{plan_err}");
            } else {
                eprintln!("error: {err:#}");
            }
            ExitStatus::Error
        }
    };
    cutover::shell::timing::mark("output");
    if verbose {
        if let Some(line) = cutover::shell::timing::line() {
            eprintln!("{line}");
        }
    }
    std::process::exit(status.code());
}
