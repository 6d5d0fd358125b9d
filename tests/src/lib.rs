//! Support for the integration tests under `tests/`: a real Ory Hydra per test (the release
//! named by `HYDRA_VERSION`, v26.2.0 by default), started on loopback with an in-memory database
//! (see [`harness`]), or a set of replicas on one PostgreSQL behind a round-robin proxy (see
//! [`replicas`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), hydra_tests::Error> {
//! use hydra_tests::TestHydra;
//!
//! let hydra = TestHydra::builder().env("STRATEGIES_ACCESS_TOKEN", "jwt").start().await?;
//! let ready = hydra.http_client()?.get(format!("{}/health/ready", hydra.admin_url())).send().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod browser;
pub mod harness;
pub mod logs;
pub mod replicas;
pub mod sdk;
pub mod stand_in;
pub mod tcp_proxy;
mod tls;
pub mod wire;

/// Locks `mutex`, recovering it if a test thread panicked while holding it: the harness's
/// mutexes guard recordings and counters that stay valid, and skipping the work instead would
/// leave a request unrecorded, so a count a test asserts on could be silently short.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use harness::{install_crypto_provider, release, Error, TestHydra, TestHydraBuilder};
pub use hydra_launcher::Urls;
pub use replicas::ReplicaSet;

/// An HTTP client that follows redirects (reqwest's default policy, up to 10 hops), otherwise the
/// SDK's: one a user may pass as their own, for the tests of what the SDK and the flow do when a
/// peer answers with a redirect.
pub fn client_following_redirects() -> reqwest::Result<reqwest::Client> {
    hydra_sdk::http_client_builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
}

/// An error and all its sources, joined with ": ", for assertions on a cause deep in the chain
/// (a certificate error under a connect error under a request error).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    chain
}

/// The workspace README, so its examples are compiled as doctests and cannot rot.
#[doc = include_str!("../../README.md")]
pub mod readme {}
