//! The one error type of the launcher. Its messages carry what a developer needs to act on a
//! failure without rerunning anything: the path of Hydra's log and its last lines.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Why Hydra could not be found, built, started or stopped.
pub enum Error {
    /// No usable Hydra binary: `HYDRA_BIN` names a missing file, Go is not installed, or the
    /// `go build` failed.
    Binary(String),
    /// PostgreSQL is not installed, or one of its programs (or `hydra migrate`) failed; the
    /// message quotes the output.
    Postgres(String),
    /// An operating-system call failed; `action` says what was being attempted.
    Io {
        /// What the launcher was doing, e.g. "creating the log file /tmp/…/hydra.log".
        action: String,
        /// The underlying error.
        source: io::Error,
    },
    /// Hydra exited before it answered `GET /health/ready`.
    Exited {
        /// Hydra's exit status.
        status: ExitStatus,
        /// Where Hydra's stdout and stderr were written.
        log_path: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },
    /// Hydra kept running but did not become ready in time.
    NotReady {
        /// How long the launcher waited.
        waited: Duration,
        /// What the last readiness probe saw.
        last_probe: String,
        /// Where Hydra's stdout and stderr were written.
        log_path: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },
}

impl Error {
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            action: action.into(),
            source,
        }
    }

    /// True when Hydra died because one of its ports was taken (a race with another process
    /// between picking a free port and Hydra binding it); starting again on new ports helps.
    pub fn is_port_in_use(&self) -> bool {
        matches!(self, Error::Exited { log_tail, .. } if log_tail.contains("address already in use"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Binary(message) | Error::Postgres(message) => f.write_str(message),
            Error::Io { action, source } => write!(f, "{action}: {source}"),
            Error::Exited {
                status,
                log_path,
                log_tail,
            } => write!(
                f,
                "Hydra exited ({status}) before it was ready; its log is {}, ending with:\n{log_tail}",
                log_path.display()
            ),
            Error::NotReady {
                waited,
                last_probe,
                log_path,
                log_tail,
            } => write!(
                f,
                "Hydra was not ready after {waited:?} (last probe: {last_probe}); its log is {}, ending with:\n{log_tail}",
                log_path.display()
            ),
        }
    }
}

// Debug shows the same text as Display: a test that returns this error from `main` or `#[test]`
// prints it with Debug, and the log tail is what the reader needs.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
