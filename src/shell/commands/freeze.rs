//! `cutover freeze [PLAN|DIR…] --reason R` and `cutover thaw [PLAN|DIR…]`:
//! put or lift a freeze (`model::freeze`), for every app in the account and
//! region (no plan given) or for each app given.

use super::{load_spec, plan_files, provider, provider_for};
use crate::model::freeze::{Freeze, Scope, REGION_FREEZE};
use crate::provider::Provider;
use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Where a freeze goes: its parameter, whom it holds ("every app in …",
/// "shop (plans/shop.toml)"), and the provider that holds it.
struct Target {
    parameter: String,
    scope: Scope,
    whom: String,
    /// The plan file, for an app's freeze.
    path: Option<String>,
    p: Box<dyn Provider>,
}

/// The region's freeze without plans, else each plan's app's.
async fn targets(g: &GlobalArgs, args: &[PathBuf]) -> Result<Vec<Target>> {
    if args.is_empty() {
        let p = provider_for(g, None, &[]).await?;
        let whom = format!("every app in {}", p.describe());
        return Ok(vec![Target {
            parameter: REGION_FREEZE.to_string(),
            scope: Scope::Region,
            whom,
            path: None,
            p,
        }]);
    }
    let mut out = vec![];
    for path in plan_files(args)? {
        let spec = load_spec(&path)?;
        let p = provider(g, &spec).await?;
        out.push(Target {
            parameter: crate::model::names::freeze_parameter(&spec.state_parameter),
            scope: Scope::App,
            whom: format!("{} ({})", spec.app, path.display()),
            path: Some(path.display().to_string()),
            p,
        });
    }
    Ok(out)
}

/// The freeze `t` holds now, if any.
async fn read(t: &Target) -> Result<Option<Freeze>> {
    let names = [t.parameter.clone()];
    let found =
        t.p.parameters(&names)
            .await
            .with_context(|| format!("reading {} in {}", t.parameter, t.p.describe()))?;
    Ok(found
        .get(&t.parameter)
        .map(|(value, at)| Freeze::parse(t.scope, &t.parameter, value, *at)))
}

pub async fn freeze(g: &GlobalArgs, args: &[PathBuf], reason: &str) -> Result<ExitStatus> {
    let reason = reason.trim();
    if reason.is_empty() {
        anyhow::bail!("--reason is empty: say why (an incident, a release freeze), so that whoever is refused knows whom to ask");
    }
    for t in targets(g, args).await? {
        let before = read(&t).await?;
        let me = crate::shell::lock::me("cutover freeze", t.p.now());
        let by = format!("{}@{}", me.user, me.host);
        t.p.put_record(&t.parameter, &Freeze::value(&by, reason))
            .await
            .with_context(|| format!("writing the freeze {} in {}", t.parameter, t.p.describe()))?;
        let replaced = before
            .map(|f| format!(" (it replaces: {})", f.said()))
            .unwrap_or_default();
        println!(
            "Froze {}: `apply` and `promote` start nothing, and a running rollout ends held at its next step; `rollback` is never blocked. `cutover thaw{}` lifts it.{replaced}",
            t.whom,
            t.path.as_deref().map(|p| format!(" {p}")).unwrap_or_default()
        );
    }
    Ok(ExitStatus::Success)
}

pub async fn thaw(g: &GlobalArgs, args: &[PathBuf]) -> Result<ExitStatus> {
    for t in targets(g, args).await? {
        let Some(f) = read(&t).await? else {
            println!("{} was not frozen.", t.whom);
            continue;
        };
        t.p.delete_parameter(&t.parameter).await.with_context(|| {
            format!("deleting the freeze {} in {}", t.parameter, t.p.describe())
        })?;
        println!("Thawed {}: it was frozen {}.", t.whom, f.details());
        if t.scope == Scope::App {
            let region = Target {
                parameter: REGION_FREEZE.to_string(),
                scope: Scope::Region,
                ..t
            };
            if let Some(still) = read(&region).await? {
                println!("  {} still holds it: {}", REGION_FREEZE, still.said());
            }
        }
    }
    Ok(ExitStatus::Success)
}
