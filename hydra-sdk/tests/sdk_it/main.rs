//! The SDK's own tests, one module per subject, in one binary so the generated code is linked
//! once: request bodies on the wire, typed errors, secrets. Cargo finds `tests/<dir>/main.rs` as
//! one test target named after the directory; a test's name is its module path, e.g.
//! `errors::...`. Beside it: `limits.rs` (it lowers the response cap, which is per process) and
//! `surface.rs` (its snapshot's path is where `cargo xtask regen` writes it).

#[path = "../common/mod.rs"]
mod common;
mod environment;
mod errors;
mod request_bodies;
mod secrets;
