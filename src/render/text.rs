//! The plan as text for a terminal: Terraform-like symbols, value diffs, the
//! ordered steps, and notes. Colour only when asked (a terminal, no NO_COLOR).

use super::describe_action;
use crate::model::format_duration;
use crate::model::plan::{Action, ChangeAction, Plan, PlanKind, Timeline};
use std::fmt::Write;

pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

pub fn render(plan: &Plan, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            "1",
            &format!("cutover plan: {} ({})", plan.app, plan.source)
        )
    );
    out.push('\n');
    if !plan.has_changes() {
        match super::held_release(plan) {
            Some(held) => {
                let _ = writeln!(out, "No changes to apply. {held}");
            }
            None => {
                let _ = writeln!(out, "No changes. {} matches the plan file.", plan.app);
            }
        }
        notes(&mut out, plan);
        return out;
    }
    let _ = writeln!(out, "{}", headline(plan));
    out.push('\n');
    for c in &plan.changes {
        let color = match c.action {
            ChangeAction::Create => "32",
            ChangeAction::Update => "33",
            ChangeAction::Replace => "35",
            ChangeAction::Destroy => "31",
        };
        let sym = style.paint(color, &format!("{:>3}", c.action.symbol()));
        let _ = writeln!(
            out,
            "  {sym} {}  ({})",
            super::resource(&c.resource),
            c.reason
        );
        for line in super::field_lines(c) {
            let _ = writeln!(out, "{}", line.indented("        "));
        }
    }
    out.push('\n');
    steps(&mut out, plan);
    if let Some(t) = &plan.timeline {
        rollout(&mut out, t);
    }
    if let Some(to) = plan.rollback_to {
        let _ = writeln!(
            out,
            "If a step fails before promotion, production goes back to 100% {to} in one call."
        );
    }
    notes(&mut out, plan);
    out
}

/// The steps apply takes, numbered, and their least time when no rollout
/// timeline says it.
fn steps(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "Steps:");
    for (i, s) in plan.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>2}. {}",
            i + 1,
            describe_action(&plan.app, &s.action)
        );
    }
    let waits: u64 = plan
        .steps
        .iter()
        .map(|s| match &s.action {
            Action::Bake { secs, .. }
            | Action::Watch { secs, .. }
            | Action::WaitDrain { secs, .. } => *secs,
            _ => 0,
        })
        .sum();
    if waits > 0 && plan.timeline.is_none() {
        let _ = writeln!(
            out,
            "\nAt least {} of bake and drain time, plus the wait for healthy targets.",
            format_duration(waits)
        );
    }
}

/// The rollout timeline: each step's weights and bake, then what it means.
fn rollout(out: &mut String, t: &Timeline) {
    let _ = writeln!(out, "\nRollout {} → {}:", t.from, t.to);
    // Metric gates may need longer than a bake to judge: each step's
    // least time then has a column of its own.
    let least = super::steps_take_longer(t);
    let _ = writeln!(
        out,
        "   step  production               bake    {}sessions",
        if least { "at least  " } else { "" }
    );
    for s in &t.steps {
        let _ = writeln!(
            out,
            "  {:>4}%  {:<24} {:<7} {}{}",
            s.weight,
            crate::model::format_weights(s.weights),
            format_duration(s.bake_secs),
            if least {
                format!("{:<9} ", format_duration(s.min_secs))
            } else {
                String::new()
            },
            super::step_sessions(t, s.weight)
        );
    }
    for line in super::timeline_lines(t) {
        let _ = writeln!(out, "  {line}");
    }
}

fn headline(plan: &Plan) -> String {
    let count = |a: ChangeAction| plan.changes.iter().filter(|c| c.action == a).count();
    let (add, change, destroy) = (
        count(ChangeAction::Create),
        count(ChangeAction::Update),
        count(ChangeAction::Destroy),
    );
    let what = match &plan.kind {
        PlanKind::FirstDeploy { color, release } => format!(
            "First deploy: release {} ({}) on {color}.",
            release.fingerprint, release.data.image_id
        ),
        PlanKind::Release {
            from,
            to,
            from_image,
            release,
            resume_at,
            ..
        } => match resume_at {
            Some(w) => format!(
                "Resume release {} ({}) on {to}: {w}% of production reached, {from} still active.",
                release.fingerprint, release.data.image_id
            ),
            None => format!(
                "New release {} ({} → {}) from {from} to {to}.",
                release.fingerprint,
                from_image.as_deref().unwrap_or("?"),
                release.data.image_id
            ),
        },
        PlanKind::InPlace | PlanKind::NoChanges => "In-place changes.".to_string(),
        PlanKind::Rollback { from, to } => format!("Roll back from {from} to {to}."),
    };
    format!(
        "{what} Plan: {add} to add, {change} to change, {destroy} to destroy, {} steps.",
        plan.steps.len()
    )
}

fn notes(out: &mut String, plan: &Plan) {
    for n in &plan.notes {
        let _ = writeln!(out, "Note: {}", super::note(n));
    }
}
