//! How apply reports progress: events from the executor, shown as progress
//! bars on a terminal and as plain lines otherwise (CI logs, pipes). Both go
//! to stderr: stdout is for results.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Something the executor reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// Step `index` of `total` (1-based) begins.
    Started {
        index: usize,
        total: usize,
        what: String,
    },
    /// A waiting step moved: `done` of `of` (targets healthy, seconds baked…).
    Waiting {
        done: u64,
        of: u64,
        message: String,
    },
    /// The current step finished; `detail` says what it found or did.
    Finished {
        detail: Option<String>,
    },
    Warning(String),
    /// Something the current step found, worth a line of its own as it
    /// happens.
    Note(String),
    /// A metric gate's evaluation with its numbers, shown as its `text`.
    Evaluation(Box<crate::model::report::Evaluation>),
}

pub trait Reporter: Send + Sync {
    fn event(&self, e: Event);
}

/// Plain lines: "[3/12] create target group shop-green … done".
pub struct Lines {
    quiet: bool,
    last_wait: Mutex<Option<(u64, std::time::Instant)>>,
    /// Before every line: "shop: " when several apps deploy at once.
    prefix: String,
}

impl Lines {
    pub fn new(quiet: bool) -> Lines {
        Lines::prefixed(quiet, "")
    }

    /// Lines that each begin with `prefix` (an app's name, when several
    /// apps' progress interleaves).
    pub fn prefixed(quiet: bool, prefix: &str) -> Lines {
        Lines {
            quiet,
            last_wait: Mutex::new(None),
            prefix: prefix.to_string(),
        }
    }
}

impl Reporter for Lines {
    fn event(&self, e: Event) {
        let mut err = std::io::stderr().lock();
        let p = &self.prefix;
        match e {
            Event::Started { index, total, what } => {
                *self.last_wait.lock().expect("lock") = None;
                if !self.quiet {
                    let _ = writeln!(err, "{p}[{index}/{total}] {what}");
                }
            }
            Event::Waiting { done, of, message } => {
                // One line when the count changes, at most every few seconds otherwise.
                let mut last = self.last_wait.lock().expect("lock");
                let now = std::time::Instant::now();
                // The first line, the last, and in between on a change of a
                // small count (healthy targets) or every 15 seconds (bakes).
                let show = match *last {
                    None => true,
                    Some((d, at)) => {
                        (d != done && (done == of || of <= 20))
                            || now.duration_since(at) >= Duration::from_secs(15)
                    }
                };
                if show && !self.quiet {
                    let _ = writeln!(err, "{p}      {message}");
                    *last = Some((done, now));
                }
            }
            Event::Finished { detail } => {
                if let (Some(d), false) = (detail, self.quiet) {
                    let _ = writeln!(err, "{p}      {d}");
                }
            }
            Event::Warning(w) => {
                let _ = writeln!(err, "{p}warning: {w}");
            }
            // An evaluation is a line of its own, as a note is.
            Event::Note(n) if !self.quiet => {
                let _ = writeln!(err, "{p}      {n}");
            }
            Event::Evaluation(ev) if !self.quiet => {
                let _ = writeln!(err, "{p}      {}", ev.text);
            }
            Event::Note(_) | Event::Evaluation(_) => {}
        }
    }
}

/// Progress bars on a terminal.
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
    label: Mutex<String>,
    /// Colour the bar (not with `--no-color` or `NO_COLOR`).
    colour: bool,
}

impl Bars {
    pub fn new(colour: bool) -> Bars {
        Bars {
            current: Mutex::new(None),
            label: Mutex::new(String::new()),
            colour,
        }
    }
}

impl Reporter for Bars {
    fn event(&self, e: Event) {
        let mut cur = self.current.lock().expect("lock");
        match e {
            Event::Started { index, total, what } => {
                if let Some(pb) = cur.take() {
                    pb.finish();
                }
                let label = format!("[{index}/{total}] {what}");
                let pb = ProgressBar::new_spinner();
                pb.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
                pb.set_message(label.clone());
                pb.enable_steady_tick(Duration::from_millis(120));
                *self.label.lock().expect("lock") = label;
                *cur = Some(pb);
            }
            Event::Waiting { done, of, message } => {
                if let Some(pb) = cur.as_ref() {
                    if pb.length() != Some(of) {
                        pb.set_style(
                            ProgressStyle::with_template(if self.colour {
                                "{msg}\n  [{bar:40.cyan/blue}] {pos}/{len} {prefix}"
                            } else {
                                "{msg}\n  [{bar:40}] {pos}/{len} {prefix}"
                            })
                            .expect("template")
                            .progress_chars("=> "),
                        );
                        pb.set_length(of);
                    }
                    pb.set_position(done);
                    pb.set_prefix(message);
                }
            }
            Event::Finished { detail } => {
                if let Some(pb) = cur.take() {
                    let label = self.label.lock().expect("lock").clone();
                    pb.set_style(ProgressStyle::with_template("✓ {msg}").expect("template"));
                    match detail {
                        Some(d) => pb.finish_with_message(format!("{label}: {d}")),
                        None => pb.finish_with_message(label),
                    }
                }
            }
            Event::Warning(w) => match cur.as_ref() {
                Some(pb) => pb.println(format!("warning: {w}")),
                None => eprintln!("warning: {w}"),
            },
            // An evaluation is a line of its own, as a note is.
            Event::Note(n) => note(cur.as_ref(), &n),
            Event::Evaluation(ev) => note(cur.as_ref(), &ev.text),
        }
    }
}

/// A line of its own above the current bar (or on its own without one).
fn note(bar: Option<&ProgressBar>, text: &str) {
    match bar {
        Some(pb) => pb.println(format!("  {text}")),
        None => eprintln!("  {text}"),
    }
}
