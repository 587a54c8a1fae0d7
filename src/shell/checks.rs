//! Smoke tests and gates: run a program (no shell) or make an HTTP request,
//! each within its timeout, and say what failed with the output to show.
//!
//! Alarm gates are answered by the provider (CloudWatch on AWS, simulated
//! alarms in the sandbox): the executor asks it directly.

use crate::spec::{Check, CheckKind};
use std::time::Duration;

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

/// A failed check: one line of what, and the output to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub what: String,
    pub output: String,
}

/// The last lines of some output, for a message.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

/// Runs a command or HTTP check. Alarm checks are not handled here.
pub async fn run(check: &Check, env: &CheckEnv) -> Result<(), CheckFailure> {
    let timeout = Duration::from_secs(check.timeout_secs.max(1));
    match &check.kind {
        CheckKind::Command(argv) => command(argv, env.vars(), &env.hidden_env, timeout).await,
        CheckKind::Http { url, expect_status } => http(url, *expect_status, timeout).await,
        CheckKind::Alarm(name) => Err(CheckFailure {
            what: format!("alarm {name}: alarms are checked by the provider"),
            output: String::new(),
        }),
    }
}

/// Runs a program (no shell) with extra environment variables, within `timeout`.
pub async fn command(
    argv: &[String],
    vars: Vec<(&'static str, String)>,
    hidden: &[String],
    timeout: Duration,
) -> Result<(), CheckFailure> {
    let what = argv.join(" ");
    let Some((program, args)) = argv.split_first() else {
        return Err(CheckFailure {
            what: "an empty command".into(),
            output: String::new(),
        });
    };
    let mut cmd = tokio::process::Command::new(program);
    for name in hidden {
        cmd.env_remove(name);
    }
    cmd.args(args)
        .envs(vars)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => {
            return Err(CheckFailure {
                what: format!("`{what}` did not finish within {}s", timeout.as_secs()),
                output: String::new(),
            })
        }
        Ok(Err(e)) => {
            return Err(CheckFailure {
                what: format!("`{what}` could not start: {e}"),
                output: String::new(),
            })
        }
        Ok(Ok(out)) => out,
    };
    if out.status.success() {
        return Ok(());
    }
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(CheckFailure {
        what: format!(
            "`{what}` failed ({})",
            match out.status.code() {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".into(),
            }
        ),
        output: tail(&output, 20),
    })
}

async fn http(url: &str, expect: u16, timeout: Duration) -> Result<(), CheckFailure> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| CheckFailure {
            what: format!("GET {url}: {e}"),
            output: String::new(),
        })?;
    match client.get(url).send().await {
        Err(e) => Err(CheckFailure {
            what: format!("GET {url} failed: {e}"),
            output: String::new(),
        }),
        Ok(resp) if resp.status().as_u16() == expect => Ok(()),
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            Err(CheckFailure {
                what: format!("GET {url} answered {status}, expected {expect}"),
                output: tail(&body, 10),
            })
        }
    }
}
