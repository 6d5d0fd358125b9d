//! Finds or builds Ory Hydra (v26.2.0 from its source archive, v2.3.0 from the Go module proxy)
//! and runs it on loopback, in memory or on a throwaway PostgreSQL cluster.
//!
//! `cargo xtask hydra` and the integration-test harness both start Hydra through this crate, so
//! the server a developer pokes at by hand is configured exactly like the one the tests talk to.
//! It uses only `std` (and `sha2`, `base64`), because xtask depends on it and must stay cheap to compile.
//!
//! ```no_run
//! # fn main() -> Result<(), hydra_launcher::Error> {
//! let bin = hydra_launcher::find_or_build(&hydra_launcher::Release::selected()?)?;
//! let hydra = hydra_launcher::Config::new(bin.path)
//!     .env("STRATEGIES_ACCESS_TOKEN", "jwt")
//!     .start()?;
//! println!("admin API at {}", hydra.urls().admin);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod binary;
mod error;
mod log;
mod ports;
mod postgres;
mod probe;
mod process;
mod release;
pub mod run;
mod secret;
mod settings;
mod source;

pub use binary::{
    cached_bin_path, find, find_or_build, go_module_dir, target_dir, version_of, workspace_root,
    HydraBin, Source,
};
pub use error::Error;
pub use postgres::{migrate, postgres_bin_dir, Postgres};
pub use probe::{connect_for_probe, health_ready_over, http_ready_probe, Probe};
pub use process::HydraProcess;
pub use release::{BuildFrom, Release, HYDRA_VERSION, RELEASES, V26_2_0, V2_3_0};
pub use secret::random_secret;
pub use settings::{Config, Urls};
