//! `cutover diff` as text, markdown or JSON.

use crate::diff::{FieldChange, SpecDiff};
use std::fmt::Write;

/// "shop: new release 3f2a… → 9c1d… (image ami-1 → ami-2), 1 in-place change".
pub fn summary(d: &SpecDiff) -> String {
    if d.is_empty() {
        return format!("{}: no changes", d.app);
    }
    let mut parts = Vec::new();
    if let Some(r) = &d.release {
        parts.push(format!(
            "new release {} → {} to the idle colour in {} step{}",
            r.old_release,
            r.new_release,
            r.steps.len(),
            if r.steps.len() == 1 { "" } else { "s" }
        ));
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if !d.in_place.is_empty() {
        parts.push(count(d.in_place.len(), "in-place change"));
    }
    if !d.settings.is_empty() {
        parts.push(count(d.settings.len(), "setting change"));
    }
    if let Some(r) = &d.app_renamed {
        parts.insert(
            0,
            format!("a different app ({} → {}): everything is new", r.old, r.new),
        );
    }
    format!("{}: {}", d.app, parts.join(", "))
}

fn fields(out: &mut String, indent: &str, changes: &[FieldChange]) {
    for c in changes {
        let _ = writeln!(out, "{indent}{}: {} → {}", c.key, c.old, c.new);
    }
}

pub fn text(d: &SpecDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", summary(d));
    if let Some(r) = &d.release {
        let _ = writeln!(
            out,
            "\n  -/+ release {} → {}: deployed blue-green to the idle colour",
            r.old_release, r.new_release
        );
        fields(&mut out, "        ", &r.fields);
        let _ = writeln!(
            out,
            "        shift: {} (% of production), bake {} each",
            r.steps
                .iter()
                .map(|s| format!("{s}%"))
                .collect::<Vec<_>>()
                .join(" → "),
            r.bake
        );
    }
    if !d.in_place.is_empty() {
        let _ = writeln!(out, "\n    ~ in place, by the next apply:");
        fields(&mut out, "        ", &d.in_place);
    }
    if !d.settings.is_empty() {
        let _ = writeln!(out, "\n    ~ settings for later deployments:");
        fields(&mut out, "        ", &d.settings);
    }
    out
}

pub fn markdown(d: &SpecDiff) -> String {
    let mut out = format!("**{}**\n\n", summary(d));
    if d.is_empty() {
        return out;
    }
    out.push_str("```diff\n");
    if let Some(r) = &d.release {
        let _ = writeln!(
            out,
            "-/+ release {} → {} (blue-green)",
            r.old_release, r.new_release
        );
        fields(&mut out, "    ", &r.fields);
        let _ = writeln!(
            out,
            "    shift: {}, bake {} each",
            r.steps
                .iter()
                .map(|s| format!("{s}%"))
                .collect::<Vec<_>>()
                .join(" → "),
            r.bake
        );
    }
    if !d.in_place.is_empty() {
        out.push_str("~ in place\n");
        fields(&mut out, "    ", &d.in_place);
    }
    if !d.settings.is_empty() {
        out.push_str("~ settings for later deployments\n");
        fields(&mut out, "    ", &d.settings);
    }
    out.push_str("```\n");
    out
}

pub fn json(d: &SpecDiff) -> String {
    serde_json::to_string_pretty(d).expect("diff serialises") + "\n"
}
