//! `cutover unlock PLAN --yes`: break a lock left behind, saying whose it was.

use super::{load_spec, provider};
use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use crate::shell::lock::Holder;
use anyhow::Result;
use std::path::Path;

pub async fn run(g: &GlobalArgs, path: &Path, yes: bool) -> Result<ExitStatus> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let name = crate::model::names::lock_parameter(&spec.state_parameter);
    let Some(value) = p.read_lock(&name).await? else {
        println!("{} is not locked.", spec.app);
        return Ok(ExitStatus::Success);
    };
    let parsed = Holder::parse(&value);
    let holder = parsed
        .as_ref()
        .map(|h| h.to_string())
        .unwrap_or_else(|raw| raw.clone());
    if !yes {
        eprintln!(
            "error: {} is locked by {holder}; if that run is gone, `cutover unlock {} --yes` breaks the lock",
            spec.app,
            path.display()
        );
        return Ok(ExitStatus::Error);
    }
    // A holder that may still run is told about at the moment it loses its
    // lock: it stops at its next look, with no further write.
    if let Ok(h) = &parsed {
        let here = h.host == crate::shell::lock::hostname();
        if here && !crate::shell::lock::is_dead_here(h) {
            eprintln!(
                "warning: {holder} is still running on this host: breaking its lock stops it at its next look, with no further write, and it says the lock was broken"
            );
        } else if !here {
            eprintln!(
                "warning: {holder} ran on another host, which cutover cannot look at: if it still runs, it stops at its next look, with no further write"
            );
        }
    }
    p.delete_parameter(&name).await?;
    println!("Broke the lock of {}: it was held by {holder}.", spec.app);
    Ok(ExitStatus::Success)
}
