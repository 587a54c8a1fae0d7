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
    let holder = Holder::parse(&value)
        .map(|h| h.to_string())
        .unwrap_or(value);
    if !yes {
        eprintln!(
            "error: {} is locked by {holder}; if that run is gone, `cutover unlock {} --yes` breaks the lock",
            spec.app,
            path.display()
        );
        return Ok(ExitStatus::Error);
    }
    p.delete_lock(&name).await?;
    println!("Broke the lock of {}: it was held by {holder}.", spec.app);
    Ok(ExitStatus::Success)
}
