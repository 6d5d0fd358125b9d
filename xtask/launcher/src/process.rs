//! Runs `hydra serve all --dev` on two free loopback ports with an in-memory database, waits until
//! it is ready, restarts it on the same ports, and stops it.
//!
//! Cleanup without `unsafe`: Drop kills Hydra (it runs on unwind, so a panicking test cleans up),
//! and for the cases where Drop never runs (the test process is SIGKILLed, aborts, or exits) a
//! watchdog kills Hydra when this process's end of a pipe closes. See [`WATCHDOG`].

use std::collections::HashSet;
use std::env;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Error;

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

/// Checks whether a started Hydra is ready; `Err` says what it saw instead.
///
/// The default is [`http_ready_probe`] for plain HTTP. With TLS, a caller that can speak TLS
/// should pass its own (this crate is std-only); without one, the launcher only checks that the
/// admin port accepts connections.
pub type Probe = Arc<dyn Fn(&Urls) -> Result<(), String> + Send + Sync>;

/// Where a running Hydra listens. Base URLs have no trailing slash, so `format!("{}/path", …)`
/// and generated clients that append `/path` both work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Urls {
    /// Admin API base URL, e.g. `http://127.0.0.1:40001`.
    pub admin: String,
    /// Public API base URL, e.g. `http://127.0.0.1:40000`.
    pub public: String,
    /// The issuer, exactly as configured (`URLS_SELF_ISSUER`): the public URL with a trailing slash.
    pub issuer: String,
    /// Where Hydra sends the browser to log in (`URLS_LOGIN`). Nothing serves it; an auth-code
    /// test reads it from a `Location` header and answers the login request via the admin API.
    pub login: String,
    /// Where Hydra sends the browser for consent (`URLS_CONSENT`); nothing serves it either.
    pub consent: String,
    /// Admin port on 127.0.0.1.
    pub admin_port: u16,
    /// Public port on 127.0.0.1.
    pub public_port: u16,
    /// True when both APIs are served over HTTPS.
    pub tls: bool,
}

impl Urls {
    fn new(public_port: u16, admin_port: u16, tls: bool) -> Self {
        let scheme = if tls { "https" } else { "http" };
        let public = format!("{scheme}://127.0.0.1:{public_port}");
        Urls {
            admin: format!("{scheme}://127.0.0.1:{admin_port}"),
            issuer: format!("{public}/"),
            login: format!("{public}/login"),
            consent: format!("{public}/consent"),
            public,
            admin_port,
            public_port,
            tls,
        }
    }
}

/// How to start Hydra. Build with [`Config::new`], adjust, then [`Config::start`].
#[derive(Clone)]
pub struct Config {
    bin: PathBuf,
    env: Vec<(String, String)>,
    tls: Option<(String, String)>,
    ports: Option<(u16, u16)>,
    dir: Option<PathBuf>,
    ready_timeout: Duration,
    probe: Option<Probe>,
}

impl fmt::Debug for Config {
    // Only variable names: a caller may pass a secret as a value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bin", &self.bin)
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("tls", &self.tls.is_some())
            .field("ports", &self.ports)
            .field("dir", &self.dir)
            .field("ready_timeout", &self.ready_timeout)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Hydra from `bin` with the defaults: free ports, HTTP, `DSN=memory`, 60 s to get ready.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Config {
            bin: bin.into(),
            env: Vec::new(),
            tls: None,
            ports: None,
            dir: None,
            ready_timeout: Duration::from_secs(60),
            probe: None,
        }
    }

    /// Sets or overrides one of Hydra's configuration variables, e.g. `TTL_ACCESS_TOKEN=5s`.
    /// Applied after the launcher's own, so it wins. Hydra silently ignores names that are not
    /// in its configuration schema (`LOG_LEVEL` → `log.level`).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Serves both APIs over HTTPS with this certificate chain and private key (PEM), passed as
    /// `SERVE_TLS_CERT_BASE64` and `SERVE_TLS_KEY_BASE64` with `SERVE_TLS_ENABLED=true`.
    ///
    /// Not `SERVE_TLS_CERT_PATH`/`SERVE_TLS_KEY_PATH` (which work too): Hydra watches those files
    /// and reloads them, so a second run of the same test rewriting them would swap the first
    /// run's certificate under it. (`--dev` does not turn TLS off; without certificates and with
    /// TLS enabled, Hydra would serve a self-signed one.)
    pub fn tls(mut self, cert_chain_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        self.tls = Some((cert_chain_pem.into(), key_pem.into()));
        self
    }

    /// Keeps Hydra's log in `dir`, created if missing, instead of a fresh
    /// temporary directory. A log left there by an earlier run is replaced. The directory is
    /// kept after Hydra stops, so a test's log can be read after any failure, not only a panic.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Listens on these ports instead of picking free ones.
    pub fn ports(mut self, public: u16, admin: u16) -> Self {
        self.ports = Some((public, admin));
        self
    }

    /// How long [`Config::start`] and [`Hydra::restart`] wait for readiness (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Replaces the readiness check (see [`Probe`]).
    pub fn probe(mut self, probe: Probe) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Starts Hydra and waits until `GET /health/ready` on the admin port answers 200.
    ///
    /// When Hydra loses the race for a free port to another process, it is started again on
    /// new ports, up to three times.
    pub fn start(self) -> Result<Hydra, Error> {
        let secret = random_secret()?;
        let attempts = if self.ports.is_some() { 1 } else { 3 };
        let mut attempt = 1;
        loop {
            let (public, admin) = match self.ports {
                Some(ports) => ports,
                None => free_port_pair()?,
            };
            let mut hydra = Hydra::prepare(self.clone(), public, admin, secret.clone())?;
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
pub struct Hydra {
    config: Config,
    urls: Urls,
    secret: String,
    dir: PathBuf,
    log_path: PathBuf,
    running: Option<Running>,
    starts: u32,
    keep_dir: bool,
}

impl fmt::Debug for Hydra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hydra")
            .field("urls", &self.urls)
            .field("log_path", &self.log_path)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

impl Hydra {
    fn prepare(config: Config, public: u16, admin: u16, secret: String) -> Result<Self, Error> {
        let (dir, keep_dir) = match &config.dir {
            Some(dir) => {
                fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                (dir.clone(), true)
            }
            None => (make_temp_dir()?, false),
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
        let hydra = Hydra {
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
    /// [`Hydra::kill`].
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
    /// stay reserved in [`Hydra::urls`] for [`Hydra::restart`]. Does nothing if it is not running.
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
            vars.push(("SERVE_TLS_CERT_BASE64".to_owned(), base64(cert.as_bytes())));
            vars.push(("SERVE_TLS_KEY_BASE64".to_owned(), base64(key.as_bytes())));
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

impl Drop for Hydra {
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

/// The default readiness check: `GET /health/ready` on the admin port must answer 200.
/// Plain HTTP/1.0 over a `TcpStream`, so the launcher needs no HTTP client.
pub fn http_ready_probe(urls: &Urls) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, urls.admin_port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let io_timeout = Some(Duration::from_secs(2));
    stream
        .set_read_timeout(io_timeout)
        .and_then(|()| stream.set_write_timeout(io_timeout))
        .map_err(|e| format!("configuring the socket: {e}"))?;
    stream
        .write_all(b"GET /health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| format!("sending GET /health/ready: {e}"))?;
    // The status line is all we need: "HTTP/1.x NNN".
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 64];
    while head.len() < 12 {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("reading the answer to GET /health/ready: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let head = String::from_utf8_lossy(&head);
    let status = head.split_whitespace().nth(1).unwrap_or("no status line");
    if status == "200" {
        Ok(())
    } else {
        Err(format!(
            "GET /health/ready on the admin port answered {status}"
        ))
    }
}

fn tcp_probe(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map(drop)
        .map_err(|e| format!("connecting to {addr}: {e}"))
}

fn disarm(running: &mut Running) {
    if let Some(mut pipe) = running.watchdog.take() {
        // A line tells the watchdog to exit quietly; if Hydra is already gone the write may fail
        // with a broken pipe, which is fine.
        let _ = pipe.write_all(b"stop\n");
    }
}

fn wait_within(child: &mut Child, timeout: Duration) -> Result<ExitStatus, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(POLL),
            Ok(None) => {
                return Err(Error::io(
                    format!("waiting for Hydra (pid {}) to exit", child.id()),
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("still alive after {timeout:?}"),
                    ),
                ))
            }
            Err(e) => return Err(Error::io("waiting for Hydra to exit", e)),
        }
    }
}

/// Two distinct free ports; see [`free_ports`].
fn free_port_pair() -> Result<(u16, u16), Error> {
    let [public, admin] = free_ports()?;
    Ok((public, admin))
}

/// `N` distinct free ports, found by binding port 0 and letting go. Another process can grab one
/// before Hydra (or PostgreSQL) binds it; their starts retry on that. Ports handed out before in
/// this process are never handed out again, so parallel tests cannot collide with each other.
pub(crate) fn free_ports<const N: usize>() -> Result<[u16; N], Error> {
    static ISSUED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut issued = ISSUED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let issued = issued.get_or_insert_with(HashSet::new);
    let mut held = Vec::new();
    let mut ports = Vec::new();
    // Bounded: each bind yields a port the kernel considers free; only already-issued ones are
    // skipped, and those are held bound so the kernel cannot return them again in this loop.
    for _ in 0..64 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("binding 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("reading the port of a listener", e))?
            .port();
        held.push(listener);
        if issued.insert(port) {
            ports.push(port);
            if let Ok(ports) = <[u16; N]>::try_from(ports.as_slice()) {
                return Ok(ports);
            }
        }
    }
    Err(Error::io(
        format!("finding {N} free ports on 127.0.0.1"),
        io::Error::new(io::ErrorKind::AddrInUse, "no unused port after 64 tries"),
    ))
}

/// 48 hex characters from the OS's random source, a fresh `SECRETS_SYSTEM` for each Hydra (and
/// one shared by a set of replicas).
pub fn random_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 24];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io("reading /dev/urandom for SECRETS_SYSTEM", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn make_temp_dir() -> Result<PathBuf, Error> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let base = env::temp_dir();
    let mut last_error = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("hydra-{}-{n}-{nanos:x}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
        }
    }
    Err(Error::io(
        format!("creating a directory for Hydra under {}", base.display()),
        last_error.unwrap_or_else(|| io::Error::other("no unused name")),
    ))
}

/// Standard base64 with padding, what Go's `base64.StdEncoding` (Hydra's decoder) expects.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    fs::write(path, contents).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The last `lines` lines of the file at `path`, read from at most its last 64 KiB.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_have_no_trailing_slash_but_the_issuer_does() {
        let urls = Urls::new(4444, 4445, false);
        assert_eq!(urls.public, "http://127.0.0.1:4444");
        assert_eq!(urls.admin, "http://127.0.0.1:4445");
        assert_eq!(urls.issuer, "http://127.0.0.1:4444/");
        assert_eq!(urls.login, "http://127.0.0.1:4444/login");
        assert_eq!(Urls::new(1, 2, true).admin, "https://127.0.0.1:2");
    }

    #[test]
    fn free_ports_are_distinct_and_never_reissued() -> Result<(), Error> {
        let (a, b) = free_port_pair()?;
        let (c, d) = free_port_pair()?;
        let all: HashSet<u16> = [a, b, c, d].into_iter().collect();
        assert_eq!(all.len(), 4, "{a} {b} {c} {d}");
        Ok(())
    }

    #[test]
    fn secrets_are_long_and_differ() -> Result<(), Error> {
        let (a, b) = (random_secret()?, random_secret()?);
        assert_eq!(a.len(), 48);
        assert_ne!(a, b);
        Ok(())
    }

    #[test]
    fn caller_env_overrides_the_defaults_and_debug_hides_values() -> Result<(), Error> {
        let config = Config::new("/nonexistent/hydra")
            .env("LOG_LEVEL", "debug")
            .env("TTL_ACCESS_TOKEN", "very-secret-value");
        assert!(!format!("{config:?}").contains("very-secret-value"));
        let hydra = Hydra::prepare(config, 1, 2, "s".repeat(32))?;
        let vars = hydra.hydra_env();
        let last = |key: &str| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(last("LOG_LEVEL"), Some("debug"));
        assert_eq!(last("DSN"), Some("memory"));
        assert_eq!(last("SERVE_TLS_ENABLED"), None);
        Ok(())
    }

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn tail_keeps_the_last_lines() -> Result<(), Error> {
        let dir = make_temp_dir()?;
        let path = dir.join("log");
        write_file(&path, "one\ntwo\nthree\n")?;
        assert_eq!(tail(&path, 2), "two\nthree");
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }
}
