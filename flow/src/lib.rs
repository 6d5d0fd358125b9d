#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bounds;
mod config;
mod error;
mod middleware;
mod retry;
mod source;
mod status;
mod steps;

pub use config::settings;
pub use config::{
    AccessTokenStrategy, Config, ConfigBuilder, TokenAuthMethod, DEFAULT_REDIRECT_URI,
};
pub use error::{Error, Stage};
pub use middleware::BearerAuth;
pub use source::{CachedToken, TokenSource, MAX_REREGISTRATIONS, REREGISTRATION_WINDOW};
#[cfg(feature = "metrics")]
pub use status::names as metric_names;
pub use status::Status;
pub use steps::{
    AccessToken, Registration, ASSUMED_LIFETIME, MARKER_KEY, MAX_LIFETIME, SECRET_QUIET_PERIOD,
};

/// An access token for the client the environment describes (the `HYDRA_*` variables of
/// [`Config::from_env`]), served by one process-wide [`TokenSource`]: the first call registers
/// and fetches, later calls are cached reads, and the token is refreshed ahead of expiry.
///
/// This is the "default credentials" pattern of cloud SDKs: nothing to construct or pass around.
/// The environment is read on the first call that finds the source missing; a configuration
/// error is returned (and read again next time), never a panic. The source lives on the Tokio
/// runtime of the call that built it, so use this from one runtime per process (a service's
/// main one); [`default_token_source`] gives it to a health endpoint for
/// [`TokenSource::status`]. For a configuration built in code, use [`acquire_token_with`] or a
/// [`TokenSource`] of your own.
pub async fn acquire_token() -> Result<CachedToken, Error> {
    default_token_source()?.token().await
}

/// The process-wide [`TokenSource`] behind [`acquire_token`], built from the environment on
/// first use.
pub fn default_token_source() -> Result<&'static TokenSource, Error> {
    static DEFAULT: std::sync::OnceLock<TokenSource> = std::sync::OnceLock::new();
    if let Some(source) = DEFAULT.get() {
        return Ok(source);
    }
    // Building a source sends nothing, so two threads racing here cost one spare value: the
    // first stored wins and the other is dropped unused.
    let source = TokenSource::new(Config::from_env()?)?;
    Ok(DEFAULT.get_or_init(|| source))
}

/// Registers the client `config` describes, authorizes it (unless turned off), and returns an
/// access token: the whole sequence once, with retries within the configured deadline.
///
/// For a service that needs tokens all along, keep a [`TokenSource`] instead (or call
/// [`acquire_token`]): it caches, refreshes ahead of expiry and re-registers when Hydra forgets
/// the client.
pub async fn acquire_token_with(config: &Config) -> Result<AccessToken, Error> {
    let source = TokenSource::with_refresh_ahead(config.clone(), false)?;
    let token = source.token().await?.into_arc();
    // With the source gone, this is the token's only reference: no copy.
    drop(source);
    Ok(std::sync::Arc::unwrap_or_clone(token))
}

/// The three steps one at a time, each a single attempt, for callers that want to see or
/// control them (the demo prints each). [`acquire_token_with`] and [`TokenSource`] add retries and
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
