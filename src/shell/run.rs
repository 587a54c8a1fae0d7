//! Carrying out a plan, for the commands that do (apply, promote,
//! rollback): the executor for a plan's app, its progress on the terminal,
//! what a signal does, and the summary at the end.

use crate::provider::AppRef;
use crate::shell::cli::GlobalArgs;
use crate::shell::executor::{Executor, Holds, Interrupt};
use crate::shell::exit::ExitStatus;
use crate::shell::progress::{Bars, Lines, Reporter};
use crate::shell::report::Recorder;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::Path;

/// Which command carries a plan out, and where its record goes.
#[derive(Debug, Clone, Copy)]
pub struct How<'a> {
    /// "Apply" or "Promote", as the summary says it.
    pub command: &'a str,
    /// `--report DIR`.
    pub report: Option<&'a Path>,
    /// What the command warned about before the run began (said already;
    /// the record keeps it too).
    pub warned: Option<&'a str>,
    /// Deployed outside `rollout.window`: by whom and why, for the release
    /// log's line when it goes live.
    pub window_ignored: Option<&'a str>,
    /// Whether `rollout.window` closing holds this run at its next step
    /// boundary: apply's, unless told to ignore it; not promote's (a
    /// person's decision, as a rollback is). A freeze holds every run.
    pub window_holds: bool,
    /// Where progress goes and what a signal does, when a fleet apply
    /// shares them among its apps; `None`: this run's own (the terminal's
    /// reporter, Ctrl-C and SIGTERM).
    pub shared: Option<Shared<'a>>,
}

/// What the apps of a fleet apply share, or prefix with their name.
#[derive(Clone, Copy)]
pub struct Shared<'a> {
    pub reporter: &'a dyn Reporter,
    pub interrupt: &'a Interrupt,
}

impl std::fmt::Debug for Shared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

/// How a plan's run ended: its exit status, the outcome, and the summary
/// that says so (not printed yet).
pub struct Carried {
    pub status: ExitStatus,
    pub outcome: crate::model::outcome::Outcome,
    pub said: String,
}

impl Carried {
    /// Prints the summary (set off from the progress above it unless `-q`
    /// showed none) and gives the exit status.
    pub fn print(self, g: &GlobalArgs) -> ExitStatus {
        let shown = if g.quiet {
            self.said.trim_start_matches('\n')
        } else {
            &self.said
        };
        print!("{shown}");
        self.status
    }
}

/// Executes an approved plan; the summary is the caller's to print.
#[allow(clippy::too_many_arguments)]
pub async fn carry_out(
    how: How<'_>,
    g: &GlobalArgs,
    path: &Path,
    spec: &crate::spec::Spec,
    p: &dyn crate::provider::Provider,
    obs: &crate::model::observed::Observed,
    plan: &crate::model::plan::Plan,
    lock: &crate::shell::lock::Lock<'_>,
) -> Result<Carried> {
    if !g.quiet && how.shared.is_none() {
        println!();
    }
    let own;
    let terminal: &dyn Reporter = match how.shared {
        Some(s) => s.reporter,
        None => {
            own = reporter(g);
            own.as_ref()
        }
    };
    let recorder = (how.report)
        .map(|dir| Recorder::start(dir, terminal, p, plan))
        .transpose()?;
    if let (Some(r), Some(w)) = (&recorder, how.warned) {
        r.keep_warning(w);
    }
    let shown: &dyn Reporter = match &recorder {
        Some(r) => r,
        None => terminal,
    };
    let interrupt = match how.shared {
        Some(s) => s.interrupt.clone(),
        None => interrupt_on_signals(),
    };
    let lock_guard = lock.guard();
    let holds = Holds {
        provider: p,
        state_parameter: spec.state_parameter.clone(),
        window: (spec.rollout.window.clone())
            .filter(|_| how.window_holds && crate::decide::preflight::window_governs(plan)),
        path: path.display().to_string(),
    };
    let executor = Executor {
        guards: vec![&interrupt, &lock_guard, &holds],
        interrupt: Some(interrupt.clone()),
        live_note: how.window_ignored.map(str::to_string),
        ..executor(spec, p, shown, obs)
    };
    let notifier = crate::shell::notify::Notifier::from_env(spec.notify_webhook_env.as_deref());
    let notify = async |m: Option<crate::shell::notify::Message>| {
        if let (Some(n), Some(m)) = (&notifier, m) {
            n.send(&m).await;
        }
    };
    notify(crate::shell::notify::Message::started(plan, p.now())).await;
    let outcome = executor.execute(plan, obs).await;
    notify(crate::shell::notify::Message::finished(
        plan,
        &outcome,
        p.now(),
    ))
    .await;
    let said =
        crate::render::outcome::apply(how.command, plan, &outcome, &path.display().to_string());
    let status = ExitStatus::of_run(plan, &outcome);
    if let Some(r) = &recorder {
        let after = crate::shell::report::after(spec, p).await;
        r.finish(&outcome, &said, status.code(), after);
    }
    Ok(Carried {
        status,
        outcome,
        said,
    })
}

/// Progress bars on a terminal, plain lines otherwise (stderr either way).
pub fn reporter(g: &GlobalArgs) -> Box<dyn Reporter> {
    if std::io::stderr().is_terminal() && !g.quiet {
        Box::new(Bars::new(crate::shell::cli::colour_allowed(g)))
    } else {
        Box::new(Lines::new(g.quiet))
    }
}

/// An executor for `spec`'s app on `p`, with no guards yet.
pub fn executor<'a>(
    spec: &crate::spec::Spec,
    p: &'a dyn crate::provider::Provider,
    reporter: &'a dyn Reporter,
    obs: &crate::model::observed::Observed,
) -> Executor<'a> {
    Executor {
        provider: p,
        app: AppRef::from_spec(spec),
        reporter,
        poll: p.poll_interval(),
        production: spec.production.weights_at(),
        desired: spec.fleet.capacity.desired,
        test_url: test_url(spec, obs),
        guards: vec![],
        interrupt: None,
        health_timeout_secs: spec.rollout.health_timeout_secs,
        hidden_env: spec.notify_webhook_env.iter().cloned().collect(),
        live_note: None,
    }
}

/// A flag set by the first Ctrl-C or SIGTERM: the executor stops at its next
/// wait and rolls back as for a failed step. A second signal exits at once.
pub fn interrupt_on_signals() -> Interrupt {
    let flag = Interrupt::new();
    let set = flag.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let ctrl_c = interrupted(&mut term).await;
        eprintln!("\ninterrupted: stopping at the next wait and putting production traffic back (Ctrl-C again to exit at once)");
        // Ctrl-C typed at a terminal is a person's verdict on the release;
        // SIGINT or SIGTERM from outside one (CI cancelling a job) is not.
        set.set(ctrl_c && std::io::stdin().is_terminal());
        interrupted(&mut term).await;
        if set.going_home() {
            // CI runners send SIGINT, then SIGTERM: the flip is worth finishing.
            eprintln!("\nproduction traffic is on its way home: finishing that first (Ctrl-C again to exit at once)");
            interrupted(&mut term).await;
        }
        eprintln!("\nsecond signal: exiting now, where the deployment stands (`cutover status` shows it; the next apply or rollback goes on from there)");
        std::process::exit(crate::shell::exit::ExitStatus::Interrupted.code());
    });
    flag
}

/// Waits for Ctrl-C (true) or SIGTERM (false).
async fn interrupted(term: &mut Option<tokio::signal::unix::Signal>) -> bool {
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => true,
        _ = terminated => false,
    }
}

/// `http://<load balancer DNS>:<test port>`, what smoke tests call.
fn test_url(spec: &crate::spec::Spec, obs: &crate::model::observed::Observed) -> String {
    match (&obs.load_balancer, &spec.test) {
        (Some(lb), Some(t)) => format!(
            "{}://{}:{}",
            t.protocol.as_str().to_ascii_lowercase(),
            lb.dns_name,
            t.port
        ),
        _ => String::new(),
    }
}
