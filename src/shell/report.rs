//! `apply --report DIR`: the run's record, written as the run goes. Every
//! event the executor reports goes to the terminal as before and into the
//! record, which is written again (to a temporary file, then renamed over
//! the last one) after each, so a run killed at any point leaves what it
//! saw: rollout.json (schemas/report.schema.json) and summary.md.

use crate::model::outcome::Outcome;
use crate::model::plan::{Action, Plan, PlanKind};
use crate::model::report::{Report, ReportOutcome, ReportStep, REPORT_VERSION};
use crate::provider::Provider;
use crate::shell::progress::{Event, Reporter};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The terminal's reporter, and the record beside it.
pub struct Recorder<'a> {
    terminal: &'a dyn Reporter,
    provider: &'a dyn Provider,
    plan: &'a Plan,
    dir: PathBuf,
    report: Mutex<Report>,
}

impl<'a> Recorder<'a> {
    /// Starts the record of `plan` in `dir` (made when missing) and writes
    /// it once, so that a run killed before its first step leaves one.
    pub fn start(
        dir: &Path,
        terminal: &'a dyn Reporter,
        provider: &'a dyn Provider,
        plan: &'a Plan,
    ) -> anyhow::Result<Recorder<'a>> {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot make the report folder {}: {e}; name a folder you can write (--report DIR)",
                dir.display()
            )
        })?;
        let (kind, release, from, to) = match &plan.kind {
            PlanKind::Release {
                from, to, release, ..
            } => ("release", Some(release), Some(*from), Some(*to)),
            PlanKind::FirstDeploy { color, release } => {
                ("first_deploy", Some(release), None, Some(*color))
            }
            PlanKind::InPlace => ("in_place", None, None, None),
            // From the colour rolled back to the one production goes
            // home to, with the release rolled back (when remembered).
            PlanKind::Rollback { from, to } => {
                let rejected = plan.steps.iter().find_map(|s| match &s.action {
                    Action::RememberRolledBack { release, .. } => Some(release.clone()),
                    _ => None,
                });
                let report = Report {
                    kind: "rollback".into(),
                    release: rejected,
                    from: Some(*from),
                    to: Some(*to),
                    ..Report::default()
                };
                return Self::begin(dir, terminal, provider, plan, report);
            }
            _ => ("other", None, None, None),
        };
        let report = Report {
            kind: kind.into(),
            release: release.map(|r| r.fingerprint.clone()),
            from,
            to,
            ..Report::default()
        };
        Self::begin(dir, terminal, provider, plan, report)
    }

    fn begin(
        dir: &Path,
        terminal: &'a dyn Reporter,
        provider: &'a dyn Provider,
        plan: &'a Plan,
        report: Report,
    ) -> anyhow::Result<Recorder<'a>> {
        let report = Report {
            report_version: REPORT_VERSION,
            app: plan.app.clone(),
            plan: plan.source.clone(),
            started_at: provider.now(),
            ..report
        };
        let recorder = Recorder {
            terminal,
            provider,
            plan,
            dir: dir.to_path_buf(),
            report: Mutex::new(report),
        };
        forget_earlier_record(dir);
        recorder.write(&recorder.report.lock().expect("report"))?;
        Ok(recorder)
    }

    /// The run's end: its outcome, what it said, its exit code and where
    /// production is after it, read fresh.
    pub fn finish(&self, outcome: &Outcome, said: &str, exit_code: i32, after: After) {
        let mut report = self.report.lock().expect("report");
        let now = self.provider.now();
        if let Some(step) = report.steps.last_mut().filter(|s| s.ended_at.is_none()) {
            step.ended_at = Some(now);
        }
        report.outcome = Some(ReportOutcome {
            result: result(self.plan, outcome, exit_code).into(),
            exit_code,
            said: said.trim().to_string(),
            ended_at: now,
            weights: after.0,
            active: after.1,
        });
        if let Err(e) = self.write(&report) {
            eprintln!("warning: {e}");
        }
    }

    /// A warning the terminal already showed, kept in the record.
    pub fn keep_warning(&self, w: &str) {
        self.record(&Event::Warning(w.to_string()));
    }

    fn record(&self, e: &Event) {
        let mut report = self.report.lock().expect("report");
        let now = self.provider.now();
        match e {
            Event::Started { index, total, what } => {
                if let Some(step) = report.steps.last_mut().filter(|s| s.ended_at.is_none()) {
                    step.ended_at = Some(now);
                }
                let weights = match self.plan.steps.get(index - 1).map(|s| &s.action) {
                    Some(Action::SetWeights { weights, .. }) => Some(*weights),
                    _ => None,
                };
                report.steps.push(ReportStep {
                    index: *index,
                    total: *total,
                    what: what.clone(),
                    started_at: now,
                    ended_at: None,
                    detail: None,
                    weights,
                    notes: vec![],
                });
            }
            Event::Finished { detail } => {
                if let Some(step) = report.steps.last_mut() {
                    step.ended_at = Some(now);
                    step.detail = detail.clone();
                }
            }
            Event::Note(n) => {
                if let Some(step) = report.steps.last_mut() {
                    step.notes.push(n.clone());
                }
            }
            Event::Evaluation(ev) => report.evaluations.push((**ev).clone()),
            Event::Warning(w) => report.warnings.push(w.clone()),
            // The record keeps what happened, not each tick of a wait.
            Event::Waiting { .. } => return,
        }
        if let Err(e) = self.write(&report) {
            self.terminal.event(Event::Warning(e.to_string()));
        }
    }

    /// rollout.json, summary.md, the charts and report.html, each to a
    /// temporary file renamed over the last: a reader (or a kill) never
    /// sees half of one.
    fn write(&self, report: &Report) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(report)? + "\n";
        let summary = crate::render::report::summary(report);
        let charts = crate::render::chart::charts(report);
        let html = crate::render::report::html(report, &charts);
        let files = [
            ("rollout.json".to_string(), json),
            ("summary.md".to_string(), summary),
        ]
        .into_iter()
        .chain(charts.into_iter().map(|c| (c.file, c.svg)))
        .chain([("report.html".to_string(), html)]);
        for (name, text) in files {
            let path = self.dir.join(&name);
            let part = self.dir.join(format!(".{name}.part"));
            std::fs::write(&part, text)
                .and_then(|()| std::fs::rename(&part, &path))
                .map_err(|e| {
                    anyhow::anyhow!("cannot write the report's {}: {e}", path.display())
                })?;
        }
        Ok(())
    }
}

/// A folder used for an earlier run's record: the files that record wrote
/// go (a chart of a gate this run does not have would say it judged one),
/// and nothing else in it is touched.
fn forget_earlier_record(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = matches!(
            name.as_ref(),
            "rollout.json" | "summary.md" | "report.html" | "weights.svg"
        ) || (name.starts_with("gate-") && name.ends_with(".svg"));
        if ours {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Production's weights and the active colour after the run, as read.
pub type After = (Option<crate::model::Weights>, Option<crate::model::Color>);

/// Where production is after the run, read fresh for its record (`None`s
/// when it could not be read).
pub async fn after(spec: &crate::spec::Spec, p: &dyn Provider) -> After {
    match p.observe(&crate::provider::AppRef::from_spec(spec)).await {
        Ok(now) => (
            now.weights_at(spec.production.weights_at()),
            now.active.map(|a| a.color),
        ),
        Err(_) => (None, None),
    }
}

impl Reporter for Recorder<'_> {
    fn event(&self, e: Event) {
        self.record(&e);
        self.terminal.event(e);
    }
}

/// The outcome in one word.
fn result(plan: &Plan, outcome: &Outcome, exit_code: i32) -> &'static str {
    use crate::model::outcome::Cause;
    let rollback = matches!(plan.kind, PlanKind::Rollback { .. });
    match outcome {
        // A rollback whose flip landed rolled back, whatever failed after
        // it (remembering the release, said as a warning).
        _ if rollback && exit_code == 0 => "rolled_back",
        Outcome::Converged if plan.paused_at().is_some() => "paused",
        Outcome::Converged => "converged",
        Outcome::Moved(_) => "moved",
        Outcome::Aborted(a) if a.cause == Cause::Held => "held",
        Outcome::Aborted(a) if a.rolled_back_to.is_some() => "rolled_back",
        Outcome::Aborted(_) => "aborted",
    }
}
