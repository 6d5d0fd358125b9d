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
    MAX_CLIENT_NAME, MAX_SCOPE, MAX_TIMEOUT, MIN_TIMEOUT,
};
use crate::Error;

mod secret_file;
use secret_file::read_secret_file;

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

/// Everything the flow needs. See [`ConfigBuilder`] for each setting and its default.
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
///   `old -> new` at `warn`.
/// - **The secret** of a marked client is set (in the same patch) only when this instance does
///   not know it or Hydra rejected it, and never within [`crate::SECRET_QUIET_PERIOD`] of
///   another instance setting it ([`Error::SecretHeldElsewhere`] instead). A configured secret
///   is the source of truth.
/// - **Deleting:** a marked client this source created, when Hydra keeps rejecting it, before
///   registering it again (at most [`crate::MAX_REREGISTRATIONS`] times per
///   [`crate::REREGISTRATION_WINDOW`]); and at [`crate::TokenSource::shutdown`] with
///   [`ConfigBuilder::delete_on_shutdown`], a marked client only.
#[derive(Clone)]
pub struct Config {
    pub(crate) admin_url: String,
    pub(crate) public_url: String,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) client_name: String,
    pub(crate) scope: Option<String>,
    pub(crate) registered_scope: Option<String>,
    pub(crate) audience: Vec<String>,
    pub(crate) token_auth_method: TokenAuthMethod,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) response_types: Vec<String>,
    pub(crate) authorize: bool,
    pub(crate) access_token_strategy: Option<AccessTokenStrategy>,
    pub(crate) delete_on_shutdown: bool,
    pub(crate) take_over_foreign_client: bool,
    pub(crate) ca_certificates: Vec<reqwest::Certificate>,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) http_client: Option<reqwest::Client>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // By hand, so the secret is visibly absent rather than trusted to Secret's Debug.
        f.debug_struct("Config")
            .field("admin_url", &self.admin_url)
            .field("public_url", &self.public_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("client_name", &self.client_name)
            .field("scope", &self.scope)
            .field("registered_scope", &self.registered_scope)
            .field("audience", &self.audience)
            .field("token_auth_method", &self.token_auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .field("response_types", &self.response_types)
            .field("authorize", &self.authorize)
            .field("access_token_strategy", &self.access_token_strategy)
            .field("delete_on_shutdown", &self.delete_on_shutdown)
            .field("take_over_foreign_client", &self.take_over_foreign_client)
            .field("ca_certificates", &self.ca_certificates.len())
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
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
                client_id: None,
                client_secret: None,
                client_name: "hydra-flow".into(),
                scope: None,
                registered_scope: None,
                audience: Vec::new(),
                token_auth_method: TokenAuthMethod::default(),
                redirect_uris: Vec::new(),
                response_types: vec!["token".into()],
                authorize: true,
                access_token_strategy: None,
                delete_on_shutdown: false,
                take_over_foreign_client: false,
                ca_certificates: Vec::new(),
                request_timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(5),
                deadline: Duration::from_secs(30),
                http_client: None,
            },
            ca_file: None,
        }
    }

    /// Reads the configuration from the process environment; see [`Config::from_env_with`].
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var`, a lookup of environment variables:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `HYDRA_ADMIN_URL` | admin API base URL | required |
    /// | `HYDRA_PUBLIC_URL` | public API base URL | required |
    /// | `HYDRA_CLIENT_ID` | a stable client id: restarts reuse the client | a random UUID per token source |
    /// | `HYDRA_CLIENT_SECRET` | the client's secret | a random one per token source |
    /// | `HYDRA_CLIENT_SECRET_FILE` | a file holding the secret (a regular file of at most 4 KiB; a trailing newline is trimmed); not with `HYDRA_CLIENT_SECRET` | none |
    /// | `HYDRA_TAKE_OVER_FOREIGN_CLIENT` | `true`: manage a client this library did not create (dangerous, see [`ConfigBuilder::take_over_foreign_client`]) | `false` |
    /// | `HYDRA_CLIENT_NAME` | the client's name | `hydra-flow` |
    /// | `HYDRA_SCOPE` | space-separated scopes to request | none |
    /// | `HYDRA_AUDIENCE` | space- or comma-separated audiences | none |
    /// | `HYDRA_TOKEN_AUTH_METHOD` | `client_secret_post` or `client_secret_basic` | `client_secret_post` |
    /// | `HYDRA_CA_FILE` | PEM file of CA certificates to trust (besides the system's) | none |
    /// | `HYDRA_AUTHORIZE` | `true` or `false`: run the authorize step | `true` |
    /// | `HYDRA_REDIRECT_URI` | the redirect URI to register | [`DEFAULT_REDIRECT_URI`] |
    /// | `HYDRA_ACCESS_TOKEN_STRATEGY` | `jwt` or `opaque` | Hydra's setting |
    /// | `HYDRA_REQUEST_TIMEOUT` | seconds per HTTP request | `10` |
    /// | `HYDRA_CONNECT_TIMEOUT` | seconds per connection attempt | `5` |
    /// | `HYDRA_DEADLINE` | seconds a token request may take, retries included | `30` |
    ///
    /// Empty values count as unset.
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| {
            get(name).ok_or_else(|| Error::config(name, "is not set".to_string()))
        };
        let seconds = |name: &'static str| -> Result<Option<Duration>, Error> {
            get(name)
                .map(|v| parse_seconds(&v).map_err(|reason| Error::config(name, reason)))
                .transpose()
        };
        let mut builder =
            Config::builder(required("HYDRA_ADMIN_URL")?, required("HYDRA_PUBLIC_URL")?);
        if let Some(id) = get("HYDRA_CLIENT_ID") {
            builder = builder.client_id(id);
        }
        match (get("HYDRA_CLIENT_SECRET"), get("HYDRA_CLIENT_SECRET_FILE")) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "HYDRA_CLIENT_SECRET_FILE",
                    "is set together with HYDRA_CLIENT_SECRET; set one".into(),
                ))
            }
            (Some(secret), None) => builder = builder.client_secret(secret),
            (None, Some(path)) => {
                builder = builder.client_secret(read_secret_file(
                    "HYDRA_CLIENT_SECRET_FILE",
                    std::path::Path::new(&path),
                )?)
            }
            (None, None) => {}
        }
        if let Some(take_over) = get("HYDRA_TAKE_OVER_FOREIGN_CLIENT") {
            builder = builder.take_over_foreign_client(parse_bool(
                "HYDRA_TAKE_OVER_FOREIGN_CLIENT",
                &take_over,
            )?);
        }
        if let Some(name) = get("HYDRA_CLIENT_NAME") {
            builder = builder.client_name(name);
        }
        if let Some(scope) = get("HYDRA_SCOPE") {
            builder = builder.scope(scope);
        }
        if let Some(audience) = get("HYDRA_AUDIENCE") {
            builder = builder.audience(
                audience
                    .split([' ', ','])
                    .filter(|a| !a.is_empty())
                    .map(str::to_string),
            );
        }
        if let Some(method) = get("HYDRA_TOKEN_AUTH_METHOD") {
            builder = builder.token_auth_method(TokenAuthMethod::parse(
                "HYDRA_TOKEN_AUTH_METHOD",
                method.trim(),
            )?);
        }
        if let Some(path) = get("HYDRA_CA_FILE") {
            builder.ca_file = Some(("HYDRA_CA_FILE", PathBuf::from(path)));
        }
        if let Some(authorize) = get("HYDRA_AUTHORIZE") {
            builder = builder.authorize(match authorize.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => {
                    return Err(Error::config(
                        "HYDRA_AUTHORIZE",
                        format!("`{other}` is not true or false"),
                    ))
                }
            });
        }
        if let Some(uri) = get("HYDRA_REDIRECT_URI") {
            builder = builder.redirect_uri(uri);
        }
        if let Some(strategy) = get("HYDRA_ACCESS_TOKEN_STRATEGY") {
            builder = builder.access_token_strategy(AccessTokenStrategy::parse(
                "HYDRA_ACCESS_TOKEN_STRATEGY",
                strategy.trim(),
            )?);
        }
        if let Some(t) = seconds("HYDRA_REQUEST_TIMEOUT")? {
            builder = builder.request_timeout(t);
        }
        if let Some(t) = seconds("HYDRA_CONNECT_TIMEOUT")? {
            builder = builder.connect_timeout(t);
        }
        if let Some(t) = seconds("HYDRA_DEADLINE")? {
            builder = builder.deadline(t);
        }
        builder.build_named(|setting| match setting {
            "admin_url" => "HYDRA_ADMIN_URL",
            "public_url" => "HYDRA_PUBLIC_URL",
            "scope" => "HYDRA_SCOPE",
            "client_id" => "HYDRA_CLIENT_ID",
            "redirect_uri" => "HYDRA_REDIRECT_URI",
            "client_name" => "HYDRA_CLIENT_NAME",
            "audience" => "HYDRA_AUDIENCE",
            "request_timeout" => "HYDRA_REQUEST_TIMEOUT",
            "connect_timeout" => "HYDRA_CONNECT_TIMEOUT",
            "deadline" => "HYDRA_DEADLINE",
            other => other,
        })
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
        hydra_sdk::http_client_builder()
            .timeout(self.request_timeout)
            .connect_timeout(self.connect_timeout)
            .tls_certs_merge(self.ca_certificates.iter().cloned())
    }
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, Error> {
    match value.trim() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(Error::config(
            name,
            format!("`{other}` is not true or false"),
        )),
    }
}

fn parse_seconds(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let number = value.strip_suffix('s').unwrap_or(value);
    match number.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.001..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{} is not a number of seconds from 0.001 to 86400",
            shown(value)
        )),
    }
}

/// Builds a [`Config`]; [`ConfigBuilder::build`] checks every value.
#[derive(Debug)]
pub struct ConfigBuilder {
    config: Config,
    ca_file: Option<(&'static str, PathBuf)>,
}

impl ConfigBuilder {
    /// A stable client id. With one, registration is idempotent: a restarted service finds its
    /// client (Hydra answers 409) and reuses it instead of leaving one client per restart.
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

    /// The client's human-readable name (`client_name`). Default `hydra-flow`.
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

    /// How the client authenticates at the token endpoint. Default `client_secret_post`.
    pub fn token_auth_method(mut self, method: TokenAuthMethod) -> Self {
        self.config.token_auth_method = method;
        self
    }

    /// Adds a redirect URI to register. Default [`DEFAULT_REDIRECT_URI`]. Registered only when
    /// the authorize step is on.
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

    /// Whether to run the authorize step after registering. Default `true`, to match the
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

    /// Deletes the client from Hydra when [`crate::TokenSource::shutdown`] is called, if it is
    /// one this library created (carries its marker); someone else's client is never deleted.
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
        self.ca_file = Some(("ca_file", path.into()));
        self
    }

    /// Trusts this CA certificate, besides the system's.
    pub fn ca_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.config.ca_certificates.push(certificate);
        self
    }

    /// The timeout of each HTTP request. Default 10 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// The timeout of each connection attempt. Default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// How long one token request may take, retries included. Default 30 s.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.config.deadline = deadline;
        self
    }

    /// Uses this HTTP client for every Hydra call instead of one built from the settings above
    /// (its own timeouts and TLS apply), the token call with `client_secret_basic` included.
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
        c.admin_url = hydra_sdk::normalize_base_url(&c.admin_url)
            .map_err(|e| Error::config(name("admin_url"), e.to_string()))?;
        c.public_url = hydra_sdk::normalize_base_url(&c.public_url)
            .map_err(|e| Error::config(name("public_url"), e.to_string()))?;
        let check = |setting: &'static str, result: Result<(), String>| {
            result.map_err(|reason| Error::config(name(setting), reason))
        };
        if let Some(id) = &c.client_id {
            check("client_id", check_text(id, MAX_CLIENT_ID))?;
            if id.trim().is_empty() || id.contains(['/', '?', '#']) {
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
        if let Some((setting, path)) = self.ca_file.take() {
            let certificates = read_ca_file(&path).map_err(|e| Error::config(setting, e))?;
            self.config.ca_certificates.extend(certificates);
        }
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests;
