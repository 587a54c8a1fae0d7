//! `cutover diff` as text, markdown or JSON.

use crate::decide::diff::{SettingChange, SpecDiff};
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
            format!(
                "a different app ({} → {}): everything is new",
                super::value(&r.old),
                super::value(&r.new)
            ),
        );
    }
    format!("{}: {}", d.app, parts.join(", "))
}

fn fields(out: &mut String, indent: &str, changes: &[SettingChange]) {
    for c in changes {
        for line in super::field(&c.key, &c.old, &c.new, false) {
            let _ = writeln!(out, "{}", line.indented(indent));
        }
    }
}

/// The headings a rendering uses for the release, in-place and settings parts.
struct Headings {
    release: fn(&str, &str) -> String,
    shift: &'static str,
    in_place: &'static str,
    settings: &'static str,
    indent: &'static str,
}

fn body(out: &mut String, d: &SpecDiff, h: &Headings) {
    if let Some(r) = &d.release {
        out.push_str(&(h.release)(&r.old_release, &r.new_release));
        fields(out, h.indent, &r.fields);
        let steps: Vec<String> = r.steps.iter().map(|s| format!("{s}%")).collect();
        let _ = writeln!(
            out,
            "{}shift: {}{}, bake {} each",
            h.indent,
            steps.join(" → "),
            h.shift,
            crate::model::format_duration(r.bake_secs)
        );
    }
    for (heading, changes) in [(h.in_place, &d.in_place), (h.settings, &d.settings)] {
        if !changes.is_empty() {
            out.push_str(heading);
            fields(out, h.indent, changes);
        }
    }
}

/// The diff in `format`.
pub fn render(d: &SpecDiff, format: super::Format) -> String {
    match format {
        super::Format::Text => text(d),
        super::Format::Markdown => markdown(d),
        super::Format::Json => json(d),
    }
}

pub fn text(d: &SpecDiff) -> String {
    let mut out = format!("{}\n", summary(d));
    body(
        &mut out,
        d,
        &Headings {
            release: |old, new| {
                format!("\n  -/+ release {old} → {new}: deployed blue-green to the idle colour\n")
            },
            shift: " (% of production)",
            in_place: "\n    ~ in place, by the next apply:\n",
            settings: "\n    ~ settings for later deployments:\n",
            indent: "        ",
        },
    );
    out
}

pub fn markdown(d: &SpecDiff) -> String {
    let mut out = format!("**{}**\n\n", summary(d));
    if d.is_empty() {
        return out;
    }
    out.push_str("```diff\n");
    body(
        &mut out,
        d,
        &Headings {
            release: |old, new| format!("-/+ release {old} → {new} (blue-green)\n"),
            shift: "",
            in_place: "~ in place\n",
            settings: "~ settings for later deployments\n",
            indent: "    ",
        },
    );
    out.push_str("```\n");
    out
}

/// The JSON Schema of `diff --format json`.
pub fn schema() -> String {
    crate::render::json::schema_of::<Document>()
}

/// `diff --format json`: the diff with its format's version.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Document<'a> {
    format_version: u32,
    #[serde(flatten)]
    diff: &'a SpecDiff,
}

pub fn json(d: &SpecDiff) -> String {
    let doc = Document {
        format_version: super::json::FORMAT_VERSION,
        diff: d,
    };
    serde_json::to_string_pretty(&doc).expect("diff serialises") + "\n"
}
