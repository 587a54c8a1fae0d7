//! Systems Manager parameters: the active colour, the deploy record and the
//! lock.

use super::world::{SbParameter, World};
use crate::provider::Result;

/// How many versions of a parameter Parameter Store keeps.
const KEPT_VERSIONS: usize = 100;

impl World {
    /// Puts `value` in parameter `parameter`, made when missing.
    pub(super) fn put_parameter(&mut self, parameter: &str, value: &str) -> Result<()> {
        let now = self.now_ms();
        let p = self
            .parameters
            .entry(parameter.to_string())
            .or_insert(SbParameter {
                value: String::new(),
                modified_ms: now,
                version: 0,
                older: vec![],
            });
        if p.version > 0 {
            let before = std::mem::take(&mut p.value);
            p.older.push((before, p.modified_ms));
            let kept = p.older.len().saturating_sub(KEPT_VERSIONS - 1);
            p.older.drain(..kept);
        }
        p.value = value.to_string();
        p.modified_ms = now;
        p.version += 1;
        Ok(())
    }

    /// Takes lock `name` for `holder` unless someone holds it: then, who.
    pub(super) fn try_lock(&mut self, name: &str, holder: &str) -> Result<Option<String>> {
        if let Some(p) = self.parameters.get(name) {
            return Ok(Some(p.value.clone()));
        }
        let now = self.now_ms();
        self.parameters.insert(
            name.to_string(),
            SbParameter {
                value: holder.to_string(),
                modified_ms: now,
                version: 1,
                older: vec![],
            },
        );
        Ok(None)
    }

    /// GetParameters: the ones of `names` that exist (a missing name is
    /// no error, as AWS lists it among InvalidParameters).
    pub(super) fn parameters_named(
        &self,
        names: &[String],
    ) -> std::collections::BTreeMap<String, (String, i64)> {
        names
            .iter()
            .filter_map(|n| {
                let p = self.parameters.get(n)?;
                Some((n.clone(), (p.value.clone(), p.modified_ms / 1000)))
            })
            .collect()
    }

    /// Who holds lock `name`, if anyone.
    pub(super) fn read_lock(&self, name: &str) -> Result<Option<String>> {
        Ok(self.parameters.get(name).map(|p| p.value.clone()))
    }

    /// Every version of `name` kept, oldest first: (value, seconds).
    pub(super) fn parameter_history(&self, name: &str) -> Result<Vec<(String, i64)>> {
        Ok(self
            .parameters
            .get(name)
            .map(|p| {
                p.older
                    .iter()
                    .cloned()
                    .chain([(p.value.clone(), p.modified_ms)])
                    .map(|(v, ms)| (v, ms / 1000))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Deletes parameter `name` (a lock, a freeze); absent is fine.
    pub(super) fn delete_parameter(&mut self, name: &str) -> Result<()> {
        self.parameters.remove(name);
        Ok(())
    }
}
