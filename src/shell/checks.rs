//! What the shell runs for a check (`gate::Run`): a program (no shell) or
//! an HTTP request, each within its timeout, saying what failed with the
//! output to show. What a check is and how it is judged is in `crate::gate`;
//! gates that read the cloud are read by the provider.

use crate::gate::{CheckEnv, CheckFailure, Run};
use std::time::Duration;

/// The last lines of some output, for a message.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

/// Runs what a command or HTTP check needs, within `timeout_secs`.
pub async fn run(what: &Run<'_>, timeout_secs: u64, env: &CheckEnv) -> Result<(), CheckFailure> {
    let timeout = Duration::from_secs(timeout_secs.max(1));
    match what {
        Run::Command(argv) => command(argv, env.vars(), &env.hidden_env, timeout).await,
        Run::Http { url, expect_status } => http(url, *expect_status, timeout).await,
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
        return Err(CheckFailure::failed(
            "an empty command".into(),
            String::new(),
        ));
    };
    let mut cmd = tokio::process::Command::new(program);
    for name in hidden {
        cmd.env_remove(name);
    }
    // Its own process group, so that a timeout ends everything it started
    // (a script's children too), not only the program itself.
    cmd.args(args)
        .envs(vars)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(child) => child,
        // A program that does not start is the plan's mistake (a wrong path,
        // not executable), not evidence against the release.
        Err(e) => {
            return Err(CheckFailure {
                what: format!(
                    "`{what}` could not start: {e} (relative paths are taken from the directory cutover runs in)"
                ),
                output: String::new(),
                misconfigured: true,
            })
        }
    };
    let group = child.id();
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => {
            if let Some(pid) = group {
                // SAFETY: killpg only sends a signal; the group is the one
                // this check's child leads.
                unsafe {
                    libc::killpg(pid as libc::pid_t, libc::SIGKILL);
                }
            }
            return Err(CheckFailure::failed(
                format!("`{what}` did not finish within {}s", timeout.as_secs()),
                String::new(),
            ));
        }
        Ok(Err(e)) => {
            return Err(CheckFailure::failed(
                format!("`{what}`: its output could not be read: {e}"),
                String::new(),
            ))
        }
        Ok(Ok(out)) => out,
    };
    if out.status.success() {
        return Ok(());
    }
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(CheckFailure::failed(
        format!(
            "`{what}` failed ({})",
            match out.status.code() {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".into(),
            }
        ),
        tail(&output, 20),
    ))
}

async fn http(url: &str, expect: u16, timeout: Duration) -> Result<(), CheckFailure> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| CheckFailure::failed(format!("GET {url}: {e}"), String::new()))?;
    match client.get(url).send().await {
        Err(e) => Err(CheckFailure::failed(
            format!("GET {url} failed: {e}"),
            String::new(),
        )),
        Ok(resp) if resp.status().as_u16() == expect => Ok(()),
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            Err(CheckFailure::failed(
                format!("GET {url} answered {status}, expected {expect}"),
                tail(&body, 10),
            ))
        }
    }
}
