//! `cutover drift` as text, markdown or JSON.

use crate::decide::drift::AppDrift;
use serde::Serialize;
use std::fmt::Write;

fn headline(d: &AppDrift) -> String {
    match d.findings.len() {
        0 => format!("{}: in sync", d.app),
        1 => format!("{}: 1 drift finding", d.app),
        n => format!("{}: {n} drift findings", d.app),
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
                f.resource,
                f.detail,
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
                f.resource,
                f.detail.replace('|', "\\|"),
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

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    drift: bool,
    apps: &'a [AppDrift],
}

pub fn json(apps: &[AppDrift]) -> String {
    let doc = Document {
        format_version: crate::render::json::FORMAT_VERSION,
        drift: apps.iter().any(|d| !d.findings.is_empty()),
        apps,
    };
    serde_json::to_string_pretty(&doc).expect("drift serialises") + "\n"
}
