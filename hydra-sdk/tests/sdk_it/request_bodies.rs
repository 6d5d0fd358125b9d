//! What the generated client puts on the wire for every operation that sends a body (18 in
//! Hydra v2.3.0), captured on a listener on 127.0.0.1 and kept as insta snapshots.
//!
//! Values are chosen by the test and appear literally, except secrets generated per run, which
//! are checked against what was sent and then redacted.

use std::collections::BTreeSet;

use crate::common::{capture_one, Captured, NO_CONTENT};
use hydra_sdk::{types, Client};
use serde_json::{json, Value};

/// Sends one request with `$client` bound to a client for a fresh capture listener; yields what
/// was captured.
macro_rules! wire {
    ($client:ident => $call:expr) => {{
        let (url, task) = capture_one(NO_CONTENT).await;
        let $client = Client::admin(&url).expect("client");
        // The canned 204 is not what these operations answer; only the request matters here.
        let _ = $call.send().await;
        task.await
            .expect("listener task")
            .expect("a request was captured")
    }};
}

fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test body matches the generated type")
}

/// A snapshot-friendly view: JSON bodies parsed (so redactions apply), form bodies as sent.
fn view(c: &Captured) -> Value {
    let body = if c.content_type.as_deref() == Some("application/json") {
        serde_json::from_str(&c.body).expect("JSON body")
    } else {
        Value::String(c.body.clone())
    };
    json!({
        "request": format!("{} {}", c.method, c.target),
        "content_type": c.content_type,
        "body": body,
    })
}

fn random_secret() -> String {
    format!("secret-{}", uuid::Uuid::new_v4())
}

fn signing_key() -> Value {
    // A public EC key: what a caller would register to trust an issuer.
    json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "issuer-key-1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    })
}

/// Every operation the test below covers; checked against the SDK surface so a new operation
/// with a body cannot go unsnapshotted.
const COVERED: &[&str] = &[
    "createOAuth2Client",
    "setOAuth2Client",
    "patchOAuth2Client",
    "setOAuth2ClientLifespans",
    "createJsonWebKeySet",
    "setJsonWebKeySet",
    "setJsonWebKey",
    "acceptOAuth2ConsentRequest",
    "rejectOAuth2ConsentRequest",
    "acceptOAuth2LoginRequest",
    "rejectOAuth2LoginRequest",
    "introspectOAuth2Token",
    "trustOAuth2JwtGrantIssuer",
    "createVerifiableCredential",
    "createOidcDynamicClient",
    "setOidcDynamicClient",
    "revokeOAuth2Token",
    "oauth2TokenExchange",
    "oAuth2DeviceFlow",
    "acceptUserCodeRequest",
];

#[test]
fn every_operation_with_a_body_is_covered() {
    let surface = include_str!(concat!(env!("OUT_DIR"), "/surface.txt"));
    let with_body: BTreeSet<&str> = surface
        .lines()
        .filter(|line| !line.contains(" body=- "))
        .filter_map(|line| line.split(' ').next())
        .collect();
    let covered: BTreeSet<&str> = COVERED.iter().copied().collect();
    assert_eq!(with_body, covered);
    assert_eq!(covered.len(), 20);
}

#[tokio::test]
async fn oauth2_client_bodies() {
    let secret = random_secret();
    let sent = wire!(c => c.create_oauth2_client().body(body::<types::OAuth2Client>(json!({
        "client_name": "bss",
        "client_secret": secret,
        "grant_types": ["client_credentials"],
        "response_types": ["token"],
        "scope": "openid email profile read",
        "redirect_uris": ["http://hydra:5555/callback"],
        "token_endpoint_auth_method": "client_secret_post",
    }))));
    assert!(
        sent.body.contains(&secret),
        "the chosen secret is sent as is"
    );
    insta::assert_json_snapshot!("createOAuth2Client", view(&sent), {".body.client_secret" => "[random]"});

    let secret = random_secret();
    let sent = wire!(c => c.set_oauth2_client().id("bss").body(body::<types::OAuth2Client>(json!({
        "client_id": "bss",
        "client_name": "bss",
        "client_secret": secret,
        "grant_types": ["client_credentials"],
        "scope": "read",
        "token_endpoint_auth_method": "client_secret_basic",
        "access_token_strategy": "jwt",
    }))));
    assert!(sent.body.contains(&secret));
    insta::assert_json_snapshot!("setOAuth2Client", view(&sent), {".body.client_secret" => "[random]"});

    let sent = wire!(c => c.patch_oauth2_client().id("bss").body(body::<types::JsonPatchDocument>(json!([
        { "op": "replace", "path": "/client_name", "value": "bss-renamed" },
        { "op": "add", "path": "/redirect_uris/-", "value": "http://127.0.0.1:5555/callback" },
    ]))));
    insta::assert_json_snapshot!("patchOAuth2Client", view(&sent));

    let sent = wire!(c => c.set_oauth2_client_lifespans().id("bss").body(body::<types::OAuth2ClientTokenLifespans>(json!({
        "client_credentials_grant_access_token_lifespan": "1h",
    }))));
    insta::assert_json_snapshot!("setOAuth2ClientLifespans", view(&sent));

    let sent = wire!(c => c.create_oidc_dynamic_client().body(body::<types::OAuth2Client>(json!({
        "client_name": "bss",
        "grant_types": ["client_credentials"],
        "scope": "read",
        "token_endpoint_auth_method": "client_secret_post",
    }))));
    insta::assert_json_snapshot!("createOidcDynamicClient", view(&sent));

    let sent = wire!(c => c.set_oidc_dynamic_client().id("bss").body(body::<types::OAuth2Client>(json!({
        "client_name": "bss-renamed",
        "grant_types": ["client_credentials"],
        "scope": "read",
    }))));
    insta::assert_json_snapshot!("setOidcDynamicClient", view(&sent));
}

#[tokio::test]
async fn json_web_key_bodies() {
    let sent = wire!(c => c.create_json_web_key_set().set("bss-keys").body(body::<types::CreateJsonWebKeySet>(json!({
        "alg": "ES256", "kid": "bss-key-1", "use": "sig",
    }))));
    insta::assert_json_snapshot!("createJsonWebKeySet", view(&sent));

    let sent = wire!(c => c.set_json_web_key_set().set("bss-keys").body(body::<types::JsonWebKeySet>(json!({
        "keys": [signing_key()],
    }))));
    insta::assert_json_snapshot!("setJsonWebKeySet", view(&sent));

    let sent = wire!(c => c.set_json_web_key().set("bss-keys").kid("issuer-key-1").body(body::<types::JsonWebKey>(signing_key())));
    insta::assert_json_snapshot!("setJsonWebKey", view(&sent));

    let sent = wire!(c => c.trust_oauth2_jwt_grant_issuer().body(body::<types::TrustOAuth2JwtGrantIssuer>(json!({
        "issuer": "https://issuer.example.org",
        "subject": "bss",
        "scope": ["read"],
        "jwk": signing_key(),
        "expires_at": "2030-01-01T00:00:00Z",
    }))));
    insta::assert_json_snapshot!("trustOAuth2JwtGrantIssuer", view(&sent));
}

#[tokio::test]
async fn login_and_consent_bodies() {
    let sent = wire!(c => c.accept_oauth2_login_request().login_challenge("login-challenge-1").body(body::<types::AcceptOAuth2LoginRequest>(json!({
        "subject": "alice", "remember": false,
    }))));
    insta::assert_json_snapshot!("acceptOAuth2LoginRequest", view(&sent));

    let rejection = json!({
        "error": "access_denied",
        "error_description": "The resource owner denied the request",
        "status_code": 403,
    });
    let sent = wire!(c => c.reject_oauth2_login_request().login_challenge("login-challenge-1").body(body::<types::RejectOAuth2Request>(rejection.clone())));
    insta::assert_json_snapshot!("rejectOAuth2LoginRequest", view(&sent));

    let sent = wire!(c => c.accept_oauth2_consent_request().consent_challenge("consent-challenge-1").body(body::<types::AcceptOAuth2ConsentRequest>(json!({
        "grant_scope": ["openid", "read"],
        "grant_access_token_audience": ["smd"],
        "remember": false,
    }))));
    insta::assert_json_snapshot!("acceptOAuth2ConsentRequest", view(&sent));

    let sent = wire!(c => c.reject_oauth2_consent_request().consent_challenge("consent-challenge-1").body(body::<types::RejectOAuth2Request>(rejection.clone())));
    insta::assert_json_snapshot!("rejectOAuth2ConsentRequest", view(&sent));
}

#[tokio::test]
async fn token_bodies() {
    let sent = wire!(c => c.oauth2_token_exchange().body(body::<types::Oauth2TokenExchangeBody>(json!({
        "grant_type": "client_credentials",
        "client_id": "bss",
        "client_secret": "test-chosen-secret",
        "scope": "read",
        "audience": "smd",
    }))));
    insta::assert_json_snapshot!("oauth2TokenExchange", view(&sent));

    let sent = wire!(c => c.introspect_oauth2_token().body(body::<types::IntrospectOauth2TokenBody>(json!({
        "token": "test-chosen-access-token",
        "scope": "read",
    }))));
    insta::assert_json_snapshot!("introspectOAuth2Token", view(&sent));

    let sent = wire!(c => c.revoke_oauth2_token().body(body::<types::RevokeOauth2TokenBody>(json!({
        "token": "test-chosen-access-token",
        "client_id": "bss",
        "client_secret": "test-chosen-secret",
    }))));
    insta::assert_json_snapshot!("revokeOAuth2Token", view(&sent));

    let sent = wire!(c => c.create_verifiable_credential().body(body::<types::CreateVerifiableCredentialRequestBody>(json!({
        "format": "jwt_vc_json",
        "types": ["VerifiableCredential", "UserInfoCredential"],
        "proof": { "proof_type": "jwt", "jwt": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln" },
    }))));
    insta::assert_json_snapshot!("createVerifiableCredential", view(&sent));
}

#[tokio::test]
async fn device_flow_bodies() {
    // RFC 8628 §3.1: the device authorization request is a form, like the token request.
    let sent = wire!(c => c.oauth2_device_flow().body(body::<types::Oauth2DeviceFlowBody>(json!({
        "client_id": "bss-console",
        "scope": "openid read",
    }))));
    insta::assert_json_snapshot!("oAuth2DeviceFlow", view(&sent));

    let sent = wire!(c => c.accept_user_code_request().device_challenge("device-challenge-1").body(body::<types::AcceptDeviceUserCodeRequest>(json!({
        "user_code": "ABCDEFGH",
    }))));
    insta::assert_json_snapshot!("acceptUserCodeRequest", view(&sent));

    // §3.4: the device access token request.
    let sent = wire!(c => c.oauth2_token_exchange().body(body::<types::Oauth2TokenExchangeBody>(json!({
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": "bss-console",
        "device_code": "test-chosen-device-code",
    }))));
    insta::assert_json_snapshot!("oauth2TokenExchange_device_code", view(&sent));
}
