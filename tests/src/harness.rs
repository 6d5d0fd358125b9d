//! A real Ory Hydra for one test, started through `hydra-launcher` (the same code as
//! `cargo xtask hydra`), on free loopback ports, with `DSN=memory`.
//!
//! The release under test is `HYDRA_VERSION` (v26.2.0 when unset; `cargo xtask test` runs the
//! suite once with each release, see [`release`]). Its binary comes from `HYDRA_BIN` (set by
//! `cargo xtask test`), else a `hydra` of that release on PATH, else the cached build under
//! `target/hydra/<version>/`, else it is built once with Go.
//!
//! Hydra is killed when the [`TestHydra`] value drops, including when a test panics; then its log's
//! path and last lines go to the test's output. If the test process dies without unwinding, a
//! watchdog in the launcher ends Hydra. Keep a [`TestHydra`] in the test's own scope (not in a
//! `static`: statics are never dropped).
//!
//! Every log stays at `target/hydra-logs/<test binary>/<test name>/hydra.log` (the name is the
//! module path with `__` for `::`, e.g. `it/sdk_clients__replace_patch_and_delete`), replaced by
//! the next run of the same test, so it can be read after a test that failed by returning `Err`
//! too.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hydra_launcher::{Config, Release, Urls};

use crate::tls::TestCa;

/// Why the harness could not provide a Hydra.
#[derive(thiserror::Error)]
pub enum Error {
    /// Finding, building, starting, restarting or stopping Hydra failed. The message includes
    /// the tail of Hydra's log when Hydra itself failed.
    #[error("{0}")]
    Launch(#[from] hydra_launcher::Error),
    /// No Hydra binary could be found or built; the message says why.
    #[error("no Hydra binary: {0}")]
    Binary(String),
    /// Generating the test CA or the TLS client configuration failed.
    #[error("setting up TLS for Hydra: {0}")]
    Tls(String),
    /// Building the HTTP client failed.
    #[error("building an HTTP client for Hydra: {0}")]
    Client(#[source] reqwest::Error),
    /// The blocking task that drives the launcher panicked or was cancelled.
    #[error("the task driving Hydra failed: {0}")]
    Task(String),
}

// Same text as Display: `Result`-returning tests print errors with Debug, and the log tail in
// the message should read as lines, not as an escaped string.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Installs rustls's ring provider as the process default, once. The workspace builds reqwest
/// with `rustls-no-provider`, so building any `reqwest::Client` (including the one a generated
/// SDK client makes) panics until a provider is installed. [`TestHydra::start`] calls this.
pub fn install_crypto_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Err means another provider is already the default, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The Hydra release under test: `HYDRA_VERSION`, else the SDK's own (v26.2.0). Tests that
/// depend on the release (the version it reports, the device flow that v2.3.0 lacks) ask here.
pub fn release() -> Result<Release, Error> {
    Release::selected().map_err(|e| Error::Binary(e.to_string()))
}

/// The Hydra binary for this test process, found or built once.
pub(crate) fn hydra_bin() -> Result<PathBuf, Error> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        Release::selected()
            .and_then(|release| hydra_launcher::find_or_build(&release))
            .map(|bin| bin.path)
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::Binary)
}

/// `<target>/hydra-logs/<test binary>/<test name>[-n]`: libtest names each test's thread after
/// the test, and a second Hydra in the same test gets `-2`.
pub(crate) fn log_dir() -> PathBuf {
    static SEEN: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            // Cargo names test binaries <name>-<16 hex digits>.
            Some((name, hash))
                if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                name.to_owned()
            }
            _ => stem,
        })
        .unwrap_or_else(|| "tests".to_owned());
    let test: String = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut seen = crate::lock(&SEEN);
    let count = seen
        .get_or_insert_with(HashMap::new)
        .entry(test.clone())
        .or_insert(0);
    *count += 1;
    let name = if *count == 1 {
        test
    } else {
        format!("{test}-{count}")
    };
    hydra_launcher::target_dir()
        .join("hydra-logs")
        .join(binary)
        .join(name)
}

/// Options for a test's Hydra; see [`TestHydra::builder`].
#[derive(Default)]
pub struct TestHydraBuilder {
    env: Vec<(String, String)>,
    tls: bool,
    ready_timeout: Option<Duration>,
}

impl fmt::Debug for TestHydraBuilder {
    // Only variable names: a value may be a secret (SECRETS_SYSTEM, a hook's API key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHydraBuilder")
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("tls", &self.tls)
            .field("ready_timeout", &self.ready_timeout)
            .finish()
    }
}

impl TestHydraBuilder {
    /// Sets or overrides one of Hydra's configuration variables, e.g.
    /// `.env("STRATEGIES_ACCESS_TOKEN", "jwt")` or `.env("TTL_ACCESS_TOKEN", "2s")`.
    /// Names are Hydra's configuration keys in upper case with `_` for `.`; Hydra ignores names
    /// that are not in its schema, so check the spelling against its spec/config.json.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Serves both APIs over HTTPS with a certificate for 127.0.0.1 and localhost, signed by a
    /// CA generated for this Hydra ([`TestHydra::ca_pem`]); [`TestHydra::http_client`] trusts it.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// How long to wait for Hydra to become ready (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }

    /// Starts Hydra and waits until it is ready.
    pub async fn start(self) -> Result<TestHydra, Error> {
        install_crypto_provider();
        let ca = if self.tls {
            Some(TestCa::generate().map_err(|e| Error::Tls(e.to_string()))?)
        } else {
            None
        };
        let probe = match &ca {
            Some(ca) => Some(ca.ready_probe().map_err(|e| Error::Tls(e.to_string()))?),
            None => None,
        };
        let builder = self;
        // Named now: the test's thread is the one calling start, and its name is the test's.
        let dir = log_dir();
        // Finding or building the binary and waiting for readiness block; keep them off the
        // async runtime's threads.
        let process = blocking(move || {
            let mut config = Config::new(hydra_bin()?).dir(dir);
            if let Some(timeout) = builder.ready_timeout {
                config = config.ready_timeout(timeout);
            }
            if let (Some(ca), Some(probe)) = (&ca, probe) {
                config = config
                    .tls(ca.server_cert_pem.clone(), ca.server_key_pem.clone())
                    .probe(probe);
            }
            for (key, value) in builder.env {
                config = config.env(key, value);
            }
            Ok((config.start()?, ca))
        })
        .await?;
        let (process, ca) = process;
        Ok(TestHydra {
            urls: process.urls().clone(),
            log_path: process.log_path().to_owned(),
            process: Some(process),
            ca_pem: ca.map(|ca| ca.ca_pem),
        })
    }
}

/// A running Ory Hydra owned by one test. Dropping it kills Hydra.
///
/// Named apart from the launcher's `HydraProcess`, which it wraps, and from flow's own Hydra type.
pub struct TestHydra {
    // None only if a restart's blocking task panicked and took the process with it.
    process: Option<hydra_launcher::HydraProcess>,
    urls: Urls,
    log_path: PathBuf,
    ca_pem: Option<String>,
}

impl fmt::Debug for TestHydra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHydra")
            .field("urls", &self.urls)
            .field("log_path", &self.log_path)
            .finish_non_exhaustive()
    }
}

impl TestHydra {
    /// Starts Hydra with the defaults: plain HTTP, `DSN=memory`, dynamic client registration on.
    pub async fn start() -> Result<TestHydra, Error> {
        TestHydra::builder().start().await
    }

    /// Options: extra configuration, TLS, readiness timeout.
    pub fn builder() -> TestHydraBuilder {
        TestHydraBuilder::default()
    }

    /// Admin API base URL without a trailing slash, e.g. `http://127.0.0.1:40001`.
    pub fn admin_url(&self) -> &str {
        &self.urls.admin
    }

    /// Public API base URL without a trailing slash, e.g. `http://127.0.0.1:40000`.
    pub fn public_url(&self) -> &str {
        &self.urls.public
    }

    /// The issuer exactly as configured: the public URL with a trailing slash.
    pub fn issuer(&self) -> &str {
        &self.urls.issuer
    }

    /// Where Hydra redirects for login (`URLS_LOGIN`). Nothing serves it: a test takes the
    /// `login_challenge` from the `Location` header and accepts it through the admin API.
    pub fn login_url(&self) -> &str {
        &self.urls.login
    }

    /// Where Hydra redirects for consent (`URLS_CONSENT`); nothing serves it either.
    pub fn consent_url(&self) -> &str {
        &self.urls.consent
    }

    /// All of the above plus the ports.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// Hydra's combined stdout and stderr, across restarts.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of Hydra's log, for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process
            .as_ref()
            .map(|p| p.log_tail(lines))
            .unwrap_or_default()
    }

    /// The test CA's certificate (PEM) when started with [`TestHydraBuilder::tls`].
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// A client builder that trusts exactly the test CA when Hydra serves TLS (and the platform's
    /// roots otherwise). Adjust it, e.g. `.redirect(reqwest::redirect::Policy::none())` to read
    /// `Location` headers in an authorization-code flow.
    pub fn http_client_builder(&self) -> Result<reqwest::ClientBuilder, Error> {
        install_crypto_provider();
        let builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        Ok(match &self.ca_pem {
            Some(pem) => {
                let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(Error::Client)?;
                builder.tls_certs_only([ca])
            }
            None => builder,
        })
    }

    /// A client for this Hydra; see [`TestHydra::http_client_builder`].
    pub fn http_client(&self) -> Result<reqwest::Client, Error> {
        self.http_client_builder()?.build().map_err(Error::Client)
    }

    /// True while the Hydra process is alive.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.is_running())
    }

    /// Kills Hydra at once (SIGKILL). The ports stay this Hydra's for [`TestHydra::restart`].
    pub fn kill(&mut self) -> Result<(), Error> {
        match self.process.as_mut() {
            Some(process) => Ok(process.kill()?),
            None => Ok(()),
        }
    }

    /// Kills Hydra if it runs and starts it again on the same ports with the same
    /// configuration, then waits until it is ready. With `DSN=memory`, clients, consent
    /// sessions and tokens are all gone afterwards.
    pub async fn restart(&mut self) -> Result<(), Error> {
        let mut process = self
            .process
            .take()
            .ok_or_else(|| Error::Task("Hydra was lost by an earlier failed restart".to_owned()))?;
        let (process, result) = blocking(move || {
            let result = process.restart();
            Ok((process, result))
        })
        .await?;
        self.process = Some(process);
        Ok(result?)
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}
