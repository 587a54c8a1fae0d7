//! `cutover rollback PLAN`: the emergency button. No prompt: one listener
//! update, and the active-colour update sent alongside it.

use super::{load_spec, provider, report_calls};
use crate::shell::cli::GlobalArgs;
use crate::shell::exit::ExitStatus;
use anyhow::{Context, Result};
use std::path::Path;

pub async fn run(g: &GlobalArgs, path: &Path) -> Result<ExitStatus> {
    let spec = load_spec(path)?;
    let p = provider(g, &spec).await?;
    let lock = super::lock(p.as_ref(), &spec, path, "rollback").await?;
    let result = locked(&spec, p.as_ref()).await;
    lock.release().await;
    report_calls(g, p.as_ref());
    result
}

async fn locked(spec: &crate::spec::Spec, p: &dyn crate::provider::Provider) -> Result<ExitStatus> {
    // No describe-everything before the flip: only what the decision needs.
    let obs = p
        .observe_traffic(&crate::provider::AppRef::from_spec(spec))
        .await
        .with_context(|| {
            format!(
                "reading the live traffic of {} from {}",
                spec.app,
                p.describe()
            )
        })?;
    let plan = match crate::decide::rollback::rollback(spec, &obs) {
        Ok(plan) => plan,
        Err(refusal) => {
            eprintln!("error: {refusal}");
            return Ok(ExitStatus::Error);
        }
    };
    // The flip and the record go out together: nothing slow before them.
    let flip = async {
        if plan.flip {
            p.set_weights(&plan.listener_arn, &plan.forward)
                .await
                .map(|_| ())
        } else {
            Ok(())
        }
    };
    let record = async {
        match &plan.record_active {
            Some(param) => p.put_active(param, plan.to).await,
            None => Ok(()),
        }
    };
    let (flipped, recorded) = futures::join!(flip, record);
    if let (Err(_), Some(param), Ok(())) = (&flipped, &plan.record_active, &recorded) {
        // The flip failed but the parameter moved: put it back, so it keeps
        // naming the colour that still has the traffic.
        if let Err(e) = p.put_active(param, plan.from).await {
            eprintln!("warning: could not put {param} back to {} ({e}); `cutover drift` will show the mismatch", plan.from);
        }
    }
    flipped.context("updating the production listener")?;
    recorded.with_context(|| {
        format!(
            "traffic is on {} but recording it as active failed; run `cutover rollback` again",
            plan.to
        )
    })?;
    if plan.flip {
        println!(
            "Rolled back {}: 100% of production on {} (was {}%).{}",
            spec.app,
            plan.to,
            plan.current_share,
            match &plan.record_active {
                Some(param) => format!(" {} recorded as active in {param}.", plan.to),
                None => format!(" {} stays the active colour.", plan.to),
            }
        );
    } else {
        println!(
            "Rolled back {}: production was already all on {}; the release on {} will not be promoted.",
            spec.app, plan.to, plan.from
        );
    }
    if let Some(n) = crate::shell::notify::Notifier::from_env(spec.notify_webhook_env.as_deref()) {
        n.send(&crate::shell::notify::Message {
            text: format!(
                "{}: rolled back to {}; production 100% on {}",
                spec.app, plan.to, plan.to
            ),
            app: spec.app.clone(),
            event: crate::shell::notify::Event::RolledBack,
            color: Some(plan.to.to_string()),
            release: plan.rejected_release.clone(),
            image: None,
            reason: None,
            at: p.now(),
        })
        .await;
    }
    // Remembered after the flip, off the critical path: a scheduled apply
    // does not deploy this release again without --retry.
    if let Some(fp) = &plan.rejected_release {
        let fleet = crate::model::names::fleet(&spec.app, plan.from);
        match p.mark_rolled_back(&fleet, fp, p.now()).await {
            Ok(()) => println!(
                "Release {fp} is remembered as rolled back: `cutover apply` will not deploy it again without --retry."
            ),
            Err(e) if !plan.flip => {
                // Nothing else happened: the paused release would still be promotable.
                eprintln!("error: could not tag {fleet} as rolled back ({e}); the release on {} is not abandoned", plan.from);
                return Ok(ExitStatus::Error);
            }
            Err(e) => eprintln!("warning: could not tag {fleet} as rolled back ({e}); a later apply may deploy release {fp} again"),
        }
    }
    println!(
        "{} keeps running, with no traffic, for inspection.",
        plan.from
    );
    Ok(ExitStatus::Success)
}
