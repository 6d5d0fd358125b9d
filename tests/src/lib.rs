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
pub mod replicas;
pub mod sdk;
pub mod stand_in;
mod tls;
pub mod wire;

pub use harness::{install_crypto_provider, release, Error, TestHydra, TestHydraBuilder};
pub use hydra_launcher::Urls;
pub use replicas::ReplicaSet;

/// The workspace README, so its examples are compiled as doctests and cannot rot.
#[doc = include_str!("../../README.md")]
pub mod readme {}
