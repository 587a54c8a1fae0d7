//! `cutover history` as text, markdown (a table for a PR or an incident
//! note) or JSON (schemas/history.schema.json).

use crate::model::format_timestamp;
use crate::model::history::{History, ReleaseHistory};
use crate::render::markdown::table_cell as cell;
use std::fmt::Write;

pub fn document(h: &History, format: super::Format) -> String {
    match format {
        super::Format::Text => text(h),
        super::Format::Markdown => markdown(h),
        super::Format::Json => {
            let mut out = serde_json::to_string_pretty(h).expect("a history serialises");
            out.push('\n');
            out
        }
    }
}

/// What became of a release, in words.
fn now(h: &ReleaseHistory) -> String {
    let state = match h.now.as_str() {
        "live" => "live",
        "held" => "held",
        "shifting" => "shifting",
        "idle" => "idle (built, never promoted)",
        "rolled_back" => "rolled back",
        "replaced" => "replaced",
        _ => "never live",
    };
    match h.share {
        Some(share) if share > 0 || h.now == "live" => {
            format!("{state}, {share}% of production")
        }
        _ => state.to_string(),
    }
}

/// A release's events, oldest first: (when, what, why).
fn events(h: &ReleaseHistory) -> Vec<(i64, &'static str, Option<&str>)> {
    let mut out: Vec<(i64, &str, Option<&str>)> = h
        .built_at
        .map(|t| (t, "built", None))
        .into_iter()
        .chain(
            h.went_live
                .iter()
                .map(|l| (l.at, "went live", l.why.as_deref())),
        )
        .chain(h.rolled_back.iter().map(|r| {
            (
                r.at,
                "rolled back",
                Some(r.why.as_deref().unwrap_or("(no reason recorded)")),
            )
        }))
        .collect();
    out.sort_by_key(|e| e.0);
    out
}

/// "on green, launch template version 2, ami-…".
fn where_from(h: &ReleaseHistory) -> String {
    let parts: Vec<String> = [
        h.color.map(|c| format!("on {c}")),
        h.version.map(|v| format!("launch template version {v}")),
        h.image.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join(", ")
}

fn text(h: &History) -> String {
    let mut out = String::new();
    let order = if h.releases.len() > 1 {
        ", newest first"
    } else {
        ""
    };
    let _ = writeln!(out, "{}: {}{order}", h.app, count(h.releases.len()));
    for r in &h.releases {
        let _ = writeln!(out, "\n  {}  {}  ({})", r.release, now(r), where_from(r));
        for (at, what, why) in events(r) {
            let _ = write!(out, "    {what:<12} {}", format_timestamp(at));
            match why {
                Some(why) => {
                    let _ = writeln!(out, ": {why}");
                }
                None => out.push('\n'),
            }
        }
    }
    for n in &h.notes {
        let _ = writeln!(out, "\nnote: {n}");
    }
    out
}

fn markdown(h: &History) -> String {
    let mut out = format!("### {}: {}\n\n", h.app, count(h.releases.len()));
    if !h.releases.is_empty() {
        out.push_str("| release | now | where | built (UTC) | went live (UTC) | rolled back (UTC) and why |\n|---|---|---|---|---|---|\n");
    }
    let at = |t: i64| format_timestamp(t).trim_end_matches(" UTC").to_string();
    for r in &h.releases {
        let live: Vec<String> = r
            .went_live
            .iter()
            .map(|l| match &l.why {
                Some(why) => format!("{}: {why}", at(l.at)),
                None => at(l.at),
            })
            .collect();
        let back: Vec<String> = r
            .rolled_back
            .iter()
            .map(|b| {
                format!(
                    "{}: {}",
                    at(b.at),
                    b.why.as_deref().unwrap_or("(no reason recorded)")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            r.release,
            now(r),
            cell(&where_from(r)),
            r.built_at.map(at).unwrap_or_default(),
            live.join("<br>"),
            cell(&back.join("<br>")),
        );
    }
    for n in &h.notes {
        let _ = writeln!(out, "\n> {}", cell(n));
    }
    out
}

fn count(n: usize) -> String {
    match n {
        0 => "no releases recorded".into(),
        1 => "1 release".into(),
        n => format!("{n} releases"),
    }
}
