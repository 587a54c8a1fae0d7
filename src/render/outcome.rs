//! How a run ended, in words: the summary `apply`, `promote` and `rollback`
//! print after their steps.

use crate::decide::rollback::{Rollback, Why};
use crate::model::outcome::{Abort, Cause, Outcome};
use crate::model::plan::{Action, Plan, PlanKind};
use crate::model::{format_duration, format_weights, Color};
use std::fmt::Write;

/// After `apply` or `promote` (`command`, "Apply" or "Promote") carried
/// out `plan` from the file at `path`.
pub fn apply(command: &str, plan: &Plan, outcome: &Outcome, path: &str) -> String {
    match outcome {
        Outcome::Converged => converged(command, plan, path),
        Outcome::Aborted(a) => aborted(command, plan, a, path),
        Outcome::Moved(m) => moved(m, path),
    }
}

fn converged(command: &str, plan: &Plan, path: &str) -> String {
    if let Some(color) = plan.paused_at() {
        return format!(
            "\nPaused: {color} is built, healthy and smoke-tested; production is unchanged. `cutover promote {path}` shifts traffic to it, `cutover rollback {path}` abandons it.\n"
        );
    }
    let headline = match &plan.kind {
        PlanKind::FirstDeploy { color, release }
        | PlanKind::Release {
            to: color, release, ..
        } => format!(
            "{color} is live with release {} ({}).",
            release.fingerprint, release.data.image_id
        ),
        _ if plan
            .notes
            .iter()
            .any(|n| matches!(n, crate::model::plan::Note::RolesFirst)) =>
        {
            format!("the listener roles are swapped; run `cutover apply {path}` again for the rest of the plan file.")
        }
        _ => super::held_release(plan)
            .unwrap_or_else(|| "Live state matches the plan file.".to_string()),
    };
    let mut out = format!("\n{command} complete: {headline}\n");
    for n in &plan.notes {
        let _ = writeln!(out, "Note: {}", super::note(n));
    }
    out
}

/// Every step ran, and production is no longer where the run left it.
pub fn moved(m: &crate::model::outcome::Moved, path: &str) -> String {
    format!(
        "\nEvery step ran, but production is not where this run left it ({}, {} active): a fresh read shows {}, {}. Someone changed it since; `cutover status {path}` shows it, and `cutover plan {path}` says what apply would do.\n",
        format_weights(m.left),
        m.left_active,
        m.weights_now.map_or("no production forward".to_string(), format_weights),
        m.active_now.map_or("no active colour".to_string(), |c| format!("{c} active"))
    )
}

fn aborted(command: &str, plan: &Plan, a: &Abort, path: &str) -> String {
    let mut out = format!(
        "\n{command} {} at step {}/{} ({}):\n  {}\n",
        if a.cause == Cause::Held {
            "held"
        } else {
            "aborted"
        },
        a.step,
        a.total,
        a.what,
        a.error.replace('\n', "\n  ")
    );
    if let Some(done) = stopped_early(a, path) {
        out.push_str(&done);
        return out;
    }
    if let Some(e) = &a.unread {
        let _ = writeln!(
            out,
            "Production traffic: UNKNOWN: it could not be read back after the run ({e}). `cutover status {path}` shows where it is."
        );
    } else if a.cause == Cause::OldColor {
        out.push_str(&old_color_failed(plan, a, path));
        return out;
    } else {
        out.push_str(&traffic_line(plan, a, path));
    }
    let inspect = format!("(`cutover status {path}`)");
    let _ = match &plan.kind {
        PlanKind::Release { from, to, .. } if a.during_watch && a.rolled_back_to.is_some() && a.active_now == Some(*from) => writeln!(
            out,
            "{to} {} during the watch after its promotion (rollout.watch): {from} is the active colour again; {to} is left as it is for inspection {inspect}.",
            if matches!(a.cause, Cause::Interrupted | Cause::Cancelled) { "was stopped" } else { "failed" }
        ),
        PlanKind::Release { from, to, .. } if a.during_watch && a.rolled_back_to.is_none() => writeln!(
            out,
            "{to} failed during the watch after its promotion (rollout.watch), and production could not be sent back: {to} stays live and active, and {from} is kept (not torn down) for `cutover rollback {path}` to go back to {inspect}."
        ),
        PlanKind::Release { from, to, .. } if a.unread.is_none() && a.active_now != Some(*from) => {
            writeln!(
                out,
                "WARNING: the active-colour parameter names {}, not {from}, where production {}; {to} is left as it is for inspection {inspect}.",
                a.active_now.map_or("no colour".to_string(), |c| c.to_string()),
                if a.weights_now == Some(crate::model::Weights::all_on(*from)) { "is" } else { "started from" },
            )
        }
        PlanKind::Release { from, to, .. } => writeln!(
            out,
            "{from} stays the active colour; {to} is left as it is for inspection {inspect}."
        ),
        PlanKind::FirstDeploy { color, .. } => writeln!(
            out,
            "Nothing is active yet; {color} is left as it is for inspection {inspect}."
        ),
        _ => Ok(()),
    };
    if let Some(fp) = &a.remembered {
        let _ = writeln!(
            out,
            "Release {fp} is remembered as rolled back: `cutover apply` will not deploy it again unless the release changes or you pass --retry."
        );
    } else if let (
        PlanKind::Release { release, .. },
        Cause::Cloud | Cause::Refused | Cause::Cancelled | Cause::Config | Cause::Unproven,
    ) = (&plan.kind, a.cause)
    {
        let _ = writeln!(
            out,
            "This is not a verdict on release {}: the next `cutover apply` tries it again.",
            release.fingerprint
        );
    }
    out
}

/// The colour production came from lost health: where production is now,
/// and why the release is not blamed.
fn old_color_failed(plan: &Plan, a: &Abort, path: &str) -> String {
    let mut out = String::new();
    let traffic = a.weights_now.map(format_weights).unwrap_or_default();
    let (Some(old), PlanKind::Release { release, .. }) = (plan.rollback_to, &plan.kind) else {
        return out;
    };
    let new = old.other();
    let fp = &release.fingerprint;
    let _ = match (a.moved_to, &a.rollback_error) {
        (Some(to), _) => writeln!(
            out,
            "Production traffic: {old} has no healthy target left, so production went to {to}, which has all of its targets healthy, in one write; now {traffic}.\n{to} is not recorded as active: its bakes are not done. `cutover apply {path}` resumes them from where production is."
        ),
        (None, Some(e)) => writeln!(
            out,
            "Production traffic: {old} has no healthy target left, and sending production to {new} failed ({e}); now {traffic}. Run `cutover apply {path}` again."
        ),
        (None, None) => writeln!(
            out,
            "Production traffic: held at {traffic}: nothing moved forward, and nothing moved onto {old}.\nOnce {old} is healthy again (`cutover status {path}`), `cutover apply {path}` resumes the bakes from where production is; `cutover rollback {path} --force` sends production to {old} anyway."
        ),
    };
    let _ = writeln!(
        out,
        "This is not a verdict on release {fp}: nothing is remembered as rolled back, and no --retry is needed."
    );
    out
}

/// Production as read back after the run, in words.
fn now(a: &Abort) -> String {
    match (&a.unread, a.weights_now) {
        (Some(_), _) => "unread".to_string(),
        (None, Some(w)) => format_weights(w),
        (None, None) => "no traffic".to_string(),
    }
}

/// What a run that stopped without going home says: preempted by a
/// rollback, stopped by someone else's change, or failed after promotion.
fn stopped_early(a: &Abort, path: &str) -> Option<String> {
    let line = match a.cause {
        Cause::Preempted => format!(
            "Production traffic is where the run that took the lock over put it: now {}{}; `cutover status {path}` shows it.",
            now(a),
            a.active_now.map(|c| format!(", {c} recorded as active")).unwrap_or_default()
        ),
        Cause::Held => format!(
            "Production traffic stays at {}: nothing moved forward, nothing was blamed, and the lock is released. `cutover status {path}` shows it; `cutover apply {path}` or `cutover promote {path}` resumes judging, `cutover rollback {path}` goes home.",
            now(a)
        ),
        Cause::Foreign => format!(
            "Production traffic is where that change put it: find out who made it, then `cutover plan {path}` says what apply would do, and `cutover rollback {path}` brings production home."
        ),
        // The release is live; only housekeeping failed: not a rollback.
        _ if a.after_promotion => format!(
            "The new colour is live and recorded as active (production now {}); run `cutover apply {path}` again to finish.",
            a.weights_now.map_or("unread".to_string(), format_weights)
        ),
        _ => return None,
    };
    Some(line + "\n")
}

/// Where production traffic is after the way home, or why it is not home.
fn traffic_line(plan: &Plan, a: &Abort, path: &str) -> String {
    let mut out = String::new();
    let traffic = a
        .weights_now
        .map(format_weights)
        .unwrap_or("no production listener yet".into());
    let moved = plan.rollback_to.is_none() && a.weights_now.is_some_and(|w| w.blue + w.green > 0);
    let _ = match (a.rolled_back_to, &a.rollback_error) {
        // A first deploy that failed after production went to its colour.
        (None, None) if moved => writeln!(out, "Production traffic: {traffic}."),
        (Some(to), _) if a.home_short.is_some() => {
            let (healthy, wanted) = a.home_short.unwrap_or_default();
            writeln!(
                out,
                "Production traffic: rolled back to {to} in one call; now {traffic}.\nWARNING: {to} serves with only {healthy} of its {wanted} targets healthy: it lost instances during the release; Auto Scaling replaces them, and `cutover status` shows them."
            )
        }
        (Some(to), _) => write!(
            out,
            "Production traffic: rolled back to {to} in one call; now {traffic}.\n{}",
            affinity_ended(
                plan.timeline.as_ref().map_or(0, |t| t.session_affinity_secs),
                to.other(),
                to
            )
        ),
        (None, Some(e)) => writeln!(
            out,
            "Production traffic: ROLLBACK FAILED ({e}); now {traffic}. Run `cutover rollback {path}`."
        ),
        (None, None) => writeln!(
            out,
            "Production traffic: unchanged, {traffic}: no production weight moved."
        ),
    };
    out
}

/// What a rollback says before it flips: that it is forced onto a colour
/// short of healthy targets, or that it inferred where to go.
pub fn rollback_warning(r: &Rollback) -> Option<String> {
    match (r.short, r.why) {
        (Some((healthy, wanted)), _) => Some(format!(
            "warning: --force: {} has {healthy} of the {wanted} healthy targets it served with; all of production goes to them now",
            r.to
        )),
        (None, Why::Inferred) => Some(format!(
            "warning: no promotion record says which colour served before {}: going to {}, which runs the older launch template version",
            r.from, r.to
        )),
        _ => None,
    }
}

/// Why a rollback goes to `r.to`, in words.
pub fn rollback_why(r: &Rollback) -> String {
    match r.why {
        Why::MidShift => format!(
            "the shift to {} is not finished; {} is still active",
            r.from, r.to
        ),
        Why::Recorded { at } => format!(
            "{} served before {} was promoted at {}",
            r.to,
            r.from,
            crate::model::format_timestamp(at)
        ),
        Why::Finish => format!(
            "production is already on {}; recording it as active finishes a rollback",
            r.to
        ),
        Why::Abandon => format!(
            "{} runs a release that never got production traffic",
            r.from
        ),
        Why::Inferred => format!(
            "no promotion record: {} runs the older launch template version",
            r.to
        ),
    }
}

/// What turning session affinity off in the flip means, when it was on.
fn affinity_ended(secs: u32, from: Color, to: Color) -> String {
    if secs == 0 {
        return String::new();
    }
    format!(
        "Session affinity ({}) was turned off in the same update: every user is on {to} now, none kept on {from}.\n",
        format_duration(secs as u64)
    )
}

/// Where `cutover rollback` would go now, and why: a line for plans.
pub fn rollback_now(r: &Rollback) -> String {
    format!(
        "Rollback now: `cutover rollback` would send production to {}, because {}.\n",
        r.to,
        rollback_why(r)
    )
}

/// After `cutover rollback` of `app` carried out its plan. A failed flip is
/// an error the shell reports; this says what happened when it went out.
pub fn rollback(app: &str, r: &Rollback, remembered: bool) -> String {
    let mut out = if r.flip {
        format!(
            "Rolled back {app}: 100% of production on {} (was {}%).{}\n",
            r.to,
            r.current_share,
            match &r.record_active {
                Some(param) => format!(" {} recorded as active in {param}.", r.to),
                None => format!(" {} stays the active colour.", r.to),
            }
        ) + &affinity_ended(r.ends_affinity_secs, r.from, r.to)
    } else if r.why == Why::Finish {
        format!(
            "Rolled back {app}: production was already all on {}; {} is now recorded as active.\n",
            r.to, r.to
        )
    } else {
        format!(
            "Rolled back {app}: production was already all on {}; the release on {} will not be promoted.\n",
            r.to, r.from
        )
    };
    if let (Some(fp), true) = (&r.rejected_release, remembered) {
        let _ = writeln!(
            out,
            "Release {fp} is remembered as rolled back: `cutover apply` will not deploy it again without --retry."
        );
    }
    let _ = writeln!(
        out,
        "{} keeps running, with no traffic, for inspection.",
        r.from
    );
    out
}

/// What a failed step of `cutover rollback` means, as one line, and whether
/// it ends the command: only remembering the release may fail once the flip
/// went out (a warning); anything else is an error.
pub fn rollback_failed(app: &str, r: &Rollback, plan: &Plan, a: &Abort) -> (String, bool) {
    let fleet = |c| crate::model::names::color_resource(app, c);
    match &plan.steps[a.step - 1].action {
        Action::RememberRolledBack { color, .. } if r.flip => (
            format!(
                "warning: could not tag {} as rolled back ({}); a later apply may deploy release {} again",
                fleet(*color),
                a.error,
                r.rejected_release.as_deref().unwrap_or("?")
            ),
            false,
        ),
        // Nothing else happened: the paused release would still be promotable.
        Action::RememberRolledBack { color, .. } => (
            format!(
                "error: could not tag {} as rolled back ({}); the release on {} is not abandoned",
                fleet(*color),
                a.error,
                r.from
            ),
            true,
        ),
        // The flip went out; recording the active colour did not.
        _ if a.weights_now == Some(crate::model::Weights::all_on(r.to)) => {
            (format!("error: {}", a.error), true)
        }
        _ if a.unread.is_some() => (
            format!(
                "error: {}\nWhere production is could not be read back ({}): `cutover status` shows it; `cutover rollback` again finishes the rollback.",
                a.error,
                a.unread.as_deref().unwrap_or_default()
            ),
            true,
        ),
        _ => (
            format!(
                "error: updating the production listener failed, production is unchanged: {}{}",
                a.error,
                a.remembered
                    .as_ref()
                    .map(|fp| format!(
                        "\nRelease {fp} is remembered as rolled back all the same (the tag went out with the flip): `cutover apply` deploys it again only with --retry; `cutover rollback` again finishes the rollback."
                    ))
                    .unwrap_or_default()
            ),
            true,
        ),
    }
}
