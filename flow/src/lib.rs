#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bounds;
mod config;
mod error;
mod lock;
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
/// The type of every secret flow holds or hands out (client secret, registration access token,
/// access token), and the trait to read one, re-exported so callers need neither `hydra-sdk`
/// nor `secrecy` as a dependency of their own.
pub use hydra_sdk::{ExposeSecret, Secret};
pub use middleware::BearerAuth;
pub use source::{CachedToken, TokenSource, MAX_REREGISTRATIONS, REREGISTRATION_WINDOW};
#[cfg(feature = "metrics")]
pub use status::names as metric_names;
pub use status::Status;
pub use steps::{
    AccessToken, Flow, Registration, ASSUMED_LIFETIME, MARKER_KEY, MAX_LIFETIME,
    SECRET_QUIET_PERIOD,
};

/// An access token for the client the environment describes (the `HYDRA_*` variables of
/// [`Config::from_env`]), served by one process-wide [`TokenSource`]: the first call registers
/// and fetches, later calls are cached reads, and the token is refreshed ahead of expiry.
///
/// This is the "default credentials" pattern of cloud SDKs: nothing to construct or pass around.
/// The environment is read on the first call that finds the source missing; a configuration
/// error is returned (and read again next time), never a panic. Its fetches and refreshes run
/// on the runtime of the call that starts them when that is a multi-thread one, else on a thread
/// of flow's own (see [`TokenSource`]), so any runtime, or none, may call it;
/// [`default_token_source`] gives it to a health endpoint for [`TokenSource::status`]. For a configuration built in code, use [`acquire_token_with`] or a
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
///
/// The whole sequence runs in the returned future: dropping it (a timeout of the caller's own,
/// say) ends it, and nothing goes on sending to Hydra for a token no one will read.
pub async fn acquire_token_with(config: &Config) -> Result<AccessToken, Error> {
    TokenSource::fetch_once(config.clone()).await
}
