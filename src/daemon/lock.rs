//! One daemon per database: an exclusive lock on `<database>.daemon.lock`.
//!
//! The lock is an advisory `flock`-style lock (the `fd-lock` crate) held
//! for the daemon's life and released by the system when the process ends,
//! however it ends, so a crash never leaves a stale lock behind. The file
//! holds the PID of the daemon that has it, for the error the next one
//! prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another vigie daemon ({holder}) is running on this database: {} is locked; stop it first (two daemons would scan every shop twice)",
        path.display()
    )]
    Held {
        /// The lock file.
        path: PathBuf,
        /// "PID 1234", or why the PID is unknown.
        holder: String,
    },
    /// The lock file could not be opened or written.
    #[error("cannot use the lock file {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DaemonLock {
    path: PathBuf,
    // Closing this file releases the lock.
    _file: fd_lock::RwLock<File>,
}

impl DaemonLock {
    /// Takes the lock on `path` without waiting, and writes our PID in it.
    pub fn acquire(path: &Path) -> Result<DaemonLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Not truncated on open: the holder's PID must stay readable.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let mut lock = fd_lock::RwLock::new(file);
        match lock.try_write() {
            Ok(mut guard) => {
                guard.set_len(0).map_err(io)?;
                guard.seek(SeekFrom::Start(0)).map_err(io)?;
                writeln!(guard, "{}", std::process::id()).map_err(io)?;
                guard.flush().map_err(io)?;
                // The lock lives as long as the open file: closing the file
                // (when `DaemonLock` is dropped or the process exits)
                // releases it, so the guard itself need not be kept.
                std::mem::forget(guard);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    holder: holder_pid(path),
                });
            }
            Err(e) => return Err(io(e)),
        }
        Ok(DaemonLock {
            path: path.to_path_buf(),
            _file: lock,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// "PID 1234" as written by the holder, or why it cannot be told.
fn holder_pid(path: &Path) -> String {
    let mut text = String::new();
    match File::open(path).and_then(|mut f| f.read_to_string(&mut text)) {
        Ok(_) => match text.trim().parse::<u32>() {
            Ok(pid) => format!("PID {pid}"),
            Err(_) => "PID not written yet".to_string(),
        },
        Err(e) => format!("PID unreadable: {e}"),
    }
}

/// The file of a `sqlite://FILE` database, beside which the lock
/// `FILE.daemon.lock` is kept. `None` for an in-memory database or
/// another kind of URL.
pub fn database_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// `FILE` + `suffix`, e.g. `vigie.db.daemon.lock`.
pub fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_then_granted_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigie.db.daemon.lock");
        let first = DaemonLock::acquire(&path).unwrap();
        let err = DaemonLock::acquire(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("PID {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains(&path.display().to_string()), "{err}");
        drop(first);
        let again = DaemonLock::acquire(&path).unwrap();
        assert_eq!(again.path(), path);
    }

    #[test]
    fn database_files_from_urls() {
        assert_eq!(
            database_file("sqlite://vigie.db"),
            Some(PathBuf::from("vigie.db"))
        );
        assert_eq!(
            database_file("sqlite:///var/lib/vigie/vigie.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/vigie/vigie.db"))
        );
        assert_eq!(
            database_file("sqlite:data.db"),
            Some(PathBuf::from("data.db"))
        );
        assert_eq!(database_file("sqlite::memory:"), None);
        assert_eq!(database_file("postgres://h/db"), None);
        assert_eq!(
            beside(Path::new("/x/vigie.db"), ".daemon.lock"),
            PathBuf::from("/x/vigie.db.daemon.lock")
        );
    }
}
