//! The plan file: parsing (TOML → [`raw`] types) and validation (raw → [`Spec`]).
//!
//! Validation collects every error it can find, each with file, line, column
//! and what would be valid, instead of stopping at the first. A `Spec` that
//! exists is valid: the planner never re-checks it.

pub mod diagnostic;
pub mod duration;
pub mod located;
pub mod raw;
pub mod structure;

use crate::gate::{Check, RawCheck};
use crate::model::{
    Capacity, Color, HealthCheck, LaunchData, ListenerRole, Protocol, Release, TeardownPolicy,
};
pub use diagnostic::{Diagnostic, Place, PlanFileError};
use duration::parse_duration;
use raw::*;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Most user tags on one instance (EC2 takes 50; cutover's own are few).
const MAX_INSTANCE_TAGS: usize = 45;

/// Most instance types a MixedInstancesPolicy takes (its overrides).
const MAX_INSTANCE_TYPES: usize = 40;

/// Most condition values (hosts, paths, methods together) AWS takes in one rule.
const MAX_RULE_VALUES: usize = 5;

/// Longest target group name AWS accepts.
const MAX_TARGET_GROUP_NAME: usize = 32;

/// AWS's longest stickiness (lb_cookie and a forward's group stickiness), 7 days.
const MAX_STICKY_SECS: u64 = 7 * 24 * 3600;

/// The longest duration a plan may give anything (a year): sums of the
/// plan's durations then never overflow.
const MAX_DURATION_SECS: u64 = 365 * 24 * 3600;

/// A validated plan for one app.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub source: PathBuf,
    pub app: String,
    pub region: Option<String>,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    pub port: u16,
    pub protocol: Protocol,
    pub role: ListenerRole,
    pub certificate_arn: Option<String>,
    /// The app's rule on a listener someone else owns.
    pub rule: Option<crate::model::ListenerRule>,
}

impl ListenerSpec {
    /// Where this listener's weights between the colours live.
    pub fn weights_at(&self) -> crate::model::WeightsAt {
        crate::model::WeightsAt::of(self.port, self.rule.is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSpec {
    pub port: u16,
    pub protocol: Protocol,
    pub vpc_id: String,
    pub attributes: crate::model::TgAttributes,
    pub health_check: HealthCheck,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSpec {
    pub launch: LaunchData,
    pub subnets: Vec<String>,
    pub capacity: Capacity,
    pub spot: bool,
    /// User data is shown only as a hash.
    pub user_data_sensitive: bool,
    /// The types the group may launch (overrides); empty: the launch data's one.
    pub instance_types: Vec<String>,
    /// With spot: instances kept on-demand.
    pub on_demand_base: u32,
    pub health_check_grace_secs: u32,
    pub warmup_secs: Option<u32>,
    /// Target tracking on the colour that serves.
    pub scaling: Option<crate::model::Scaling>,
}

impl FleetSpec {
    /// User data as plan, diff and JSON show it: the text, or with
    /// `user_data_sensitive` only a short hash of it.
    pub fn shown_user_data(&self, v: Option<&String>) -> Option<String> {
        crate::model::shown_user_data(v, self.user_data_sensitive)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutSpec {
    pub steps: Vec<u32>,
    pub bake_secs: u64,
    pub health_timeout_secs: u64,
    /// Group stickiness during a shift (the weighted forward's); 0: off.
    pub session_affinity_secs: u32,
    pub auto_promote: bool,
    pub smoke: Vec<Check>,
    pub gates: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeardownSpec {
    pub policy: TeardownPolicy,
    pub delay_secs: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HooksSpec {
    pub before_deploy: Option<Vec<String>>,
    pub after_teardown: Option<Vec<String>>,
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
        let state_parameter = self.state(
            sec.state.as_ref(),
            app.as_ref().map(|(name, _)| name.as_str()),
        );
        let hooks = self.hooks(sec.hooks.as_ref());
        let notify_webhook_env = self.notify(sec.notify.as_ref());
        match (app, load_balancer, listeners, target_group, fleet) {
            (
                Some((app, region)),
                Some(load_balancer),
                Some((production, test)),
                Some(target_group),
                Some(fleet),
            ) if self.errors.is_empty() => Ok(Spec {
                source: self.path.to_path_buf(),
                app,
                region,
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

    fn app(&mut self, a: &Located<RawApp>) -> (String, Option<String>) {
        let app_name = &a.get_ref().name;
        let app = app_name.get_ref().clone();
        if app.is_empty()
            || !app
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || app.starts_with('-')
            || app.ends_with('-')
        {
            let suggestion: String = app
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            self.error(
                app_name.span(),
                format!("app name {app:?} may use only a-z, 0-9 and '-' (not at either end)"),
                match suggestion.trim_matches('-') {
                    "" => "e.g. name = \"shop\"".to_string(),
                    s => format!("e.g. name = {s:?}"),
                },
            );
        } else if app.len() + "-green".len() > MAX_TARGET_GROUP_NAME {
            self.error(
                app_name.span(),
                format!(
                    "app name {app:?} is {} characters: \"{app}-green\" would exceed AWS's {MAX_TARGET_GROUP_NAME}-character target group name limit",
                    app.len()
                ),
                format!("use at most {} characters", MAX_TARGET_GROUP_NAME - 6),
            );
        }
        let region = a.get_ref().region.as_ref().map(|r| r.get_ref().clone());

        (app, region)
    }

    fn listeners(
        &mut self,
        l: &Located<Vec<Located<RawListener>>>,
    ) -> Option<(ListenerSpec, Option<ListenerSpec>)> {
        let mut production = None;
        let mut test = None;
        let mut seen_ports: Vec<(i64, Range<usize>)> = Vec::new();
        for item in l.get_ref() {
            let lr = item.get_ref();
            let port = self.port("listeners.port", &lr.port);
            if let Some((_, _)) = seen_ports.iter().find(|(p, _)| *p == *lr.port.get_ref()) {
                self.error(
                    lr.port.span(),
                    format!("listener port {} is used twice", lr.port.get_ref()),
                    "each listener needs its own port",
                );
            }
            seen_ports.push((*lr.port.get_ref(), lr.port.span()));
            let protocol = self.protocol("listeners.protocol", lr.protocol.as_ref());
            let role = match lr.role.get_ref().as_str() {
                "production" => ListenerRole::Production,
                "test" => ListenerRole::Test,
                other => {
                    self.error(
                        lr.role.span(),
                        format!("listener role {other:?} is not one cutover knows"),
                        "use \"production\" (weighted traffic) or \"test\" (100% to the colour being deployed)",
                    );
                    continue;
                }
            };
            let rule = lr.rule.as_ref().map(|r| self.rule(port, r));
            let certificate_arn = self.certificate(item, port, protocol, rule.is_some());
            let spec = ListenerSpec {
                port,
                protocol,
                role,
                certificate_arn,
                rule,
            };
            let slot = match role {
                ListenerRole::Production => &mut production,
                ListenerRole::Test => &mut test,
            };
            if slot.is_some() {
                self.error(
                    lr.role.span(),
                    format!("a second {role} listener"),
                    "a plan has exactly one production listener and at most one test listener",
                );
            } else {
                *slot = Some(spec);
            }
        }
        if production.is_none() {
            self.error(
                l.span(),
                "no production listener",
                "add a [[listeners]] table with role = \"production\"",
            );
        }

        production.map(|p| (p, test))
    }

    /// The listener's certificate: required for HTTPS, refused for HTTP,
    /// and refused with a rule (the listener is someone else's).
    fn certificate(
        &mut self,
        item: &Located<RawListener>,
        port: u16,
        protocol: Protocol,
        rule: bool,
    ) -> Option<String> {
        let lr = item.get_ref();
        let Some(c) = &lr.certificate_arn else {
            if protocol == Protocol::Https && !rule {
                self.error(
                    item.span(),
                    format!("HTTPS listener on port {port} has no certificate_arn"),
                    "add certificate_arn = \"arn:aws:acm:…\" or use protocol = \"HTTP\"",
                );
            }
            return None;
        };
        self.place(PlanKey::Certificate(port), c.span());
        if rule {
            self.error(
                c.span(),
                format!("the listener on port {port} has a rule and a certificate_arn"),
                "with `rule`, the listener and its certificates are someone else's: remove certificate_arn",
            );
        } else if protocol == Protocol::Http {
            self.error(
                c.span(),
                format!("HTTP listener on port {port} has a certificate_arn"),
                "AWS keeps a certificate only on an HTTPS listener (here every plan would show it as a change): remove certificate_arn, or use protocol = \"HTTPS\"",
            );
        }
        Some(c.get_ref().clone())
    }

    /// The app's rule on the listener on `port`.
    fn rule(&mut self, port: u16, r: &Located<RawRule>) -> crate::model::ListenerRule {
        let raw = r.get_ref();
        let priority = self.range("listeners.rule.priority", &raw.priority, 1, 50000, "");
        let list = |v: &Option<Located<Vec<Located<String>>>>| -> Vec<String> {
            v.iter()
                .flat_map(|l| l.get_ref().iter().map(|s| s.get_ref().clone()))
                .collect()
        };
        let (hosts, paths, methods) = (list(&raw.hosts), list(&raw.paths), list(&raw.methods));
        if hosts.is_empty() && paths.is_empty() {
            self.error(
                r.span(),
                format!("the rule on port {port} matches neither hosts nor paths"),
                "add hosts = [\"web.example.com\"] or paths = [\"/api/*\"] (or both)",
            );
        }
        let headers = self.rule_headers(port, raw);
        let values = hosts.len()
            + paths.len()
            + methods.len()
            + headers.values().map(Vec::len).sum::<usize>();
        if values > MAX_RULE_VALUES {
            self.error(
                r.span(),
                format!("the rule on port {port} has {values} condition values; AWS allows {MAX_RULE_VALUES} per rule"),
                "use fewer hosts, paths, methods and header values (a wildcard such as \"*.example.com\" or \"/api/*\" covers several)",
            );
        }
        for m in raw.methods.iter().flat_map(|l| l.get_ref()) {
            let ok = !m.get_ref().is_empty()
                && m.get_ref()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '-' || c == '_');
            if !ok {
                self.error(
                    m.span(),
                    format!(
                        "{:?} is not an HTTP method as AWS matches them",
                        m.get_ref()
                    ),
                    format!(
                        "write it in capitals, e.g. {:?}",
                        m.get_ref().to_ascii_uppercase()
                    ),
                );
            }
        }
        crate::model::ListenerRule {
            priority,
            hosts,
            paths,
            methods,
            headers,
        }
    }

    /// A rule's header conditions: names HTTP allows (at most 40
    /// characters, as AWS takes them), each with at least one value.
    fn rule_headers(
        &mut self,
        port: u16,
        raw: &RawRule,
    ) -> std::collections::BTreeMap<String, Vec<String>> {
        let Some(headers) = &raw.headers else {
            return Default::default();
        };
        let mut out = std::collections::BTreeMap::new();
        for (name, values) in headers.get_ref() {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || name.len() > 40 || !name.chars().all(token) {
                self.error(
                    headers.span(),
                    format!("{name:?} is not an HTTP header name AWS matches on (port {port})"),
                    "use letters, digits and '-', at most 40 characters, e.g. \"X-Canary\"",
                );
            }
            if values.get_ref().is_empty() {
                self.error(
                    values.span(),
                    format!("header {name:?} in the rule on port {port} has no values"),
                    "list the values it may have, e.g. [\"1\"]",
                );
            }
            let values = values.get_ref().iter().map(|v| v.get_ref().clone());
            out.insert(name.clone(), values.collect());
        }
        out
    }

    fn target_group(&mut self, t: &Located<RawTargetGroup>) -> TargetGroupSpec {
        let tg = t.get_ref();
        let tg_port = self.port("target_group.port", &tg.port);
        let tg_protocol = self.protocol("target_group.protocol", tg.protocol.as_ref());
        self.place(PlanKey::VpcId, tg.vpc_id.span());
        let vpc_id = self.non_empty("target_group.vpc_id", &tg.vpc_id);
        let attributes = self.tg_attributes(tg);
        let health_check = self.health_check(t);
        TargetGroupSpec {
            port: tg_port,
            protocol: tg_protocol,
            vpc_id,
            attributes,
            health_check,
        }
    }

    /// Draining, stickiness, slow start and algorithm, in AWS's ranges.
    fn tg_attributes(&mut self, tg: &RawTargetGroup) -> crate::model::TgAttributes {
        use crate::model::Algorithm;
        let deregistration_delay_secs = self.duration_in(
            "target_group.deregistration_delay",
            tg.deregistration_delay.as_ref(),
            300,
            0,
            3600,
        );
        let stickiness_secs = match &tg.stickiness {
            None => 0,
            Some(v) => self.duration_in("target_group.stickiness", Some(v), 1, 1, MAX_STICKY_SECS),
        };
        let slow_start = tg.slow_start.as_ref();
        let slow_start_secs = self.duration_in("target_group.slow_start", slow_start, 0, 0, 900);
        if let Some(v) = slow_start.filter(|_| (1..30).contains(&slow_start_secs)) {
            self.error(
                v.span(),
                format!("`target_group.slow_start` is {slow_start_secs}s; AWS ramps up over 30s at least"),
                "use a duration from \"30s\" to \"15m\", or \"0s\" for none",
            );
        }
        let algorithm = match &tg.algorithm {
            None => Algorithm::RoundRobin,
            Some(v) => Algorithm::parse(v.get_ref()).unwrap_or_else(|| {
                self.error(
                    v.span(),
                    format!(
                        "`target_group.algorithm` {:?} is not one AWS knows",
                        v.get_ref()
                    ),
                    "use \"round_robin\" or \"least_outstanding_requests\"",
                );
                Algorithm::RoundRobin
            }),
        };
        if let (Some(v), Algorithm::LeastOutstandingRequests) = (slow_start, algorithm) {
            if slow_start_secs > 0 {
                self.error(
                    v.span(),
                    "slow start does not work with the least_outstanding_requests algorithm",
                    "remove `slow_start`, or use `algorithm = \"round_robin\"`",
                );
            }
        }
        crate::model::TgAttributes {
            deregistration_delay_secs,
            stickiness_secs,
            slow_start_secs,
            algorithm,
        }
    }

    fn health_check(&mut self, t: &Located<RawTargetGroup>) -> HealthCheck {
        let tg = t.get_ref();
        let default_hc = RawHealthCheck::default();
        let hc = tg.health_check.as_ref().unwrap_or(&default_hc);
        let path = hc
            .path
            .as_ref()
            .map(|p| p.get_ref().clone())
            .unwrap_or("/".into());
        if let Some(p) = &hc.path {
            if !p.get_ref().starts_with('/') {
                self.error(
                    p.span(),
                    format!(
                        "health check path {:?} does not start with '/'",
                        p.get_ref()
                    ),
                    format!("e.g. path = \"/{}\"", p.get_ref().trim_start_matches('/')),
                );
            }
        }
        let interval = self.duration_in("health_check.interval", hc.interval.as_ref(), 30, 5, 300);
        let timeout = self.duration_in("health_check.timeout", hc.timeout.as_ref(), 5, 2, 120);
        if timeout >= interval {
            let span = hc
                .timeout
                .as_ref()
                .or(hc.interval.as_ref())
                .map(|s| s.span())
                .unwrap_or(t.span());
            self.error(
                span,
                format!("health check timeout ({timeout}s) must be shorter than its interval ({interval}s)"),
                "lower the timeout or raise the interval",
            );
        }
        let healthy_threshold = match &hc.healthy_threshold {
            Some(v) => self.range("health_check.healthy_threshold", v, 2, 10, ""),
            None => 5,
        };
        let unhealthy_threshold = match &hc.unhealthy_threshold {
            Some(v) => self.range("health_check.unhealthy_threshold", v, 2, 10, ""),
            None => 2,
        };
        let matcher = hc
            .matcher
            .as_ref()
            .map(|m| m.get_ref().clone())
            .unwrap_or("200".into());
        if let Some(m) = &hc.matcher {
            if !matcher_valid(m.get_ref()) {
                self.error(
                    m.span(),
                    format!("health check matcher {:?} is not a list or range of HTTP codes within 200–499", m.get_ref()),
                    "e.g. \"200\", \"200,204\" or \"200-299\"",
                );
            }
        }

        HealthCheck {
            path,
            interval_secs: interval,
            timeout_secs: timeout,
            healthy_threshold,
            unhealthy_threshold,
            matcher,
        }
    }

    fn fleet(&mut self, fl: &Located<RawFleet>) -> FleetSpec {
        let f = fl.get_ref();
        let image_id = self.non_empty("fleet.image_id", &f.image_id);
        let list = |v: &Located<Vec<Located<String>>>| -> Vec<String> {
            v.get_ref().iter().map(|s| s.get_ref().clone()).collect()
        };
        let (instance_type, instance_types) = self.instance_types(fl);
        for (i, v) in f.subnets.get_ref().iter().enumerate() {
            self.place(PlanKey::Subnet(i), v.span());
        }
        for (i, v) in f.security_groups.get_ref().iter().enumerate() {
            self.place(PlanKey::SecurityGroup(i), v.span());
        }
        if let Some(k) = &f.key_name {
            self.place(PlanKey::KeyName, k.span());
        }
        let subnets = list(&f.subnets);
        if subnets.is_empty() {
            self.error(
                f.subnets.span(),
                "`fleet.subnets` is empty",
                "list at least one subnet id, e.g. [\"subnet-0abc\"]",
            );
        }
        let security_groups = list(&f.security_groups);
        if security_groups.is_empty() {
            self.error(
                f.security_groups.span(),
                "`fleet.security_groups` is empty",
                "list at least one security group id, e.g. [\"sg-0abc\"]",
            );
        }

        FleetSpec {
            launch: LaunchData {
                image_id,
                instance_type,
                security_groups,
                user_data: self.user_data(fl),
                key_name: f.key_name.as_ref().map(|k| k.get_ref().clone()),
                instance_profile: self.instance_profile(f),
                monitoring: f.monitoring.unwrap_or(false),
                tags: self.instance_tags(f),
                imdsv2: Some(f.imdsv2.unwrap_or(true)),
                root_volume: f.root_volume.as_ref().map(|v| self.root_volume(v)),
            },
            subnets,
            capacity: self.capacity(f),
            spot: f.spot.unwrap_or(false),
            user_data_sensitive: f.user_data_sensitive.unwrap_or(false),
            instance_types,
            on_demand_base: self.on_demand_base(f),
            health_check_grace_secs: self.duration_in(
                "fleet.health_check_grace",
                f.health_check_grace.as_ref(),
                300,
                0,
                86_400,
            ),
            warmup_secs: f
                .warmup
                .as_ref()
                .map(|w| self.duration_in("fleet.warmup", Some(w), 0, 0, 3600)),
            scaling: f.scaling.as_ref().and_then(|s| self.scaling(s)),
        }
    }

    /// min_size ≤ desired_capacity ≤ max_size, desired at least 1.
    fn capacity(&mut self, f: &RawFleet) -> Capacity {
        let min = self.range("fleet.min_size", &f.min_size, 0, 1000, "");
        let max = self.range("fleet.max_size", &f.max_size, 0, 1000, "");
        let desired = self.range("fleet.desired_capacity", &f.desired_capacity, 0, 1000, "");
        if !(min <= desired && desired <= max) {
            self.error(
                f.desired_capacity.span(),
                format!("fleet sizes must satisfy min_size ≤ desired_capacity ≤ max_size, got {min} ≤ {desired} ≤ {max}"),
                "adjust min_size, desired_capacity or max_size",
            );
        } else if desired == 0 {
            self.error(
                f.desired_capacity.span(),
                "`fleet.desired_capacity` is 0: a colour with no instances can never take traffic",
                "use at least 1",
            );
        }
        Capacity { min, max, desired }
    }

    /// `instance_type` (launch data) or `instance_types` (the group's),
    /// exactly one.
    fn instance_types(&mut self, fl: &Located<RawFleet>) -> (Option<String>, Vec<String>) {
        let f = fl.get_ref();
        match (&f.instance_type, &f.instance_types) {
            (Some(t), None) => (Some(self.non_empty("fleet.instance_type", t)), vec![]),
            (None, Some(types)) => {
                let list: Vec<String> = types
                    .get_ref()
                    .iter()
                    .map(|t| t.get_ref().clone())
                    .collect();
                if list.is_empty() || list.len() > MAX_INSTANCE_TYPES {
                    self.error(
                        types.span(),
                        format!(
                            "`fleet.instance_types` has {} types; use 1 to {MAX_INSTANCE_TYPES}",
                            list.len()
                        ),
                        "list the types the group may launch, e.g. [\"t3.small\", \"t3a.small\"]",
                    );
                }
                for (i, t) in types.get_ref().iter().enumerate() {
                    if list[..i].contains(t.get_ref()) {
                        self.error(
                            t.span(),
                            format!("instance type {:?} is listed twice", t.get_ref()),
                            "list each type once",
                        );
                    }
                }
                (None, list)
            }
            (Some(t), Some(_)) => {
                self.error(
                    t.span(),
                    "`fleet.instance_type` and `fleet.instance_types` are both set",
                    "keep one: instance_types for a mix of types (spot pools), instance_type for one",
                );
                (None, vec![])
            }
            // A misspelt key ("instanse_type") is already reported.
            (None, None) if self.reported => (None, vec![]),
            (None, None) => {
                self.error(
                    fl.span(),
                    "the fleet has no instance_type",
                    "add instance_type = \"t3.small\", or instance_types = [\"t3.small\", \"t3a.small\"]",
                );
                (None, vec![])
            }
        }
    }

    /// User data inline, or read from `user_data_file` beside the plan file.
    fn user_data(&mut self, fl: &Located<RawFleet>) -> Option<String> {
        let f = fl.get_ref();
        let Some(file) = &f.user_data_file else {
            return f.user_data.clone();
        };
        if f.user_data.is_some() {
            self.error(
                file.span(),
                "`fleet.user_data` and `fleet.user_data_file` are both set",
                "keep one: the file for a script of any length, user_data for a line or two",
            );
            return None;
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let path = dir.join(file.get_ref());
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    self.error(
                        file.span(),
                        format!("{} is not UTF-8 text", path.display()),
                        "user data is a script or cloud-init text",
                    );
                    None
                }
            },
            Err(e) => {
                self.error(
                    file.span(),
                    format!("cannot read user_data_file {}: {e}", path.display()),
                    "the path is relative to the plan file's folder",
                );
                None
            }
        }
    }

    /// A root volume AWS takes: a type it boots from, a size that type
    /// allows, IOPS where the type has them.
    fn root_volume(&mut self, v: &Located<RawRootVolume>) -> crate::model::RootVolume {
        let r = v.get_ref();
        let volume_type = match &r.volume_type {
            None => "gp3".to_string(),
            Some(t) => {
                if !["gp3", "gp2", "io1", "io2", "standard"].contains(&t.get_ref().as_str()) {
                    self.error(
                        t.span(),
                        format!(
                            "`fleet.root_volume.type` {:?} is not a volume an instance boots from",
                            t.get_ref()
                        ),
                        "use \"gp3\", \"gp2\", \"io1\", \"io2\" or \"standard\"",
                    );
                }
                t.get_ref().clone()
            }
        };
        let provisioned = matches!(volume_type.as_str(), "io1" | "io2");
        let min_size = if provisioned { 4 } else { 1 };
        let size_gib = self.range(
            "fleet.root_volume.size_gib",
            &r.size_gib,
            min_size,
            16384,
            " GiB",
        );
        let iops = r.iops.as_ref().map(|i| {
            let (lo, hi) = match volume_type.as_str() {
                "gp3" => (3000, 16000),
                "io1" => (100, 64000),
                "io2" => (100, 256000),
                other => {
                    self.error(
                        i.span(),
                        format!("a {other} volume has no provisioned IOPS"),
                        "remove `iops`, or use type \"gp3\", \"io1\" or \"io2\"",
                    );
                    return 0;
                }
            };
            self.range("fleet.root_volume.iops", i, lo, hi, "")
        });
        if provisioned && iops.is_none() {
            self.error(
                v.span(),
                format!("an {volume_type} root volume needs `iops`"),
                "add e.g. `iops = 3000`",
            );
        }
        crate::model::RootVolume {
            size_gib,
            volume_type,
            encrypted: r.encrypted.unwrap_or(true),
            iops,
        }
    }

    /// Exactly one target of a target-tracking policy.
    fn scaling(&mut self, s: &Located<RawScaling>) -> Option<crate::model::Scaling> {
        use crate::model::Scaling;
        let r = s.get_ref();
        match (&r.target_cpu, &r.requests_per_target) {
            (Some(cpu), None) => Some(Scaling::Cpu {
                target: self.range("fleet.scaling.target_cpu", cpu, 1, 100, "%"),
            }),
            (None, Some(n)) => Some(Scaling::RequestsPerTarget {
                target: self.range("fleet.scaling.requests_per_target", n, 1, 1_000_000, ""),
            }),
            (cpu, _) => {
                self.error(
                    cpu.as_ref().map_or(s.span(), |c| c.span()),
                    "[fleet.scaling] needs exactly one of target_cpu and requests_per_target",
                    "e.g. `target_cpu = 50`, or `requests_per_target = 1000`",
                );
                None
            }
        }
    }

    fn instance_profile(&mut self, f: &RawFleet) -> Option<String> {
        let p = f.instance_profile.as_ref()?;
        let v = p.get_ref();
        if v.trim().is_empty() || (v.starts_with("arn:") && !v.contains(":instance-profile/")) {
            self.error(
                p.span(),
                format!("`fleet.instance_profile` {v:?} is not an instance profile name or ARN"),
                "e.g. \"shop-web\" or \"arn:aws:iam::123456789012:instance-profile/shop-web\"",
            );
        }
        Some(v.clone())
    }

    /// Tags for the instances and volumes: not AWS's or cutover's own keys.
    fn instance_tags(&mut self, f: &RawFleet) -> std::collections::BTreeMap<String, String> {
        let Some(tags) = &f.tags else {
            return Default::default();
        };
        if tags.get_ref().len() > MAX_INSTANCE_TAGS {
            self.error(
                tags.span(),
                format!(
                    "`fleet.tags` has {} tags; EC2 takes {MAX_INSTANCE_TAGS} per resource",
                    tags.get_ref().len()
                ),
                "keep the ones people search by",
            );
        }
        for (k, v) in tags.get_ref() {
            if k.is_empty() || k.starts_with("aws:") || k.starts_with("cutover:") {
                self.error(
                    v.span(),
                    format!("tag key {k:?} is reserved or empty"),
                    "aws: keys are AWS's and cutover: keys are cutover's; use your own prefix, e.g. \"team\"",
                );
            }
        }
        tags.get_ref()
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect()
    }

    /// `on_demand_base`: only with spot, and within the group's size.
    fn on_demand_base(&mut self, f: &RawFleet) -> u32 {
        let Some(v) = &f.on_demand_base else { return 0 };
        let n = self.range("fleet.on_demand_base", v, 0, 1000, "");
        if !f.spot.unwrap_or(false) {
            self.error(
                v.span(),
                "`fleet.on_demand_base` without spot: every instance is on-demand already",
                "set spot = true, or leave on_demand_base out",
            );
        }
        n
    }

    fn rollout(&mut self, r: &RawRollout) -> RolloutSpec {
        let steps = match &r.steps {
            None => vec![10, 25, 50, 100],
            Some(steps) => self.steps(steps),
        };
        let bake_secs = self.duration("rollout.bake", r.bake.as_ref(), 300);
        let session_affinity_secs = match &r.session_affinity {
            None => 0,
            Some(v) => self.duration_in("rollout.session_affinity", Some(v), 1, 1, MAX_STICKY_SECS),
        };
        let health_timeout_secs =
            self.duration("rollout.health_timeout", r.health_timeout.as_ref(), 600);
        let smoke = r
            .smoke
            .iter()
            .flatten()
            .map(|c| RawCheck::check(c, "rollout.smoke", false, self))
            .collect();
        let gates = r
            .gates
            .iter()
            .flatten()
            .map(|c| RawCheck::check(c, "rollout.gates", true, self))
            .collect();

        RolloutSpec {
            steps,
            bake_secs,
            health_timeout_secs,
            session_affinity_secs,
            auto_promote: r.auto_promote.unwrap_or(true),
            smoke,
            gates,
        }
    }

    /// A health timeout shorter than the time a target needs to turn
    /// healthy (healthy_threshold checks, interval apart) fails every
    /// release at once: a mistake in the plan, not a verdict on a release.
    fn health_timeout_fits(&mut self, rollout: &RolloutSpec, hc: &HealthCheck, raw: &RawRollout) {
        let Some(v) = raw.health_timeout.as_ref() else {
            return;
        };
        let least = u64::from(hc.interval_secs) * u64::from(hc.healthy_threshold);
        if parse_duration(v.get_ref()).is_some() && rollout.health_timeout_secs < least {
            self.error(
                v.span(),
                format!(
                    "`rollout.health_timeout` is {:?}, shorter than a target needs to turn healthy: {} checks {}s apart take {least}s",
                    v.get_ref(),
                    hc.healthy_threshold,
                    hc.interval_secs
                ),
                format!(
                    "allow for booting too: at least \"{least}s\", and usually several minutes (the default is \"10m\")"
                ),
            );
        }
    }

    fn teardown(&mut self, t: Option<&RawTeardown>) -> TeardownSpec {
        let (policy, delay_secs) = match t {
            None => (TeardownPolicy::ScaleToZero, 1800),
            Some(t) => {
                let policy = match t.policy.as_ref() {
                    None => TeardownPolicy::ScaleToZero,
                    Some(p) => match p.get_ref().as_str() {
                        "scale-to-zero" => TeardownPolicy::ScaleToZero,
                        "delete" => TeardownPolicy::Delete,
                        "keep" => TeardownPolicy::Keep,
                        other => {
                            self.error(
                                p.span(),
                                format!("teardown policy {other:?} is not one cutover knows"),
                                "use \"scale-to-zero\", \"delete\" or \"keep\"",
                            );
                            TeardownPolicy::ScaleToZero
                        }
                    },
                };
                (
                    policy,
                    self.duration("teardown.delay", t.delay.as_ref(), 1800),
                )
            }
        };

        TeardownSpec { policy, delay_secs }
    }

    fn state(&mut self, s: Option<&RawState>, app: Option<&str>) -> String {
        let state_parameter = match s.and_then(|s| s.parameter.as_ref()) {
            None => crate::model::names::default_state_parameter(app.unwrap_or("app")),
            Some(p) => {
                if !ssm_name_valid(p.get_ref()) {
                    self.error(
                        p.span(),
                        format!("{:?} is not a valid SSM parameter name", p.get_ref()),
                        "use a path like \"/shop/active-environment\": letters, digits and . - _ /, starting with '/', at most 1011 characters, not beginning with aws or ssm",
                    );
                }
                p.get_ref().clone()
            }
        };

        state_parameter
    }

    fn hooks(&mut self, h: Option<&RawHooks>) -> HooksSpec {
        let mut hooks = HooksSpec::default();
        if let Some(h) = h {
            hooks.before_deploy = h
                .before_deploy
                .as_ref()
                .map(|c| self.command("hooks.before_deploy", c));
            hooks.after_teardown = h
                .after_teardown
                .as_ref()
                .map(|c| self.command("hooks.after_teardown", c));
        }

        hooks
    }

    fn notify(&mut self, n: Option<&RawNotify>) -> Option<String> {
        n.and_then(|n| n.webhook_env.as_ref()).map(|w| {
            let name = w.get_ref().clone();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                // Never echo the value: someone may have pasted the secret URL here.
                self.error(
                    w.span(),
                    "`notify.webhook_env` is not an environment variable name (its value is not shown: it may be a secret)",
                    "name the variable that holds the URL, e.g. \"SLACK_WEBHOOK\" (never the URL itself)",
                );
                if let Some(d) = self.errors.last_mut() {
                    d.snippet = None; // the line would show the value
                }
            }
            name
        })
    }

    fn steps(&mut self, steps: &Located<Vec<Located<i64>>>) -> Vec<u32> {
        let list = steps.get_ref();
        if list.is_empty() {
            self.error(
                steps.span(),
                "`rollout.steps` is empty",
                "e.g. steps = [10, 25, 50, 100]",
            );
            return vec![100];
        }
        let mut out = Vec::new();
        let mut prev = 0;
        for s in list {
            let n = *s.get_ref();
            if !(1..=100).contains(&n) {
                self.error(
                    s.span(),
                    format!("step {n}% is outside 1–100"),
                    "each step is the new colour's share of production traffic, 1 to 100",
                );
            } else if n <= prev {
                self.error(
                    s.span(),
                    format!("step {n}% does not rise above the step before it ({prev}%)"),
                    "steps go strictly up, e.g. [10, 25, 50, 100]",
                );
            }
            prev = n;
            out.push(n.clamp(1, 100) as u32);
        }
        if (1..100).contains(list.last().expect("not empty").get_ref()) {
            let last = list.last().expect("not empty");
            self.error(
                last.span(),
                format!("the last step is {}%, not 100%", last.get_ref()),
                "end the steps at 100 so the new colour takes all traffic",
            );
        }
        out
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
}

/// "200", "200,204", "200-299"; every code within 200–499.
fn matcher_valid(m: &str) -> bool {
    let code = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (200..=499).contains(c))
    };
    if let Some((a, b)) = m.split_once('-') {
        return matches!((code(a), code(b)), (Some(a), Some(b)) if a <= b);
    }
    !m.is_empty() && m.split(',').all(|c| code(c).is_some())
}

fn ssm_name_valid(name: &str) -> bool {
    let lower = name.trim_start_matches('/').to_ascii_lowercase();
    name.starts_with('/')
        && name.len() <= 1011
        && !name.ends_with('/')
        && !name.contains("//")
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_forms() {
        assert!(matcher_valid("200"));
        assert!(matcher_valid("200,204"));
        assert!(matcher_valid("200-299"));
        assert!(!matcher_valid("100"));
        assert!(!matcher_valid("500"));
        assert!(!matcher_valid("299-200"));
        assert!(!matcher_valid("ok"));
    }

    #[test]
    fn ssm_names() {
        assert!(ssm_name_valid("/cutover/shop/active"));
        assert!(!ssm_name_valid("no-slash"));
        assert!(!ssm_name_valid("/aws/x"));
        assert!(!ssm_name_valid("/a b"));
    }
}
