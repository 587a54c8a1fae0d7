//! The plan as a pull-request comment (GitHub-flavoured markdown): the
//! one-line summary first, the diff and steps folded in `<details>`, the
//! rollout as a table, the rollback command. Several apps fit in one comment,
//! always under GitHub's 65,536-character limit: when they do not fit, apps
//! are shown shorter (never a code block cut in half) and a note says so.

use super::{describe_action, summary, timeline_lines};
use crate::model::format_duration;
use crate::model::format_weights;
use crate::model::plan::{ChangeAction, Plan};
use std::fmt::Write;

/// GitHub's limit on a comment body.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// The comment for `plans`, within `limit` characters.
pub fn render(plans: &[Plan], limit: usize) -> String {
    let mut head = String::new();
    let changed = plans.iter().filter(|p| p.has_changes()).count();
    if plans.len() > 1 {
        let _ = writeln!(
            head,
            "### cutover plan: {} apps, {changed} with changes\n",
            plans.len()
        );
    } else {
        head.push_str("### cutover plan\n\n");
    }
    // Room for the note about what did not fit.
    let budget = limit.saturating_sub(head.chars().count() + 400);
    let mut body = String::new();
    let mut shortened = 0;
    let mut left_out = Vec::new();
    for plan in plans {
        let full = section(plan, Depth::Full);
        let short = section(plan, Depth::Summary);
        let line = format!("- {}\n", summary(plan));
        let used = body.chars().count();
        if used + full.chars().count() <= budget {
            body.push_str(&full);
        } else if used + short.chars().count() <= budget {
            body.push_str(&short);
            shortened += 1;
        } else if used + line.chars().count() <= budget {
            body.push_str(&line);
            shortened += 1;
        } else {
            left_out.push(plan.app.clone());
        }
    }
    let mut out = head;
    out.push_str(&body);
    if shortened > 0 || !left_out.is_empty() {
        let _ = write!(
            out,
            "\n> **Truncated** to stay under GitHub's {GITHUB_COMMENT_LIMIT}-character comment limit: {shortened} app(s) shown in short"
        );
        if !left_out.is_empty() {
            let _ = write!(out, ", {} not shown", left_out.len());
        }
        out.push_str(". Run `cutover plan` locally for the whole plan.\n");
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    Full,
    Summary,
}

fn section(plan: &Plan, depth: Depth) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", summary(plan));
    if !plan.has_changes() {
        for n in &plan.notes {
            let _ = writeln!(out, "> {}\n", super::note(n));
        }
        return out;
    }
    if let Some(t) = &plan.timeline {
        let least = super::steps_take_longer(t);
        out.push_str(if least {
            "| step | production | bake | at least | sessions |\n|---:|---|---|---|---|\n"
        } else {
            "| step | production | bake | sessions |\n|---:|---|---|---|\n"
        });
        for (i, s) in t.steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}{} |",
                i + 1,
                format_weights(s.weights),
                format_duration(s.bake_secs),
                if least {
                    format!("{} | ", format_duration(s.min_secs))
                } else {
                    String::new()
                },
                super::step_sessions(t, s.weight)
            );
        }
        out.push('\n');
        out.push_str(&mermaid(t));
        for line in timeline_lines(t) {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    if depth == Depth::Full {
        let _ = writeln!(
            out,
            "<details><summary>Changes ({})</summary>\n\n```diff",
            plan.changes.len()
        );
        for c in &plan.changes {
            change(&mut out, c);
        }
        out.push_str("```\n\n</details>\n\n");
        let _ = writeln!(
            out,
            "<details><summary>Steps ({})</summary>\n",
            plan.steps.len()
        );
        for (i, s) in plan.steps.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", i + 1, describe_action(&plan.app, &s.action));
        }
        out.push_str("\n</details>\n\n");
    }
    for n in &plan.notes {
        let _ = writeln!(out, "> {}\n", super::note(n));
    }
    if plan.timeline.is_some() || plan.rollback_to.is_some() {
        let _ = writeln!(
            out,
            "Roll back after it is applied: `cutover rollback {}`\n",
            plan.source
        );
    }
    out
}

/// The rollout as a Mermaid flowchart, which GitHub draws in a comment:
/// each step with its bake and least time, promotion, the watch and the
/// teardown, and where a failure sends production.
fn mermaid(t: &crate::model::plan::Timeline) -> String {
    let (from, to) = (t.from, t.to);
    let mut nodes = Vec::new();
    for (i, s) in t.steps.iter().enumerate() {
        let least = if s.min_secs > s.bake_secs {
            format!(", at least {}", format_duration(s.min_secs))
        } else {
            String::new()
        };
        nodes.push((
            format!("s{}", i + 1),
            format!(
                "{}% {to}<br/>bake {}{least}",
                s.weight,
                format_duration(s.bake_secs)
            ),
        ));
    }
    if t.awaits_promotion {
        nodes.insert(0, ("wait".into(), "waits for<br/>cutover promote".into()));
    }
    nodes.push(("live".into(), format!("{to} active")));
    if t.watch_secs > 0 {
        nodes.push((
            "watch".into(),
            format!("watch {}", format_duration(t.watch_secs)),
        ));
    }
    let after = format_duration(t.rollback_window_secs);
    let down = match t.teardown_policy {
        crate::model::TeardownPolicy::Keep => format!("{from} kept"),
        crate::model::TeardownPolicy::ScaleToZero => {
            format!("{from} scaled to zero<br/>after {after}")
        }
        crate::model::TeardownPolicy::Delete => format!("{from} deleted<br/>after {after}"),
    };
    nodes.push(("down".into(), down));
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (id, label) in &nodes {
        let _ = writeln!(out, "  {id}[\"{label}\"]");
    }
    let ids: Vec<&str> = nodes.iter().map(|(id, _)| id.as_str()).collect();
    let _ = writeln!(out, "  {}", ids.join(" --> "));
    let _ = writeln!(out, "  home((\"100% {from}\"))");
    let failing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| id.starts_with('s') || *id == "watch")
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "  {} -. fails .-> home", failing.join(" & "));
    }
    out.push_str("```\n\n");
    out
}

/// One change in the diff block: + green, - red; updates are left plain.
fn change(out: &mut String, c: &crate::model::plan::Change) {
    let sym = match c.action {
        ChangeAction::Create => "+",
        ChangeAction::Destroy => "-",
        ChangeAction::Update => "~",
        ChangeAction::Replace => "-/+",
    };
    let _ = writeln!(
        out,
        "{sym} {}  ({})",
        super::resource(&c.resource),
        c.reason
    );
    for line in super::field_lines(c) {
        // In a diff block the sign leads the line, so it is coloured.
        match line {
            super::FieldLine::Plain(l) => {
                let _ = writeln!(out, "    {l}");
            }
            super::FieldLine::Diff(sign, l) => {
                let _ = writeln!(out, "{sign}       {l}");
            }
        }
    }
}

/// Text as one markdown table cell: no line breaks, no column bars, and no
/// HTML (GitHub renders tags in markdown; an entity shows the character).
pub fn table_cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}
