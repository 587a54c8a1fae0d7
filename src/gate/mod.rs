//! Smoke tests and gates: everything a kind of check is, found here. Each
//! kind has a file: its plan keys (the raw table, with the rules they are
//! held to), how it is shown, what it needs (a program or request the
//! shell runs, or something it reads from the cloud) and the verdict on
//! what it read. This file names the kinds and dispatches to them.
//!
//! A new kind of gate: a file here, its variant in [`CheckKind`] (with
//! [`Read`] and [`Reading`] when it reads the cloud) and in [`RawCheck`],
//! and its read in each provider (`provider/aws/gates.rs`, the sandbox's
//! gates). The executor needs no change: it runs what [`How::Run`] says,
//! reads what [`How::Read`] says and asks the kind for the verdict.

pub mod alarm;
pub mod command;
pub mod http;
pub mod metric;

use crate::model::observed::AlarmState;
use crate::spec::located::Located;
use schemars::JsonSchema;
use serde::Deserialize;
use std::ops::Range;

/// A smoke test or a gate, as the plan sets it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Check {
    pub kind: CheckKind,
    pub timeout_secs: u64,
}

impl Check {
    /// "command ./smoke.sh", "GET http://… (expect 200)", "alarm shop-5xx".
    pub fn describe(&self) -> String {
        self.kind.describe()
    }
}

/// What the check is: a command, an HTTP request or a CloudWatch alarm.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A program and its arguments, run without a shell.
    Command(Vec<String>),
    /// An HTTP request cutover makes itself: a GET whose answer must have this status.
    Http { url: String, expect_status: u16 },
    /// A CloudWatch alarm (gates only): in ALARM it fails the gate.
    Alarm(String),
    /// Green's own traffic, judged against a ceiling and against blue in
    /// the same minutes (gates only); the bake reads it for every metric
    /// gate at once.
    Metric(metric::MetricGate),
}

/// What a check needs done to judge: something the shell runs, or
/// something read from the cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How<'a> {
    Run(Run<'a>),
    Read(Read),
    /// Judged from the colour's traffic by the bake, with every other
    /// metric gate, from one read per poll (`metric::read`).
    Traffic(&'a metric::MetricGate),
}

/// What the shell runs for a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run<'a> {
    /// A program and its arguments, with the deployment in its environment.
    Command(&'a [String]),
    /// A GET whose answer must have this status.
    Http { url: &'a str, expect_status: u16 },
}

/// What a gate reads from the cloud (a provider answers it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A CloudWatch alarm's state.
    Alarm(String),
}

/// A provider's answer to a [`Read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Alarm(AlarmState),
}

impl CheckKind {
    pub fn describe(&self) -> String {
        match self {
            CheckKind::Command(argv) => command::describe(argv),
            CheckKind::Http { url, expect_status } => http::describe(url, *expect_status),
            CheckKind::Alarm(name) => alarm::describe(name),
            CheckKind::Metric(gate) => gate.describe(),
        }
    }

    /// What judging this check takes.
    pub fn how(&self) -> How<'_> {
        match self {
            CheckKind::Command(argv) => How::Run(Run::Command(argv)),
            CheckKind::Http { url, expect_status } => How::Run(Run::Http {
                url,
                expect_status: *expect_status,
            }),
            CheckKind::Alarm(name) => How::Read(alarm::read(name)),
            CheckKind::Metric(gate) => How::Traffic(gate),
        }
    }

    /// The verdict on what was read for this check.
    pub fn judge(&self, reading: &Reading) -> Result<(), CheckFailure> {
        match (self, reading) {
            (CheckKind::Alarm(name), Reading::Alarm(state)) => alarm::judge(name, *state),
            (kind, reading) => Err(CheckFailure::failed(
                format!(
                    "{}: cutover read {reading:?}, which does not judge it",
                    kind.describe()
                ),
                String::new(),
            )),
        }
    }

    /// What the read found missing (`what`, in the cloud's words): the
    /// plan's mistake, not evidence against the release.
    pub fn missing(&self, what: &str) -> CheckFailure {
        let fix = match self {
            CheckKind::Alarm(_) => alarm::WHEN_MISSING,
            CheckKind::Command(_) | CheckKind::Http { .. } | CheckKind::Metric(_) => {
                "fix the check in the plan"
            }
        };
        CheckFailure {
            what: format!("{what}: {fix}"),
            output: String::new(),
            misconfigured: true,
        }
    }
}

/// A failed check: one line of what, and the output to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub what: String,
    pub output: String,
    /// The check could not be carried out as the plan writes it (its
    /// program does not start, its alarm does not exist): a mistake in the
    /// plan, not evidence against the release.
    pub misconfigured: bool,
}

impl CheckFailure {
    /// The check ran and the release failed it.
    pub fn failed(what: String, output: String) -> CheckFailure {
        CheckFailure {
            what,
            output,
            misconfigured: false,
        }
    }
}

/// What a check gets to know, also as `CUTOVER_*` environment variables.
#[derive(Debug, Clone)]
pub struct CheckEnv {
    pub app: String,
    /// The colour being deployed.
    pub color: String,
    pub target_group_arn: String,
    /// The load balancer's DNS name and test listener port, e.g. `http://lb:8080`.
    pub test_url: String,
    /// The new colour's production share, during bakes.
    pub weight: Option<u32>,
    /// Variables the check must not inherit (secrets such as the webhook URL).
    pub hidden_env: Vec<String>,
}

impl CheckEnv {
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("CUTOVER_APP", self.app.clone()),
            ("CUTOVER_COLOR", self.color.clone()),
            ("CUTOVER_TARGET_GROUP_ARN", self.target_group_arn.clone()),
            ("CUTOVER_TEST_URL", self.test_url.clone()),
        ];
        if let Some(w) = self.weight {
            v.push(("CUTOVER_WEIGHT", w.to_string()));
        }
        v
    }
}

/// A smoke test or gate: exactly one of command, http, alarm, metric or
/// query (alarm, metric and query only for gates).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawCheck {
    /// Optional: a program and its arguments, run without a shell.
    #[schemars(length(min = 1))]
    pub command: Option<Located<Vec<String>>>,
    /// Optional: an HTTP request cutover makes itself.
    pub http: Option<Located<http::RawHttp>>,
    /// Optional, gates only: a CloudWatch alarm; in ALARM it fails the gate.
    pub alarm: Option<Located<String>>,
    /// Optional, gates only: a metric of green's own traffic, judged
    /// against `max` and against blue in the same minutes.
    #[schemars(extend("enum" = ["error_rate", "latency"]))]
    pub metric: Option<Located<String>>,
    /// Optional, gates only: any CloudWatch metric or metric-math expression,
    /// read per colour and judged like a metric gate (a custom gate).
    pub query: Option<Located<metric::custom::RawQuery>>,
    /// Optional, gates with a `query`: how output names the gate (default:
    /// the query's metric_name, or "expression").
    pub name: Option<Located<String>>,
    /// Gates with a `query`: the value per request of the colour's target
    /// group (the query's Sum or SampleCount, or its expression, divided by
    /// the colour's RequestCount).
    #[schemars(extend("default" = false))]
    pub per_request: Option<Located<bool>>,
    /// Optional, metric gates (at least one limit): green's own ceiling ("1%" for
    /// error_rate, "250ms" for latency; for a `query`, a number or a percentage:
    /// 5, 0.02, "0.5%").
    pub max: Option<Located<metric::keys::RawLimit>>,
    /// Optional, metric gates: how far green may exceed blue in the same minutes
    /// ("0.5%", "50ms"; for a `query`, a number or a percentage).
    pub max_above_baseline: Option<Located<metric::keys::RawLimit>>,
    /// Optional, metric gates: green at most this many times blue in the same
    /// minutes, e.g. 1.25.
    #[schemars(range(min = 1, max = 1000))]
    pub max_ratio: Option<Located<f64>>,
    /// Metric gates: fewer requests on green in a window is no evidence yet.
    #[schemars(extend("default" = 100), range(min = 1))]
    pub min_requests: Option<Located<i64>>,
    /// Latency gates: the percentile, 50–99.99.
    #[schemars(extend("default" = 99), range(min = 50, max = 99.99))]
    pub percentile: Option<Located<f64>>,
    /// Metric gates: the whole minutes judged together, "1m"–"60m".
    #[schemars(extend("default" = "3m"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub window: Option<Located<String>>,
    /// How long the check may take (not for metric gates).
    #[schemars(extend("default" = "60s"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub timeout: Option<Located<String>>,
}

/// The rules the plan file's values are held to, with their places: the
/// spec's validator lends them to the kinds here.
pub trait Rules {
    fn error(&mut self, span: Range<usize>, message: String, help: String);
    /// A duration key ("60s"), or `default` when absent.
    fn duration(&mut self, key: &str, v: Option<&Located<String>>, default: u64) -> u64;
    /// A number within `lo`–`hi`.
    fn range(&mut self, key: &str, v: &Located<i64>, lo: i64, hi: i64, unit: &str) -> u32;
    /// A program and its arguments.
    fn command(&mut self, key: &str, v: &Located<Vec<String>>) -> Vec<String>;
    /// The plan file's text, where a span points.
    fn source(&self) -> &str;
}

impl RawCheck {
    /// The check this table sets; `key` names its list ("rollout.gates"),
    /// `gate` whether it is a gate (a smoke test may not read the cloud).
    pub fn check(c: &Located<RawCheck>, key: &str, gate: bool, rules: &mut dyn Rules) -> Check {
        let raw = c.get_ref();
        let timeout_secs = rules.duration(&format!("{key}.timeout"), raw.timeout.as_ref(), 60);
        let count = raw.command.is_some() as u8
            + raw.http.is_some() as u8
            + raw.alarm.is_some() as u8
            + raw.metric.is_some() as u8
            + raw.query.is_some() as u8;
        let allowed = if gate {
            "`command`, `http`, `alarm`, `metric` or `query`"
        } else {
            "`command` or `http`"
        };
        if count != 1 {
            rules.error(
                c.span(),
                format!("each [[{key}]] needs exactly one of {allowed}, this one has {count}"),
                "split it into one table per check".into(),
            );
        }
        let metric_span = raw
            .metric
            .as_ref()
            .map(Located::span)
            .or(raw.query.as_ref().map(Located::span));
        let kind = if let Some(cmd) = &raw.command {
            CheckKind::Command(rules.command(&format!("{key}.command"), cmd))
        } else if let Some(h) = &raw.http {
            http::kind(h, key, rules)
        } else if let Some(name) = &raw.alarm {
            alarm::kind(name, gate, rules)
        } else if let Some(span) = metric_span.clone() {
            raw.metric_kind(span, c.span(), key, gate, rules)
        } else {
            CheckKind::Command(Vec::new())
        };
        if metric_span.is_none() {
            raw.no_metric_keys(key, rules);
        }
        Check { kind, timeout_secs }
    }

    /// A metric gate (`metric` or `query`, at `at`): gates only, without
    /// `timeout` (its read has its own).
    fn metric_kind(
        &self,
        at: Range<usize>,
        table: Range<usize>,
        key: &str,
        gate: bool,
        rules: &mut dyn Rules,
    ) -> CheckKind {
        if !gate {
            rules.error(
                at,
                "a metric gate judges production traffic, which a smoke test runs before".into(),
                "move it to a [[rollout.gates]] table".into(),
            );
        }
        if let Some(t) = &self.timeout {
            rules.error(
                t.span(),
                format!("`{key}.timeout` does not apply to a metric gate: it is judged window by window during the bake"),
                "remove `timeout`; `window` and `[rollout] evidence_timeout` bound it".into(),
            );
        }
        let raw = metric::keys::RawMetric {
            metric: self.metric.as_ref(),
            query: self.query.as_ref(),
            name: self.name.as_ref(),
            per_request: self.per_request.as_ref(),
            max: self.max.as_ref(),
            max_above_baseline: self.max_above_baseline.as_ref(),
            max_ratio: self.max_ratio.as_ref(),
            min_requests: self.min_requests.as_ref(),
            percentile: self.percentile.as_ref(),
            window: self.window.as_ref(),
        };
        CheckKind::Metric(metric::keys::gate(&raw, key, table, rules))
    }

    /// A metric gate's keys on a check that is not one.
    fn no_metric_keys(&self, key: &str, rules: &mut dyn Rules) {
        let spans = [
            ("max", self.max.as_ref().map(Located::span)),
            (
                "max_above_baseline",
                self.max_above_baseline.as_ref().map(Located::span),
            ),
            ("max_ratio", self.max_ratio.as_ref().map(Located::span)),
            (
                "min_requests",
                self.min_requests.as_ref().map(Located::span),
            ),
            ("percentile", self.percentile.as_ref().map(Located::span)),
            ("window", self.window.as_ref().map(Located::span)),
            ("name", self.name.as_ref().map(Located::span)),
            ("per_request", self.per_request.as_ref().map(Located::span)),
        ];
        for (name, span) in spans {
            if let Some(span) = span {
                rules.error(
                    span,
                    format!(
                        "`{key}.{name}` belongs to a metric gate, and this check has neither `metric` nor `query`"
                    ),
                    "add metric = \"error_rate\" or \"latency\", or a `query`, or remove the key".into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alarm_gate_reads_its_alarm_and_only_alarm_fails_it() {
        let gate = CheckKind::Alarm("shop-5xx".into());
        assert_eq!(gate.how(), How::Read(Read::Alarm("shop-5xx".into())));
        let judged = |s| gate.judge(&Reading::Alarm(s));
        assert_eq!(judged(AlarmState::Ok), Ok(()));
        assert_eq!(judged(AlarmState::InsufficientData), Ok(()));
        let failed = judged(AlarmState::Alarm).unwrap_err();
        assert_eq!(
            (failed.what.as_str(), failed.misconfigured),
            ("alarm shop-5xx is in ALARM", false)
        );
        let missing = gate.missing("CloudWatch alarm shop-5xx does not exist");
        assert!(
            missing.misconfigured,
            "a missing alarm is the plan's mistake"
        );
        assert_eq!(
            missing.what,
            "CloudWatch alarm shop-5xx does not exist: create it, or fix the gate's `alarm`"
        );
    }

    #[test]
    fn commands_and_requests_are_run_by_the_shell() {
        let argv = vec!["./smoke.sh".to_string()];
        assert_eq!(
            CheckKind::Command(argv.clone()).how(),
            How::Run(Run::Command(&argv))
        );
        let http = CheckKind::Http {
            url: "http://lb/health".into(),
            expect_status: 204,
        };
        assert_eq!(
            http.how(),
            How::Run(Run::Http {
                url: "http://lb/health",
                expect_status: 204
            })
        );
        assert_eq!(http.describe(), "GET http://lb/health (expect 204)");
    }
}
