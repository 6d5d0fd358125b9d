//! How to start Hydra: [`Config`], the builder callers fill in, and [`Urls`], where a started
//! Hydra listens.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::probe::Probe;

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
    pub(crate) fn new(public_port: u16, admin_port: u16, tls: bool) -> Self {
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
    pub(crate) bin: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) tls: Option<(String, String)>,
    pub(crate) ports: Option<(u16, u16)>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) ready_timeout: Duration,
    pub(crate) probe: Option<Probe>,
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

    /// How long [`Config::start`] and [`HydraProcess::restart`](crate::HydraProcess::restart) wait for readiness (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Replaces the readiness check (see [`Probe`]).
    pub fn probe(mut self, probe: Probe) -> Self {
        self.probe = Some(probe);
        self
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
}
