//! flow's integration tests, one module per subject, in one binary so the generated SDK is linked
//! once: the configuration, the `hydra-token` program, the demo, and ownership against a real
//! Hydra. Cargo finds `tests/<dir>/main.rs` as one test target named after the directory; a
//! test's name is its module path, e.g. `ownership::...`.

mod cli;
mod cli_hostile;
mod config;
mod config_limits;
mod config_settings;
mod demo;
mod ownership;
mod runtime;
