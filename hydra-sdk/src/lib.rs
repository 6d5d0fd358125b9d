#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The client progenitor generates from `openapi/api.json` at build time. Not edited by hand:
/// changes go into `hydra-sdk-codegen` (settings and spec fix-ups).
#[allow(
    missing_docs,
    unreachable_patterns,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    rust_2018_idioms,
    // Doc comments come from Hydra's spec prose: `[RFC7519]` and bare URLs are not rustdoc links.
    rustdoc::all
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/hydra.rs"));
}

mod error;
mod path_segment;
mod redact;
mod response;
mod secret;

use std::time::Duration;

pub use error::{ApiError, ApiResult, ErrorBody, HydraError};
pub use generated::*;
pub use path_segment::{InvalidPathSegment, PathSegment};
pub use redact::{peer_text, redact_query, redact_url, rewrites_text, MAX_PEER_TEXT};
/// Re-exported: the `reqwest` the generated client is built on.
pub use reqwest;
pub use response::{
    max_response_body, retry_after, set_max_response_body, BodyTooLarge, DEFAULT_MAX_RESPONSE_BODY,
    MAX_JSON_OBJECTS, MAX_JSON_VALUES,
};
/// Re-exported so callers can read a [`Secret`] without depending on `secrecy` themselves.
pub use secrecy::ExposeSecret;
pub use secret::Secret;

/// How long a request may take from start to end of the response body, unless the caller brings
/// their own `reqwest::Client`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long establishing a connection (TCP and TLS) may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `reqwest::ClientBuilder` the SDK's own constructors start from: rustls with the `ring`
/// provider, the default timeouts, redirects not followed, and a `User-Agent` naming this SDK.
///
/// Redirects are not followed because Hydra's public endpoints answer with redirects that carry
/// codes, tokens or errors in their `Location`; the caller must read it, not a client follow it
/// to a login UI. Use this to add a custom CA, a proxy or default headers (say, for an admin API
/// behind an authenticating proxy), then pass the result to [`Client::new_with_client`].
///
/// As reqwest does, the client it builds sends through the proxies the environment names
/// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`; `NO_PROXY` exempts hosts), secrets and all. The
/// SDK's constructors turn them off for a base URL on this machine ([`is_loopback_url`]); call
/// `.no_proxy()` yourself for a client you build for one.
///
/// ```
/// let http = hydra_sdk::http_client_builder()
///     .timeout(std::time::Duration::from_secs(5))
///     .build()
///     .expect("TLS backend");
/// let admin = hydra_sdk::Client::new_with_client("http://127.0.0.1:4445", http);
/// # let _ = admin;
/// ```
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::ClientBuilder::new()
        .timeout(DEFAULT_TIMEOUT)
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hydra-sdk-rs/", env!("CARGO_PKG_VERSION")))
}

/// reqwest is built without a default rustls crypto provider (the default, aws-lc-rs, is a C and
/// cmake build that dominates compile time); install `ring` for the process unless the
/// application already installed one. Installing is idempotent and only fails when a provider is
/// already in place, which is what we want to keep.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Default headers that authenticate every request with `Authorization: Bearer <token>`, the
/// header marked sensitive so reqwest never logs it.
///
/// Hydra's spec declares bearer and basic security schemes, but progenitor does not generate
/// them; authentication is the HTTP client's job. Dynamic client registration
/// (`/oauth2/register/{id}`) needs the client's registration access token this way (RFC 7592).
///
/// ```
/// use hydra_sdk::{bearer_auth_headers, http_client_builder, Client, Secret};
/// let token = Secret::from("registration-access-token");
/// let http = http_client_builder().default_headers(bearer_auth_headers(&token)?).build()?;
/// let public = Client::new_with_client("http://127.0.0.1:4444", http);
/// # let _ = public;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn bearer_auth_headers(token: &Secret) -> Result<reqwest::header::HeaderMap, ClientError> {
    authorization(format!("Bearer {}", token.expose_secret()))
}

/// Default headers for `client_secret_basic` (RFC 6749 §2.3.1): `Authorization: Basic` with the
/// form-urlencoded client id and secret, marked sensitive.
pub fn basic_auth_headers(
    client_id: &str,
    client_secret: &Secret,
) -> Result<reqwest::header::HeaderMap, ClientError> {
    use base64::Engine as _;
    use zeroize::Zeroizing;
    // RFC 6749 §2.3.1: both parts are encoded with application/x-www-form-urlencoded first. The
    // copies of the secret made on the way are zeroed when dropped, as the `Secret` is, and each
    // buffer is made at its final size, so that none is moved while it grows and leaves a copy
    // behind. The header value is the HTTP client's to drop.
    let encode = |s: &str| {
        let pieces = || url::form_urlencoded::byte_serialize(s.as_bytes());
        let mut out = Zeroizing::new(String::with_capacity(pieces().map(str::len).sum()));
        pieces().for_each(|piece| out.push_str(piece));
        out
    };
    let (id, secret) = (encode(client_id), encode(client_secret.expose_secret()));
    let mut credentials = Zeroizing::new(String::with_capacity(id.len() + 1 + secret.len()));
    credentials.push_str(&id);
    credentials.push(':');
    credentials.push_str(&secret);
    const SCHEME: &str = "Basic ";
    let encoded = base64::encoded_len(credentials.len(), true).unwrap_or(0);
    let mut value = String::with_capacity(SCHEME.len() + encoded);
    value.push_str(SCHEME);
    base64::engine::general_purpose::STANDARD.encode_string(credentials.as_bytes(), &mut value);
    authorization(value)
}

fn authorization(value: String) -> Result<reqwest::header::HeaderMap, ClientError> {
    let mut value = reqwest::header::HeaderValue::try_from(value).map_err(|_| {
        ClientError::InvalidCredential("it contains characters not allowed in a header".into())
    })?;
    value.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(headers)
}

/// The most bytes of root certificates the files named by `SSL_CERT_FILE` and `SSL_CERT_DIR` may
/// hold in all: a system bundle is a few hundred kilobytes.
pub const MAX_NATIVE_ROOTS: u64 = 16 * 1024 * 1024;

/// The most entries the directories `SSL_CERT_DIR` names may hold in all.
const MAX_NATIVE_ROOT_ENTRIES: usize = 65_536;

/// Checks the files `SSL_CERT_FILE` and `SSL_CERT_DIR` name, which building a `reqwest::Client`
/// with the platform's root certificates (what [`http_client_builder`] builds, unless given
/// certificates of its own) reads whole, on the calling thread, with no bound: a FIFO there
/// blocked the build for ever, and `/dev/zero` grew until an allocation failed and the process
/// aborted. The file, and each file in the directories that is read, must be a regular file, at
/// most [`MAX_NATIVE_ROOTS`] bytes in all. Only `stat`s and directory listings: nothing is opened,
/// so nothing here can block on a FIFO. The SDK's constructors call it, through
/// [`build_http_client`]; call that, or this, when you build a client yourself.
pub fn check_native_roots_env() -> Result<(), ClientError> {
    let refuse = |variable: &'static str, path: &std::path::Path, why: &str| {
        let shown: String = format!("{path:?}").chars().take(200).collect();
        ClientError::Environment {
            variable,
            reason: format!("names {shown}, which {why}"),
        }
    };
    let mut total = 0u64;
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        let path = std::path::Path::new(&file);
        let metadata = std::fs::metadata(path)
            .map_err(|e| refuse("SSL_CERT_FILE", path, &format!("cannot be read: {e}")))?;
        if !metadata.is_file() {
            return Err(refuse("SSL_CERT_FILE", path, "is not a regular file"));
        }
        total = metadata.len();
    }
    let dirs = std::env::var_os("SSL_CERT_DIR").unwrap_or_default();
    let mut entries = 0;
    for dir in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
        // A directory that cannot be listed is reported by the build; nothing of it is read.
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in listing.flatten() {
            entries += 1;
            if entries > MAX_NATIVE_ROOT_ENTRIES {
                return Err(refuse(
                    "SSL_CERT_DIR",
                    &dir,
                    &format!("holds more than {MAX_NATIVE_ROOT_ENTRIES} entries"),
                ));
            }
            // As the loader does: symlinks followed, only regular files read.
            if let Ok(metadata) = std::fs::metadata(entry.path()) {
                if metadata.is_file() {
                    total = total.saturating_add(metadata.len());
                }
            }
        }
    }
    if total > MAX_NATIVE_ROOTS {
        let (variable, with) = if dirs.is_empty() {
            ("SSL_CERT_FILE", "")
        } else {
            ("SSL_CERT_DIR", " (with SSL_CERT_FILE, if set)")
        };
        return Err(ClientError::Environment {
            variable,
            reason: format!("names more than {MAX_NATIVE_ROOTS} bytes of root certificates{with}"),
        });
    }
    Ok(())
}

/// Builds a client from `builder` ([`http_client_builder`], as changed by the caller) the way the
/// SDK's constructors do. The build loads the platform's root certificates, from the files
/// `SSL_CERT_FILE` and `SSL_CERT_DIR` name when they are set: [`check_native_roots_env`] checks
/// those first, and a build that fails while either is set is reported under its name
/// ([`ClientError::Environment`]; a file of no certificates, an empty directory), not as the
/// TLS backend's "builder error".
pub fn build_http_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, ClientError> {
    check_native_roots_env()?;
    builder.build().map_err(|e| {
        let named = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
            .into_iter()
            .find(|v| std::env::var_os(v).is_some());
        let Some(variable) = named else {
            return ClientError::Http(e);
        };
        let mut reason =
            format!("names root certificates the HTTP client cannot be built with: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            reason.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        ClientError::Environment { variable, reason }
    })
}

/// Why a [`Client`] could not be constructed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL is not an absolute `http` or `https` URL.
    InvalidUrl(String),
    /// The HTTP client could not be built (TLS backend).
    Http(reqwest::Error),
    /// A credential cannot be put in a header; the credential itself is not shown.
    InvalidCredential(String),
    /// The environment names root certificates that cannot be read safely (see
    /// [`check_native_roots_env`]), or that the HTTP client cannot be built with (see
    /// [`build_http_client`]).
    Environment {
        /// The variable, `SSL_CERT_FILE` or `SSL_CERT_DIR`.
        variable: &'static str,
        /// What is wrong with what it names.
        reason: String,
    },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::InvalidUrl(why) => write!(f, "invalid Hydra base URL: {why}"),
            ClientError::Http(e) => write!(f, "cannot build the HTTP client: {e}"),
            ClientError::InvalidCredential(why) => write!(f, "invalid credential: {why}"),
            ClientError::Environment { variable, reason } => write!(f, "{variable} {reason}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Http(e) => Some(e),
            ClientError::InvalidUrl(_)
            | ClientError::InvalidCredential(_)
            | ClientError::Environment { .. } => None,
        }
    }
}

impl Client {
    /// A client for Hydra's admin API (`/admin/...`, by default on port 4445), with the SDK's
    /// defaults ([`http_client_builder`]).
    ///
    /// Prefer this (or [`Client::public`]) to the generated `Client::new`, which follows
    /// redirects and panics if no rustls crypto provider is installed.
    pub fn admin(base_url: &str) -> Result<Self, ClientError> {
        Self::with_defaults(base_url)
    }

    /// A client for Hydra's public API (`/oauth2/...`, `/.well-known/...`, by default on port
    /// 4444), with the SDK's defaults ([`http_client_builder`]).
    pub fn public(base_url: &str) -> Result<Self, ClientError> {
        Self::with_defaults(base_url)
    }

    fn with_defaults(base_url: &str) -> Result<Self, ClientError> {
        let base_url = normalize_base_url(base_url)?;
        let mut http = http_client_builder();
        if is_loopback_url(&base_url) {
            http = http.no_proxy();
        }
        let http = build_http_client(http)?;
        Ok(Self::new_with_client(&base_url, http))
    }
}

/// Whether `url` names this machine: `localhost` (or a name under it), 127.0.0.0/8, `::1`, or
/// 127.0.0.0/8 mapped into IPv6.
///
/// The SDK's constructors, and flow, build the clients for such a URL without the proxies the
/// environment names (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, which reqwest reads), as Go's
/// net/http does: no proxy can reach this machine's loopback on its behalf, and a proxy would see
/// every secret sent (a client secret, a token). For any other host the environment's proxies
/// apply, and `NO_PROXY` names the hosts that skip them.
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        // `::1`, or an IPv4 loopback address mapped into IPv6 (`::ffff:127.0.0.1`).
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

/// Checks that `base_url` is absolute http(s) without query or fragment, and drops a trailing
/// `/` (the generated calls append paths that start with `/`).
pub fn normalize_base_url(base_url: &str) -> Result<String, ClientError> {
    let url = url::Url::parse(base_url)
        .map_err(|e| ClientError::InvalidUrl(format!("{}: {e}", redact_url(base_url))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError::InvalidUrl(format!(
            "scheme `{}` is not http or https",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::InvalidUrl(
            "a base URL takes no query or fragment".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials in a URL end up in logs and error messages; use default headers instead.
        return Err(ClientError::InvalidUrl(
            "a base URL takes no user name or password; set an Authorization header through \
             http_client_builder().default_headers(..)"
                .into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_urls_are_this_machine_only() {
        for url in [
            "http://127.0.0.1:4445",
            "http://127.8.9.10",
            "https://localhost:4444/",
            "http://LOCALHOST.",
            "http://hydra.localhost:4444",
            "http://[::1]:4445",
            "http://[::ffff:127.0.0.1]:4445",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://hydra.example.org",
            "http://10.0.0.1:4445",
            "http://[::2]",
            "http://[::ffff:10.0.0.1]",
            "http://localhost.example.org",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
