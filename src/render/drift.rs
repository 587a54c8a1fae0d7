//! `cutover drift` as text, markdown or JSON.

use crate::decide::drift::{AppDrift, Detail, DriftKind, Finding};
use crate::model::plan::Resource;
use serde::Serialize;
use std::fmt::Write;

fn headline(d: &AppDrift) -> String {
    match d.findings.len() {
        0 => format!("{}: in sync", d.app),
        1 => format!("{}: 1 drift finding", d.app),
        n => format!("{}: {n} drift findings", d.app),
    }
}

/// Live against plan, in words.
// Long: one arm per kind of finding, each one sentence.
pub fn detail(f: &Finding) -> String {
    match &f.detail {
        // The listener carries the traffic: it is what the parameter should say.
        Detail::Differs { field } if matches!(f.resource, Resource::ActiveColour { .. }) => {
            format!(
                "{}, while production is all on {}",
                match &field.old {
                    Some(old) => format!("says {old}"),
                    None => "missing".into(),
                },
                super::value(&field.new)
            )
        }
        // Weights no run leaves (a run under way or stopped part-way is a
        // finding of its own): someone, or another tool, wrote them.
        Detail::Differs { field } if f.kind == DriftKind::Weights => format!(
            "{}: {} live, {} in the plan; cutover did not make this change (no rollout is under way or stopped there): someone changed the listener by hand or with another tool (a Terraform-managed listener needs `lifecycle {{ ignore_changes = [default_action] }}`, see the README's \"Living with Terraform\")",
            field.key,
            super::value(&field.old),
            super::value(&field.new)
        ),
        Detail::Differs { field } => format!(
            "{}: {} live, {} in the plan",
            field.key,
            super::value(&field.old),
            super::value(&field.new)
        ),
        Detail::Missing if matches!(f.resource, Resource::LoadBalancer { .. }) => {
            "not found (cutover never creates it)".into()
        }
        Detail::Missing => "does not exist".into(),
        Detail::NotInPlan { why } => format!("exists, and {why}"),
        Detail::Stalled {
            weight,
            on,
            active,
            lock,
            held: Some(why),
        } => format!(
            "a release {} at {weight}% on {on}, {active} still active: {why}; `cutover apply` judges it again, `cutover rollback` returns to {active}",
            if lock.is_some() { "held (a run holds the lock)" } else { "held" }
        ),
        Detail::Stalled {
            weight,
            on,
            active,
            lock,
            held: None,
        } => {
            let held = match lock {
                None => "no run holds the lock".to_string(),
                Some(l) if l.gone => format!(
                    "its lock was left by {}, which is gone (`cutover apply` takes it over)",
                    l.holder
                ),
                Some(l) => format!(
                    "{} holds the lock (a deployment in progress, or a run that died on another host: `cutover unlock` if so)",
                    l.holder
                ),
            };
            let at = match weight {
                0 => format!("built on {on} with no production traffic yet"),
                w => format!("stopped at {w}% on {on}"),
            };
            format!(
                "a release {at}, {active} still active; {held}: `cutover apply` resumes it, `cutover rollback` returns to {active}"
            )
        }
        Detail::LockLeft { holder } => format!(
            "the lock was left by {holder}, which is gone: the next `cutover apply` or `cutover rollback` takes it over"
        ),
        Detail::RolledBack { release, at, why } => format!(
            "the plan's release {release} is not live: it was rolled back at {}{}; `cutover apply --retry` deploys it again",
            crate::model::format_timestamp(*at),
            why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
        ),
        Detail::FailedReleaseLive {
            color,
            release,
            at,
            why,
            back_to,
        } => super::note(&crate::model::plan::Note::FailedReleaseLive {
            color: *color,
            release: release.clone(),
            at: *at,
            why: why.clone(),
            back_to: *back_to,
        }),
        Detail::Refused { reason } => reason.clone(),
        Detail::Unowned { app } => {
            format!("tagged cutover:app={app}, but no plan given mentions it")
        }
    }
}

/// The apps' drift in `format`.
pub fn render(apps: &[AppDrift], format: super::Format) -> String {
    match format {
        super::Format::Text => text(apps),
        super::Format::Markdown => markdown(apps),
        super::Format::Json => json(apps),
    }
}

pub fn text(apps: &[AppDrift]) -> String {
    let mut out = String::new();
    for d in apps {
        let _ = writeln!(out, "{}", headline(d));
        for f in &d.findings {
            let _ = writeln!(
                out,
                "  ~ {}: {} ({})",
                super::resource(&f.resource),
                detail(f),
                if f.apply_repairs {
                    "`cutover apply` repairs it"
                } else {
                    "needs a person"
                }
            );
        }
    }
    out
}

pub fn markdown(apps: &[AppDrift]) -> String {
    let drifted = apps.iter().filter(|d| !d.findings.is_empty()).count();
    let mut out = format!(
        "### cutover drift: {drifted} of {} app{} drifted\n\n",
        apps.len(),
        if apps.len() == 1 { "" } else { "s" }
    );
    for d in apps {
        let _ = writeln!(out, "**{}**\n", headline(d));
        if d.findings.is_empty() {
            continue;
        }
        out.push_str("| resource | live vs plan | repair |\n|---|---|---|\n");
        for f in &d.findings {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                super::resource(&f.resource),
                crate::render::markdown::table_cell(&detail(f)),
                if f.apply_repairs {
                    "`cutover apply`"
                } else {
                    "by hand"
                }
            );
        }
        out.push('\n');
    }
    out
}

/// The JSON Schema of `drift --format json`.
pub fn schema() -> String {
    crate::render::json::schema_of::<Document>()
}

/// `drift --format json`.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Document {
    format_version: u32,
    drift: bool,
    apps: Vec<AppDocument>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct AppDocument {
    app: String,
    source: String,
    findings: Vec<FindingDocument>,
}

/// A finding with its resource and detail in words, and the data behind them.
#[derive(Serialize, schemars::JsonSchema)]
struct FindingDocument {
    kind: DriftKind,
    /// "target group shop-blue".
    resource: String,
    /// "health_check.path: /ping live, /health in the plan".
    detail: String,
    apply_repairs: bool,
    target: Resource,
    /// What was found, as data: the finding's detail with a `type`.
    found: serde_json::Value,
}

/// What a finding found, as its data, with the planner's reason in words.
fn found(detail: &Detail) -> serde_json::Value {
    let mut value = serde_json::to_value(detail).expect("a finding serialises");
    if let Detail::NotInPlan { why } = detail {
        value["why"] = why.to_string().into();
    }
    value
}

pub fn json(apps: &[AppDrift]) -> String {
    let doc = Document {
        format_version: crate::render::json::FORMAT_VERSION,
        drift: apps.iter().any(|d| !d.findings.is_empty()),
        apps: apps
            .iter()
            .map(|d| AppDocument {
                app: d.app.clone(),
                source: d.source.clone(),
                findings: d
                    .findings
                    .iter()
                    .map(|f| FindingDocument {
                        kind: f.kind,
                        resource: super::resource(&f.resource),
                        detail: detail(f),
                        apply_repairs: f.apply_repairs,
                        target: f.resource.clone(),
                        found: found(&f.detail),
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).expect("drift serialises") + "\n"
}
