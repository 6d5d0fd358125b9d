//! The three requests the flow sends when configured like OpenCHAMI's boot-script service, as
//! they reach a real Hydra (recorded by a proxy in front of it), kept as insta snapshots.
//!
//! What BSS really sent (cmd/boot-script-service/oauth.go), by version:
//!
//! - BSS never sends a client id, so every BSS start, and every retry of its registration,
//!   makes a new client in Hydra; none is ever deleted.
//! - Only BSS v1.30.0 has an authorize step. It `POST`s a form to the *admin* port's
//!   `/oauth2/auth`, with the client secret in the form and the registration access token as a
//!   bearer token; Hydra's admin port has no such route, answers 404, and BSS ignores the
//!   answer. So on the wire that step never reached Hydra's authorization endpoint.
//! - v1.30.1 registers and requests a token (no authorize step); later versions do not talk to
//!   Hydra at all.
//!
//! What the flow sends instead, and why:
//!
//! - register: a `client_id` (a random UUID fixed for the token source, or the configured one)
//!   and a `client_secret` chosen before the first attempt, so a retried POST finds its own
//!   client (409) instead of making another; the ownership marker in `metadata`; no `"state"`
//!   member (it is not client metadata; Hydra ignores it); an explicit
//!   `token_endpoint_auth_method`, as BSS had. `redirect_uris` and `response_types` only
//!   because this configuration keeps the authorize step on.
//! - authorize: `GET` on the *public* `/oauth2/auth` with the parameters in the query, as RFC
//!   6749 §4.1.1 defines it, without the secret or the registration access token (they do not
//!   belong to an authorization request and would only leak there). The `state` is random per
//!   request (RFC 6749 §10.12), not the constant `12345678910`. The redirect is read, not
//!   followed. This is not what v1.30.0 did on the wire (see above): it is the request that
//!   step was meant to be.
//! - token: no `Authorization: Bearer <registration access token>` header: Hydra ignores it at
//!   the token endpoint (RFC 7592 scopes that token to the registration endpoint), so sending it
//!   could only leak it. Form values are URL-encoded (BSS concatenated them raw).

use std::collections::BTreeMap;
use std::error::Error;

use flow::{Config, ConfigBuilder, TokenAuthMethod};
use hydra_tests::wire::{Recorded, WireRecorder};
use hydra_tests::TestHydra;
use serde_json::{json, Value};

type TestResult = Result<(), Box<dyn Error>>;

/// A snapshot-friendly view of a request: JSON bodies parsed, form bodies and queries as a map
/// plus the order their fields were sent in, and the headers that matter.
fn view(r: &Recorded) -> Result<Value, Box<dyn Error>> {
    let pairs = |text: &str| -> (BTreeMap<String, String>, Vec<String>) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect();
        let order = pairs.iter().map(|(k, _)| k.clone()).collect();
        (pairs.into_iter().collect(), order)
    };
    let mut out = json!({
        "request": format!("{} {}", r.method, r.path()),
        "content_type": r.header("content-type"),
        "accept": r.header("accept"),
        "authorization": r.header("authorization").map(|v| {
            v.split(' ').next().unwrap_or_default().to_string() + " [redacted]"
        }),
    });
    if let Some((_, query)) = r.target.split_once('?') {
        let (map, order) = pairs(query);
        out["query"] = json!(map);
        out["query_order"] = json!(order);
    }
    match r.header("content-type") {
        Some("application/json") => out["body"] = serde_json::from_slice(&r.body)?,
        Some("application/x-www-form-urlencoded") => {
            let (map, order) = pairs(std::str::from_utf8(&r.body)?);
            out["form"] = json!(map);
            out["form_order"] = json!(order);
        }
        _ => {}
    }
    Ok(out)
}

/// Configured as OpenCHAMI's BSS registers itself (flow_sequence uses it too).
pub(crate) fn bss(admin_url: &str, public_url: &str) -> ConfigBuilder {
    Config::builder(admin_url, public_url)
        .client_name("bss")
        .token_auth_method(TokenAuthMethod::ClientSecretPost)
        .registered_scope("openid email profile read")
        .scope("read")
        .redirect_uri("http://hydra:5555/callback")
        .response_types(["token".to_string()])
}

#[tokio::test]
async fn bss_requests_on_the_wire() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let public = WireRecorder::start(hydra.public_url()).await?;
    let config = bss(admin.url(), public.url()).build()?;
    let token = flow::acquire_token_with(&config).await?;
    assert_eq!(token.scope(), Some("read"));

    let admin_requests = admin.requests();
    let public_requests = public.requests();
    assert_eq!(admin_requests.len(), 1, "{admin_requests:?}");
    assert_eq!(public_requests.len(), 2, "{public_requests:?}");

    // The client id, secret and instance ids are random per token source; the time is now.
    insta::assert_json_snapshot!("register", view(&admin_requests[0])?, {
        ".body.client_id" => "[random uuid]",
        ".body.client_secret" => "[random]",
        ".body.metadata[\"hydra-rs.flow\"].created_by" => "[random uuid]",
        ".body.metadata[\"hydra-rs.flow\"].secret_set_by" => "[random uuid]",
        ".body.metadata[\"hydra-rs.flow\"].secret_set_at" => "[now]",
        ".body.metadata[\"hydra-rs.flow\"].rev" => "{[random uuid]: true}",
    });
    // The state is random per request.
    insta::assert_json_snapshot!("authorize", view(&public_requests[0])?, {
        ".query.state" => "[random]",
        ".query.client_id" => "[random uuid]",
    });
    insta::assert_json_snapshot!("token", view(&public_requests[1])?, {
        ".form.client_id" => "[random uuid]",
        ".form.client_secret" => "[random]",
    });

    // And what must never be on the wire at all.
    for r in admin_requests.iter().chain(&public_requests) {
        assert!(r.header("authorization").is_none(), "{r:?}");
    }
    Ok(())
}
