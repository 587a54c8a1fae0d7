//! `cutover validate PLAN…`

use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use anyhow::Result;
use std::path::PathBuf;

pub fn run(g: &GlobalArgs, plans: &[PathBuf]) -> Result<ExitStatus> {
    let mut status = ExitStatus::Success;
    for path in plans {
        match crate::spec::load(path) {
            Ok(spec) => {
                if !g.quiet {
                    println!("{}: valid (app {})", path.display(), spec.app);
                }
            }
            Err(e) => {
                eprintln!("{e}");
                status = ExitStatus::Error;
            }
        }
    }
    Ok(status)
}
