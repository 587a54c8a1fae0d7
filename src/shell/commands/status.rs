//! `cutover status PLAN`: what runs where, how healthy, and what a rollback would do.

use super::{load_spec, observe, provider, report_calls};
use crate::shell::cli::{Format, GlobalArgs};
use crate::shell::exit::ExitStatus;
use anyhow::Result;
use std::path::Path;

pub async fn run(g: &GlobalArgs, path: &Path, format: Format) -> Result<ExitStatus> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let obs = observe(p.as_ref(), &spec).await?;
    let status = crate::decide::status::status(&spec, &obs);
    match format {
        Format::Text => print!("{}", crate::render::status::render(&status)),
        Format::Markdown => print!(
            "**{}**\n\n```\n{}```\n",
            status.app,
            crate::render::status::render(&status)
        ),
        Format::Json => println!("{}", serde_json::to_string_pretty(&status)?),
    }
    report_calls(g, p.as_ref());
    Ok(ExitStatus::Success)
}
