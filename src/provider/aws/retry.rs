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

/// Stops retrying when nothing has ever answered. A reset, a lost answer or
/// a throttled call gets the whole attempt budget; a connection refused, a
/// name that does not resolve or a connect timeout before AWS answered
/// anything in this run means a wrong endpoint or no network, and 25
/// attempts with backoff would only keep a person waiting minutes for that
/// news. Shared by every client of a run: after [`REFUSED_IN_A_ROW`] such
/// errors, they are final; once AWS has answered, a network blip later in
/// the run (the way home included) gets the whole budget.
#[derive(Debug, Default, Clone)]
pub struct NothingAnswers {
    refused: std::sync::Arc<std::sync::atomic::AtomicU32>,
    answered: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ClassifyRetry for NothingAnswers {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        self.classify_retry_v2(ctx, &RetryAction::NoActionIndicated)
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        use std::sync::atomic::Ordering;
        let refused = match ctx.output_or_error() {
            Some(Err(e)) => e
                .as_connector_error()
                .is_some_and(|c| c.is_timeout() || unreachable(c)),
            _ => false,
        };
        if !refused {
            if ctx.response().is_some() {
                self.answered.store(true, Ordering::SeqCst);
            }
            return previous.clone();
        }
        if self.answered.load(Ordering::SeqCst) {
            return previous.clone();
        }
        if self.refused.fetch_add(1, Ordering::SeqCst) + 1 >= REFUSED_IN_A_ROW {
            RetryAction::RetryForbidden
        } else {
            previous.clone()
        }
    }

    fn name(&self) -> &'static str {
        "cutover: nothing answers"
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
/// retry quota. The SDK's default quota (500 tokens, 5 per retry, 1 back
/// per first-try success) runs dry under sustained throttling, and then a
/// single throttled call fails at once: the 25 attempts would not be real.
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

    #[test]
    fn the_test_backoff_caps_every_wait() {
        let c = retry_config(&UserRetry::default(), Some(5));
        assert_eq!(c.max_backoff(), Duration::from_millis(5));
        assert_eq!(c.initial_backoff(), Duration::from_millis(5));
    }
}
