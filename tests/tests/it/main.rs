//! The integration tests against a real Ory Hydra, one module per subject, in one binary so the
//! generated SDK is linked once (cargo finds `tests/<dir>/main.rs` as one test target named after
//! the directory). A test's name is its module path, e.g. `sdk_clients::...`;
//! `cargo test -p hydra-tests --test it sdk_` runs the SDK's modules only.
//!
//! Tests that change process-wide state stay binaries of their own beside this directory:
//! `flow_default.rs` (the environment), `flow_fuzz.rs` (the SDK's response cap) and
//! `flow_status.rs` (the global metrics recorder). A new test goes in here as a module unless it
//! changes such state too.

mod flow_bss_wire;
mod flow_faults;
mod flow_hostile;
mod flow_ownership;
mod flow_read_path;
mod flow_replicas;
mod flow_secrets;
mod flow_sequence;
mod harness;
mod postgres_replicas;
mod sdk_auth_code;
mod sdk_clients;
mod sdk_device;
mod sdk_discovery;
mod sdk_dynamic;
mod sdk_jwk;
mod sdk_limits;
mod sdk_paths;
mod sdk_redirects;
mod sdk_tls;
mod sdk_tokens;
mod sdk_trust;
