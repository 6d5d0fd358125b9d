#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bounds;
mod config;
mod error;
mod middleware;
mod retry;
mod source;
mod steps;

pub use config::{
    AccessTokenStrategy, Config, ConfigBuilder, TokenAuthMethod, DEFAULT_REDIRECT_URI,
};
pub use error::{Error, Stage};
pub use middleware::BearerAuth;
pub use source::{CachedToken, TokenSource, MAX_REREGISTRATIONS, REREGISTRATION_WINDOW};
pub use steps::{
    AccessToken, Registration, ASSUMED_LIFETIME, MARKER_KEY, MAX_LIFETIME, SECRET_QUIET_PERIOD,
};

/// Registers the client, authorizes it (unless turned off), and returns an access token: the
/// whole sequence once, with retries within the configured deadline.
///
/// For a service that needs tokens all along, keep a [`TokenSource`] instead: it caches,
/// refreshes ahead of expiry and re-registers when Hydra forgets the client.
pub async fn acquire_token(config: &Config) -> Result<AccessToken, Error> {
    let source = TokenSource::with_refresh_ahead(config.clone(), false)?;
    let token = source.token().await?.into_arc();
    // With the source gone, this is the token's only reference: no copy.
    drop(source);
    Ok(std::sync::Arc::unwrap_or_clone(token))
}

/// The three steps one at a time, each a single attempt, for callers that want to see or
/// control them (the demo prints each). [`acquire_token`] and [`TokenSource`] add retries and
/// recovery on top.
#[derive(Clone)]
pub struct Flow {
    config: Config,
    hydra: steps::Hydra,
    /// The client id, secret and instance id, fixed here so retries register the same client.
    identity: steps::Identity,
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
        let hydra = steps::Hydra::new(&config)?;
        let identity = steps::Identity::new(&config)?;
        Ok(Flow {
            config,
            hydra,
            identity,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Step 1: registers the client on the admin API, or finds and reuses it when Hydra already
    /// has a client with this id (see [`Config`] for what the flow may change in it).
    pub async fn register(&self) -> Result<Registration, Error> {
        Ok(self.register_with(false).await?.registration)
    }

    pub(crate) async fn register_with(
        &self,
        secret_rejected: bool,
    ) -> Result<steps::Registered, Error> {
        steps::register(&self.hydra, &self.config, &self.identity, secret_rejected).await
    }

    /// Step 2: the authorize request on the public `/oauth2/auth`, redirects not followed.
    pub async fn authorize(&self, registration: &Registration) -> Result<(), Error> {
        steps::authorize(&self.hydra, &self.config, registration).await
    }

    /// Step 3: the client-credentials token request on the public `/oauth2/token`.
    pub async fn token(&self, registration: &Registration) -> Result<AccessToken, Error> {
        self.token_with_generation(registration, 0).await
    }

    pub(crate) async fn token_with_generation(
        &self,
        registration: &Registration,
        generation: u64,
    ) -> Result<AccessToken, Error> {
        steps::token(&self.hydra, &self.config, registration, generation).await
    }

    /// Deletes the client from Hydra; one already gone is not an error.
    pub async fn delete(&self, client_id: &str) -> Result<(), Error> {
        steps::delete(&self.hydra, &self.config, client_id).await
    }
}
