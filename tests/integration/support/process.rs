//! The real `vigie` binary: run to completion, or kept running as a daemon
//! or a worker whose JSON log the test reads.
//!
//! Every run starts without the caller's `VIGIE_*` variables (a developer's
//! database or SMTP server never leaks into a test) and with `NO_COLOR=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `vigie ARGS` in `cwd`, with a clean environment; add variables with
/// [`std::process::Command::env`].
pub fn command(cwd: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.args(args).current_dir(cwd).env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("VIGIE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `vigie ARGS` in `cwd` to completion.
pub async fn vigie(cwd: &Path, args: &[&str]) -> Output {
    tokio::process::Command::from(command(cwd, args))
        .output()
        .await
        .expect("run vigie")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `vigie daemon` or `vigie worker` child process, its stderr (the log)
/// in a file; killed if the test ends before it exits.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `cmd` (from [`command`]), its log in `dir/NAME.log`.
    pub fn start(mut cmd: std::process::Command, dir: &Path, name: &str) -> Process {
        let log = dir.join(format!("{name}.log"));
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("start vigie ({name}): {e}"));
        Process {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON log lines so far.
    pub fn lines(&self) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Log lines with this message (and shop, when given).
    pub fn count(&self, message: &str, shop: Option<&str>) -> usize {
        self.lines()
            .iter()
            .filter(|l| l["fields"]["message"] == message)
            .filter(|l| shop.is_none_or(|s| names_shop(l, s)))
            .count()
    }

    /// Waits until `cond` holds, or panics with the log.
    pub fn wait_for(&self, what: &str, timeout: Duration, cond: impl Fn(&Process) -> bool) {
        let start = Instant::now();
        while !cond(self) {
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the PID of our own child, which has not been reaped.
        let r = unsafe { libc::kill(self.pid() as libc::pid_t, sig) };
        assert_eq!(r, 0, "kill failed");
    }

    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Waits for the exit; returns its code and how long it took.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Option<i32>, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for vigie") {
                return (status.code(), start.elapsed());
            }
            assert!(
                start.elapsed() < timeout,
                "{} did not exit within {timeout:?}\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether a JSON log line names `shop`: on the event, or on one of its
/// spans (`shop` and `run` spans carry it).
fn names_shop(line: &Value, shop: &str) -> bool {
    line["fields"]["shop"] == shop
        || line["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|sp| sp["shop"] == shop))
}
