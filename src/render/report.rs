//! summary.md of a run's record: the verdict first, then the steps and the
//! metric gates' evaluations as tables, for `$GITHUB_STEP_SUMMARY` and a
//! pull-request comment (kept under GitHub's comment limit, as plan's
//! markdown is: the evaluations that did not fit are counted, and
//! rollout.json has them all).

use crate::model::report::{Evaluation, Report};
use crate::model::{format_hour_minute, format_weights};
use crate::render::chart::Chart;
use crate::render::markdown::table_cell as escape;
use std::fmt::Write;

/// GitHub's limit on a comment (65,536 characters), less a margin.
const LIMIT: usize = 60_000;

/// The record's one-page view, report.html: the verdict, every chart
/// inline and every step and evaluation, readable from a file with no
/// script and no network (its Content-Security-Policy allows neither).
pub fn html(r: &Report, charts: &[Chart]) -> String {
    let mut out = String::new();
    let title = format!("cutover: {}", headline(r));
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<h1>{}</h1>\n",
        html_escape(&title),
        html_escape(&title)
    );
    if let Some(o) = &r.outcome {
        let _ = writeln!(out, "<pre>{}</pre>", html_escape(&o.said));
    }
    if let Some(failed) = r.evaluations.iter().rev().find(|e| e.verdict == "fail") {
        let _ = writeln!(
            out,
            "<p class=\"failed\"><strong>Failed:</strong> {}</p>",
            html_escape(&failed.text)
        );
    }
    for c in charts {
        let _ = writeln!(
            out,
            "<figure aria-label=\"{}\">\n{}\n</figure>",
            html_escape(&c.title),
            c.svg
        );
    }
    let (header, rows) = step_rows(r);
    html_table(&mut out, "Steps", &header, &rows);
    let rows: Vec<Vec<String>> = r.evaluations.iter().map(evaluation_row).collect();
    let heading = format!("Metric gates ({})", count(rows.len()));
    let header = evaluation_header(&r.evaluations);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    html_table(&mut out, &heading, &header, &rows);
    if !r.warnings.is_empty() {
        out.push_str("<h2>Warnings</h2>\n<ul>\n");
        for w in &r.warnings {
            let _ = writeln!(out, "<li>{}</li>", html_escape(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

const STYLE: &str = "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;\
color:#1f2328;max-width:1000px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
pre{background:#f6f8fa;padding:12px;white-space:pre-wrap;font-size:13px}\
table{border-collapse:collapse;font-size:13px;width:100%}\
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f6f8fa}tr.fail td{background:#ffebe9}.failed{color:#a40e26}\
figure{margin:16px 0}figcaption{font-size:13px;color:#59636e;margin-bottom:4px}\
svg{max-width:100%;height:auto}";

fn html_table(out: &mut String, heading: &str, header: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(out, "<h2>{}</h2>\n<table>\n<tr>", html_escape(heading));
    for h in header {
        let _ = write!(out, "<th>{}</th>", html_escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        let failed = row.last().is_some_and(|v| v.starts_with("FAIL"));
        out.push_str(if failed {
            "<tr class=\"fail\">"
        } else {
            "<tr>"
        });
        for c in row {
            let _ = write!(out, "<td>{}</td>", html_escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

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
    if !r.evaluations.is_empty() || r.steps.iter().any(|s| s.weights.is_some()) {
        out.push_str(
            "Charts of the weights and of each gate's windows: report.html and the .svg files beside this summary.\n\n",
        );
    }
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
        (rel, Some(from), Some(to)) if r.kind == "rollback" => match rel {
            Some(rel) => format!("rollback of release {rel}, {from} → {to}"),
            None => format!("rollback {from} → {to}"),
        },
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

/// The steps table: its header and a row of cells per step.
fn step_rows(r: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec!["#", "step", "started (UTC)", "took", "production", "detail"];
    let rows = r
        .steps
        .iter()
        .map(|s| {
            let took = s.ended_at.map_or("…".to_string(), |e| {
                format!("{}s", (e - s.started_at).max(0))
            });
            vec![
                s.index.to_string(),
                s.what.clone(),
                format_hour_minute(s.started_at),
                took,
                s.weights.map(format_weights).unwrap_or_default(),
                s.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    (header, rows)
}

/// The evaluations table's header, and one evaluation's cells.
/// The colour judged and its baseline are the evaluations' own (a release
/// onto blue is judged against green).
fn evaluation_header(all: &[Evaluation]) -> Vec<String> {
    let judged = all.first().map(|e| e.color);
    let side = |c: Option<crate::model::Color>, what: &str| {
        c.map_or(what.to_string(), |c| format!("{c} ({what})"))
    };
    ["gate", "window (UTC)", "weight"]
        .map(String::from)
        .into_iter()
        .chain([
            side(judged, "new"),
            side(judged.map(|c| c.other()), "baseline"),
        ])
        .chain(["verdict".to_string()])
        .collect()
}

fn evaluation_row(e: &Evaluation) -> Vec<String> {
    let side = |v: Option<(f64, f64)>| {
        v.map_or("–".to_string(), |(value, requests)| {
            format!("{} of {requests:.0}", value_text(&e.unit, value))
        })
    };
    let verdict = match e.verdict.as_str() {
        "fail" => format!("FAIL: {}", e.why.as_deref().unwrap_or("")),
        "no_evidence" => format!("no evidence: {}", e.why.as_deref().unwrap_or("")),
        v => v.to_string(),
    };
    vec![
        e.gate.clone(),
        format!(
            "{}–{}",
            format_hour_minute(e.window_start),
            format_hour_minute(e.window_end)
        ),
        format!("{}%", e.weight),
        side(e.green.map(|g| (g.value, g.requests))),
        side(e.blue.as_ref().map(|b| (b.value, b.requests))),
        verdict,
    ]
}

fn markdown_row(out: &mut String, cells: &[String]) {
    let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn steps(out: &mut String, r: &Report) {
    if r.steps.is_empty() {
        return;
    }
    let (header, rows) = step_rows(r);
    let _ = writeln!(
        out,
        "### Steps\n\n| {} |\n|---:|---|---|---:|---|---|",
        header.join(" | ")
    );
    for row in rows {
        markdown_row(out, &row);
    }
    out.push('\n');
}

fn evaluations(out: &mut String, all: &[Evaluation]) {
    if all.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Metric gates ({})\n\n| {} |\n|---|---|---:|---|---|---|",
        count(all.len()),
        evaluation_header(all).join(" | ")
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
        let mut row = evaluation_row(e);
        if let Some(why) = row[5].strip_prefix("FAIL: ") {
            row[5] = format!("**FAIL**: {why}");
        }
        markdown_row(out, &row);
    }
    out.push('\n');
}

fn count(n: usize) -> String {
    match n {
        1 => "1 evaluation".to_string(),
        n => format!("{n} evaluations"),
    }
}

fn value_text(unit: &str, v: f64) -> String {
    match unit {
        "fraction" => format!("{:.2}%", v * 100.0),
        "seconds" => format!("{:.0} ms", v * 1000.0),
        _ => crate::gate::metric::number_text(v),
    }
}
