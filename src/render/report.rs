//! summary.md of a run's record: the verdict first, then the steps and the
//! metric gates' evaluations as tables, for `$GITHUB_STEP_SUMMARY` and a
//! pull-request comment (kept under GitHub's comment limit, as plan's
//! markdown is: the evaluations that did not fit are counted, and
//! rollout.json has them all).

use crate::model::report::{Evaluation, Report};
use crate::model::{format_hour_minute, format_weights};
use std::fmt::Write;

/// GitHub's limit on a comment (65,536 characters), less a margin.
const LIMIT: usize = 60_000;

pub fn summary(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## cutover: {}\n", headline(r));
    if let Some(o) = &r.outcome {
        let _ = writeln!(out, "```\n{}\n```\n", o.said);
    }
    if let Some(failed) = r.evaluations.iter().rev().find(|e| e.verdict == "fail") {
        let _ = writeln!(out, "**Failed:** {}\n", escape(&failed.text));
    }
    steps(&mut out, r);
    evaluations(&mut out, &r.evaluations);
    if !r.warnings.is_empty() {
        out.push_str("### Warnings\n\n");
        for w in &r.warnings {
            let _ = writeln!(out, "- {}", escape(w));
        }
        out.push('\n');
    }
    out
}

/// "shop: release 16516437c475 blue → green: rolled back (exit 3)".
fn headline(r: &Report) -> String {
    let what = match (&r.release, r.from, r.to) {
        (Some(rel), Some(from), Some(to)) => format!("release {rel} {from} → {to}"),
        (Some(rel), None, Some(to)) => format!("release {rel} to {to}"),
        _ => r.kind.replace('_', " "),
    };
    let result = match &r.outcome {
        Some(o) => format!("{} (exit {})", o.result.replace('_', " "), o.exit_code),
        None => "running, or stopped without an outcome".into(),
    };
    format!("{}: {what}: {result}", r.app)
}

fn steps(out: &mut String, r: &Report) {
    if r.steps.is_empty() {
        return;
    }
    out.push_str("### Steps\n\n| # | step | started (UTC) | took | production | detail |\n|---:|---|---|---:|---|---|\n");
    for s in &r.steps {
        let took = s.ended_at.map_or("…".to_string(), |e| {
            format!("{}s", (e - s.started_at).max(0))
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {took} | {} | {} |",
            s.index,
            escape(&s.what),
            format_hour_minute(s.started_at),
            s.weights.map(format_weights).unwrap_or_default(),
            escape(s.detail.as_deref().unwrap_or(""))
        );
    }
    out.push('\n');
}

fn evaluations(out: &mut String, all: &[Evaluation]) {
    if all.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Metric gates ({})\n\n| gate | window (UTC) | weight | green | blue | verdict |\n|---|---|---:|---|---|---|",
        match all.len() {
            1 => "1 evaluation".to_string(),
            n => format!("{n} evaluations"),
        }
    );
    for (i, e) in all.iter().enumerate() {
        if out.len() > LIMIT {
            let _ = writeln!(
                out,
                "\n{} more evaluations are in rollout.json.",
                all.len() - i
            );
            break;
        }
        let side = |v: Option<(f64, f64)>| {
            v.map_or("–".to_string(), |(value, requests)| {
                format!("{} of {requests:.0}", value_text(&e.unit, value))
            })
        };
        let verdict = match e.verdict.as_str() {
            "fail" => format!("**FAIL**: {}", escape(e.why.as_deref().unwrap_or(""))),
            "no_evidence" => format!("no evidence: {}", escape(e.why.as_deref().unwrap_or(""))),
            v => v.to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {}–{} | {}% | {} | {} | {verdict} |",
            escape(&e.gate),
            format_hour_minute(e.window_start),
            format_hour_minute(e.window_end),
            e.weight,
            side(e.green.map(|g| (g.value, g.requests))),
            side(e.blue.as_ref().map(|b| (b.value, b.requests))),
        );
    }
    out.push('\n');
}

fn value_text(unit: &str, v: f64) -> String {
    match unit {
        "fraction" => format!("{:.2}%", v * 100.0),
        "seconds" => format!("{:.0} ms", v * 1000.0),
        _ => format!("{v}"),
    }
}

/// A table cell: no line breaks, no column bars.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
