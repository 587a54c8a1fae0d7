//! One apply, promote or rollback per app at a time (docs/safety.md, rule 5).
//!
//! The lock is an SSM parameter beside the active-colour one, created with
//! overwrite off so that of several racing runs exactly one wins. It holds who
//! (user, host, pid), the command and when. A lock left by a run that died on
//! this host (its pid is gone) is taken over with a warning; any other lock is
//! broken only by `cutover unlock PLAN --yes`.

pub use crate::model::Holder;
use crate::provider::{Provider, ProviderError};

/// This process as a lock holder, running `command`.
pub fn me(command: &str, now: i64) -> Holder {
    Holder {
        user: std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into()),
        host: hostname(),
        pid: std::process::id(),
        command: command.to_string(),
        started: now,
        boot: boot_id(),
    }
}

/// The kernel's boot id and this process's pid namespace.
fn boot_id() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{} {}", boot.trim(), ns.display()))
}

/// True when the holder ran on this host and its process is gone.
pub fn is_dead_here(h: &Holder) -> bool {
    // Same host name, same boot and pid namespace (when recorded), pid gone.
    h.host == hostname()
        && h.boot
            .as_ref()
            .is_none_or(|b| Some(b) == boot_id().as_ref())
        && !pid_running(h.pid)
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{app} is locked by {holder}; wait for it to finish (Ctrl-C in that run stops it and puts production traffic back), or if it is gone, run `cutover unlock {plan} --yes`")]
    Held {
        app: String,
        holder: String,
        plan: String,
    },
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// A held lock; `release` it when done (a crash leaves it for takeover).
pub struct Lock<'a> {
    provider: &'a dyn Provider,
    name: String,
}

impl Lock<'_> {
    pub async fn release(self) {
        if let Err(e) = self.provider.delete_lock(&self.name).await {
            tracing::warn!("could not release the lock {}: {e}", self.name);
            eprintln!(
                "warning: could not release the lock {} ({e}); `cutover unlock --yes` removes it",
                self.name
            );
        }
    }
}

/// Takes the lock for `command`, taking over one left by a dead process on
/// this host. Fails at once, naming the holder, when someone else has it.
pub async fn acquire<'a>(
    provider: &'a dyn Provider,
    app: &str,
    plan: &str,
    state_parameter: &str,
    command: &str,
) -> Result<Lock<'a>, LockError> {
    let name = crate::model::names::lock_parameter(state_parameter);
    let me = serde_json::to_string(&me(command, provider.now())).expect("holder serialises");
    for attempt in 0..2 {
        let Some(value) = provider.try_lock(&name, &me).await? else {
            return Ok(Lock { provider, name });
        };
        match Holder::parse(&value) {
            Ok(h) if attempt == 0 && is_dead_here(&h) => {
                eprintln!(
                    "warning: taking over the lock of {h}: that process is no longer running"
                );
                provider.delete_lock(&name).await?;
            }
            Ok(h) => {
                return Err(LockError::Held {
                    app: app.to_string(),
                    holder: h.to_string(),
                    plan: plan.to_string(),
                })
            }
            Err(raw) => {
                return Err(LockError::Held {
                    app: app.to_string(),
                    holder: format!("an unreadable lock value {raw:?}"),
                    plan: plan.to_string(),
                })
            }
        }
    }
    // Someone else took it over between our delete and create.
    let holder = provider.read_lock(&name).await?.unwrap_or_default();
    Err(LockError::Held {
        app: app.to_string(),
        holder: Holder::parse(&holder)
            .map(|h| h.to_string())
            .unwrap_or(holder),
        plan: plan.to_string(),
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether a process with this pid exists (Linux: /proc; elsewhere assume yes).
fn pid_running(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}
