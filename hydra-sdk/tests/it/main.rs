//! The SDK's own tests, one module per subject, in one binary so the generated code is linked
//! once: the surface snapshot, request bodies on the wire, typed errors, secrets. A test's name is
//! its module path, e.g. `errors::...`. `limits` is a binary of its own: it lowers the response
//! cap, which is per process.

#[path = "../common/mod.rs"]
mod common;
mod errors;
mod request_bodies;
mod secrets;
mod surface;
