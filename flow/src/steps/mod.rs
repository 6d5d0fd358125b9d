//! The three requests of the sequence, each through a generated `hydra-sdk` call: register the
//! client on the admin API ([`register`]), authorize it on `/oauth2/auth` ([`authorize`]), and
//! request a token from `/oauth2/token` with the client-credentials grant ([`token`]).
//!
//! Each function makes one attempt (registration: one logical attempt of up to three calls);
//! retries and recovery are the caller's ([`crate::TokenSource`]).

mod authorize;
mod ownership;
mod register;
mod token;

use std::sync::Mutex;
use std::time::Duration;

use hydra_sdk::Client;

use crate::config::Config;
use crate::{Error, Stage};

pub(crate) use authorize::authorize;
pub use ownership::{MARKER_KEY, SECRET_QUIET_PERIOD};
pub use register::Registration;
pub(crate) use register::{delete, register, Identity, Registered};
pub(crate) use token::token;
pub(crate) use token::Freshness;
pub use token::{AccessToken, ASSUMED_LIFETIME, MAX_LIFETIME};

/// The SDK clients for Hydra's two APIs, built once from the configuration, on one HTTP client
/// (one connection pool).
#[derive(Clone)]
pub(crate) struct Hydra {
    pub(crate) admin: Client,
    pub(crate) public: Client,
    /// What both clients send through: the user's, or one shared by every [`Hydra`] in the
    /// process with the same settings.
    pub(crate) http: reqwest::Client,
}

impl Hydra {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        let http = match &config.http_client {
            Some(client) => client.clone(),
            None => shared_http_client(config)?,
        };
        Ok(Hydra {
            admin: Client::new_with_client(&config.admin_url, http.clone()),
            public: Client::new_with_client(&config.public_url, http.clone()),
            http,
        })
    }
}

/// The settings a default HTTP client is built from; clients with equal settings are shared.
#[derive(PartialEq)]
struct HttpSettings {
    request_timeout: Duration,
    connect_timeout: Duration,
}

/// Building a reqwest client loads the platform's root certificates (about 2 ms, even for plain
/// http) and starts an empty connection pool, so `acquire_token` and every `TokenSource` in the
/// process share one per distinct setting. A configuration with its own CA certificates gets its
/// own client (certificates cannot be compared), built once per `Flow`.
fn shared_http_client(config: &Config) -> Result<reqwest::Client, Error> {
    static SHARED: Mutex<Vec<(HttpSettings, reqwest::Client)>> = Mutex::new(Vec::new());
    let build = || {
        config
            .http_client_builder()
            .build()
            .map_err(|e| Error::config("http_client", format!("cannot build: {e}")))
    };
    if !config.ca_certificates.is_empty() {
        return build();
    }
    let settings = HttpSettings {
        request_timeout: config.request_timeout,
        connect_timeout: config.connect_timeout,
    };
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
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

pub(crate) fn missing(stage: Stage, url: &str, field: &str) -> Error {
    Error::InvalidResponse {
        stage,
        url: url.to_string(),
        reason: format!("the response has no `{field}`"),
    }
}
