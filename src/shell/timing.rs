//! Where a command's time goes, phase by phase. Marks are cheap and always
//! taken; `-v` prints them on stderr after the command (the benchmarks in
//! benches/ read that line).

use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Clock {
    started: Option<Instant>,
    last: Option<Instant>,
    phases: Vec<(&'static str, Duration)>,
}

static CLOCK: Mutex<Clock> = Mutex::new(Clock {
    started: None,
    last: None,
    phases: Vec::new(),
});

/// Starts the clock: the first thing `main` does.
pub fn start() {
    let now = Instant::now();
    if let Ok(mut c) = CLOCK.lock() {
        c.started = Some(now);
        c.last = Some(now);
    }
}

/// The time since the last mark went to `phase`.
pub fn mark(phase: &'static str) {
    let now = Instant::now();
    if let Ok(mut c) = CLOCK.lock() {
        if let Some(last) = c.last.replace(now) {
            c.phases.push((phase, now - last));
        }
    }
}

/// "timing: runtime 0.3 ms, plan file 0.2 ms, … total 9.8 ms (in the
/// process; its start and exit are not in it)".
pub fn line() -> Option<String> {
    let c = CLOCK.lock().ok()?;
    let total = c.last? - c.started?;
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let phases: Vec<String> = c
        .phases
        .iter()
        .map(|(name, d)| format!("{name} {}", ms(*d)))
        .collect();
    Some(format!(
        "timing: {}; total {}",
        phases.join(", "),
        ms(total)
    ))
}
