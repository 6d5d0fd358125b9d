//! What a service tells the flow: where Hydra is, which client it is, what it asks for.
//!
//! Built with [`Config::builder`] or read from `HYDRA_*` environment variables with
//! [`Config::from_env`]; either way every value is checked once, up front, and a bad one is an
//! error that names the variable or setting.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use hydra_sdk::Secret;

use crate::bounds::{
    check_scope, check_text, read_ca_file, shown, MAX_AUDIENCE, MAX_AUDIENCES, MAX_CLIENT_ID,
    MAX_CLIENT_NAME, MAX_SCOPE, MAX_SECRET, MAX_TIMEOUT, MAX_URL, MIN_TIMEOUT,
};
use crate::Error;

mod secret_file;
pub mod settings;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1). The flow registers the
/// client with this method and uses the same one at `/oauth2/token`, so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenAuthMethod {
    /// `client_id` and `client_secret` in the form body. What OpenCHAMI's BSS uses.
    #[default]
    ClientSecretPost,
    /// HTTP Basic authentication (Hydra's default for new clients).
    ClientSecretBasic,
}

impl TokenAuthMethod {
    /// Hydra's (and RFC 7591's) name for the method.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAuthMethod::ClientSecretPost => "client_secret_post",
            TokenAuthMethod::ClientSecretBasic => "client_secret_basic",
        }
    }

    fn parse(name: &'static str, value: &str) -> Result<Self, Error> {
        match value {
            "client_secret_post" => Ok(TokenAuthMethod::ClientSecretPost),
            "client_secret_basic" => Ok(TokenAuthMethod::ClientSecretBasic),
            other => Err(Error::config(
                name,
                format!("`{other}` is not client_secret_post or client_secret_basic"),
            )),
        }
    }
}

/// The format of the access tokens Hydra issues to the client (Hydra's `access_token_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessTokenStrategy {
    /// Opaque tokens, checked by introspection.
    Opaque,
    /// JWTs, which downstream services verify against Hydra's `/.well-known/jwks.json`.
    Jwt,
}

impl AccessTokenStrategy {
    /// Hydra's name for the strategy.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTokenStrategy::Opaque => "opaque",
            AccessTokenStrategy::Jwt => "jwt",
        }
    }

    fn parse(name: &'static str, value: &str) -> Result<Self, Error> {
        match value {
            "opaque" => Ok(AccessTokenStrategy::Opaque),
            "jwt" => Ok(AccessTokenStrategy::Jwt),
            other => Err(Error::config(
                name,
                format!("`{other}` is not opaque or jwt"),
            )),
        }
    }
}

/// Declares [`Config`]'s fields once, each with its default and how `Debug` shows it: `plain`,
/// `redacted` (a secret: by hand, so it is visibly absent rather than trusted to the type's own
/// `Debug`), `count` (certificates), or `hidden`.
macro_rules! config_fields {
    ($(#[$attr:meta])* pub struct Config {
        $($field:ident: $ty:ty = $default:expr, $show:ident;)*
    }) => {
        $(#[$attr])*
        pub struct Config {
            $(pub(crate) $field: $ty,)*
        }

        impl Config {
            /// Every field at its default (the URLs empty).
            fn defaults() -> Self {
                Config { $($field: $default,)* }
            }
        }

        impl fmt::Debug for Config {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut out = f.debug_struct("Config");
                $(config_fields!(@show out, $field, self.$field, $show);)*
                out.finish_non_exhaustive()
            }
        }
    };
    (@show $out:ident, $field:ident, $value:expr, plain) => {
        $out.field(stringify!($field), &$value)
    };
    (@show $out:ident, $field:ident, $value:expr, redacted) => {
        $out.field(stringify!($field), &$value.as_ref().map(|_| "[REDACTED]"))
    };
    (@show $out:ident, $field:ident, $value:expr, count) => {
        $out.field(stringify!($field), &$value.len())
    };
    (@show $out:ident, $field:ident, $value:expr, hidden) => {
        ()
    };
}

config_fields! {
/// Everything the flow needs. See [`ConfigBuilder`] for each setting, and the crate's
/// [settings table](crate#configuration) for the variables and defaults.
///
/// # What the flow may change in Hydra
///
/// Hydra is shared with other people's clients, so the flow writes only to clients it created.
/// It creates clients with `POST /admin/clients`, always with a client id and secret chosen
/// before the first attempt (so a retried POST finds its own client), and marks each one in its
/// `metadata` under [`crate::MARKER_KEY`] (`"hydra-rs.flow"`): which instance created it, the
/// value it set for every field it manages, and which instance set the secret and when.
///
/// - **A client without the marker** (made by an admin, another tool or another library) is
///   read and used as it is. The flow never `PUT`s, `PATCH`es, rotates or deletes it. If it
///   cannot serve (no `client_credentials` grant, the scope or audience not allowed, another
///   auth method, or a wrong or missing secret), the flow returns [`Error::ForeignClient`],
///   which names what is missing and the admin call that would fix it. Only
///   [`ConfigBuilder::take_over_foreign_client`] (off by default) changes that.
/// - **A client with the marker** is reconciled with one JSON Patch
///   (`PATCH /admin/clients/{id}`) of only the fields this configuration manages:
///   `client_name`, `grant_types`, `token_endpoint_auth_method`, and when configured `scope`
///   (the registered scope), `audience` and `access_token_strategy`, and when the authorize
///   step is on `redirect_uris` and `response_types`. Lists keep what others added (an extra
///   redirect URI, scope or grant); a value the flow set before and the configuration dropped
///   is removed again (an audience, the `jwt` strategy). Everything else (contacts, owner,
///   other metadata keys, lifespans) is never written. Each changed field is logged
///   `old -> new` at `warn`. The patch starts by removing the marker's revision key it read,
///   which the patch writes anew, so a client another instance of the flow wrote in between, or
///   that was swapped for someone else's, is not written at all (Hydra refuses the patch; the
///   flow reads the client again). An administrator's edit in between that leaves the marker
///   alone is not seen: Hydra has no conditional write.
/// - **The secret** of a marked client is set (in the same patch) only when this instance does
///   not know it or Hydra rejected it, and never within [`crate::SECRET_QUIET_PERIOD`] of
///   another instance setting it ([`Error::SecretHeldElsewhere`] instead, or
///   [`Error::ConfiguredSecretsDiffer`] when both were configured), and never over one another
///   instance set from its configuration, but by a configured secret of a higher
///   [`ConfigBuilder::client_secret_version`] (a rotation). A configured secret
///   is the source of truth; after a first rejection, one another instance set from its
///   configuration is tried as it is before this one's is set (replicas share it).
/// - **Deleting:** only at [`crate::TokenSource::shutdown`] with
///   [`ConfigBuilder::delete_on_shutdown`], and only the client that source created, if it
///   still carries that source's marker. A client Hydra rejects is registered again, never
///   deleted: the client under its id may no longer be the one the flow made.
#[derive(Clone)]
pub struct Config {
    // Each field once: its type, its default, and how Debug shows it.
    admin_url: String = String::new(), plain;
    public_url: String = String::new(), plain;
    client_id: Option<String> = None, plain;
    client_secret: Option<Secret> = None, redacted;
    client_secret_version: u64 = 0, plain;
    client_name: String = "hydra-flow".into(), plain;
    scope: Option<String> = None, plain;
    registered_scope: Option<String> = None, plain;
    audience: Vec<String> = Vec::new(), plain;
    token_auth_method: TokenAuthMethod = TokenAuthMethod::default(), plain;
    redirect_uris: Vec<String> = Vec::new(), plain;
    response_types: Vec<String> = vec!["token".into()], plain;
    authorize: bool = true, plain;
    access_token_strategy: Option<AccessTokenStrategy> = None, plain;
    delete_on_shutdown: bool = false, plain;
    take_over_foreign_client: bool = false, plain;
    ca_certificates: Vec<reqwest::Certificate> = Vec::new(), count;
    // Within hydra_sdk::DEFAULT_TIMEOUT and DEFAULT_CONNECT_TIMEOUT, and shorter than the
    // deadline, so one request that stalls leaves room for retries (tests.rs holds them so).
    request_timeout: Duration = Duration::from_secs(10), plain;
    connect_timeout: Duration = Duration::from_secs(5), plain;
    deadline: Duration = Duration::from_secs(30), plain;
    http_client: Option<reqwest::Client> = None, hidden;
}
}

/// The redirect URI registered when none is configured. The authorize step only needs Hydra to
/// match it against the registration; it is never visited, since redirects are not followed.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1/callback";

impl Config {
    /// Starts a configuration for Hydra at `admin_url` (the admin API, port 4445 by default) and
    /// `public_url` (the public API, port 4444 by default).
    pub fn builder(admin_url: impl Into<String>, public_url: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            config: Config {
                admin_url: admin_url.into(),
                public_url: public_url.into(),
                ..Config::defaults()
            },
            ca_file: None,
        }
    }

    /// Reads the configuration from the process environment; see [`Config::from_env_with`]. A
    /// value that is not valid UTF-8 is an error naming its variable.
    pub fn from_env() -> Result<Self, Error> {
        let env = settings::process_env(|_| false)?;
        Self::from_env_with(|name| env.get(name).map(|value| String::clone(value)))
    }

    /// Reads the configuration through `var`, a lookup of environment variables: the
    /// variables of [`settings::SETTINGS`], listed with their meanings and defaults in
    /// [the crate's settings table](crate#configuration). Empty values count as unset, but for
    /// `HYDRA_CLIENT_SECRET` and `HYDRA_CLIENT_SECRET_FILE`, where an empty value is an error (read
    /// as unset, it let the flow generate and set a secret of its own). A bad value is an error
    /// that names its variable.
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        settings::read(var)?.build_named(settings::env_of)
    }

    /// The admin API base URL.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The public API base URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The configured client id, if any.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Whether the sequence includes the authorize step.
    pub fn authorizes(&self) -> bool {
        self.authorize
    }

    /// The scope registered for the client: the configured registered scope, or else the
    /// requested one.
    pub(crate) fn registered_scope(&self) -> Option<&str> {
        self.registered_scope.as_deref().or(self.scope.as_deref())
    }

    pub(crate) fn redirect_uris(&self) -> Vec<String> {
        if self.redirect_uris.is_empty() {
            vec![DEFAULT_REDIRECT_URI.to_string()]
        } else {
            self.redirect_uris.clone()
        }
    }

    /// The HTTP client builder every Hydra call starts from: the SDK's defaults (rustls, no
    /// redirects), this configuration's timeouts and extra CA certificates.
    pub(crate) fn http_client_builder(&self) -> reqwest::ClientBuilder {
        let builder = hydra_sdk::http_client_builder()
            .timeout(self.request_timeout)
            .connect_timeout(self.connect_timeout)
            .tls_certs_merge(self.ca_certificates.iter().cloned());
        if self.proxy_from_env() {
            builder
        } else {
            builder.no_proxy()
        }
    }

    /// Whether requests to Hydra may go through the proxies the environment names: not when
    /// either API is on this machine (see [`hydra_sdk::is_loopback_url`]). One HTTP client
    /// serves both, and one on loopback with the other elsewhere is a setup (a tunnel, a
    /// sidecar) where the secrets must not reach a proxy, rather than one that needs it.
    pub(crate) fn proxy_from_env(&self) -> bool {
        !hydra_sdk::is_loopback_url(&self.admin_url)
            && !hydra_sdk::is_loopback_url(&self.public_url)
    }
}

/// Builds a [`Config`]; [`ConfigBuilder::build`] checks every value.
#[derive(Debug)]
pub struct ConfigBuilder {
    config: Config,
    ca_file: Option<PathBuf>,
}

impl ConfigBuilder {
    /// A stable client id. With one, registration is idempotent: a restarted service finds its
    /// client (`GET /admin/clients/{id}`) and reuses it instead of leaving one client per restart.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = Some(id.into());
        self
    }

    /// The client's secret, and the source of truth for a client this library created: if Hydra
    /// rejects it, the flow sets it on the client. Without one, each [`crate::Flow`] or
    /// [`crate::TokenSource`] generates a random secret; replicas sharing a client id must
    /// share a secret (see [`crate::Error::SecretHeldElsewhere`]). For a client this library did
    /// not create, it must be that client's secret: the flow never sets it.
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.config.client_secret = Some(secret.into());
        self
    }

    /// The configured secret's version (0 unless set), for rotating it. Replicas that share a
    /// client id must share its secret: a configured secret replaces one another instance set
    /// from its configuration at once if its version is higher, never if it is lower, and, at the
    /// same version, only [`crate::SECRET_QUIET_PERIOD`] after that one was set. To rotate the
    /// secret, configure the new one on every replica with a higher version: the first to run
    /// sets it, and replicas with the old one fail with [`crate::Error::ConfiguredSecretsDiffer`]
    /// until they have the new one.
    pub fn client_secret_version(mut self, version: u64) -> Self {
        self.config.client_secret_version = version;
        self
    }

    /// The client's human-readable name (`client_name`).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.config.client_name = name.into();
        self
    }

    /// Space-separated scopes requested at the token endpoint (RFC 6749 §4.4.2), and registered
    /// for the client unless [`ConfigBuilder::registered_scope`] says otherwise.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.config.scope = Some(scope.into());
        self
    }

    /// Space-separated scopes registered for the client, when it may hold more than it requests
    /// (OpenCHAMI's BSS registers `openid email profile read` and requests `read`).
    pub fn registered_scope(mut self, scope: impl Into<String>) -> Self {
        self.config.registered_scope = Some(scope.into());
        self
    }

    /// Audiences for the token (Hydra's `audience`), registered and requested.
    pub fn audience(mut self, audience: impl IntoIterator<Item = String>) -> Self {
        self.config.audience = audience.into_iter().collect();
        self
    }

    /// How the client authenticates at the token endpoint.
    pub fn token_auth_method(mut self, method: TokenAuthMethod) -> Self {
        self.config.token_auth_method = method;
        self
    }

    /// Adds a redirect URI to register; without one, [`DEFAULT_REDIRECT_URI`]. Registered only
    /// when the authorize step is on.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.config.redirect_uris.push(uri.into());
        self
    }

    /// The response types to register and authorize with. Default `["token"]`. Registered only
    /// when the authorize step is on.
    pub fn response_types(mut self, types: impl IntoIterator<Item = String>) -> Self {
        self.config.response_types = types.into_iter().collect();
        self
    }

    /// Whether to run the authorize step after registering. On by default, to match the
    /// sequence OpenCHAMI's BSS ran; RFC 6749 §4.4 has no such step for the client-credentials
    /// grant, so a service can turn it off and save a round trip (OpenCHAMI later did).
    pub fn authorize(mut self, authorize: bool) -> Self {
        self.config.authorize = authorize;
        self
    }

    /// Registers the client with this access-token strategy; `Jwt` lets downstream services
    /// verify tokens against Hydra's JWKS without calling Hydra.
    pub fn access_token_strategy(mut self, strategy: AccessTokenStrategy) -> Self {
        self.config.access_token_strategy = Some(strategy);
        self
    }

    /// Deletes the client from Hydra when [`crate::TokenSource::shutdown`] is called, if that
    /// source created it and it still carries that source's marker; someone else's client, and
    /// one another replica created, is never deleted. For a client of its own per instance: one
    /// that replicas share is deleted when the replica that made it shuts down.
    pub fn delete_on_shutdown(mut self, delete: bool) -> Self {
        self.config.delete_on_shutdown = delete;
        self
    }

    /// **Dangerous; off by default.** Manages a client this library did not create as if it had:
    /// the first registration that finds one adds its marker, patches the managed fields to this
    /// configuration (adding grants, scopes, audiences; switching the auth method and strategy),
    /// and sets its secret to this configuration's, or to a random one if none is configured.
    /// Every other user of that client can lose access. Use it only for a client that was made
    /// for this service, by hand, and that nothing else uses.
    pub fn take_over_foreign_client(mut self, take_over: bool) -> Self {
        self.config.take_over_foreign_client = take_over;
        self
    }

    /// Trusts the CA certificates in this PEM file, besides the system's.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Trusts this CA certificate, besides the system's.
    pub fn ca_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.config.ca_certificates.push(certificate);
        self
    }

    /// The timeout of each HTTP request.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// The timeout of each connection attempt.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// How long one token request may take, retries included.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.config.deadline = deadline;
        self
    }

    /// Uses this HTTP client for every Hydra call instead of one built from the settings above
    /// (its own timeouts and TLS apply), the token call with `client_secret_basic` included.
    ///
    /// Build it with redirects off (`reqwest::redirect::Policy::none()`, as
    /// `hydra_sdk::http_client_builder()` does): Hydra's authorize answer is a redirect the flow
    /// reads, and an answer from where a redirect led is not Hydra's. A client that follows one
    /// gets [`Error::Config`] naming `http_client`; no request body (which can hold the client
    /// secret) and no `DELETE` is ever sent to where a redirect points.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.config.http_client = Some(client);
        self
    }

    /// Checks every value and returns the configuration.
    pub fn build(self) -> Result<Config, Error> {
        self.build_named(|setting| setting)
    }

    /// `build`, with errors naming what `name` maps each setting to (an environment variable).
    fn build_named(mut self, name: impl Fn(&'static str) -> &'static str) -> Result<Config, Error> {
        let c = &mut self.config;
        for (setting, url) in [("admin_url", &c.admin_url), ("public_url", &c.public_url)] {
            if url.len() > MAX_URL {
                let reason = format!("is longer than {MAX_URL} bytes");
                return Err(Error::config(name(setting), reason));
            }
        }
        if c.client_secret
            .as_ref()
            .is_some_and(|s| hydra_sdk::ExposeSecret::expose_secret(s).len() > MAX_SECRET)
        {
            let reason = format!("is longer than {MAX_SECRET} bytes");
            return Err(Error::config(name("client_secret"), reason));
        }
        // RFC 6749 §A.2: a client secret is printable ASCII. A control character left in one
        // (a line break inside a variable, a second newline at the end of a file) is refused
        // here rather than sent to Hydra as part of it; other characters are Hydra's to judge.
        if c.client_secret.as_ref().is_some_and(|s| {
            hydra_sdk::ExposeSecret::expose_secret(s)
                .chars()
                .any(char::is_control)
        }) {
            let reason = "holds a control character (a line break, say), which no client secret \
                          has (RFC 6749 §A.2)";
            return Err(Error::config(name("client_secret"), reason.into()));
        }
        if c.client_secret_version > 0 && c.client_secret.is_none() {
            let reason = "is set without a configured secret (a generated one has no version)";
            return Err(Error::config(name("client_secret_version"), reason.into()));
        }
        c.admin_url = hydra_sdk::normalize_base_url(&c.admin_url)
            .map_err(|e| Error::config(name("admin_url"), e.to_string()))?;
        c.public_url = hydra_sdk::normalize_base_url(&c.public_url)
            .map_err(|e| Error::config(name("public_url"), e.to_string()))?;
        let check = |setting: &'static str, result: Result<(), String>| {
            result.map_err(|reason| Error::config(name(setting), reason))
        };
        if let Some(id) = &c.client_id {
            check("client_id", check_text(id, MAX_CLIENT_ID))?;
            // Nothing the URL of `/admin/clients/{id}` would read as another path: a separator
            // (`\` is one in an http URL, and the generated calls leave it as it is), a query or
            // fragment, or a dot segment.
            if id.trim().is_empty() || id.contains(['/', '\\', '?', '#']) || id == "." || id == ".."
            {
                return Err(Error::config(
                    name("client_id"),
                    format!("{} is not a usable client id", shown(id)),
                ));
            }
        }
        check("client_name", check_text(&c.client_name, MAX_CLIENT_NAME))?;
        if let Some(scope) = &c.scope {
            check("scope", check_scope(scope))?;
        }
        if let Some(scope) = &c.registered_scope {
            check("registered_scope", check_scope(scope))?;
        }
        if c.audience.len() > MAX_AUDIENCES {
            return Err(Error::config(
                name("audience"),
                format!("has more than {MAX_AUDIENCES} entries"),
            ));
        }
        for audience in &c.audience {
            check("audience", check_text(audience, MAX_AUDIENCE))?;
            if audience.is_empty() || audience.contains(' ') {
                return Err(Error::config(
                    name("audience"),
                    format!("{} is not one audience", shown(audience)),
                ));
            }
        }
        for uri in &c.redirect_uris {
            // The URL parser drops tabs and newlines silently; refuse them instead.
            check("redirect_uri", check_text(uri, MAX_SCOPE))?;
            url::Url::parse(uri).map_err(|e| {
                Error::config(
                    name("redirect_uri"),
                    format!("{}: {e}", shown(&hydra_sdk::redact_url(uri))),
                )
            })?;
        }
        for (setting, value) in [
            ("request_timeout", c.request_timeout),
            ("connect_timeout", c.connect_timeout),
            ("deadline", c.deadline),
        ] {
            if !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&value) {
                return Err(Error::config(
                    name(setting),
                    format!("{value:?} is not from {MIN_TIMEOUT:?} to {MAX_TIMEOUT:?}"),
                ));
            }
        }
        if let Some(path) = self.ca_file.take() {
            let certificates =
                read_ca_file(&path).map_err(|e| Error::config(name("ca_file"), e))?;
            self.config.ca_certificates.extend(certificates);
        }
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests;
