//! `cutover status` as text.

use crate::decide::status::Status;
use crate::model::format_weights;
use crate::model::{format_timestamp, Weights};
use std::fmt::Write;

/// The apps' statuses in `format`; `single`: one plan was named as a
/// file, and its JSON is the status itself rather than a list.
pub fn document(shown: &[Status], single: bool, format: super::Format) -> String {
    let texts = || shown.iter().map(render);
    match format {
        super::Format::Text => texts().collect::<Vec<_>>().join("\n"),
        super::Format::Markdown => shown
            .iter()
            .zip(texts())
            .map(|(status, text)| format!("**{}**\n\n```\n{text}```\n", status.app))
            .collect(),
        super::Format::Json if single && shown.len() == 1 => json(&shown[0]),
        super::Format::Json => json(&shown),
    }
}

/// Pretty JSON and a newline.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = serde_json::to_string_pretty(value).expect("a status serialises");
    out.push('\n');
    out
}

pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", s.app);
    match (s.active, s.active_since) {
        (Some(c), Some(t)) => {
            let _ = writeln!(out, "  active colour: {c} (since {})", format_timestamp(t));
        }
        _ => {
            let _ = writeln!(out, "  active colour: none (not deployed yet)");
        }
    }
    let _ = writeln!(
        out,
        "  production:    {}",
        s.weights
            .map(format_weights)
            .unwrap_or("no production listener".into())
    );
    if let (Some(active), Some(w)) = (s.active, s.weights) {
        if w == Weights::all_on(active.other()) {
            let _ = writeln!(
                out,
                "  in progress:   production is all on {}, not yet promoted; {} is still the active colour (`cutover apply` finishes the release)",
                active.other(),
                active
            );
        } else if w != Weights::all_on(active) {
            let _ = writeln!(
                out,
                "  in progress:   traffic is split; {} is still the active colour",
                active
            );
        }
    }
    colours(&mut out, s);
    waiting(&mut out, s);
    out.push('\n');
    match &s.rollback {
        Ok(r) => {
            let _ = writeln!(
                out,
                "  rollback: `cutover rollback` would send 100% to {} ({}% now){}",
                r.to,
                r.current_share,
                if r.record_active.is_some() {
                    format!(" and record {} as active", r.to)
                } else {
                    String::new()
                }
            );
            let _ = writeln!(
                out,
                "            because {}",
                crate::render::outcome::rollback_why(r)
            );
        }
        Err(e) => {
            let _ = writeln!(out, "  rollback: not possible: {e}");
        }
    }
    out
}

/// What the deployment waits for: a freeze, a held release, a paused one,
/// a lock.
fn waiting(out: &mut String, s: &Status) {
    for f in &s.freezes {
        let _ = writeln!(
            out,
            "  frozen:        {}; `apply` and `promote` start nothing until {}",
            f.said(),
            f.thaw_hint(None)
        );
    }
    if let Some(h) = &s.held {
        let _ = writeln!(
            out,
            "  held:          {} runs release {} at {}% since {}: {}; `cutover apply` or `cutover promote` judges it again, `cutover rollback` goes home",
            h.color,
            h.release,
            h.weight,
            crate::model::format_timestamp(h.since),
            h.why
        );
    }
    if let Some((c, fp)) = &s.paused {
        let _ = writeln!(
            out,
            "  paused:        {c} runs release {fp} and waits for `cutover promote`"
        );
    }
    if let Some(l) = &s.lock {
        let holder = crate::model::Holder::parse(l)
            .map(|h| h.to_string())
            .unwrap_or_else(|raw| raw);
        if s.lock_holder_gone {
            let _ = writeln!(
                out,
                "  lock:          left by {holder}, which is gone: the next `cutover apply` or `cutover rollback` takes it over"
            );
        } else {
            let _ = writeln!(out, "  lock:          held by {holder}");
        }
    }
}

/// One line per colour: release, image, capacity, health, traffic.
fn colours(out: &mut String, s: &Status) {
    out.push('\n');
    let _ = writeln!(
        out,
        "  {:<6} {:<14} {:<24} {:>8} {:>8} {:>8}",
        "colour", "release", "image", "desired", "healthy", "traffic"
    );
    for c in &s.colors {
        let _ = writeln!(
            out,
            "  {:<6} {:<14} {:<24} {:>8} {:>8} {:>7}%",
            c.color.as_str(),
            c.release.as_deref().unwrap_or("-"),
            c.image.as_deref().unwrap_or("-"),
            c.desired,
            c.healthy,
            c.share
        );
        if let Some(at) = c.rolled_back_at {
            let _ = writeln!(
                out,
                "         rolled back at {}: kept for inspection",
                format_timestamp(at)
            );
        }
        for t in &c.unhealthy {
            let reason = t
                .reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let _ = writeln!(out, "         not healthy: {} {}{reason}", t.id, t.state);
        }
    }
}
