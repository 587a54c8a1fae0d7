//! Command-line arguments (clap). These types stay here: commands turn them
//! into settings, and nothing below the commands sees clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "Declarative blue-green deployments for AWS",
    after_help = "Exit codes (every command):
  0  done: valid, converged, nothing to do, rolled back, paused for promotion
  1  an error: bad input, a held lock, a refusal, a release held at its step (no
     evidence from a metric gate: production stays at the step's weights), or
     production left where cutover could not bring it home
  2  changes pending: plan --detailed-exitcode, drift, diff
  3  apply or promote aborted the deployment; production is back on the colour it
     started from (a failed check, a person, or AWS: the message says which)
  130  a second Ctrl-C or SIGTERM exited apply or promote at once"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Use the embedded simulated cloud, persisted in FILE, instead of AWS.
    #[arg(long, global = true, value_name = "FILE")]
    pub sandbox: Option<PathBuf>,
    /// Send AWS API calls to this endpoint (e.g. a local moto server); a
    /// service's own AWS_ENDPOINT_URL_<SERVICE> still sends it elsewhere.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (else the plan's app.region, else the AWS config chain).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile from the shared config files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Log diagnostics and the AWS calls made, per operation.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colour in the output (also NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate plan files; report every error with file:line:col.
    Validate {
        #[arg(required = true, value_name = "PLAN")]
        plans: Vec<PathBuf>,
    },
    /// Show what apply would do (read-only).
    Plan {
        /// Plan files, or folders of them (several apps in one report).
        #[arg(required = true, value_name = "PLAN|DIR")]
        plans: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Plan a release that was rolled back as if it had not been.
        #[arg(long)]
        retry: bool,
        /// Save the plan to FILE; `cutover apply FILE` applies exactly it, or
        /// refuses when live state changed since.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Converge: build the idle colour, shift, promote, tear down.
    ///
    /// Exit 0 converged (or nothing to do), 3 the deployment was aborted and
    /// production is back on the colour it started from, 1 held at a step
    /// for lack of evidence, or any other error. With several plans or a
    /// folder: the apps that have changes, wave by wave, and the worst exit
    /// of them (130, else 1, else 3, else 0).
    Apply {
        /// A plan file, a plan saved with `cutover plan --out`, or several
        /// plan files and folders of them.
        #[arg(required = true, value_name = "PLAN|SAVED|DIR")]
        plans: Vec<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Deploy a release again although it was rolled back.
        #[arg(long)]
        retry: bool,
        /// Write the run's record into this folder as it goes:
        /// rollout.json (schemas/report.schema.json) and summary.md.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Deploy although `rollout.window` is closed, for this reason
        /// (recorded in the release log with who gave it).
        #[arg(long, value_name = "REASON")]
        ignore_window: Option<String>,
        /// With several plans: how many apps deploy at once (within a wave).
        #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
        /// With several plans: the summary table as text, markdown (a CI job
        /// summary) or JSON, on stdout; plans and outcomes go to stderr for
        /// markdown and JSON.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Live AWS against plan files: every difference a person would want to know (read-only).
    ///
    /// Exit 0 in sync, 2 drift, 1 error.
    Drift {
        #[arg(required = true, value_name = "PLAN|DIR")]
        plans: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also list, separately, every resource tagged as cutover's that no
        /// given plan mentions anywhere in the account and region (not only
        /// on the given plans' load balancers).
        #[arg(long)]
        orphans: bool,
    },
    /// What changing a plan file will do, from the two files alone (no cloud).
    ///
    /// Exit 0 the same, 2 different, 1 error.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Continue a release that waits for promotion (auto_promote = false); no prompt.
    ///
    /// Exit codes as apply: 0 promoted, 3 aborted with production back on the
    /// colour it started from, 1 any other error (nothing waits, say).
    Promote {
        plan: PathBuf,
        /// Write the run's record into this folder as it goes (as apply).
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Colours, releases, health, traffic and what a rollback would do (read-only).
    ///
    /// Several plans or folders of plans are read together, with the calls
    /// batched across apps. Exit 0, or 1 when a plan or an app's state could
    /// not be read (the others are still shown).
    Status {
        #[arg(required = true, value_name = "PLAN|DIR")]
        plans: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The app's releases from AWS alone, newest first (read-only): which
    /// went live when, which were rolled back, and by what (a gate and its
    /// numbers, a person, a health timeout).
    ///
    /// Exit 0, or 1 when AWS could not be read.
    History {
        plan: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Send all production traffic back now (no prompt): to the colour that
    /// served before the last promotion, or mid-shift to the active colour.
    ///
    /// Takes the lock over from a running apply or promote, which stops.
    /// Exit 0 rolled back, 1 refused (nothing to roll back, no healthy
    /// capacity) or failed.
    Rollback {
        plan: PathBuf,
        /// Flip even when the colour going back has fewer healthy targets
        /// than it served with: production goes to the ones it has (never
        /// to a colour with none).
        #[arg(long)]
        force: bool,
        /// Write the rollback's record into this folder (as apply).
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Stop deployments until `thaw`: every app in the account and region
    /// (no plan given), or each app given.
    ///
    /// `apply` and `promote` start nothing while a freeze is in place, and
    /// a running rollout ends held at its next step boundary (it keeps
    /// judging its gates; a failing one still rolls back). `rollback` is
    /// never blocked. Exit 0, or 1 when the freeze could not be written.
    Freeze {
        #[arg(value_name = "PLAN|DIR")]
        plans: Vec<PathBuf>,
        /// Why (an incident, a release freeze): shown to everyone refused.
        #[arg(long, required = true)]
        reason: String,
    },
    /// Lift a freeze: the region's (no plan given), or each app's given;
    /// then `apply` goes on from where a held rollout stopped.
    ///
    /// Exit 0 (also when nothing was frozen), or 1.
    Thaw {
        #[arg(value_name = "PLAN|DIR")]
        plans: Vec<PathBuf>,
    },
    /// Break a lock left behind, saying whose it was.
    Unlock {
        plan: PathBuf,
        /// Really break it (without it, only show the holder).
        #[arg(long)]
        yes: bool,
    },
    /// Print the plan file's JSON Schema (for editors: validation and completion).
    Schema {
        /// The schema of `plan --format json` instead.
        #[arg(long)]
        plan_output: bool,
        /// The schema of a run's rollout.json (`apply --report`) instead.
        #[arg(long, conflicts_with = "plan_output")]
        report: bool,
        /// The schema of `status --format json` instead.
        #[arg(long, conflicts_with_all = ["plan_output", "report"])]
        status: bool,
        /// The schema of `drift --format json` instead.
        #[arg(long, conflicts_with_all = ["plan_output", "report", "status"])]
        drift: bool,
        /// The schema of `diff --format json` instead.
        #[arg(long, conflicts_with_all = ["plan_output", "report", "status", "drift"])]
        diff: bool,
        /// The schema of `history --format json` instead.
        #[arg(long, conflicts_with_all = ["plan_output", "report", "status", "drift", "diff"])]
        history: bool,
        /// The schema of `apply --format json` of several plans instead.
        #[arg(long, conflicts_with_all = ["plan_output", "report", "status", "drift", "diff", "history"])]
        apply: bool,
    },
    /// Print a shell completion script, e.g. `cutover completions bash >
    /// ~/.local/share/bash-completion/completions/cutover`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `cutover man > ~/.local/share/man/man1/cutover.1`.
    Man,
}

/// The output formats are the views': `render::Format`.
pub use crate::render::Format;

impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        Format::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// Whether colour may be used at all: not with `--no-color`, nor with
/// `NO_COLOR` set (no-color.org); each output adds whether it is a terminal.
pub fn colour_allowed(g: &GlobalArgs) -> bool {
    !g.no_color && std::env::var_os("NO_COLOR").is_none()
}

/// Diagnostics on stderr: none by default (a warning a user must see is
/// said once, as a sentence, by the command itself), debug with -v, trace
/// with -vv.
pub fn init_tracing(g: &GlobalArgs) {
    let level = match (g.quiet, g.verbose) {
        (true, _) | (_, 0) => "off",
        (_, 1) => "cutover=debug,warn",
        _ => "cutover=trace,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CUTOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_allowed(g) && std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
