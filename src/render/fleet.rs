//! `cutover apply` of many plans: the order it runs them in (what `plan`
//! over a folder shows too), and the summary table at the end, as text,
//! markdown (a CI job summary) or JSON.

use super::Format;
use crate::model::fleet::{Row, RunResult, Summary};
use crate::model::plan::Plan;
use std::fmt::Write;

/// "Apply order: wave 0: a, b; wave 1: c", one line per wave; empty for
/// a single plan.
pub fn order(plans: &[Plan], format: Format) -> String {
    if plans.len() < 2 {
        return String::new();
    }
    let waves = crate::decide::fleet::waves(plans);
    let unchanged: Vec<&str> = plans
        .iter()
        .filter(|p| !p.has_changes())
        .map(|p| p.app.as_str())
        .collect();
    let mut out = String::new();
    let (head, item) = match format {
        Format::Markdown => ("#### Apply order\n\n", "- "),
        _ => ("\nApply order:\n", "  "),
    };
    out.push_str(head);
    if waves.is_empty() {
        let _ = writeln!(out, "{item}nothing to apply");
    }
    for (wave, members) in &waves {
        let apps: Vec<&str> = members.iter().map(|&i| plans[i].app.as_str()).collect();
        let _ = writeln!(out, "{item}wave {wave}: {}", apps.join(", "));
    }
    if !unchanged.is_empty() {
        let _ = writeln!(out, "{item}no changes: {}", unchanged.join(", "));
    }
    if waves.len() > 1 {
        let _ = writeln!(
            out,
            "{}A wave starts once every app of the wave before it finished well.",
            if format == Format::Markdown {
                "\n"
            } else {
                "  "
            }
        );
    }
    out
}

/// The summary table of a fleet apply.
pub fn summary(s: &Summary, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(s).expect("summary serialises") + "\n",
        Format::Markdown => markdown(s),
        Format::Text => text(s),
    }
}

/// The JSON Schema of `cutover apply --format json` over many plans.
pub fn schema() -> String {
    super::json::schema_of::<Summary>()
}

/// "5 of 6 apps deployed, 1 rolled back".
fn headline(s: &Summary) -> String {
    let mut counts: Vec<(RunResult, usize)> = Vec::new();
    for r in &s.apps {
        match counts.iter_mut().find(|(k, _)| *k == r.result) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.result, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect();
    format!(
        "{} app{}: {}",
        s.apps.len(),
        if s.apps.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

fn cells(r: &Row) -> [String; 6] {
    let change = match (&r.from, &r.to) {
        (Some(f), Some(t)) => format!("{f} → {t}"),
        (None, Some(t)) => t.clone(),
        _ => "–".to_string(),
    };
    [
        r.app.clone(),
        r.wave.to_string(),
        change,
        r.result.as_str().to_string(),
        r.seconds.map(time).unwrap_or_else(|| "–".to_string()),
        r.rolled_back_to.clone().unwrap_or_else(|| "–".to_string()),
    ]
}

const HEADERS: [&str; 6] = [
    "app",
    "wave",
    "from → to",
    "result",
    "time",
    "rolled back to",
];

fn text(s: &Summary) -> String {
    if let Some(e) = &s.error {
        return format!("\n{e}\n");
    }
    let rows: Vec<[String; 6]> = s.apps.iter().map(cells).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = format!("\n{}\n\n", headline(s));
    let _ = writeln!(out, "  {}", line(&HEADERS.map(str::to_string)));
    for r in &rows {
        let _ = writeln!(out, "  {}", line(r));
    }
    let details: Vec<&Row> = s.apps.iter().filter(|r| r.detail.is_some()).collect();
    if !details.is_empty() {
        out.push('\n');
    }
    for r in details {
        let _ = writeln!(
            out,
            "  {} ({}): {}",
            r.app,
            r.plan_file,
            r.detail.as_deref().unwrap_or_default()
        );
    }
    out
}

fn markdown(s: &Summary) -> String {
    if let Some(e) = &s.error {
        return format!(
            "### cutover apply: {}\n\nExit code {}.\n",
            escape(e),
            s.exit_code
        );
    }
    let mut out = format!("### cutover apply: {}\n\n", headline(s));
    let _ = writeln!(out, "| {} | note |", HEADERS.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(HEADERS.len() + 1));
    for r in &s.apps {
        let mut c = cells(r).map(|c| escape(&c));
        c[0] = format!("`{}`", c[0]);
        let note = r.detail.as_deref().map(escape).unwrap_or_default();
        let _ = writeln!(out, "| {} | {note} |", c.join(" | "));
    }
    let _ = writeln!(out, "\nExit code {}.", s.exit_code);
    out
}

/// A table cell: no pipe or line break splits it.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// "42s", "3m 05s", "0.4s".
fn time(secs: f64) -> String {
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else if secs < 60.0 {
        format!("{}s", secs.round() as u64)
    } else {
        let s = secs.round() as u64;
        format!("{}m {:02}s", s / 60, s % 60)
    }
}
