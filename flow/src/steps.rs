//! The three requests of the sequence, each through a generated `hydra-sdk` call: register the
//! client on the admin API, authorize it on `/oauth2/auth`, and request a token from
//! `/oauth2/token` with the client-credentials grant.
//!
//! Each function makes one attempt (registration: one logical attempt of up to three calls);
//! retries and recovery are the caller's ([`crate::TokenSource`]).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use hydra_sdk::{types, ApiError, Client, Secret};
use secrecy::SecretString;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::config::{Config, TokenAuthMethod};
use crate::{Error, Stage};

/// The SDK clients for Hydra's two APIs, built once from the configuration.
#[derive(Clone)]
pub(crate) struct Hydra {
    pub(crate) admin: Client,
    pub(crate) public: Client,
}

impl Hydra {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        let http = match &config.http_client {
            Some(client) => client.clone(),
            None => config
                .http_client_builder()
                .build()
                .map_err(|e| Error::config("http_client", format!("cannot build: {e}")))?,
        };
        Ok(Hydra {
            admin: Client::new_with_client(&config.admin_url, http.clone()),
            public: Client::new_with_client(&config.public_url, http),
        })
    }
}

/// A registered client: what the token step needs, secrets kept as secrets.
#[derive(Clone)]
pub struct Registration {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// The registration access token Hydra returned when it created the client (RFC 7592);
    /// absent when the client already existed. Never sent to the token endpoint.
    pub registration_access_token: Option<SecretString>,
    /// How the client authenticates at the token endpoint.
    pub token_auth_method: TokenAuthMethod,
    /// Whether this call created the client (`false`: it existed and was reused).
    pub created: bool,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field(
                "registration_access_token",
                &self
                    .registration_access_token
                    .as_ref()
                    .map(|_| "[REDACTED]"),
            )
            .field("token_auth_method", &self.token_auth_method)
            .field("created", &self.created)
            .finish()
    }
}

/// An access token from Hydra's token endpoint.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    token_type: String,
    scope: Option<String>,
    expires_in: Option<Duration>,
    obtained_at: Instant,
    issued_at: SystemTime,
    pub(crate) generation: u64,
}

impl AccessToken {
    /// The token. Put it in an `Authorization: Bearer` header and nowhere else.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The token type; `bearer` for Hydra.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The scope granted, when Hydra says (RFC 6749 §5.1).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The lifetime Hydra gave the token at issue (`expires_in`).
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }

    /// When the token expires, by the wall clock.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_in.map(|d| self.issued_at + d)
    }

    /// The monotonic instant the token expires, for scheduling.
    pub(crate) fn expires_at_instant(&self) -> Option<Instant> {
        self.expires_in.map(|d| self.obtained_at + d)
    }

    /// When to refresh ahead of expiry: three quarters into the lifetime, so a refresh has a
    /// quarter of it (at least a few seconds) to succeed while readers keep the current token.
    pub(crate) fn refresh_at(&self) -> Option<Instant> {
        self.expires_in.map(|d| self.obtained_at + d.mul_f64(0.75))
    }

    /// Whether the token is still usable: unexpired with a small margin for the request that
    /// will carry it.
    pub(crate) fn is_fresh(&self) -> bool {
        match self.expires_at_instant() {
            Some(at) => Instant::now() + Duration::from_secs(1) < at,
            None => true,
        }
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A new random client secret: 32 bytes from the operating system's CSPRNG, base64url.
fn generate_secret() -> Result<SecretString, Error> {
    use base64::Engine as _;
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| {
            Error::config(
                "client_secret",
                "no system randomness to generate one".into(),
            )
        })?;
    Ok(SecretString::from(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

/// A random `state` for the authorize request (RFC 6749 §10.12).
fn generate_state() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// The client metadata this configuration registers.
fn desired_client(
    config: &Config,
    secret: Option<&SecretString>,
) -> Result<types::OAuth2Client, Error> {
    let strings = |v: Vec<String>| Some(types::StringSliceJsonFormat(v));
    types::OAuth2Client::builder()
        .client_id(config.client_id.clone())
        .client_secret(secret.map(|s| Secret::from(s.clone())))
        .client_name(Some(config.client_name.clone()))
        .grant_types(strings(vec!["client_credentials".to_string()]))
        .response_types(strings(config.response_types.clone()))
        .redirect_uris(strings(config.redirect_uris()))
        .scope(config.registered_scope().map(str::to_string))
        .audience(
            (!config.audience.is_empty())
                .then(|| types::StringSliceJsonFormat(config.audience.clone())),
        )
        .token_endpoint_auth_method(config.token_auth_method.as_str().to_string())
        .access_token_strategy(config.access_token_strategy.map(|s| s.as_str().to_string()))
        .try_into()
        .map_err(|e: types::error::ConversionError| Error::config("client", e.to_string()))
}

/// What differs between a registered client and the one this configuration wants; empty when
/// the existing client serves.
fn mismatches(existing: &types::OAuth2Client, config: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    let has = |list: &Option<types::StringSliceJsonFormat>, item: &str| {
        list.as_ref().is_some_and(|l| l.0.iter().any(|x| x == item))
    };
    if !has(&existing.grant_types, "client_credentials") {
        out.push("grant_types");
    }
    if let Some(wanted) = config.registered_scope() {
        let granted: Vec<&str> = existing.scope.as_deref().unwrap_or("").split(' ').collect();
        if !wanted.split(' ').all(|s| granted.contains(&s)) {
            out.push("scope");
        }
    }
    if existing.token_endpoint_auth_method != config.token_auth_method.as_str() {
        out.push("token_endpoint_auth_method");
    }
    if !config.audience.iter().all(|a| has(&existing.audience, a)) {
        out.push("audience");
    }
    if let Some(strategy) = config.access_token_strategy {
        if existing.access_token_strategy.as_deref() != Some(strategy.as_str()) {
            out.push("access_token_strategy");
        }
    }
    if config.authorize {
        if !config
            .redirect_uris()
            .iter()
            .all(|u| has(&existing.redirect_uris, u))
        {
            out.push("redirect_uris");
        }
        if !config
            .response_types
            .iter()
            .all(|t| has(&existing.response_types, t))
        {
            out.push("response_types");
        }
    }
    out
}

/// Registers the client, or finds and reuses it.
///
/// With a configured client id: a 409 means the client exists. It is reused as is when its
/// metadata fits and its secret is known (configured) and not `secret_rejected`; otherwise it is
/// replaced (`PUT /admin/clients/{id}`) with this configuration's metadata and a secret: the
/// configured one, or a freshly generated one (rotation).
pub(crate) async fn register(
    hydra: &Hydra,
    config: &Config,
    secret_rejected: bool,
) -> Result<Registration, Error> {
    let url = format!("{}/admin/clients", config.admin_url);
    let span = info_span!("hydra.register", admin_url = %config.admin_url, client_id = config.client_id.as_deref().unwrap_or("(generated)"));
    async {
        let desired = desired_client(config, config.client_secret.as_ref())?;
        let created = hydra
            .admin
            .create_o_auth2_client()
            .body(desired)
            .send()
            .await;
        match created.map_err(ApiError::from) {
            Ok(response) => {
                let client = response.into_inner();
                let client_id = client
                    .client_id
                    .clone()
                    .ok_or_else(|| missing(Stage::Register, &url, "client_id"))?;
                let client_secret = client
                    .client_secret
                    .clone()
                    .map(SecretString::from)
                    .or_else(|| config.client_secret.clone())
                    .ok_or_else(|| missing(Stage::Register, &url, "client_secret"))?;
                info!(client_id = %client_id, "registered a new OAuth2 client");
                Ok(Registration {
                    client_id,
                    client_secret,
                    registration_access_token: client
                        .registration_access_token
                        .map(SecretString::from),
                    token_auth_method: config.token_auth_method,
                    created: true,
                })
            }
            Err(ApiError::Hydra { status, .. }) if status.as_u16() == 409 => {
                let Some(id) = config.client_id.as_deref() else {
                    return Err(Error::InvalidResponse {
                        stage: Stage::Register,
                        url,
                        reason: "409 Conflict for a client without a configured id".into(),
                    });
                };
                reuse(hydra, config, id, secret_rejected).await
            }
            Err(e) => Err(Error::from_api(Stage::Register, &url, e)),
        }
    }
    .instrument(span)
    .await
}

async fn reuse(
    hydra: &Hydra,
    config: &Config,
    id: &str,
    secret_rejected: bool,
) -> Result<Registration, Error> {
    let url = format!("{}/admin/clients/{id}", config.admin_url);
    let existing = hydra
        .admin
        .get_o_auth2_client()
        .id(id)
        .send()
        .await
        .map_err(|e| Error::from_api(Stage::Register, &url, e.into()))?
        .into_inner();
    let differs = mismatches(&existing, config);
    let known_secret = config.client_secret.clone().filter(|_| !secret_rejected);
    if let (true, Some(secret)) = (differs.is_empty(), known_secret) {
        info!(client_id = %id, "reusing the registered OAuth2 client");
        return Ok(Registration {
            client_id: id.to_string(),
            client_secret: secret,
            registration_access_token: None,
            token_auth_method: config.token_auth_method,
            created: false,
        });
    }
    // The secret Hydra holds is unknown here (it stores only a hash), or the metadata is not
    // what this service needs: replace the client with ours and a secret we know.
    let secret = match (&config.client_secret, secret_rejected) {
        (Some(configured), _) => configured.clone(),
        (None, _) => generate_secret()?,
    };
    if differs.is_empty() {
        info!(client_id = %id, "setting the registered client's secret");
    } else {
        warn!(client_id = %id, fields = ?differs, "registered client differs from the configuration; replacing it");
    }
    let replaced = hydra
        .admin
        .set_o_auth2_client()
        .id(id)
        .body(desired_client(config, Some(&secret))?)
        .send()
        .await
        .map_err(|e| Error::from_api(Stage::Register, &url, e.into()))?
        .into_inner();
    debug!(client_id = ?replaced.client_id, "client replaced");
    Ok(Registration {
        client_id: id.to_string(),
        client_secret: secret,
        registration_access_token: replaced.registration_access_token.map(SecretString::from),
        token_auth_method: config.token_auth_method,
        created: false,
    })
}

/// The authorize step: `GET /oauth2/auth` for the client, redirects not followed.
///
/// Hydra answers a valid request with a redirect into its login flow (a `login_challenge`), and
/// an invalid one with a redirect carrying `error` (RFC 6749 §4.1.2.1, §4.2.2.1) in the query or
/// fragment, or with a JSON error.
pub(crate) async fn authorize(
    hydra: &Hydra,
    config: &Config,
    registration: &Registration,
) -> Result<(), Error> {
    let url = format!("{}/oauth2/auth", config.public_url);
    let state = generate_state();
    let span = info_span!("hydra.authorize", public_url = %config.public_url, client_id = %registration.client_id);
    async {
        let mut request = hydra
            .public
            .o_auth2_authorize()
            .client_id(registration.client_id.clone())
            .response_type(config.response_types.join(" "))
            .state(state.clone());
        if let Some(uri) = config.redirect_uris().first() {
            request = request.redirect_uri(uri.clone());
        }
        if let Some(scope) = config.registered_scope() {
            request = request.scope(scope.to_string());
        }
        match request.send().await.map(|_| ()).map_err(ApiError::from) {
            Err(ApiError::UnexpectedStatus { status, location }) if status.is_redirection() => {
                let location =
                    location.ok_or_else(|| missing(Stage::Authorize, &url, "Location"))?;
                check_authorize_redirect(&url, &location, &state)
            }
            Ok(()) => Err(Error::InvalidResponse {
                stage: Stage::Authorize,
                url,
                reason: "a success status where a redirect was expected".into(),
            }),
            Err(e) => Err(Error::from_api(Stage::Authorize, &url, e)),
        }
    }
    .instrument(span)
    .await
}

/// Reads the authorize redirect: an OAuth2 error, or acceptance.
fn check_authorize_redirect(url: &str, location: &str, state: &str) -> Result<(), Error> {
    let parsed = url::Url::parse(location)
        .or_else(|_| url::Url::parse(url).and_then(|base| base.join(location)))
        .map_err(|e| Error::InvalidResponse {
            stage: Stage::Authorize,
            url: url.to_string(),
            reason: format!("the redirect's Location does not parse: {e}"),
        })?;
    let mut pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if let Some(fragment) = parsed.fragment() {
        pairs.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if let Some(error) = get("error") {
        return Err(Error::OAuth2 {
            stage: Stage::Authorize,
            status: None,
            error,
            error_description: get("error_description"),
            error_hint: get("error_hint"),
            retry_after: None,
        });
    }
    if let Some(echoed) = get("state") {
        if echoed != state {
            return Err(Error::InvalidResponse {
                stage: Stage::Authorize,
                url: url.to_string(),
                reason: "the redirect's state is not the one sent".into(),
            });
        }
    }
    let accepted_into_login = get("login_challenge").is_some();
    info!(
        redirect = %hydra_sdk::redact_query(location),
        login_flow = accepted_into_login,
        "authorize request accepted"
    );
    Ok(())
}

/// The token step: `POST /oauth2/token` with `grant_type=client_credentials`.
///
/// The client authenticates the way it was registered; the registration access token is never
/// sent (Hydra ignores it at this endpoint, so sending it could only leak it).
pub(crate) async fn token(
    hydra: &Hydra,
    config: &Config,
    registration: &Registration,
    generation: u64,
) -> Result<AccessToken, Error> {
    let url = format!("{}/oauth2/token", config.public_url);
    let span = info_span!("hydra.token", public_url = %config.public_url, client_id = %registration.client_id, auth_method = registration.token_auth_method.as_str());
    async {
        let audience = (!config.audience.is_empty()).then(|| config.audience.join(" "));
        let mut body = types::Oauth2TokenExchangeBody {
            grant_type: "client_credentials".into(),
            scope: config.scope.clone(),
            audience,
            client_id: None,
            client_secret: None,
            code: None,
            code_verifier: None,
            redirect_uri: None,
            refresh_token: None,
        };
        let basic_client;
        let client = match registration.token_auth_method {
            TokenAuthMethod::ClientSecretPost => {
                body.client_id = Some(registration.client_id.clone());
                body.client_secret = Some(Secret::from(registration.client_secret.clone()));
                &hydra.public
            }
            TokenAuthMethod::ClientSecretBasic => {
                let headers = hydra_sdk::basic_auth_headers(
                    &registration.client_id,
                    &Secret::from(registration.client_secret.clone()),
                )
                .map_err(|e| Error::config("client_secret", e.to_string()))?;
                let http = config
                    .http_client_builder()
                    .default_headers(headers)
                    .build()
                    .map_err(|e| Error::config("http_client", format!("cannot build: {e}")))?;
                basic_client = Client::new_with_client(&config.public_url, http);
                &basic_client
            }
        };
        let issued_at = SystemTime::now();
        let obtained_at = Instant::now();
        let response = client
            .oauth2_token_exchange()
            .body(body)
            .send()
            .await
            .map_err(|e| Error::from_api(Stage::Token, &url, e.into()))?
            .into_inner();
        let secret = response
            .access_token
            .map(SecretString::from)
            .ok_or_else(|| missing(Stage::Token, &url, "access_token"))?;
        let expires_in = response
            .expires_in
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.unsigned_abs()));
        let token = AccessToken {
            secret,
            token_type: response
                .token_type
                .clone()
                .unwrap_or_else(|| "bearer".into()),
            scope: response.scope.clone(),
            expires_in,
            obtained_at,
            issued_at,
            generation,
        };
        info!(expires_in = ?token.expires_in, scope = ?token.scope, "access token issued");
        Ok(token)
    }
    .instrument(span)
    .await
}

/// Deletes the client (`DELETE /admin/clients/{id}`); a client already gone is not an error.
pub(crate) async fn delete(hydra: &Hydra, config: &Config, client_id: &str) -> Result<(), Error> {
    let url = format!("{}/admin/clients/{client_id}", config.admin_url);
    let span = info_span!("hydra.delete", admin_url = %config.admin_url, client_id = %client_id);
    async {
        match hydra
            .admin
            .delete_o_auth2_client()
            .id(client_id)
            .send()
            .await
            .map_err(ApiError::from)
        {
            Ok(_) => {
                info!("client deleted");
                Ok(())
            }
            Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => Ok(()),
            Err(e) => Err(Error::from_api(Stage::Delete, &url, e)),
        }
    }
    .instrument(span)
    .await
}

fn missing(stage: Stage, url: &str, field: &str) -> Error {
    Error::InvalidResponse {
        stage,
        url: url.to_string(),
        reason: format!("the response has no `{field}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:4444/oauth2/auth";

    #[test]
    fn a_redirect_into_the_login_flow_is_acceptance() {
        check_authorize_redirect(URL, "http://127.0.0.1:4444/login?login_challenge=abc", "s1")
            .expect("accepted");
    }

    #[test]
    fn an_error_in_the_query_is_a_typed_oauth2_error() {
        let err = check_authorize_redirect(
            URL,
            "http://127.0.0.1/callback?error=invalid_scope&error_description=The+requested+scope+is+invalid&error_hint=Scope+foo&state=s1",
            "s1",
        )
        .expect_err("error");
        let Error::OAuth2 {
            stage,
            status,
            error,
            error_description,
            error_hint,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(*stage, Stage::Authorize);
        assert_eq!(*status, None);
        assert_eq!(error, "invalid_scope");
        assert_eq!(
            error_description.as_deref(),
            Some("The requested scope is invalid")
        );
        assert_eq!(error_hint.as_deref(), Some("Scope foo"));
        assert_eq!(
            err.to_string(),
            "authorize: Hydra refused the request: invalid_scope: The requested scope is invalid (Scope foo)"
        );
    }

    #[test]
    fn an_error_in_the_fragment_is_found_too() {
        // Implicit-grant style responses (RFC 6749 §4.2.2.1) put the error in the fragment.
        let err = check_authorize_redirect(
            URL,
            "http://127.0.0.1/callback#error=unsupported_response_type&state=s1",
            "s1",
        )
        .expect_err("error");
        assert_eq!(err.oauth2_error(), Some("unsupported_response_type"));
    }

    #[test]
    fn a_relative_location_and_a_wrong_state() {
        check_authorize_redirect(URL, "/login?login_challenge=x", "s1").expect("relative is fine");
        let err = check_authorize_redirect(URL, "/login?login_challenge=x&state=other", "s1")
            .expect_err("wrong state");
        assert!(err.to_string().contains("state"), "{err}");
    }

    #[test]
    fn tokens_and_registrations_do_not_print_secrets() {
        let token = AccessToken {
            secret: SecretString::from("tok-SECRET"),
            token_type: "bearer".into(),
            scope: Some("read".into()),
            expires_in: Some(Duration::from_secs(60)),
            obtained_at: Instant::now(),
            issued_at: SystemTime::now(),
            generation: 1,
        };
        let registration = Registration {
            client_id: "bss".into(),
            client_secret: SecretString::from("cs-SECRET"),
            registration_access_token: Some(SecretString::from("rat-SECRET")),
            token_auth_method: TokenAuthMethod::ClientSecretPost,
            created: true,
        };
        for text in [format!("{token:?}"), format!("{registration:?}")] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(text.contains("[REDACTED]"), "{text}");
        }
        assert!(token.is_fresh());
        assert!(token.refresh_at() < token.expires_at_instant());
    }
}
