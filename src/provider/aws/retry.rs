//! How hard the SDK tries before a call fails: retries and timeouts.
//!
//! AWS throttles a busy account, answers 5xx now and then and drops
//! connections; the SDK's default of 3 attempts lets one throttled call
//! abort a release. cutover retries like Terraform's AWS provider does (25
//! attempts), in adaptive mode (the client slows itself down when AWS
//! throttles), and puts a deadline on every attempt so no call hangs. What
//! the user set (`AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`, or `max_attempts` /
//! `retry_mode` in the profile) wins over these defaults, setting by setting.

use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use std::str::FromStr;
use std::time::Duration;

/// Attempts per call unless the user says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 25;
/// Longest wait between two attempts (the SDK's exponential backoff grows to it).
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// A connection that is not up by then is tried again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One attempt (send, AWS's work, answer) that takes longer is tried again.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// One call with all its retries gives up then.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// For tests only: caps the backoff between attempts at this many
/// milliseconds, so a test that injects faults does not sleep for real.
pub const TEST_BACKOFF_ENV: &str = "CUTOVER_TEST_RETRY_BACKOFF_MS";

/// The retry settings the user gave, each `None` when not given.
#[derive(Debug, Default, PartialEq)]
pub struct UserRetry {
    pub max_attempts: Option<u32>,
    pub mode: Option<RetryMode>,
}

impl UserRetry {
    /// Reads the environment, then the selected profile of the shared
    /// config files; the environment wins, as it does for the SDK.
    pub async fn load(profile: Option<&str>) -> Result<UserRetry, String> {
        let env = aws_types::os_shim_internal::Env::real();
        let fs = aws_types::os_shim_internal::Fs::real();
        let files = aws_runtime::env_config::file::EnvConfigFiles::default();
        let selected = profile.map(|p| std::borrow::Cow::Owned(p.to_string()));
        // An unreadable config file is the SDK's to report when it loads
        // credentials; here it only means no retry settings.
        let profiles = aws_config::profile::load(&fs, &env, &files, selected)
            .await
            .ok();
        let setting = |var: &str, key: &str| {
            env.get(var).ok().map(|v| (var.to_string(), v)).or_else(|| {
                let p = profiles.as_ref()?;
                let v = p.get(key)?;
                Some((
                    format!("{key} in profile {}", p.selected_profile()),
                    v.to_string(),
                ))
            })
        };
        UserRetry::parse(
            setting("AWS_MAX_ATTEMPTS", "max_attempts"),
            setting("AWS_RETRY_MODE", "retry_mode"),
        )
    }

    /// `(where, value)` of each setting.
    fn parse(
        max_attempts: Option<(String, String)>,
        mode: Option<(String, String)>,
    ) -> Result<UserRetry, String> {
        let max_attempts = match max_attempts {
            None => None,
            Some((at, v)) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(format!(
                        "{at} is {v:?}: expected a whole number of attempts from 1 (cutover's default is {DEFAULT_MAX_ATTEMPTS})"
                    ))
                }
            },
        };
        let mode = match mode {
            None => None,
            Some((at, v)) => Some(RetryMode::from_str(v.trim()).map_err(|_| {
                format!(
                    "{at} is {v:?}: expected standard or adaptive (cutover's default is adaptive)"
                )
            })?),
        };
        Ok(UserRetry { max_attempts, mode })
    }
}

/// cutover's defaults with the user's settings over them.
pub fn retry_config(user: &UserRetry, test_backoff_ms: Option<u64>) -> RetryConfig {
    let mode = user.mode.unwrap_or(RetryMode::Adaptive);
    let base = match mode {
        RetryMode::Adaptive => RetryConfig::adaptive(),
        _ => RetryConfig::standard(),
    };
    let config = base
        .with_max_attempts(user.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS))
        .with_max_backoff(MAX_BACKOFF);
    match test_backoff_ms {
        Some(ms) => config
            .with_initial_backoff(Duration::from_millis(ms))
            .with_max_backoff(Duration::from_millis(ms.max(1))),
        None => config,
    }
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
        .build()
}

/// How many refused connections in a row the SDK retries before giving up.
const REFUSED_IN_A_ROW: u32 = 3;
/// The run's retry quota, as the SDK's standard quota works: a retry
/// costs [`RETRY_COST`] tokens ([`TIMEOUT_COST`] after no answer in time),
/// and an attempt AWS answered gives one back, up to the full quota.
const QUOTA: u32 = 500;
const RETRY_COST: u32 = 5;
const TIMEOUT_COST: u32 = 10;
/// Nothing but failures for this long, across every call of the run, is an
/// outage: retries stop (except on the way home).
pub const OUTAGE_WINDOW: Duration = Duration::from_secs(30);

/// The run's retry budget, shared by every call of every client. AWS in a
/// regional outage answers every call with a 500 or not at all; 25
/// attempts per call would make a retry storm of cutover (the SDK's
/// standard quota exists to prevent it) and keep a person waiting many
/// minutes for the news. So:
///
/// - nothing has ever answered (a connection refused, a name that does
///   not resolve, a connect timeout, [`REFUSED_IN_A_ROW`] times before any
///   answer): a wrong endpoint or no network, final at once;
/// - every retry draws on one quota for the run ([`QUOTA`] tokens, as the
///   SDK's standard quota: 5 a retry, 10 after a timeout, 1 back for each
///   answer);
/// - when nothing but failures came back for [`OUTAGE_WINDOW`], the next
///   failure is final, and the error says AWS is failing.
///
/// The way home is exempt ([`crate::provider::homeward`]): the writes and
/// reads that bring production home always get their full attempts
/// (invariant 9: never stranded by a budget). A throttled call is a
/// failure too, but throttling with answers in between (a busy account)
/// never stops a run: every answer ends the outage clock and refills.
#[derive(Debug, Clone)]
pub struct Budget {
    state: std::sync::Arc<std::sync::Mutex<BudgetState>>,
}

#[derive(Debug)]
struct BudgetState {
    refused: u32,
    answered: bool,
    tokens: u32,
    /// When the failures in a row began, and how many there were.
    failing_since: Option<std::time::Instant>,
    failed: u32,
    stopped: Option<Stopped>,
}

/// Why the budget made a call's last failure final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Nothing but failures for `secs` seconds, `failed` attempts.
    Outage { secs: u64, failed: u32 },
    /// The run's retry quota ran dry after `failed` failures in a row.
    Quota { failed: u32 },
}

/// What one attempt came to, as the budget counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// No connection before anything ever answered.
    Unreachable,
    /// AWS answered: a success, or an error not worth retrying.
    Answered,
    /// A failure the SDK would retry; `timeout` when no answer came in time.
    Failed { timeout: bool },
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            state: std::sync::Arc::new(std::sync::Mutex::new(BudgetState {
                refused: 0,
                answered: false,
                tokens: QUOTA,
                failing_since: None,
                failed: 0,
                stopped: None,
            })),
        }
    }
}

impl Budget {
    /// The budget of this process's run (one process is one run).
    pub fn of_run() -> &'static Budget {
        static RUN: std::sync::OnceLock<Budget> = std::sync::OnceLock::new();
        RUN.get_or_init(Budget::default)
    }

    /// Why retries stopped, when the budget stopped them since AWS last
    /// answered.
    pub fn stopped(&self) -> Option<Stopped> {
        self.state.lock().map(|s| s.stopped).unwrap_or(None)
    }

    /// Whether a failed attempt may be retried, and the bookkeeping.
    fn allow(&self, attempt: Attempt, homeward: bool, now: std::time::Instant) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        match attempt {
            Attempt::Answered => {
                s.answered = true;
                s.tokens = (s.tokens + 1).min(QUOTA);
                s.failing_since = None;
                s.failed = 0;
                s.stopped = None;
                true
            }
            Attempt::Unreachable if !s.answered => {
                s.refused += 1;
                s.refused < REFUSED_IN_A_ROW
            }
            Attempt::Unreachable | Attempt::Failed { .. } => {
                let timeout = matches!(attempt, Attempt::Failed { timeout: true });
                let since = *s.failing_since.get_or_insert(now);
                s.failed += 1;
                if homeward {
                    return true;
                }
                let failing = now.saturating_duration_since(since);
                if failing >= OUTAGE_WINDOW {
                    s.stopped = Some(Stopped::Outage {
                        secs: failing.as_secs(),
                        failed: s.failed,
                    });
                    return false;
                }
                let cost = if timeout { TIMEOUT_COST } else { RETRY_COST };
                if s.tokens < cost {
                    s.stopped = Some(Stopped::Quota { failed: s.failed });
                    return false;
                }
                s.tokens -= cost;
                true
            }
        }
    }
}

impl Stopped {
    /// What the user reads after AWS's own error.
    pub fn hint(&self) -> String {
        let what = match self {
            Stopped::Outage { secs, failed } => format!(
                "AWS answered nothing but failures for {secs} s ({failed} failed attempts in a row)"
            ),
            Stopped::Quota { failed } => format!(
                "AWS kept failing ({failed} failed attempts in a row) until the run's retry quota ran out"
            ),
        };
        format!(
            "{what}: cutover stopped retrying rather than add to an outage. Run the command again when AWS answers again (the AWS Health Dashboard says whether the region is affected)"
        )
    }
}

impl ClassifyRetry for Budget {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        self.classify_retry_v2(ctx, &RetryAction::NoActionIndicated)
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let attempt = match ctx.output_or_error() {
            Some(Err(e))
                if e.as_connector_error()
                    .is_some_and(|c| c.is_timeout() || unreachable(c))
                    && ctx.response().is_none() =>
            {
                Attempt::Unreachable
            }
            Some(Err(e)) if previous.should_retry() => Attempt::Failed {
                timeout: e.is_timeout_error()
                    || e.as_connector_error().is_some_and(|c| c.is_timeout()),
            },
            _ if ctx.response().is_some() => Attempt::Answered,
            // No answer and nothing to retry: not news for the budget.
            _ => return previous.clone(),
        };
        if self.allow(
            attempt,
            crate::provider::homeward(),
            std::time::Instant::now(),
        ) {
            // Why the SDK tries again (the SDK's own line is not shown
            // with -v): AWS's code and message, or the connection's error.
            if let (Some(Err(e)), true) = (ctx.output_or_error(), previous.should_retry()) {
                tracing::debug!(
                    status = ctx.response().map(|r| r.status().as_u16()),
                    reason = ?previous,
                    error = %aws_sdk_ssm::error::DisplayErrorContext(e),
                    "AWS call attempt failed; the SDK tries it again while attempts are left"
                );
            }
            previous.clone()
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "cutover: the run's retry budget"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// A connection refused, or a host name that does not resolve (a connect
/// timeout is the connector's own kind).
fn unreachable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        let text = err.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return true;
        }
        at = err.source();
    }
    false
}

/// Where a client's retries draw from: its own partition per service (the
/// adaptive rate limiter learns each service's throttling apart) with no
/// quota of the SDK's: the quota is the run's [`Budget`], one for every
/// service, which knows the way home from the rest.
pub fn partition(service: &'static str) -> aws_sdk_ssm::config::retry::RetryPartition {
    use aws_sdk_ssm::config::retry::{RetryPartition, TokenBucket};
    RetryPartition::custom(service)
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// The test-only backoff cap, when set to a number; read only in a build
/// with the `test-switches` feature (`scripts/test`), never in a release.
pub fn test_backoff_ms() -> Option<u64> {
    if cfg!(feature = "test-switches") {
        std::env::var(TEST_BACKOFF_ENV).ok()?.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str, v: &str) -> Option<(String, String)> {
        Some((s.to_string(), v.to_string()))
    }

    #[test]
    fn defaults_are_adaptive_and_generous() {
        let c = retry_config(&UserRetry::default(), None);
        assert_eq!(c.mode(), RetryMode::Adaptive);
        assert_eq!(c.max_attempts(), DEFAULT_MAX_ATTEMPTS);
        assert_eq!(c.max_backoff(), MAX_BACKOFF);
    }

    #[test]
    fn each_user_setting_wins_on_its_own() {
        let user = UserRetry::parse(at("AWS_MAX_ATTEMPTS", "4"), None).unwrap();
        let c = retry_config(&user, None);
        assert_eq!((c.max_attempts(), c.mode()), (4, RetryMode::Adaptive));
        let user = UserRetry::parse(None, at("retry_mode in profile ci", "standard")).unwrap();
        let c = retry_config(&user, None);
        assert_eq!(
            (c.max_attempts(), c.mode()),
            (DEFAULT_MAX_ATTEMPTS, RetryMode::Standard)
        );
    }

    #[test]
    fn a_bad_setting_says_where_and_what_would_be_right() {
        let e = UserRetry::parse(at("AWS_MAX_ATTEMPTS", "0"), None).unwrap_err();
        assert_eq!(
            e,
            "AWS_MAX_ATTEMPTS is \"0\": expected a whole number of attempts from 1 (cutover's default is 25)"
        );
        let e = UserRetry::parse(None, at("retry_mode in profile ci", "fast")).unwrap_err();
        assert!(
            e.starts_with("retry_mode in profile ci is \"fast\": expected standard or adaptive")
        );
    }

    fn failed() -> Attempt {
        Attempt::Failed { timeout: false }
    }

    #[test]
    fn nothing_but_failures_for_the_window_stops_retries_but_not_the_way_home() {
        let b = Budget::default();
        let t0 = std::time::Instant::now();
        assert!(b.allow(Attempt::Answered, false, t0));
        assert!(b.allow(failed(), false, t0));
        assert!(b.allow(failed(), false, t0 + Duration::from_secs(29)));
        assert_eq!(b.stopped(), None);
        // The way home keeps its attempts through the outage.
        assert!(b.allow(failed(), true, t0 + Duration::from_secs(31)));
        assert!(!b.allow(failed(), false, t0 + Duration::from_secs(31)));
        assert_eq!(
            b.stopped(),
            Some(Stopped::Outage {
                secs: 31,
                failed: 4
            })
        );
        // One answer and the clock starts again.
        assert!(b.allow(Attempt::Answered, false, t0 + Duration::from_secs(32)));
        assert_eq!(b.stopped(), None);
        assert!(b.allow(failed(), false, t0 + Duration::from_secs(50)));
    }

    #[test]
    fn the_quota_is_shared_and_answers_refill_it() {
        let b = Budget::default();
        let t0 = std::time::Instant::now();
        // 500 tokens: 100 retries, or 50 after timeouts.
        for _ in 0..50 {
            assert!(b.allow(Attempt::Failed { timeout: true }, false, t0));
        }
        assert!(!b.allow(failed(), false, t0));
        assert_eq!(b.stopped(), Some(Stopped::Quota { failed: 51 }));
        assert!(b.allow(failed(), true, t0), "the way home has no quota");
        // Five answers buy one retry.
        for _ in 0..5 {
            assert!(b.allow(Attempt::Answered, false, t0));
        }
        assert!(b.allow(failed(), false, t0));
        assert!(!b.allow(failed(), false, t0));
    }

    #[test]
    fn an_endpoint_that_never_answered_is_final_after_three_refusals() {
        let b = Budget::default();
        let t0 = std::time::Instant::now();
        assert!(b.allow(Attempt::Unreachable, false, t0));
        assert!(b.allow(Attempt::Unreachable, false, t0));
        assert!(!b.allow(Attempt::Unreachable, false, t0));
        // Once AWS has answered, a refused connection is a failure like any.
        let b = Budget::default();
        assert!(b.allow(Attempt::Answered, false, t0));
        for _ in 0..5 {
            assert!(b.allow(Attempt::Unreachable, false, t0));
        }
    }

    #[test]
    fn the_test_backoff_caps_every_wait() {
        let c = retry_config(&UserRetry::default(), Some(5));
        assert_eq!(c.max_backoff(), Duration::from_millis(5));
        assert_eq!(c.initial_backoff(), Duration::from_millis(5));
    }
}
