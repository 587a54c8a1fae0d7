//! One thin file per subcommand over the library. Commands own the runtime,
//! choose the provider, print results to stdout and decide the exit status.

pub(crate) mod apply;
mod drift;
mod fleet;
mod freeze;
mod history;
mod plan;
mod promote;
mod rollback;
mod status;
mod unlock;
mod validate;

use crate::model::observed::Observed;
use crate::provider::aws::{Aws, AwsOptions};
use crate::provider::sandbox::Sandbox;
use crate::provider::{AppRef, Provider};
use crate::shell::cli::{Cli, Command, GlobalArgs};
use crate::shell::exit::ExitStatus;
use crate::spec::Spec;
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub fn run(cli: Cli) -> Result<ExitStatus> {
    let g = cli.global;
    if let Some(done) = offline(&g, &cli.command) {
        return done;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    crate::shell::timing::mark("runtime");
    rt.block_on(async move {
        match cli.command {
            Command::Validate { .. }
            | Command::Schema { .. }
            | Command::Diff { .. }
            | Command::Completions { .. }
            | Command::Man => unreachable!("handled above"),
            Command::Plan {
                plans,
                format,
                detailed_exitcode,
                retry,
                out,
            } => plan::run(&g, &plans, format, detailed_exitcode, retry, out.as_deref()).await,
            Command::Apply {
                plans,
                auto_approve,
                retry,
                report,
                ignore_window,
                parallel,
                format,
            } => {
                let opts = apply::Opts {
                    auto_approve,
                    retry,
                    report: report.as_deref(),
                    ignore_window: ignore_window.as_deref(),
                    parallel: parallel.into(),
                    format,
                };
                if apply::of_many(&plans, format) {
                    fleet::run(&g, &plans, opts).await
                } else {
                    apply::run(&g, &plans[0], opts).await
                }
            }
            Command::Status { plans, format } => status::run(&g, &plans, format).await,
            Command::History { plan, format } => history::run(&g, &plan, format).await,
            Command::Rollback {
                plan,
                force,
                report,
            } => rollback::run(&g, &plan, force, report.as_deref()).await,
            Command::Promote { plan, report } => promote::run(&g, &plan, report.as_deref()).await,
            Command::Drift {
                plans,
                format,
                orphans,
            } => drift::run(&g, &plans, format, orphans).await,
            Command::Unlock { plan, yes } => unlock::run(&g, &plan, yes).await,
            Command::Freeze { plans, reason } => freeze::freeze(&g, &plans, &reason).await,
            Command::Thaw { plans } => freeze::thaw(&g, &plans).await,
        }
    })
}

/// The commands that need no cloud and no runtime; `None` for the others.
fn offline(g: &GlobalArgs, command: &Command) -> Option<Result<ExitStatus>> {
    Some(match command {
        Command::Validate { plans } => validate::run(g, plans),
        Command::Diff { old, new, format } => diff(old, new, *format),
        Command::Schema {
            plan_output,
            report,
            status,
            drift,
            diff,
            history,
            apply,
        } => {
            use crate::render::json;
            let schema = match (plan_output, report, status, drift, diff, history, apply) {
                (true, ..) => json::schema(),
                (_, true, ..) => json::report_schema(),
                (_, _, true, ..) => json::status_schema(),
                (_, _, _, true, ..) => crate::render::drift::schema(),
                (.., true, _, _) => crate::render::diff::schema(),
                (.., true, _) => json::history_schema(),
                (.., true) => crate::render::fleet::schema(),
                _ => crate::spec::raw::json_schema(),
            };
            print!("{schema}");
            Ok(ExitStatus::Success)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "cutover", &mut out);
            print_whole(&out)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut out) {
                Ok(()) => print_whole(&out),
                Err(e) => Err(e).context("rendering the manual page"),
            }
        }
        _ => return None,
    })
}

/// `cutover diff OLD NEW`: what changing a plan file does, from the files alone.
fn diff(old: &Path, new: &Path, format: crate::shell::cli::Format) -> Result<ExitStatus> {
    let old = crate::spec::load(old)?;
    let new = crate::spec::load(new)?;
    let d = crate::decide::diff::diff(&old, &new);
    let out = crate::render::diff::render(&d, format);
    print!("{out}");
    Ok(if d.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Changes
    })
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is no
/// error.
fn print_whole(bytes: &[u8]) -> Result<ExitStatus> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(ExitStatus::Success),
    }
}

/// Plan files from arguments: files as given, folders as their `*.toml`
/// files in name order.
pub(crate) fn plan_files(args: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(arg)
                .with_context(|| format!("reading {}", arg.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                anyhow::bail!("{} has no *.toml plan files", arg.display());
            }
            out.extend(files);
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

/// Takes the app's lock for `verb` (apply, promote, rollback) on `path`.
pub(crate) async fn lock<'a>(
    p: &'a dyn Provider,
    spec: &Spec,
    path: &Path,
    verb: &str,
) -> Result<crate::shell::lock::Lock<'a>> {
    Ok(crate::shell::lock::acquire(
        p,
        &spec.app,
        &path.display().to_string(),
        &spec.state_parameter,
        &format!("cutover {verb} {}", path.display()),
    )
    .await?)
}

/// A run refused before it starts because a freeze is in place: said on
/// stderr (who froze, when, why, how to lift it), exit 1. `verb`: "applied",
/// "promoted".
pub(crate) fn refused_frozen(path: &Path, obs: &Observed, verb: &str) -> Option<ExitStatus> {
    let said = frozen(path, obs, verb)?;
    eprintln!("error: {}: {said}", path.display());
    Some(ExitStatus::Error)
}

/// Why a run may not start while a freeze is in place: who froze, when,
/// why, how to lift it.
pub(crate) fn frozen(path: &Path, obs: &Observed, verb: &str) -> Option<String> {
    let f = obs.freezes.first()?;
    let path = path.display().to_string();
    Some(format!(
        "nothing was {verb}: {}. {}; `cutover rollback {path}` is never blocked by a freeze.",
        f.said(),
        f.thaw_hint(Some(&path))
    ))
}

/// Reads and validates a plan file.
pub(crate) fn load_spec(path: &Path) -> Result<Spec> {
    Ok(crate::spec::load(path)?)
}

/// The sandbox when `--sandbox` is given, AWS otherwise.
pub(crate) async fn provider(g: &GlobalArgs, spec: &Spec) -> Result<Box<dyn Provider>> {
    provider_for(g, spec.region.as_deref(), &[spec]).await
}

/// A provider for `region` (or the config chain's) that serves `specs`.
pub(crate) async fn provider_for(
    g: &GlobalArgs,
    region: Option<&str>,
    specs: &[&Spec],
) -> Result<Box<dyn Provider>> {
    if let Some(path) = &g.sandbox {
        let region = g.region.as_deref().or(region);
        let sandbox = Sandbox::open_in(path, region)?;
        for spec in specs {
            let seeded = sandbox.with_world(|w| w.seed(&spec.named()))?;
            if seeded && !g.quiet {
                eprintln!(
                    "sandbox: {} now has load balancer {:?} in {} with the plan's subnets and security groups (they stand in for what exists before cutover)",
                    sandbox.path().display(),
                    spec.load_balancer,
                    spec.target_group.vpc_id
                );
            }
        }
        return Ok(Box::new(sandbox));
    }
    let opts = AwsOptions {
        region: g.region.clone().or_else(|| region.map(str::to_string)),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    };
    let conf = Aws::load_config(&opts).await.map_err(anyhow::Error::msg)?;
    crate::shell::timing::mark("aws config");
    let aws = Aws::from_config(&conf);
    crate::shell::timing::mark("clients");
    Ok(Box::new(aws))
}

/// Plan files and their apps as observed together.
pub(crate) struct Observation {
    /// One provider per region the plans name (`None`: the config chain's).
    pub regions: Vec<(Option<String>, Box<dyn Provider>)>,
    /// Each plan file, in the order given: its spec (or why it did not
    /// load), and its app's snapshot (or why it could not be read).
    pub apps: Vec<(PathBuf, Result<Loaded>)>,
}

/// A plan file that loaded, and its app's snapshot (or why it could not be read).
pub(crate) type Loaded = (Spec, Result<Observed>);

/// Looks up what the plan names and cutover does not create (preflight),
/// then says what is wrong: warnings on stderr; a missing resource, or one
/// in another VPC, is an error on the plan key that names it (exit 1).
fn preflighted(
    p: &dyn Provider,
    spec: &Spec,
    found: crate::provider::Result<crate::model::named::Found>,
    obs: Option<&Observed>,
) -> Result<()> {
    let found = found.with_context(|| {
        format!(
            "looking up what {} names in {}",
            spec.source.display(),
            p.describe()
        )
    })?;
    let starts = obs.is_some_and(|o| crate::decide::preflight::release_starts(spec, o));
    let checked = crate::decide::preflight::check(spec, &found, starts);
    for w in &checked.warnings {
        eprintln!("warning: {}: {w}", spec.source.display());
    }
    if checked.errors.is_empty() {
        return Ok(());
    }
    let diagnostics = checked
        .errors
        .into_iter()
        .map(|f| spec.diagnostic_at(f.key, f.message, Some(f.help)))
        .collect();
    Err(crate::spec::PlanFileError { diagnostics }.into())
}

/// Loads `files` and observes their apps: one provider per region, and each
/// region's apps in one batched observation (one app is the case of one).
/// With `preflight`, what each plan names is looked up meanwhile, and a
/// plan whose preflight fails gets that error instead of its snapshot.
pub(crate) async fn observe_plans(
    g: &GlobalArgs,
    files: &[PathBuf],
    preflight: bool,
    reads: crate::model::observed::Reads,
) -> Observation {
    let loaded: Vec<Result<Spec>> = files.iter().map(|f| load_spec(f)).collect();
    let region_of = |s: &Spec| g.region.clone().or_else(|| s.region.clone());
    let mut regions: Vec<Option<String>> = loaded.iter().flatten().map(region_of).collect();
    regions.sort();
    regions.dedup();
    let mut seen: Vec<Option<Result<Observed>>> = loaded.iter().map(|_| None).collect();
    let mut providers = Vec::new();
    for region in regions {
        let members: Vec<usize> = (0..files.len())
            .filter(|&i| loaded[i].as_ref().is_ok_and(|s| region_of(s) == region))
            .collect();
        let specs: Vec<&Spec> = members
            .iter()
            .filter_map(|&i| loaded[i].as_ref().ok())
            .collect();
        let p = match provider_for(g, region.as_deref(), &specs).await {
            Ok(p) => p,
            Err(e) => {
                let msg = format!("{e:#}");
                for &i in &members {
                    seen[i] = Some(Err(anyhow::anyhow!("{msg}")));
                }
                continue;
            }
        };
        let refs: Vec<AppRef> = specs.iter().map(|s| AppRef::from_spec(s)).collect();
        let named: Vec<_> = specs.iter().map(|s| s.named()).collect();
        let lookups =
            futures::future::join_all(named.iter().filter(|_| preflight).map(|n| p.look_up(n)));
        let (observed, found) = futures::join!(p.observe_apps(&refs, reads), lookups);
        let mut found = found.into_iter();
        for ((&i, obs), spec) in members.iter().zip(observed).zip(&specs) {
            let what = format!(
                "reading the live state of {} from {}",
                spec.app,
                p.describe()
            );
            let checked = match found.next() {
                Some(f) => preflighted(p.as_ref(), spec, f, obs.as_ref().ok()),
                None => Ok(()),
            };
            seen[i] = Some(checked.and_then(|()| obs.context(what)));
        }
        providers.push((region, p));
    }
    let apps = files
        .iter()
        .zip(loaded)
        .zip(seen)
        .map(|((f, spec), obs)| {
            let not_read = || Err(anyhow::anyhow!("{} was not observed", f.display()));
            (f.clone(), spec.map(|s| (s, obs.unwrap_or_else(not_read))))
        })
        .collect();
    Observation {
        regions: providers,
        apps,
    }
}

pub(crate) async fn observe(
    p: &dyn Provider,
    spec: &Spec,
) -> Result<crate::model::observed::Observed> {
    p.observe(&AppRef::from_spec(spec)).await.with_context(|| {
        format!(
            "reading the live state of {} from {}",
            spec.app,
            p.describe()
        )
    })
}

/// The app's live state, read while preflight looks up what the plan
/// names; a preflight error comes first.
pub(crate) async fn observe_checked(
    p: &dyn Provider,
    spec: &Spec,
) -> Result<crate::model::observed::Observed> {
    let named = spec.named();
    let (obs, found) = futures::join!(observe(p, spec), p.look_up(&named));
    preflighted(p, spec, found, obs.as_ref().ok())?;
    obs
}

/// Says on stderr why a plan of several could not be shown: a plan-file
/// error as itself (file:line:col), anything else as one line naming the file.
pub(crate) fn report_plan_error(path: &Path, e: &anyhow::Error) {
    if let Some(pe) = e.downcast_ref::<crate::spec::PlanFileError>() {
        eprintln!("{pe}");
    } else {
        eprintln!("error: {}: {e:#}", path.display());
    }
}

/// With -v, the API calls made, per operation, on stderr.
pub(crate) fn report_calls(g: &GlobalArgs, p: &dyn Provider) {
    if g.verbose == 0 {
        return;
    }
    let calls = p.calls();
    let total: u64 = calls.values().sum();
    eprintln!("{} API calls to {}:", total, p.describe());
    for (op, n) in calls {
        eprintln!("  {n:>4} {op}");
    }
}

/// Colour on stdout only for a terminal, and never with --no-color or NO_COLOR.
pub(crate) fn use_color(g: &GlobalArgs) -> bool {
    crate::shell::cli::colour_allowed(g) && std::io::stdout().is_terminal()
}

/// Before traffic moves: a warning when the plan moves a release and a
/// metric gate compares green with blue, but blue has had too little
/// traffic lately to compare with (one GetMetricData of blue's requests).
pub(crate) async fn baseline_warning(
    p: &dyn Provider,
    spec: &Spec,
    obs: &Observed,
    plan: &crate::model::plan::Plan,
) -> Option<String> {
    use crate::gate::metric::{self, read};
    let crate::model::plan::PlanKind::Release { from, .. } = plan.kind else {
        return None;
    };
    let relative: Vec<_> = spec
        .rollout
        .metric_gates()
        .filter(|g| g.relative())
        .collect();
    if relative.is_empty() {
        return None;
    }
    let lb = obs.load_balancer.as_ref()?;
    let tg = obs.target_groups.get(from).as_ref()?;
    let until = read::judged_until(obs.now);
    let q = read::MetricQuery {
        load_balancer: read::load_balancer_dimension(lb.arn.as_str())?.to_string(),
        target_groups: vec![(
            from,
            read::target_group_dimension(tg.arn.as_str())?.to_string(),
        )],
        percentiles: vec![],
        custom: vec![],
        start: until - metric::BASELINE_LOOKBACK_SECS,
        end: until,
    };
    match p.read_metrics(&q).await {
        Ok(data) => {
            let requests: f64 = data
                .minutes
                .values()
                .flatten()
                .filter_map(|m| m.requests)
                .sum();
            metric::baseline_warning(&relative, from, requests)
        }
        Err(e) => Some(format!(
            "could not read {from}'s recent traffic for the metric gates that compare with it ({e}); apply reads it again at each step"
        )),
    }
}
