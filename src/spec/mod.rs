//! The plan file: parsing (TOML → [`raw`] types) and validation (raw → [`Spec`]).
//!
//! Validation collects every error it can find, each with file, line, column
//! and what would be valid, instead of stopping at the first. A `Spec` that
//! exists is valid: the planner never re-checks it.
//!
//! Here: the `Spec`, loading and parsing, and the `Validator` with the checks
//! every table shares (durations, ranges, ports, …). Each table's rules, its
//! spec type and the AWS limits it enforces are in the table's own file
//! (`app.rs`, `listeners.rs`, `target_group.rs`, `fleet.rs`, `rollout.rs`,
//! `teardown.rs`), as an `impl Validator` of their own.

pub mod diagnostic;
pub mod duration;
pub mod located;
pub mod raw;
pub mod structure;
pub mod window;

// The rules, one file per table of the plan, each with its spec type and
// the AWS limits it enforces.
mod app;
mod fleet;
mod listeners;
mod rollout;
mod target_group;
mod teardown;

pub use app::HooksSpec;
pub use diagnostic::{Diagnostic, Place, PlanFileError};
pub use fleet::FleetSpec;
pub use listeners::ListenerSpec;
pub use rollout::RolloutSpec;
pub use target_group::TargetGroupSpec;
pub use teardown::TeardownSpec;

use crate::model::{Color, Protocol, Release};
use duration::parse_duration;
use located::Located;
use raw::{RawRollout, Sections};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A validated plan for one app.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub source: PathBuf,
    pub app: String,
    pub region: Option<String>,
    /// `app.wave`: lower waves deploy first when many plans apply at once.
    pub wave: u32,
    pub load_balancer: String,
    pub production: ListenerSpec,
    pub test: Option<ListenerSpec>,
    pub target_group: TargetGroupSpec,
    pub fleet: FleetSpec,
    pub rollout: RolloutSpec,
    pub teardown: TeardownSpec,
    pub state_parameter: String,
    pub hooks: HooksSpec,
    pub notify_webhook_env: Option<String>,
    /// Where the values that name existing AWS resources sit in the file.
    pub places: Places,
}

/// A plan key whose value names a resource that must exist beforehand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlanKey {
    LoadBalancer,
    VpcId,
    /// The n-th entry of `fleet.subnets`.
    Subnet(usize),
    /// The n-th entry of `fleet.security_groups`.
    SecurityGroup(usize),
    KeyName,
    /// The `certificate_arn` of the listener on this port.
    Certificate(u16),
    /// The `alarm` of the n-th alarm gate.
    Alarm(usize),
}

/// Where each [`PlanKey`]'s value is in the plan file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places(std::collections::BTreeMap<PlanKey, Place>);

impl Places {
    pub fn get(&self, key: PlanKey) -> Option<&Place> {
        self.0.get(&key)
    }
}

impl Spec {
    /// A diagnostic about the value of `key`, pointing at its line.
    pub fn diagnostic_at(
        &self,
        key: PlanKey,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        match self.places.get(key) {
            Some(place) => Diagnostic::at_place(&self.source, place, message, help),
            None => Diagnostic::at(&self.source, "", None, message, help),
        }
    }

    /// The resources this plan names that cutover does not create.
    pub fn named(&self) -> crate::model::named::Named {
        crate::model::named::Named {
            load_balancer: self.load_balancer.clone(),
            vpc: self.target_group.vpc_id.clone(),
            subnets: self.fleet.subnets.clone(),
            security_groups: self.fleet.launch.security_groups.clone(),
            key_pair: self.fleet.launch.key_name.clone(),
            certificates: self
                .listeners()
                .filter_map(|l| l.certificate_arn.clone().map(|c| (l.port, c)))
                .collect(),
            shared_listeners: self
                .listeners()
                .filter(|l| l.rule.is_some())
                .map(|l| (l.port, l.protocol))
                .collect(),
            alarms: self.rollout.alarms().map(str::to_string).collect(),
        }
    }

    /// `<app>-<color>`: the name of the colour's target group and Auto Scaling group.
    pub fn resource_name(&self, c: Color) -> String {
        crate::model::names::color_resource(&self.app, c)
    }

    /// The launch template's name.
    pub fn launch_template_name(&self) -> String {
        crate::model::names::launch_template(&self.app)
    }

    pub fn release(&self) -> Release {
        Release::new(self.fleet.launch.clone())
    }

    pub fn listeners(&self) -> impl Iterator<Item = &ListenerSpec> {
        std::iter::once(&self.production).chain(self.test.as_ref())
    }
}

/// Reads and validates a plan file. Every problem is reported at once.
pub fn load(path: &Path) -> Result<Spec, PlanFileError> {
    let bytes = std::fs::read(path).map_err(|e| PlanFileError {
        diagnostics: vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message: format!("cannot read plan file: {e}"),
            help: Some("pass the path of a TOML plan file, e.g. plans/demo.toml".into()),
            snippet: None,
        }],
    })?;
    parse_bytes(path, &bytes)
}

/// Validates plan file contents, whatever the bytes are.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Spec, PlanFileError> {
    match std::str::from_utf8(bytes) {
        Ok(source) => parse(path, source),
        Err(e) => {
            let at = e.valid_up_to();
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            // The lossy text has U+FFFD (3 bytes) where the bad byte was.
            Err(PlanFileError {
                diagnostics: vec![Diagnostic::at(
                    path,
                    &lossy,
                    Some(at..at + 3),
                    "the plan file is not valid UTF-8 text",
                    Some("save it as UTF-8; a plan file is TOML text".into()),
                )],
            })
        }
    }
}

/// Parses and validates plan text; `path` is used in messages only.
///
/// Three passes, each reporting everything it finds: TOML syntax (the first
/// syntax error ends the read), structure against the schema (unknown keys,
/// wrong types, missing keys), then the rules on the typed values.
pub fn parse(path: &Path, source: &str) -> Result<Spec, PlanFileError> {
    let fail = |mut diagnostics: Vec<Diagnostic>| {
        diagnostics.sort_by_key(|d| (d.line, d.col));
        diagnostics.dedup();
        Err(PlanFileError { diagnostics })
    };
    let structure = match structure::check(path, source, raw::schema_value()) {
        Ok(s) => s,
        Err(syntax) => return fail(vec![*syntax]),
    };
    let mut errors = structure.diagnostics;
    let (sections, serde_errors) = raw::sections(source, &structure.broken);
    for e in serde_errors {
        let message = e.message().trim_end().to_string();
        let help = toml_help(&message);
        errors.push(Diagnostic::at(path, source, e.span(), message, help));
    }
    let validated = Validator {
        path,
        source,
        errors: Vec::new(),
        reported: !errors.is_empty(),
        places: Places::default(),
    }
    .validate(sections);
    match validated {
        Ok(spec) if errors.is_empty() => Ok(spec),
        Ok(_) => fail(errors),
        Err(e) => {
            errors.extend(e.diagnostics);
            fail(errors)
        }
    }
}

/// A hint for serde/TOML messages: the expected keys, when the message lists them.
fn toml_help(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        if let Some((_, expected)) = message.split_once("expected ") {
            return Some(format!("valid keys here: {expected}"));
        }
    }
    if message.starts_with("missing field") {
        return Some("add the key; see plans/full.toml for every key with a comment".into());
    }
    None
}

/// The longest duration a plan may give anything (a year): sums of the
/// plan's durations then never overflow.
const MAX_DURATION_SECS: u64 = 365 * 24 * 3600;

/// AWS's longest stickiness (lb_cookie and a forward's group stickiness), 7 days.
/// Two tables enforce it: target_group.rs and rollout.rs.
const MAX_STICKY_SECS: u64 = 7 * 24 * 3600;

/// The rules on the typed values; every error is kept, none stops the rest.
struct Validator<'a> {
    path: &'a Path,
    source: &'a str,
    errors: Vec<Diagnostic>,
    /// Earlier passes already reported problems (a missing section is one of them).
    reported: bool,
    places: Places,
}

impl Validator<'_> {
    /// Remembers where `key`'s value is.
    fn place(&mut self, key: PlanKey, span: Range<usize>) {
        self.places.0.insert(key, Place::of(self.source, span));
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>, help: impl Into<String>) {
        let help: String = help.into();
        self.errors.push(Diagnostic::at(
            self.path,
            self.source,
            Some(span),
            message,
            (!help.is_empty()).then_some(help),
        ));
    }

    fn duration(&mut self, key: &str, v: Option<&Located<String>>, default: u64) -> u64 {
        let Some(v) = v else { return default };
        match parse_duration(v.get_ref()) {
            // A year bounds every wait: the plan's durations are added up
            // (its timeline, the teardown's due time), and no sum of them
            // may wrap.
            Some(secs) if secs > MAX_DURATION_SECS => {
                self.error(
                    v.span(),
                    format!(
                        "`{key}` is {:?}, longer than cutover waits for anything (a year)",
                        v.get_ref()
                    ),
                    format!(
                        "use a duration of at most \"{}h\"",
                        MAX_DURATION_SECS / 3600
                    ),
                );
                default
            }
            Some(secs) => secs,
            None => {
                self.error(
                    v.span(),
                    format!("`{key}` is not a duration: {:?}", v.get_ref()),
                    "write a whole number with a unit: \"30s\", \"5m\", \"1h\" or \"1h30m\"",
                );
                default
            }
        }
    }

    fn range(&mut self, key: &str, v: &Located<i64>, lo: i64, hi: i64, unit: &str) -> u32 {
        let n = *v.get_ref();
        if n < lo || n > hi {
            self.error(
                v.span(),
                format!("`{key}` is {n}{unit}, outside {lo}–{hi}{unit}"),
                format!("use a value from {lo} to {hi}"),
            );
            return lo.max(0) as u32;
        }
        n as u32
    }

    fn duration_in(
        &mut self,
        key: &str,
        v: Option<&Located<String>>,
        default: u64,
        lo: u64,
        hi: u64,
    ) -> u32 {
        let secs = self.duration(key, v, default);
        // Whole days read better in hours: "168h" rather than "604800s".
        let written = |s: u64| match s {
            s if s >= 86_400 && s % 3600 == 0 => format!("{}h", s / 3600),
            s => format!("{s}s"),
        };
        if let Some(v) = v {
            if parse_duration(v.get_ref()).is_some() && (secs < lo || secs > hi) {
                let (lo, hi) = (written(lo), written(hi));
                self.error(
                    v.span(),
                    format!("`{key}` is {}, outside {lo}–{hi}", written(secs)),
                    format!("use a duration from \"{lo}\" to \"{hi}\""),
                );
            }
        }
        secs as u32
    }

    fn port(&mut self, key: &str, v: &Located<i64>) -> u16 {
        self.range(key, v, 1, 65535, "") as u16
    }

    fn protocol(&mut self, key: &str, v: Option<&Located<String>>) -> Protocol {
        let Some(v) = v else { return Protocol::Http };
        match Protocol::parse(v.get_ref()) {
            Some(p) => p,
            None => {
                let upper = v.get_ref().to_ascii_uppercase();
                let help = if Protocol::parse(&upper).is_some() {
                    format!("write it in capitals: \"{upper}\"")
                } else {
                    "use \"HTTP\" or \"HTTPS\"".into()
                };
                self.error(
                    v.span(),
                    format!("`{key}` {:?} is not a protocol", v.get_ref()),
                    help,
                );
                Protocol::Http
            }
        }
    }

    fn non_empty(&mut self, key: &str, v: &Located<String>) -> String {
        if v.get_ref().trim().is_empty() {
            self.error(v.span(), format!("`{key}` is empty"), "");
        }
        v.get_ref().clone()
    }

    fn command(&mut self, key: &str, v: &Located<Vec<String>>) -> Vec<String> {
        if v.get_ref().is_empty() || v.get_ref()[0].trim().is_empty() {
            self.error(
                v.span(),
                format!("`{key}` has no program to run"),
                "write the program and its arguments, e.g. [\"./migrate.sh\", \"expand\"]",
            );
        }
        v.get_ref().clone()
    }

    fn validate(mut self, sec: Sections) -> Result<Spec, PlanFileError> {
        let app = sec.app.as_ref().map(|a| self.app(a));
        let load_balancer = sec.load_balancer.as_ref().map(|l| {
            self.place(PlanKey::LoadBalancer, l.get_ref().name.span());
            self.non_empty("load_balancer.name", &l.get_ref().name)
        });
        let listeners = sec.listeners.as_ref().and_then(|l| self.listeners(l));
        let target_group = sec.target_group.as_ref().map(|t| self.target_group(t));
        let fleet = sec.fleet.as_ref().map(|f| self.fleet(f));
        let empty = RawRollout::default();
        let rollout = self.rollout(sec.rollout.as_ref().map(|r| r.get_ref()).unwrap_or(&empty));
        if let (Some(tg), Some(raw)) = (&target_group, sec.rollout.as_ref()) {
            self.health_timeout_fits(&rollout, &tg.health_check, raw.get_ref());
        }
        let teardown = self.teardown(sec.teardown.as_ref());
        self.watch_fits(
            &rollout,
            &teardown,
            sec.rollout.as_ref().map(|r| r.get_ref()).unwrap_or(&empty),
        );
        let state_parameter = self.state(
            sec.state.as_ref(),
            app.as_ref().map(|(name, ..)| name.as_str()),
        );
        let hooks = self.hooks(sec.hooks.as_ref());
        let notify_webhook_env = self.notify(sec.notify.as_ref());
        match (app, load_balancer, listeners, target_group, fleet) {
            (
                Some((app, region, wave)),
                Some(load_balancer),
                Some((production, test)),
                Some(target_group),
                Some(fleet),
            ) if self.errors.is_empty() => Ok(Spec {
                source: self.path.to_path_buf(),
                app,
                region,
                wave,
                load_balancer,
                production,
                test,
                target_group,
                fleet,
                rollout,
                teardown,
                state_parameter,
                hooks,
                notify_webhook_env,
                places: self.places,
            }),
            _ => {
                if self.errors.is_empty() && !self.reported {
                    self.errors.push(Diagnostic::at(
                        self.path,
                        self.source,
                        Some(0..0),
                        "the plan is incomplete",
                        Some("see plans/full.toml for every table a plan has".into()),
                    ));
                }
                Err(PlanFileError {
                    diagnostics: self.errors,
                })
            }
        }
    }
}

/// The spec's rules, lent to the kinds of check (`crate::gate`).
impl crate::gate::Rules for Validator<'_> {
    fn error(&mut self, span: Range<usize>, message: String, help: String) {
        Validator::error(self, span, message, help)
    }

    fn duration(&mut self, key: &str, v: Option<&Located<String>>, default: u64) -> u64 {
        Validator::duration(self, key, v, default)
    }

    fn range(&mut self, key: &str, v: &Located<i64>, lo: i64, hi: i64, unit: &str) -> u32 {
        Validator::range(self, key, v, lo, hi, unit)
    }

    fn command(&mut self, key: &str, v: &Located<Vec<String>>) -> Vec<String> {
        Validator::command(self, key, v)
    }

    fn source(&self) -> &str {
        self.source
    }
}
