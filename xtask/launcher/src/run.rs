//! Child processes with a deadline, temporary directories, and the `cargo` to run: the one home
//! for helpers the launcher, `cargo xtask` and the test harness all need.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Error;

const POLL: Duration = Duration::from_millis(50);

/// The cargo that runs us (`$CARGO`, set by cargo for build scripts, tests and `cargo run`), or
/// the one on `PATH`.
pub fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// What a finished child printed.
#[derive(Debug)]
pub struct Output {
    /// How it exited.
    pub status: ExitStatus,
    /// All of its stdout.
    pub stdout: Vec<u8>,
    /// All of its stderr.
    pub stderr: Vec<u8>,
}

/// Waits for `child` until `timeout` has passed; `None` if it is still running then.
pub fn wait_within(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(POLL);
    }
}

/// Waits for `child`, killing it (an `io::ErrorKind::TimedOut` error) after `timeout`.
fn finish_within(child: &mut Child, timeout: Duration) -> io::Result<ExitStatus> {
    match wait_within(child, timeout) {
        Ok(Some(status)) => Ok(status),
        other => {
            let _ = child.kill();
            let _ = child.wait();
            other?;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("still running after {timeout:?}, killed"),
            ))
        }
    }
}

/// Runs `command` with the stdio it was given, killing it after `timeout`. A program that is not
/// found is an `io::ErrorKind::NotFound` error.
pub fn status_within(command: &mut Command, timeout: Duration) -> io::Result<ExitStatus> {
    let mut child = command.spawn()?;
    finish_within(&mut child, timeout)
}

/// Runs `command` with no stdin, collecting its stdout and stderr, killing it after `timeout`.
/// Both pipes are read while it runs, so a chatty child cannot block on a full pipe.
pub fn output_within(command: &mut Command, timeout: Duration) -> io::Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = finish_within(&mut child, timeout)?;
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Creates a new, empty directory under the system's temporary directory, named after `label`
/// and this process. The caller removes it (or keeps it, e.g. for a log worth reading).
pub fn make_temp_dir(label: &str) -> Result<PathBuf, Error> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let base = env::temp_dir();
    let mut last_error = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{label}-{}-{n}-{nanos:x}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
        }
    }
    Err(Error::io(
        format!("creating a directory for {label} under {}", base.display()),
        last_error.unwrap_or_else(|| io::Error::other("no unused name")),
    ))
}

/// A temporary directory (see [`make_temp_dir`]), removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory named after `label`.
    pub fn new(label: &str) -> Result<TempDir, Error> {
        make_temp_dir(label).map(TempDir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_collected_and_a_missing_program_is_not_found() -> io::Result<()> {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let output = output_within(&mut command, Duration::from_secs(30))?;
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
        assert_eq!(output.status.code(), Some(3));
        let missing = output_within(
            &mut Command::new("hydra-launcher-no-such-program"),
            Duration::from_secs(5),
        );
        assert_eq!(
            missing.err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
        Ok(())
    }

    #[test]
    fn a_child_past_its_deadline_is_killed() {
        let started = Instant::now();
        let mut command = Command::new("sleep");
        command.arg("30");
        let err = status_within(&mut command, Duration::from_millis(200)).err();
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn temp_dirs_are_distinct_and_removed_on_drop() -> Result<(), Error> {
        let a = TempDir::new("hydra-launcher-test")?;
        let b = TempDir::new("hydra-launcher-test")?;
        assert_ne!(a.path(), b.path());
        assert!(a.path().is_dir());
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
        Ok(())
    }
}
