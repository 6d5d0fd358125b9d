//! Finds or builds Ory Hydra v2.3.0 and runs it on loopback.
//!
//! `cargo xtask hydra` and the integration-test harness both start Hydra through this crate, so
//! the server a developer pokes at by hand is configured exactly like the one the tests talk to.
//! It uses only `std`, because xtask depends on it and must stay cheap to compile.
//!
//! ```no_run
//! # fn main() -> Result<(), hydra_launcher::Error> {
//! let bin = hydra_launcher::find_or_build()?;
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
mod process;

pub use binary::{
    cached_bin_path, find, find_or_build, go_module_dir, target_dir, version_of, workspace_root,
    HydraBin, Source,
};
pub use error::Error;
pub use process::{http_ready_probe, Config, Hydra, Probe, Urls};

/// The Hydra release this project is written against; the SDK is generated from its spec.
pub const HYDRA_VERSION: &str = "v2.3.0";
