//! `cutover apply PLAN|DIR…` of many plans: every app whose plan has a
//! change, wave by wave (`app.wave`, lowest first), `--parallel N` at once
//! within a wave, each under its own lock with its own progress (lines
//! prefixed with its name) and record (`--report DIR/<app>`). A failure
//! starts nothing new: the apps already running finish, or roll back, as
//! they would alone, and the next wave does not start. One summary table
//! at the end; the exit code is the worst of the apps'.
//!
//! Live state is read for every app at once, in the batched calls `drift`
//! uses; each app is read again, alone, under its lock before it runs.

use super::apply::{self, Ask, Prechecked};
use super::{observe, observe_plans, plan_files, report_calls, report_plan_error};
use crate::decide::fleet as decide;
use crate::model::fleet::{Row, RunResult, Summary};
use crate::model::observed::Observed;
use crate::model::plan::Plan;
use crate::provider::Provider;
use crate::shell::cli::{Format, GlobalArgs};
use crate::shell::executor::Interrupt;
use crate::shell::exit::ExitStatus;
use crate::shell::progress::Lines;
use crate::spec::Spec;
use anyhow::Result;
use futures::StreamExt;
use std::cell::RefCell;
use std::path::PathBuf;

/// One plan file of the fleet, planned from the batched read.
struct App<'a> {
    path: PathBuf,
    spec: Spec,
    obs: Observed,
    plan: Plan,
    p: &'a dyn Provider,
    /// The region it deploys in (`--region`, else the plan's; `None`: the
    /// configuration chain's).
    region: Option<String>,
    /// What the checks before asking found (changed apps only).
    pre: Prechecked,
    /// Its record's folder under `--report DIR`: the app's name, or
    /// `<region>-<app>` when the fleet has the name in several regions.
    report_dir: String,
}

/// What every app's run shares.
struct Fleet<'a> {
    g: &'a GlobalArgs,
    opts: apply::Opts<'a>,
    interrupt: Interrupt,
}

pub async fn run(g: &GlobalArgs, args: &[PathBuf], opts: apply::Opts<'_>) -> Result<ExitStatus> {
    let result = fleet(g, args, opts).await;
    // CI reading the summary gets one when nothing started, too.
    match (result, opts.format) {
        (Err(e), Format::Json | Format::Markdown) => {
            eprintln!("error: {e:#}");
            let summary = Summary {
                apps: vec![],
                exit_code: ExitStatus::Error.code(),
                error: Some(format!("nothing was applied: {e:#}")),
            };
            print!("{}", crate::render::fleet::summary(&summary, opts.format));
            Ok(ExitStatus::Error)
        }
        (Err(e), _) => Err(anyhow::anyhow!("nothing was applied: {e:#}")),
        (ok, _) => ok,
    }
}

async fn fleet(g: &GlobalArgs, args: &[PathBuf], opts: apply::Opts<'_>) -> Result<ExitStatus> {
    let files = plan_files(args)?;
    refuse_saved(&files)?;
    let seen = observe_plans(g, &files, true, crate::model::observed::Reads::ALL).await;
    let result = async {
        let Some(mut apps) = planned(g, &seen, opts.retry)? else {
            anyhow::bail!("every plan must load and be read first; fix the errors above");
        };
        one_plan_per_app(&apps)?;
        show(g, &apps, opts.format);
        if let Some(refused) = precheck(&mut apps, opts).await {
            return Ok(finish(refused, opts.format));
        }
        let changed = apps.iter().filter(|a| a.plan.has_changes()).count();
        if changed > 0 && !opts.auto_approve {
            apply::confirm()?;
        }
        let fleet = Fleet {
            g,
            opts,
            interrupt: crate::shell::run::interrupt_on_signals(),
        };
        let rows = waves(&fleet, &apps).await;
        Ok(finish(rows, opts.format))
    }
    .await;
    for (_, p) in &seen.regions {
        report_calls(g, p.as_ref());
    }
    result
}

/// A saved plan is one app's, applied alone.
fn refuse_saved(files: &[PathBuf]) -> Result<()> {
    for f in files {
        let bytes =
            std::fs::read(f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
        if crate::decide::saved::is_saved_plan(&bytes) {
            anyhow::bail!(
                "{} is a saved plan: apply it alone (`cutover apply {}`); with several plans or a folder, cutover plans every app from live state",
                f.display(),
                f.display()
            );
        }
    }
    Ok(())
}

/// Every plan loaded, read and planned; `None` when any did not (said on
/// stderr, each with its file).
fn planned<'a>(
    g: &GlobalArgs,
    seen: &'a super::Observation,
    retry: bool,
) -> Result<Option<Vec<App<'a>>>> {
    let opts = crate::decide::planner::PlanOptions {
        retry,
        promote: false,
    };
    let mut apps = Vec::new();
    let mut failed = false;
    for (path, r) in &seen.apps {
        // A plan-file error as itself (file:line:col).
        let (spec, obs) = match r {
            Ok((spec, Ok(obs))) => (spec, obs),
            Ok((_, Err(e))) | Err(e) => {
                report_plan_error(path, e);
                failed = true;
                continue;
            }
        };
        let plan = match crate::decide::planner::plan_with(spec, obs, opts) {
            Ok(plan) => plan,
            Err(e) => {
                report_plan_error(path, &e.into());
                failed = true;
                continue;
            }
        };
        let region = g.region.clone().or_else(|| spec.region.clone());
        let Some((_, p)) = seen.regions.iter().find(|(r, _)| *r == region) else {
            anyhow::bail!("{}: no provider for its region", path.display());
        };
        apps.push(App {
            path: path.clone(),
            report_dir: spec.app.clone(),
            region,
            spec: spec.clone(),
            obs: obs.clone(),
            plan,
            p: p.as_ref(),
            pre: Prechecked::default(),
        });
    }
    if failed {
        return Ok(None);
    }
    for i in 0..apps.len() {
        if apps
            .iter()
            .filter(|a| a.spec.app == apps[i].spec.app)
            .count()
            > 1
        {
            let region = apps[i].region.as_deref().unwrap_or("default");
            apps[i].report_dir = format!("{region}-{}", apps[i].spec.app);
        }
    }
    Ok(Some(apps))
}

/// Two plan files for one app would fight over its lock and its traffic;
/// two apps that would take the same listener (neither with a rule), or
/// put rules of the same priority on it, would fail or take each other's
/// traffic midway. Refused before anything starts.
fn one_plan_per_app(apps: &[App<'_>]) -> Result<()> {
    for (i, a) in apps.iter().enumerate() {
        for b in apps[..i].iter().filter(|b| b.region == a.region) {
            let both = format!("{} and {}", b.path.display(), a.path.display());
            if a.spec.state_parameter == b.spec.state_parameter || a.spec.app == b.spec.app {
                anyhow::bail!(
                    "{both} both deploy app {} (active-colour parameter {}): one app, one plan file",
                    a.spec.app,
                    a.spec.state_parameter
                );
            }
            if let Some(clash) = same_listener(&a.spec, &b.spec) {
                anyhow::bail!("{both}: {clash}");
            }
        }
    }
    Ok(())
}

/// Why two apps' plans cannot share their load balancer as written.
fn same_listener(a: &Spec, b: &Spec) -> Option<String> {
    if a.load_balancer != b.load_balancer {
        return None;
    }
    let balancer = &a.load_balancer;
    for mine in a.listeners() {
        for theirs in b.listeners().filter(|l| l.port == mine.port) {
            match (&mine.rule, &theirs.rule) {
                (None, _) | (_, None) => {
                    return Some(format!(
                        "both use listener :{} of {balancer}, and {} without a rule takes all of it: give each app a `rule` there (see Sharing a load balancer in the README)",
                        mine.port,
                        if mine.rule.is_none() { &a.app } else { &b.app }
                    ))
                }
                (Some(ra), Some(rb)) if ra.priority == rb.priority => {
                    return Some(format!(
                        "{} and {} both put a rule of priority {} on listener :{} of {balancer}: priorities must differ",
                        a.app, b.app, ra.priority, mine.port
                    ))
                }
                _ => {}
            }
        }
    }
    None
}

/// The plans and the order they run in: on stdout for text, on stderr when
/// stdout is the summary's (markdown, JSON).
fn show(g: &GlobalArgs, apps: &[App<'_>], format: Format) {
    let plans: Vec<Plan> = apps.iter().map(|a| a.plan.clone()).collect();
    let style = crate::render::text::Style {
        color: format == Format::Text && super::use_color(g),
    };
    let rollbacks: Vec<_> = apps.iter().map(|_| None).collect();
    let text = crate::render::plans(&plans, &rollbacks, Format::Text, &style);
    match format {
        Format::Text if !g.quiet => print!("{text}"),
        Format::Text => print!("{}", crate::render::fleet::order(&plans, Format::Text)),
        _ if !g.quiet => eprint!("{text}"),
        _ => {}
    }
}

/// Before anything is asked: each changed app's freeze, window and
/// warnings. Any refusal refuses the whole run (nothing has started): the
/// rows that say so.
async fn precheck(apps: &mut [App<'_>], opts: apply::Opts<'_>) -> Option<Vec<Row>> {
    let mut refused = Vec::new();
    for (i, a) in apps.iter_mut().enumerate() {
        if !a.plan.has_changes() {
            continue;
        }
        match apply::precheck(&a.path, &a.spec, a.p, &a.obs, &a.plan, opts.ignore_window).await {
            Ok(pre) => a.pre = pre,
            Err(why) => {
                eprintln!("error: {}: {why}", a.path.display());
                refused.push((i, why));
            }
        }
    }
    if refused.is_empty() {
        return None;
    }
    let why = format!(
        "nothing was applied: {} of the apps may not deploy now (see their rows)",
        refused.len()
    );
    let rows = ordered(apps, |i, plan| {
        match refused.iter().find(|(j, _)| *j == i) {
            Some((_, w)) => decide::row(plan, RunResult::Refused, Some(w.clone())),
            None if plan.has_changes() => {
                decide::row(plan, RunResult::NotStarted, Some(why.clone()))
            }
            None => decide::row(plan, RunResult::NoChanges, None),
        }
    });
    Some(rows)
}

/// Rows in the order the waves run them, the apps without changes last.
fn ordered(apps: &[App<'_>], mut row: impl FnMut(usize, &Plan) -> Row) -> Vec<Row> {
    let mut order: Vec<usize> = decide::waves(apps.iter().map(|a| &a.plan))
        .into_iter()
        .flat_map(|(_, members)| members)
        .collect();
    order.extend((0..apps.len()).filter(|&i| !apps[i].plan.has_changes()));
    order.into_iter().map(|i| row(i, &apps[i].plan)).collect()
}

/// Runs the waves: `--parallel` apps at once; once one has not finished
/// well, nothing new starts.
async fn waves(fleet: &Fleet<'_>, apps: &[App<'_>]) -> Vec<Row> {
    let mut rows: Vec<Option<Row>> = apps.iter().map(|_| None).collect();
    // Why nothing more starts, once something did not finish well.
    let stopped: RefCell<Option<String>> = RefCell::new(None);
    let parallel = fleet.opts.parallel.max(1);
    for (_, members) in decide::waves(apps.iter().map(|a| &a.plan)) {
        let done: Vec<(usize, Row)> = futures::stream::iter(members.into_iter().enumerate())
            .map(|(k, i)| {
                let stopped = &stopped;
                async move {
                    stagger(&apps[i], k, parallel).await;
                    if let Some(why) = stopped.borrow().clone() {
                        let row = decide::row(&apps[i].plan, RunResult::NotStarted, Some(why));
                        return (i, row);
                    }
                    if let Some(row) = interrupted(fleet, &apps[i].plan) {
                        return (i, row);
                    }
                    let row = one(fleet, &apps[i]).await;
                    if !row.result.well() && stopped.borrow().is_none() {
                        *stopped.borrow_mut() = Some(format!(
                            "not started: {} ({}) {} in wave {}",
                            row.app,
                            row.plan_file,
                            row.result.as_str(),
                            row.wave
                        ));
                    }
                    (i, row)
                }
            })
            .buffer_unordered(parallel)
            .collect()
            .await;
        for (i, row) in done {
            rows[i] = Some(row);
        }
    }
    ordered(apps, |i, plan| {
        rows[i].take().unwrap_or_else(|| unchanged(plan))
    })
}

/// The first apps of a wave start a fraction of a poll apart, not at
/// once: in lockstep, their bursts of calls (the first reads, the writes
/// after each health poll) would collide at the cloud's API, which
/// throttles per account and region, and stay in lockstep for the whole
/// wave; spread, they interleave. The `k`-th start waits k/parallel of a
/// poll interval (on the sandbox's clock, which may not wait at all); the
/// apps that start later take a freed slot, already spread.
async fn stagger(app: &App<'_>, k: usize, parallel: usize) {
    if k == 0 || k >= parallel {
        return;
    }
    let poll = app.p.poll_interval();
    app.p.sleep(poll * k as u32 / parallel as u32).await;
}

/// The row of an app with nothing to do, saying why when there is more to
/// it (a release rolled back, not deployed again without `--retry`).
fn unchanged(plan: &Plan) -> Row {
    let why = crate::render::held_release(plan);
    decide::row(plan, RunResult::NoChanges, why)
}

/// After Ctrl-C or SIGTERM no app starts: the run was aborted, and this
/// app's production is where it was (exit 3, as an app taken home).
fn interrupted(fleet: &Fleet<'_>, plan: &Plan) -> Option<Row> {
    fleet.interrupt.is_set().then(|| {
        let why = "not started: the run was interrupted".to_string();
        Row {
            exit_code: ExitStatus::Aborted.code(),
            ..decide::row(plan, RunResult::NotStarted, Some(why))
        }
    })
}

/// One app's run: its lock, a fresh read, the plan again (it must still do
/// what was shown), then carried out; its outcome said as it ends.
async fn one(fleet: &Fleet<'_>, app: &App<'_>) -> Row {
    let started = std::time::Instant::now();
    let name = &app.spec.app;
    match attempt(fleet, app).await {
        Ok(Ok((plan, carried))) => {
            let said = format!("\n{name} ({}):{}", app.path.display(), carried.said);
            match fleet.opts.format {
                Format::Text => print!("{said}"),
                _ => eprint!("{said}"),
            }
            let secs = started.elapsed().as_secs_f64();
            decide::ran(&plan, &carried.outcome, carried.status.code(), secs)
        }
        Ok(Err(refused)) => {
            eprintln!("error: {}: {refused}", app.path.display());
            decide::row(&app.plan, RunResult::Refused, Some(refused))
        }
        Err(e) => {
            eprintln!("error: {}: {e:#}", app.path.display());
            let mut row = decide::row(&app.plan, RunResult::Failed, Some(format!("{e:#}")));
            row.seconds = Some(started.elapsed().as_secs_f64());
            row
        }
    }
}

/// `Ok(Err(why))`: refused with nothing done (locked, frozen, its plan
/// changed since it was shown).
async fn attempt(
    fleet: &Fleet<'_>,
    app: &App<'_>,
) -> Result<std::result::Result<(Plan, crate::shell::run::Carried), String>> {
    let (p, spec, path) = (app.p, &app.spec, app.path.as_path());
    let lock = match super::lock(p, spec, path, "apply").await {
        Ok(lock) => lock,
        Err(e) => return Ok(Err(format!("{e:#}"))),
    };
    let result = async {
        let now = observe(p, spec).await?;
        if let Some(refused) = super::frozen(path, &now, "applied") {
            return Ok(Err(refused));
        }
        let opts = crate::decide::planner::PlanOptions {
            retry: fleet.opts.retry,
            promote: false,
        };
        let plan = crate::decide::planner::plan_with(spec, &now, opts)?;
        if !decide::same_change(&app.plan, &plan) {
            return Ok(Err(format!(
                "nothing was applied: its live state changed since the plan was shown, which now says \"{}\"; run `cutover apply {}` again",
                crate::render::summary(&plan),
                path.display()
            )));
        }
        carry(fleet, app, &now, &plan, &lock)
            .await
            .map(|c| Ok((plan, c)))
    }
    .await;
    lock.release().await;
    result
}

/// Carries one app's plan out with its name before its progress lines.
async fn carry(
    fleet: &Fleet<'_>,
    app: &App<'_>,
    obs: &Observed,
    plan: &Plan,
    lock: &crate::shell::lock::Lock<'_>,
) -> Result<crate::shell::run::Carried> {
    let reporter = Lines::prefixed(fleet.g.quiet, &format!("{}: ", app.spec.app));
    let report = fleet.opts.report.map(|d| d.join(&app.report_dir));
    let ask = Ask {
        auto_approve: true,
        report: report.as_deref(),
        ignore_window: fleet.opts.ignore_window,
    };
    let how = crate::shell::run::How {
        shared: Some(crate::shell::run::Shared {
            reporter: &reporter,
            interrupt: &fleet.interrupt,
        }),
        ..app.pre.how(ask)
    };
    crate::shell::run::carry_out(how, fleet.g, &app.path, &app.spec, app.p, obs, plan, lock).await
}

/// Prints the summary and gives the worst exit.
fn finish(rows: Vec<Row>, format: Format) -> ExitStatus {
    let code = decide::worst(rows.iter().map(|r| r.exit_code));
    let summary = Summary {
        apps: rows,
        exit_code: code,
        error: None,
    };
    print!("{}", crate::render::fleet::summary(&summary, format));
    ExitStatus::from_code(code)
}
