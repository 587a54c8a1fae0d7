//! One apply, promote or rollback per app at a time (docs/safety.md, rule 5).
//!
//! The lock is an SSM parameter beside the active-colour one, created with
//! overwrite off so that of several racing runs exactly one wins. It holds who
//! (user, host, pid), the command, when, and a token of its own: a run checks
//! its token before every write (the executor's [`LockGuard`]) and never
//! deletes or overwrites a lock whose token is not its own.
//!
//! A lock left by a run that died on this host (its pid is gone) is taken
//! over through a claim parameter named after the dead holder's token,
//! created with overwrite off: of several runs taking over at once exactly
//! one proceeds. `cutover rollback` preempts a running apply or promote: it
//! overwrites the lock, saying whose it took over, and the running run stops
//! at its next look. Any other lock is broken only by `cutover unlock --yes`.
//!
//! SSM has no conditional write or delete: between a run's last look at the
//! lock and its write (a listener update, the release of the lock) another
//! run can take the lock over. That window is one API call long; the run
//! that took over re-reads live state and acts on what it finds.

pub use crate::model::Holder;
use crate::provider::{Provider, ProviderError};
use crate::shell::executor::{BoundaryRead, Guard, StepError};

/// This process as a lock holder, running `command`, with a fresh token.
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
        token: token(),
        took_over: None,
    }
}

/// 16 hex digits no other run will have: the process's random hasher keys,
/// mixed with the pid and the time.
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", h.finish())
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
    #[error("{app} is locked by {holder}; wait for it to finish (Ctrl-C in that run stops it and puts production traffic back, and `cutover rollback` preempts it), or if it is gone, run `cutover unlock {plan} --yes`")]
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
    holder: Holder,
    /// The claim parameter of a dead holder's lock this run took over.
    claim: Option<String>,
    /// The holder this run preempted, when it is gone (it cannot clear the
    /// note saying who preempted it).
    preempted_dead: Option<String>,
}

/// The note a preempting run leaves for the run it preempted: who, when.
fn preempted_note(lock: &str, token: &str) -> String {
    format!("{lock}-preempted-{token}")
}

impl<'a> Lock<'a> {
    /// Whether this run took the lock over from another run.
    pub fn took_over(&self) -> bool {
        self.holder.took_over.is_some()
    }

    /// A guard that stops a run once the lock is no longer its own.
    pub fn guard(&self) -> LockGuard<'a> {
        LockGuard {
            provider: self.provider,
            name: self.name.clone(),
            token: self.holder.token.clone(),
        }
    }

    /// Deletes the lock, unless it is no longer this run's own.
    pub async fn release(self) {
        let seen = self.provider.read_lock(&self.name).await;
        self.release_seen(seen).await
    }

    /// The lock's name, for a look at it alongside another call.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `value` (the lock parameter as a read saw it) is this run's.
    pub fn is_own(&self, value: &str) -> bool {
        Holder::parse(value).is_ok_and(|h| h.token == self.holder.token)
    }

    /// Deletes the lock as [`Lock::release`] does, with the lock as read
    /// moments before (alongside this run's last write, one round trip
    /// fewer). Between that look and the delete, only another rollback or
    /// `cutover unlock` could take the lock; the window is one call longer.
    pub async fn release_seen(self, seen: Result<Option<String>, crate::provider::ProviderError>) {
        let preempted = self.delete_own(seen).await;
        if let Some(claim) = &self.claim {
            let _ = self.provider.delete_parameter(claim).await;
        }
        // The note a preempting run left for this one, and the note this run
        // left for a run it preempted that is gone.
        let own = preempted.then_some(self.holder.token.as_str());
        for token in [own, self.preempted_dead.as_deref()].into_iter().flatten() {
            let _ = self
                .provider
                .delete_parameter(&preempted_note(&self.name, token))
                .await;
        }
    }

    /// Deletes the lock while it is this run's own; `true` when another
    /// run took it over (or it is gone). A lock left behind blocks the next
    /// run, so a read or delete that got no usable answer (a 500, a lost
    /// answer, after the SDK's retries) is tried again, [`RELEASE_TRIES`]
    /// times in all, each time after a fresh look that it is still ours;
    /// so is one AWS throttled.
    async fn delete_own(
        &self,
        seen: Result<Option<String>, crate::provider::ProviderError>,
    ) -> bool {
        let mut first = Some(seen);
        let mut last = None;
        for _ in 0..RELEASE_TRIES {
            let seen = match first.take() {
                Some(seen) => seen,
                None => {
                    self.provider.sleep(RELEASE_PAUSE).await;
                    self.provider.read_lock(&self.name).await
                }
            };
            match seen {
                // Gone: this run's earlier delete landed, or someone unlocked.
                Ok(None) => return last.is_none(),
                Ok(Some(v)) => match Holder::parse(&v) {
                    Ok(h) if h.token == self.holder.token => {
                        match self.provider.delete_parameter(&self.name).await {
                            Ok(()) => return false,
                            Err(e) if e.is_refusal() && !e.is_throttled() => {
                                last = Some(e);
                                break;
                            }
                            // The answer may be lost after the delete: the
                            // next look says.
                            Err(e) => last = Some(e),
                        }
                    }
                    Ok(h) => {
                        eprintln!(
                            "note: the lock of this run was taken over by {h}; it is left to that run"
                        );
                        return true;
                    }
                    Err(raw) => {
                        eprintln!(
                            "note: the lock now holds a value cutover did not write ({raw:?}); it is left as it is"
                        );
                        return true;
                    }
                },
                Err(e) if e.is_refusal() && !e.is_throttled() => {
                    last = Some(e);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            eprintln!(
                "warning: could not release the lock {} ({e}); `cutover unlock --yes` removes it",
                self.name
            );
        }
        false
    }
}

/// How many times a lock release is tried, and the pause between.
const RELEASE_TRIES: u32 = 3;
const RELEASE_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// The executor's look at the lock: the run stops, as a failed step would,
/// once another run took the lock over or it was broken.
pub struct LockGuard<'a> {
    provider: &'a dyn Provider,
    name: String,
    token: String,
}

#[async_trait::async_trait]
impl Guard for LockGuard<'_> {
    async fn check(&self) -> Result<(), StepError> {
        let value = self.provider.read_lock(&self.name).await?;
        self.judge(value).await
    }

    fn boundary_reads(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    /// The lock as the boundary's read saw it; a read that failed is made
    /// again alone, so its error is the lock's own.
    async fn at_boundary(&self, read: &BoundaryRead) -> Result<(), StepError> {
        match read {
            Ok(found) => {
                self.judge(found.get(&self.name).map(|(v, _)| v.clone()))
                    .await
            }
            Err(_) => self.check().await,
        }
    }
}

impl LockGuard<'_> {
    /// Whether the lock, as read (`value`), is still this run's: if not,
    /// who took it over (a preempting rollback), or that it was broken.
    async fn judge(&self, value: Option<String>) -> Result<(), StepError> {
        if let Some(Ok(h)) = value.as_deref().map(Holder::parse) {
            if h.token == self.token {
                return Ok(());
            }
        }
        // Not ours any more: the note of the run that preempted this one
        // says who (the lock itself may already be released).
        let note = self
            .provider
            .read_lock(&preempted_note(&self.name, &self.token))
            .await?;
        let by = match note.as_deref().map(Holder::parse) {
            Some(Ok(h)) => format!(
                "{}@{} (`{}`, at {})",
                h.user,
                h.host,
                h.command,
                crate::model::format_timestamp(h.started)
            ),
            _ => match value.as_deref().map(Holder::parse) {
                Some(Ok(h)) => h.to_string(),
                Some(Err(raw)) => format!("a lock value cutover did not write ({raw:?})"),
                // Broken (`cutover unlock`), not preempted: nobody rolled back.
                None => return Err(StepError::LockBroken),
            },
        };
        Err(StepError::Preempted { by })
    }
}

/// A lock someone else holds (`current`), and this run as a holder (`me`,
/// serialised as `value`) for a takeover.
pub struct Contested {
    name: String,
    me: Holder,
    value: String,
    current: String,
}

/// Creates parameter `name` holding `value`, overwrite off: `None` when it
/// is ours, else what someone else put there. Our own value, token and all,
/// means the create went through and its answer was lost, so the SDK sent
/// it again and was refused. When no answer comes back at all (past the
/// SDK's retries), it is sent again, then the lock read back: what it holds
/// decides.
async fn create(
    provider: &dyn Provider,
    name: &str,
    value: &str,
) -> Result<Option<String>, LockError> {
    let mut tries = 0;
    let error = loop {
        match provider.try_lock(name, value).await {
            Ok(current) => return Ok(current.filter(|current| current != value)),
            Err(e) if e.is_refusal() => return Err(e.into()),
            Err(e) if tries >= 2 => break e,
            Err(_) => tries += 1,
        }
    };
    match provider.read_lock(name).await {
        Ok(Some(current)) if current == value => Ok(None),
        _ => Err(error.into()),
    }
}

/// Creates the lock for `command` with overwrite off: `Ok` when it was
/// free, else who has it.
pub async fn first_try<'a>(
    provider: &'a dyn Provider,
    state_parameter: &str,
    command: &str,
) -> Result<Result<Lock<'a>, Contested>, LockError> {
    let name = crate::model::names::lock_parameter(state_parameter);
    let me = me(command, provider.now());
    let value = serde_json::to_string(&me).expect("holder serialises");
    Ok(match create(provider, &name, &value).await? {
        None => Ok(Lock {
            provider,
            name,
            holder: me,
            claim: None,
            preempted_dead: None,
        }),
        Some(current) => Err(Contested {
            name,
            me,
            value,
            current,
        }),
    })
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
    let held = |holder: String| LockError::Held {
        app: app.to_string(),
        holder,
        plan: plan.to_string(),
    };
    let Contested {
        name,
        me,
        value,
        current,
    } = match first_try(provider, state_parameter, command).await? {
        Ok(lock) => return Ok(lock),
        Err(contested) => contested,
    };
    let h =
        Holder::parse(&current).map_err(|raw| held(format!("an unreadable lock value {raw:?}")))?;
    if !is_dead_here(&h) {
        return Err(held(h.to_string()));
    }
    let claim = claim_after(provider, &name, &h, &value)
        .await?
        .map_err(|w| held(format!("{w}, who is taking over the lock of {h}")))?;
    let took = Holder {
        took_over: Some(h.to_string()),
        ..me
    };
    let took_value = serde_json::to_string(&took).expect("holder serialises");
    // Still the dead holder's? Another run may have finished with it, or
    // `unlock --yes` removed it, since.
    match provider
        .read_lock(&name)
        .await?
        .as_deref()
        .map(Holder::parse)
    {
        // Only the claim's one winner writes over the dead holder's lock.
        Some(Ok(still)) if still.token == h.token => {
            eprintln!("warning: taking over the lock of {h}: that process is no longer running");
            provider.put_record(&name, &took_value).await?;
        }
        Some(Ok(other)) => {
            let _ = provider.delete_parameter(&claim).await;
            return Err(held(other.to_string()));
        }
        // Gone: created again with overwrite off, as a first try is.
        None => {
            if let Some(current) = create(provider, &name, &took_value).await? {
                let _ = provider.delete_parameter(&claim).await;
                let who = Holder::parse(&current).map_or(current, |w| w.to_string());
                return Err(held(who));
            }
        }
        Some(Err(raw)) => {
            let _ = provider.delete_parameter(&claim).await;
            return Err(held(format!("an unreadable lock value {raw:?}")));
        }
    }
    Ok(Lock {
        provider,
        name,
        holder: took,
        claim: Some(claim),
        preempted_dead: None,
    })
}

/// The claim to take over the lock of `dead`, created with overwrite off so
/// that of several runs exactly one wins: the claim's name carries the dead
/// holder's token. When the claim's winner died too, before it took the
/// lock, the next claim is named after that winner's token, and so on: no
/// claim is ever deleted to be made again, so two runs can never both win
/// (a dead run's claim stays behind: deleting it would reopen its level).
/// `Ok(Err(holder))`: a live run is taking over; it is named.
async fn claim_after(
    provider: &dyn Provider,
    name: &str,
    dead: &Holder,
    value: &str,
) -> Result<Result<String, String>, LockError> {
    let mut token = dead.token.clone();
    // A chain of runs each dying while taking over is short in practice;
    // the bound keeps a corrupted chain from looping.
    for _ in 0..8 {
        let claim = format!("{name}-claim-{token}");
        let Some(winner) = create(provider, &claim, value).await? else {
            return Ok(Ok(claim));
        };
        match Holder::parse(&winner) {
            Ok(w) if is_dead_here(&w) => token = w.token,
            Ok(w) => return Ok(Err(w.to_string())),
            Err(raw) => return Ok(Err(raw)),
        }
    }
    Ok(Err(format!(
        "a chain of runs that died taking over the lock of {dead}"
    )))
}

/// Takes the lock over for a rollback, which preempts whoever holds it
/// (the `Contested` its [`first_try`] found, once the rollback knows it
/// will flip): the lock then says whose it took over, a note beside it
/// tells that run who and when, and that run stops at its next look.
pub async fn take_over<'a>(
    provider: &'a dyn Provider,
    contested: Contested,
) -> Result<Lock<'a>, LockError> {
    let Contested {
        name,
        me,
        value,
        current,
    } = contested;
    let victim = Holder::parse(&current).ok();
    let was = victim.as_ref().map(|h| h.to_string()).unwrap_or(current);
    eprintln!("note: taking over the lock of {was}: a rollback preempts it");
    let took = Holder {
        took_over: Some(was),
        ..me
    };
    let took_value = serde_json::to_string(&took).expect("holder serialises");
    // The note and the lock go out together: nothing slow before the flip.
    let note = async {
        match &victim {
            Some(v) => {
                provider
                    .put_record(&preempted_note(&name, &v.token), &value)
                    .await
            }
            None => Ok(()),
        }
    };
    // The lock must land; the note is best effort (without it the preempted
    // run still stops, it just cannot say who).
    let (noted, took_lock) = futures::join!(note, provider.put_record(&name, &took_value));
    took_lock?;
    if let Err(e) = noted {
        eprintln!(
            "warning: took the lock over, but could not leave a note for the run that held it ({e}): that run still stops, without saying who took over"
        );
    }
    Ok(Lock {
        provider,
        name,
        holder: took,
        claim: None,
        preempted_dead: victim.filter(is_dead_here).map(|v| v.token),
    })
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether a process with this pid exists (Linux: /proc; elsewhere assume yes).
fn pid_running(pid: u32) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    // A zombie (state Z: exited, not yet reaped by its parent) or a dead
    // task (X) runs nothing: its lock is not held by anyone alive.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| !matches!(state, "Z" | "X" | "x")),
        Err(_) => std::path::Path::new(&format!("/proc/{pid}")).exists(),
    }
}
