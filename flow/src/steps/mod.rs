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

use hydra_sdk::Client;

use crate::config::Config;
use crate::{Error, Stage};

pub(crate) use authorize::authorize;
pub use ownership::{MARKER_KEY, SECRET_QUIET_PERIOD};
pub use register::Registration;
pub(crate) use register::{delete, register, Identity, Registered};
pub(crate) use token::token;
pub use token::{AccessToken, ASSUMED_LIFETIME, MAX_LIFETIME};

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

pub(crate) fn missing(stage: Stage, url: &str, field: &str) -> Error {
    Error::InvalidResponse {
        stage,
        url: url.to_string(),
        reason: format!("the response has no `{field}`"),
    }
}
