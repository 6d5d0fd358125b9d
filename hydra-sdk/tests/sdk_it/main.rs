//! The SDK's own tests, one module per subject, in one binary so the generated code is linked
//! once: the surface snapshot, request bodies on the wire, typed errors, secrets. Cargo finds
//! `tests/<dir>/main.rs` as one test target named after the directory; a test's name is its
//! module path, e.g. `errors::...`. `tests/limits.rs` stays a binary of its own: it lowers the
//! response cap, which is per process.

#[path = "../common/mod.rs"]
mod common;
mod errors;
mod request_bodies;
mod secrets;
mod surface;
