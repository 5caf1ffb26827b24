//! What the daemon remembers between runs: when each shop's last
//! successful scheduled scan started, in a small JSON file beside the
//! database (`<database>.daemon-state.json`):
//!
//! ```json
//! {"last_success":{"Exemple Déco":"2026-03-10T05:30:02Z"}}
//! ```
//!
//! It drives the missed-run policy: at start, a shop whose last success is
//! older than its previous scheduled time is scanned once. A missing or
//! unreadable file means "never": every shop is scanned once at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The state file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonState {
    /// When each shop's last successful scan started.
    #[serde(default)]
    pub last_success: BTreeMap<String, DateTime<Utc>>,
}

/// The state, and the file it is kept in (none for an in-memory database).
#[derive(Debug, Default)]
pub struct StateFile {
    path: Option<PathBuf>,
    /// The state.
    pub state: DaemonState,
}

impl StateFile {
    /// Reads the state file; a missing file is an empty state, an
    /// unreadable one too (with a warning: the worst outcome is one extra scan).
    pub fn load(path: Option<PathBuf>) -> StateFile {
        let state = match &path {
            None => DaemonState::default(),
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                    tracing::warn!(
                        "{} is not a valid state file ({e}); every shop will be scanned once now",
                        p.display()
                    );
                    DaemonState::default()
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => DaemonState::default(),
                Err(e) => {
                    tracing::warn!(
                        "cannot read {} ({e}); every shop will be scanned once now",
                        p.display()
                    );
                    DaemonState::default()
                }
            },
        };
        StateFile { path, state }
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records a shop's successful scan and writes the file (atomically: a
    /// temporary file renamed over it). A write error is logged, not fatal.
    pub fn record_success(&mut self, shop: &str, started: DateTime<Utc>) {
        self.state.last_success.insert(shop.to_string(), started);
        let Some(path) = &self.path else {
            return;
        };
        let tmp = super::lock::beside(path, ".tmp");
        let written = serde_json::to_vec_pretty(&self.state)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            tracing::warn!("cannot write the daemon state {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_bad_files_read_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigie.db.daemon-state.json");
        let mut s = StateFile::load(Some(path.clone()));
        assert!(s.state.last_success.is_empty());
        let at = DateTime::parse_from_rfc3339("2026-03-10T05:30:02Z")
            .unwrap()
            .with_timezone(&Utc);
        s.record_success("Exemple Déco", at);
        let again = StateFile::load(Some(path.clone()));
        assert_eq!(again.state.last_success.get("Exemple Déco"), Some(&at));
        std::fs::write(&path, "{ not json").unwrap();
        assert!(StateFile::load(Some(path)).state.last_success.is_empty());
        // No file at all (in-memory database): kept in memory only.
        let mut mem = StateFile::load(None);
        mem.record_success("x", at);
        assert_eq!(mem.state.last_success.len(), 1);
    }
}
