//! The sandbox file: read when opened and whenever another process changed
//! it, written after each change, under a lock so that processes sharing
//! one sandbox take turns, as runs share one AWS account.

use super::world::{World, DEFAULT_REGION};
use super::Sandbox;
use crate::provider::{ProviderError, Result};
use std::path::Path;
use std::sync::Mutex;

/// The sandbox file's lock, held for one call.
pub(super) struct FileLock(std::fs::File);

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl Sandbox {
    /// The file at `path`; a new world simulates `region`.
    pub(super) fn open_file(path: &Path, region: Option<&str>) -> Result<Sandbox> {
        let world = match std::fs::read(path) {
            Ok(bytes) => parse_world(path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                World::new_file(region.filter(|r| *r != DEFAULT_REGION).map(str::to_string))
            }
            Err(e) => {
                return Err(ProviderError::Sandbox(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(Sandbox {
            path: path.to_path_buf(),
            world: Mutex::new(world),
            seen: Mutex::new(None),
        })
    }

    /// Takes the sandbox file's lock and brings `w` up to date with what
    /// other processes wrote. The calls counted stay this process's own.
    pub(super) fn sync(&self, w: &mut World) -> Result<FileLock> {
        let fail = |what: &str, e: std::io::Error| {
            ProviderError::Sandbox(format!("cannot {what} {}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail("create the folder of", e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension("json.lock"))
            .map_err(|e| fail("open the lock of", e))?;
        file.lock().map_err(|e| fail("lock", e))?;
        let lock = FileLock(file);
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut seen = self.seen.lock().expect("sandbox lock");
        if stamp.is_some() && *seen != stamp {
            let bytes = std::fs::read(&self.path).map_err(|e| fail("read", e))?;
            let fresh = parse_world(&self.path, &bytes)?;
            let calls = std::mem::take(&mut w.calls);
            *w = fresh;
            w.calls = calls;
            *seen = stamp;
        }
        Ok(lock)
    }

    pub(super) fn save(&self, w: &World) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ProviderError::Sandbox(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        // Write then rename: a crash never leaves a half-written sandbox.
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(w).expect("world serialises");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                ProviderError::Sandbox(format!("cannot write {}: {e}", self.path.display()))
            })?;
        // What this process wrote need not be read again.
        *self.seen.lock().expect("sandbox lock") = std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        Ok(())
    }
}

/// A sandbox file's world; anything else is refused, and left as it is.
fn parse_world(path: &Path, bytes: &[u8]) -> Result<World> {
    serde_json::from_slice(bytes).map_err(|e| {
        ProviderError::Sandbox(format!(
            "{} is not a cutover sandbox file ({e}); it was left untouched. Give --sandbox a new file name (cutover creates it) or a sandbox file made by cutover",
            path.display()
        ))
    })
}
