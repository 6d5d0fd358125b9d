//! Runs `hydra serve all --dev` on two free loopback ports with an in-memory database, waits until
//! it is ready, restarts it on the same ports, and stops it.
//!
//! Cleanup without `unsafe`: Drop kills Hydra (it runs on unwind, so a panicking test cleans up),
//! and for the cases where Drop never runs (the test process is SIGKILLed, aborts, or exits) a
//! watchdog kills Hydra when this process's end of a pipe closes. See [`WATCHDOG`].

use std::env;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::log::tail;
use crate::ports::free_port_pair;
use crate::probe::{http_ready_probe, tcp_probe};
use crate::run::{self, make_temp_dir};
use crate::secret::random_secret;
use crate::{Config, Error, Urls};

/// Runs the program in `$0` with arguments `$@` under a watchdog, via `sh -c`.
///
/// The shell forks a subshell that blocks reading its stdin (a pipe from this process) and then
/// `exec`s Hydra, so Hydra keeps the shell's pid: `Child::kill` and `Child::wait` act on Hydra
/// itself. If this process dies, the pipe closes, `read` sees EOF and the subshell sends Hydra
/// SIGTERM. A deliberate stop writes a line first, which disarms the watchdog instead.
///
/// The watchdog signals by pid, which is safe while Hydra is alive or not yet reaped. `kill`
/// disarms it before killing and reaping; `stop` lets it send SIGTERM and reaps only after
/// Hydra exits, so only an exit of Hydra's own in the same few milliseconds could leave the
/// signal to a recycled pid.
///
/// A non-interactive shell gives background jobs /dev/null as stdin, hence the copy on fd 3.
/// (`prctl(PR_SET_PDEATHSIG)` would do this in-process but needs `unsafe`, which the workspace
/// forbids.)
const WATCHDOG: &str = r#"exec 3<&0
(
  if read -r _ <&3; then exit 0; fi
  kill -TERM $$
) >/dev/null 2>&1 &
exec "$0" "$@" </dev/null 3<&-
"#;

const HYDRA_ARGS: [&str; 4] = ["serve", "all", "--dev", "--sqa-opt-out"];

/// Environment variables passed through to Hydra. Everything else is cleared: Hydra reads its
/// whole configuration from the environment (`DSN`, `LOG_LEVEL`, `SECRETS_SYSTEM`, …), and a
/// variable that happens to be set in a developer's shell must not change the server under test.
const PASS_THROUGH: [&str; 5] = ["PATH", "HOME", "TMPDIR", "TZ", "SSL_CERT_FILE"];

const LOG_TAIL_LINES: usize = 40;
const POLL: Duration = Duration::from_millis(50);
const KILL_WAIT: Duration = Duration::from_secs(10);

impl Config {
    /// Starts Hydra and waits until `GET /health/ready` on the admin port answers 200.
    ///
    /// When Hydra loses the race for a free port to another process, it is started again on
    /// new ports, up to three times.
    pub fn start(self) -> Result<HydraProcess, Error> {
        let secret = random_secret()?;
        let attempts = if self.ports.is_some() { 1 } else { 3 };
        let mut attempt = 1;
        loop {
            let (public, admin) = match self.ports {
                Some(ports) => ports,
                None => free_port_pair()?,
            };
            let mut hydra = HydraProcess::prepare(self.clone(), public, admin, secret.clone())?;
            match hydra.spawn_and_wait() {
                Ok(()) => return Ok(hydra),
                Err(e) if e.is_port_in_use() && attempt < attempts => attempt += 1,
                Err(e) => {
                    hydra.keep_dir = true; // The error points at the log; keep it.
                    return Err(e);
                }
            }
        }
    }
}

struct Running {
    child: Child,
    watchdog: Option<ChildStdin>,
}

/// A Hydra process and the directory holding its log (and TLS files).
///
/// Dropping it kills Hydra. If the thread is panicking (a failing test), the log's path and last
/// lines go to stderr and the directory stays; otherwise a temporary directory is removed and one
/// given with [`Config::dir`] stays.
pub struct HydraProcess {
    config: Config,
    urls: Urls,
    secret: String,
    dir: PathBuf,
    log_path: PathBuf,
    running: Option<Running>,
    starts: u32,
    keep_dir: bool,
}

impl fmt::Debug for HydraProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HydraProcess")
            .field("urls", &self.urls)
            .field("log_path", &self.log_path)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

impl HydraProcess {
    fn prepare(config: Config, public: u16, admin: u16, secret: String) -> Result<Self, Error> {
        let (dir, keep_dir) = match &config.dir {
            Some(dir) => {
                fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                (dir.clone(), true)
            }
            None => (make_temp_dir("hydra")?, false),
        };
        let log_path = dir.join("hydra.log");
        match fs::remove_file(&log_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Error::io(
                    format!("removing the old {}", log_path.display()),
                    e,
                ))
            }
            _ => {}
        }
        let urls = Urls::new(public, admin, config.tls.is_some());
        let hydra = HydraProcess {
            config,
            urls,
            secret,
            dir,
            log_path,
            running: None,
            starts: 0,
            keep_dir,
        };
        Ok(hydra)
    }

    /// Where Hydra listens.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// The file receiving Hydra's stdout and stderr, across restarts.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of Hydra's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines)
    }

    /// Hydra's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.child.id())
    }

    /// Keeps the temporary directory (and so the log) after drop.
    pub fn keep_log(&mut self) {
        self.keep_dir = true;
    }

    /// `Some(status)` once Hydra has exited on its own; `None` while it runs or after
    /// [`HydraProcess::kill`].
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        match &mut self.running {
            None => Ok(None),
            Some(running) => match running.child.try_wait() {
                Ok(Some(status)) => {
                    self.running = None;
                    Ok(Some(status))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(Error::io("checking on Hydra", e)),
            },
        }
    }

    /// True while the Hydra process is alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None)) && self.running.is_some()
    }

    /// Kills Hydra at once (SIGKILL) and reaps it. Its in-memory database is gone; the ports
    /// stay reserved in [`HydraProcess::urls`] for [`HydraProcess::restart`]. Does nothing if it is not running.
    pub fn kill(&mut self) -> Result<(), Error> {
        let Some(mut running) = self.running.take() else {
            return Ok(());
        };
        disarm(&mut running);
        // InvalidInput means it already exited; the wait below reaps it either way.
        let _ = running.child.kill();
        wait_within(&mut running.child, KILL_WAIT).map(|_| ())
    }

    /// Asks Hydra to shut down (SIGTERM, through the watchdog) and waits up to `grace` before
    /// killing it.
    pub fn stop(&mut self, grace: Duration) -> Result<(), Error> {
        let Some(running) = self.running.as_mut() else {
            return Ok(());
        };
        // Closing the pipe without disarming makes the watchdog send SIGTERM.
        drop(running.watchdog.take());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.try_wait()?.is_some() {
                return Ok(());
            }
            thread::sleep(POLL);
        }
        self.kill()
    }

    /// Kills Hydra if it runs, then starts it again with the same configuration and ports and
    /// waits until it is ready. With `DSN=memory` everything Hydra stored is lost.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.kill()?;
        self.spawn_and_wait()
    }

    fn spawn_and_wait(&mut self) -> Result<(), Error> {
        self.spawn()?;
        self.wait_ready()
    }

    fn spawn(&mut self) -> Result<(), Error> {
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| Error::io(format!("opening {}", self.log_path.display()), e))?;
        writeln!(
            log,
            "==== hydra-launcher: start #{} of {} (public {}, admin {}) ====",
            self.starts,
            self.config.bin.display(),
            self.urls.public,
            self.urls.admin
        )
        .map_err(|e| Error::io(format!("writing {}", self.log_path.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io(format!("duplicating {}", self.log_path.display()), e))?;

        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(WATCHDOG)
            .arg(&self.config.bin)
            .args(HYDRA_ARGS)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .env_clear();
        for key in PASS_THROUGH {
            if let Some(value) = env::var_os(key) {
                command.env(key, value);
            }
        }
        for (key, value) in self.hydra_env() {
            command.env(key, value);
        }
        let mut child = command.spawn().map_err(|e| {
            Error::io(
                format!("starting {} under /bin/sh", self.config.bin.display()),
                e,
            )
        })?;
        let watchdog = child.stdin.take();
        self.running = Some(Running { child, watchdog });
        Ok(())
    }

    /// Hydra's configuration. Every name here is a key of Hydra v2.3.0's configuration schema
    /// (spec/config.json) with `.` written as `_`; names outside the schema are ignored silently.
    fn hydra_env(&self) -> Vec<(String, String)> {
        let u = &self.urls;
        let mut vars: Vec<(String, String)> = [
            ("DSN", "memory".to_owned()),
            ("SERVE_PUBLIC_HOST", "127.0.0.1".to_owned()),
            ("SERVE_PUBLIC_PORT", u.public_port.to_string()),
            ("SERVE_ADMIN_HOST", "127.0.0.1".to_owned()),
            ("SERVE_ADMIN_PORT", u.admin_port.to_string()),
            // The readiness probe polls every 50 ms; keep that out of the access log.
            (
                "SERVE_PUBLIC_REQUEST_LOG_DISABLE_FOR_HEALTH",
                "true".to_owned(),
            ),
            (
                "SERVE_ADMIN_REQUEST_LOG_DISABLE_FOR_HEALTH",
                "true".to_owned(),
            ),
            ("URLS_SELF_ISSUER", u.issuer.clone()),
            ("URLS_SELF_PUBLIC", format!("{}/", u.public)),
            // Without this Hydra derives a host-less URL when SERVE_ADMIN_HOST is set.
            ("URLS_SELF_ADMIN", format!("{}/", u.admin)),
            ("URLS_LOGIN", u.login.clone()),
            ("URLS_CONSENT", u.consent.clone()),
            (
                "OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED",
                "true".to_owned(),
            ),
            // Hydra does not advertise its registration endpoint in discovery unless told to.
            (
                "WEBFINGER_OIDC_DISCOVERY_CLIENT_REGISTRATION_URL",
                format!("{}/oauth2/register", u.public),
            ),
            ("SECRETS_SYSTEM", self.secret.clone()),
            ("LOG_LEVEL", "info".to_owned()),
            ("LOG_LEAK_SENSITIVE_VALUES", "false".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some((cert, key)) = &self.config.tls {
            vars.push(("SERVE_TLS_ENABLED".to_owned(), "true".to_owned()));
            // Standard base64 with padding: what Go's `base64.StdEncoding` (Hydra's) expects.
            let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
            vars.push(("SERVE_TLS_CERT_BASE64".to_owned(), encode(cert)));
            vars.push(("SERVE_TLS_KEY_BASE64".to_owned(), encode(key)));
        }
        vars.extend(self.config.env.iter().cloned());
        vars
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let timeout = self.config.ready_timeout;
        let deadline = Instant::now() + timeout;
        let probe = self.config.probe.clone();
        loop {
            if let Some(status) = self.try_wait()? {
                return Err(Error::Exited {
                    status,
                    log_path: self.log_path.clone(),
                    log_tail: self.log_tail(LOG_TAIL_LINES),
                });
            }
            let outcome = match (&probe, self.urls.tls) {
                (Some(probe), _) => probe(&self.urls),
                (None, false) => http_ready_probe(&self.urls),
                (None, true) => tcp_probe(self.urls.admin_port),
            };
            let last_probe = match outcome {
                Ok(()) => return Ok(()),
                Err(seen) => seen,
            };
            if Instant::now() >= deadline {
                self.kill()?;
                return Err(Error::NotReady {
                    waited: timeout,
                    last_probe,
                    log_path: self.log_path.clone(),
                    log_tail: self.log_tail(LOG_TAIL_LINES),
                });
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for HydraProcess {
    fn drop(&mut self) {
        let killed = self.kill();
        if thread::panicking() {
            self.keep_dir = true;
            eprintln!(
                "hydra-launcher: Hydra ({}) stopped by a panic; its log is kept at {}, ending with:\n{}",
                self.urls.public,
                self.log_path.display(),
                self.log_tail(LOG_TAIL_LINES)
            );
        }
        if let Err(e) = killed {
            eprintln!("hydra-launcher: could not stop Hydra: {e}");
            self.keep_dir = true;
        }
        if !self.keep_dir {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn disarm(running: &mut Running) {
    if let Some(mut pipe) = running.watchdog.take() {
        // A line tells the watchdog to exit quietly; if Hydra is already gone the write may fail
        // with a broken pipe, which is fine.
        let _ = pipe.write_all(b"stop\n");
    }
}

/// Waits up to `timeout` for Hydra to exit after a kill.
fn wait_within(child: &mut Child, timeout: Duration) -> Result<ExitStatus, Error> {
    match run::wait_within(child, timeout) {
        Ok(Some(status)) => Ok(status),
        Ok(None) => Err(Error::io(
            format!("waiting for Hydra (pid {}) to exit", child.id()),
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("still alive after {timeout:?}"),
            ),
        )),
        Err(e) => Err(Error::io("waiting for Hydra to exit", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
        vars.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn caller_env_overrides_the_defaults_and_debug_hides_values() -> Result<(), Error> {
        let config = Config::new("/nonexistent/hydra")
            .env("LOG_LEVEL", "debug")
            .env("TTL_ACCESS_TOKEN", "very-secret-value");
        assert!(!format!("{config:?}").contains("very-secret-value"));
        let hydra = HydraProcess::prepare(config, 1, 2, "s".repeat(32))?;
        let vars = hydra.hydra_env();
        assert_eq!(last(&vars, "LOG_LEVEL"), Some("debug"));
        assert_eq!(last(&vars, "DSN"), Some("memory"));
        assert_eq!(last(&vars, "SERVE_TLS_ENABLED"), None);
        Ok(())
    }

    /// Hydra decodes the PEMs with Go's `base64.StdEncoding`: padded, `+` and `/` (RFC 4648 §4).
    #[test]
    fn tls_pems_are_passed_as_standard_padded_base64() -> Result<(), Error> {
        let config = Config::new("/nonexistent/hydra").tls("foob", "~~~?>?x");
        let hydra = HydraProcess::prepare(config, 1, 2, "s".repeat(32))?;
        let vars = hydra.hydra_env();
        assert_eq!(last(&vars, "SERVE_TLS_ENABLED"), Some("true"));
        assert_eq!(last(&vars, "SERVE_TLS_CERT_BASE64"), Some("Zm9vYg=="));
        assert_eq!(last(&vars, "SERVE_TLS_KEY_BASE64"), Some("fn5+Pz4/eA=="));
        Ok(())
    }
}
