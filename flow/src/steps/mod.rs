//! [`Flow`] and its three requests, each in a file of its own as `impl Flow`: register the
//! client on the admin API ([`Flow::register`], and deleting it at shutdown), authorize it on
//! `/oauth2/auth` ([`Flow::authorize`]), and request a token from `/oauth2/token` with the
//! client-credentials grant ([`Flow::token`]).
//!
//! Every request goes through `hydra-sdk`: a generated call, or, in two places, the request the
//! generated call would build, sent by [`HydraApis::send`] through the same `execute` (the answer
//! capped, an error status typed): the token request with `client_secret_basic` (the generated
//! builder cannot add a header), and the registration's `POST`, whose answer is read as a smaller
//! type than the call's (the flow reads two fields of the client Hydra answers with).
//!
//! Each step makes one attempt (registration: one logical attempt of up to four calls);
//! retries and recovery are the caller's ([`crate::TokenSource`]).

mod access_token;
mod authorize;
mod ownership;
mod register;
mod secret;
mod token;

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use hydra_sdk::{types, Client, ClientInfo as _, ResponseValue};
use reqwest::header::{HeaderName, HeaderValue, ACCEPT};
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::lock::lock;
use crate::{Error, Stage};

pub use access_token::AccessToken;
pub(crate) use access_token::Freshness;
pub use ownership::{MARKER_KEY, SECRET_QUIET_PERIOD};
pub use register::Registration;
pub(crate) use secret::Identity;
pub use token::{ASSUMED_LIFETIME, MAX_LIFETIME};

/// The three steps one at a time, each a single attempt, for callers that want to see or
/// control them (the demo prints each). [`crate::acquire_token_with`] and
/// [`crate::TokenSource`] add retries and recovery on top.
#[derive(Clone)]
pub struct Flow {
    config: Config,
    apis: HydraApis,
    /// The client id, secret and instance id, fixed here so retries register the same client.
    identity: Identity,
    /// What this flow learned of other instances' secrets (see [`secret::SecretMemory`]).
    secrets_seen: std::sync::Arc<Mutex<secret::SecretMemory>>,
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Flow {
    /// Builds the HTTP clients for `config` and fixes the client id (the configured one, or a
    /// random UUID) and secret (the configured one, or a random one) for every registration this
    /// `Flow` makes; sends nothing.
    pub fn new(config: Config) -> Result<Self, Error> {
        let apis = HydraApis::new(&config)?;
        let identity = Identity::new(&config)?;
        Ok(Flow {
            config,
            apis,
            identity,
            secrets_seen: std::sync::Arc::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `registration` is of the client this flow registers, with the secret it holds:
    /// not so for one given from elsewhere ([`crate::TokenSource::with_registration`]) with a
    /// secret of its own, which reading the client again would judge by the wrong secret.
    pub(crate) fn registers(&self, registration: &Registration) -> bool {
        use hydra_sdk::ExposeSecret as _;
        registration.client_id == self.identity.client_id
            && registration.client_secret.expose_secret() == self.identity.secret.expose_secret()
    }
}

/// The SDK clients for Hydra's two APIs, admin and public, built once from the configuration
/// on one HTTP client (one connection pool).
#[derive(Clone)]
struct HydraApis {
    admin: Client,
    public: Client,
    /// What both clients send through: the user's, or one shared by every [`Flow`] in the
    /// process with the same settings.
    http: reqwest::Client,
}

impl HydraApis {
    fn new(config: &Config) -> Result<Self, Error> {
        let http = match &config.http_client {
            Some(client) => client.clone(),
            None => shared_http_client(config)?,
        };
        Ok(HydraApis {
            admin: Client::new_with_client(&config.admin_url, http.clone()),
            public: Client::new_with_client(&config.public_url, http.clone()),
            http,
        })
    }

    /// A `POST` to `url` with the headers every generated call sends.
    fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.http
            .post(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                HeaderName::from_static("api-version"),
                HeaderValue::from_static(Client::api_version()),
            )
    }

    /// Sends `request` through `api`'s `execute`, as a generated call does, and reads the answer
    /// as a generated call does: `T` for the `ok` status, Hydra's error for 4xx and 5xx.
    async fn send<T: DeserializeOwned>(
        api: &Client,
        request: reqwest::RequestBuilder,
        ok: u16,
    ) -> Result<ResponseValue<T>, hydra_sdk::Error<types::ErrorOAuth2>> {
        let response = api.execute(request.build()?).await?;
        match response.status().as_u16() {
            status if status == ok => ResponseValue::from_response(response).await,
            400..=599 => Err(hydra_sdk::Error::ErrorResponse(
                ResponseValue::from_response(response).await?,
            )),
            _ => Err(hydra_sdk::Error::UnexpectedResponse(response)),
        }
    }
}

/// The settings a default HTTP client is built from; clients with equal settings are shared.
#[derive(PartialEq)]
struct HttpSettings {
    request_timeout: Duration,
    connect_timeout: Duration,
    proxy_from_env: bool,
}

/// Building a reqwest client loads the platform's root certificates (about 2 ms, even for plain
/// http) and starts an empty connection pool, so `acquire_token` and every `TokenSource` in the
/// process share one per distinct setting. A configuration with its own CA certificates gets its
/// own client (certificates cannot be compared), built once per `Flow`.
fn shared_http_client(config: &Config) -> Result<reqwest::Client, Error> {
    static SHARED: Mutex<Vec<(HttpSettings, reqwest::Client)>> = Mutex::new(Vec::new());
    let build = || {
        use hydra_sdk::ClientError;
        let builder = config.http_client_builder();
        // Without certificates of its own the build fails only for the platform's roots, and
        // the SDK then names `SSL_CERT_FILE` or `SSL_CERT_DIR`, whichever is set, as why. With
        // them (`ConfigBuilder::ca_certificate` takes any), they may be why.
        let built = if config.ca_certificates.is_empty() {
            hydra_sdk::build_http_client(builder)
        } else {
            hydra_sdk::check_native_roots_env()
                .and_then(|()| builder.build().map_err(ClientError::Http))
        };
        built.map_err(|e| match e {
            ClientError::Environment { variable, reason } => Error::config(variable, reason),
            ClientError::Http(e) => Error::config(
                "http_client",
                format!("cannot build: {}", crate::bounds::with_sources(&e)),
            ),
            other => Error::config("http_client", other.to_string()),
        })
    };
    if !config.ca_certificates.is_empty() {
        return build();
    }
    let settings = HttpSettings {
        request_timeout: config.request_timeout,
        connect_timeout: config.connect_timeout,
        proxy_from_env: config.proxy_from_env(),
    };
    let mut shared = lock(&SHARED);
    if let Some((_, client)) = shared.iter().find(|(s, _)| *s == settings) {
        return Ok(client.clone());
    }
    let client = build()?;
    // A handful of distinct settings in any real process; bounded all the same.
    if shared.len() < 16 {
        shared.push((settings, client.clone()));
    }
    Ok(client)
}

fn missing(stage: Stage, url: &str, field: &str) -> Error {
    Error::InvalidResponse {
        stage,
        url: url.to_string(),
        reason: format!("the response has no `{field}`"),
    }
}
