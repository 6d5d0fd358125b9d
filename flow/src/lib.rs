//! OAuth2 client-credentials tokens from Ory Hydra: register -> authorize -> token.
//!
//! The sequence is built in a later step; this crate exists so the workspace has its final shape.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
