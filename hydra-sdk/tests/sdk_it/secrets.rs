//! No generated type, builder, response wrapper or error prints a secret it holds.

use crate::common;

use std::collections::BTreeSet;

use hydra_sdk::{types, ApiError, Client, ExposeSecret};
use serde_json::{json, Value};

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/hydra.rs"));
const SECRET: &str = "SECRET-must-not-print-7f3a";

/// Names of generated structs (in `types` and `types::builder`) with a `crate::Secret` field.
fn structs_holding_secrets() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for chunk in GENERATED.split("pub struct ").skip(1) {
        let name: String = chunk
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = chunk.find("\n    }").unwrap_or(chunk.len());
        if chunk[..end].contains("crate::Secret") {
            names.insert(name);
        }
    }
    names
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test JSON matches the generated type")
}

fn jwk_with_private_members() -> Value {
    json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1", "n": "AQAB", "e": "AQAB",
        "d": SECRET, "p": SECRET, "q": SECRET, "dp": SECRET, "dq": SECRET, "qi": SECRET, "k": SECRET,
    })
}

fn assert_redacted(name: &str, debug: String) {
    assert!(!debug.contains(SECRET), "{name} prints a secret: {debug}");
    assert!(
        debug.contains("[REDACTED]"),
        "{name} shows no redaction marker: {debug}"
    );
}

#[test]
fn every_generated_type_holding_a_secret_redacts_it() {
    let client: types::OAuth2Client = from_json(json!({
        "client_id": "bss", "client_secret": SECRET, "registration_access_token": SECRET,
    }));
    let token: types::OAuth2TokenExchange = from_json(json!({
        "access_token": SECRET, "refresh_token": SECRET, "id_token": SECRET,
        "expires_in": 3600, "token_type": "bearer",
    }));
    let token_form: types::Oauth2TokenExchangeBody = from_json(json!({
        "grant_type": "client_credentials", "client_id": "bss", "client_secret": SECRET,
        "code": SECRET, "code_verifier": SECRET, "refresh_token": SECRET, "device_code": SECRET,
    }));
    let device: types::DeviceAuthorization = from_json(json!({
        "device_code": SECRET, "user_code": "ABCDEFGH", "expires_in": 600, "interval": 5,
        "verification_uri": "http://127.0.0.1:4444/oauth2/device/verify",
    }));
    let device_form: types::Oauth2DeviceFlowBody =
        from_json(json!({ "client_id": "bss", "client_secret": SECRET }));
    let introspect_form: types::IntrospectOauth2TokenBody = from_json(json!({ "token": SECRET }));
    let revoke_form: types::RevokeOauth2TokenBody =
        from_json(json!({ "token": SECRET, "client_secret": SECRET }));
    let jwk: types::JsonWebKey = from_json(jwk_with_private_members());
    let jwks: types::JsonWebKeySet = from_json(json!({ "keys": [jwk_with_private_members()] }));

    // The test must see the secrets where they belong, or it proves nothing.
    assert_eq!(
        client.client_secret.as_ref().map(|s| s.expose_secret()),
        Some(SECRET)
    );
    assert_eq!(jwk.d.as_ref().map(|s| s.expose_secret()), Some(SECRET));

    let checked: Vec<(&str, String)> = vec![
        ("OAuth2Client", format!("{client:?}")),
        ("OAuth2TokenExchange", format!("{token:?}")),
        ("Oauth2TokenExchangeBody", format!("{token_form:?}")),
        ("IntrospectOauth2TokenBody", format!("{introspect_form:?}")),
        ("RevokeOauth2TokenBody", format!("{revoke_form:?}")),
        ("JsonWebKey", format!("{jwk:?}")),
        ("JsonWebKeySet", format!("{jwks:?}")),
        ("DeviceAuthorization", format!("{device:?}")),
        ("Oauth2DeviceFlowBody", format!("{device_form:?}")),
        (
            "builder::DeviceAuthorization",
            format!("{:?}", types::builder::DeviceAuthorization::from(device)),
        ),
        (
            "builder::Oauth2DeviceFlowBody",
            format!(
                "{:?}",
                types::builder::Oauth2DeviceFlowBody::from(device_form)
            ),
        ),
        (
            "builder::OAuth2Client",
            format!("{:?}", types::builder::OAuth2Client::from(client.clone())),
        ),
        (
            "builder::OAuth2TokenExchange",
            format!(
                "{:?}",
                types::builder::OAuth2TokenExchange::from(token.clone())
            ),
        ),
        (
            "builder::Oauth2TokenExchangeBody",
            format!(
                "{:?}",
                types::builder::Oauth2TokenExchangeBody::from(token_form.clone())
            ),
        ),
        (
            "builder::IntrospectOauth2TokenBody",
            format!(
                "{:?}",
                types::builder::IntrospectOauth2TokenBody::from(introspect_form)
            ),
        ),
        (
            "builder::RevokeOauth2TokenBody",
            format!(
                "{:?}",
                types::builder::RevokeOauth2TokenBody::from(revoke_form)
            ),
        ),
        (
            "builder::JsonWebKey",
            format!("{:?}", types::builder::JsonWebKey::from(jwk.clone())),
        ),
    ];
    for (name, debug) in &checked {
        assert_redacted(name, debug.clone());
    }

    // Every struct the generator gave a secret field is among those checked above.
    let covered: BTreeSet<String> = checked
        .iter()
        .map(|(name, _)| name.trim_start_matches("builder::").to_string())
        .collect();
    let holding = structs_holding_secrets();
    assert!(!holding.is_empty());
    let missing: Vec<_> = holding.difference(&covered).collect();
    assert!(missing.is_empty(), "not checked for redaction: {missing:?}");
}

/// Stand-in for Hydra: a token response whose body does not decode. progenitor's error for a
/// body it cannot decode keeps the body and prints it; no such body may reach progenitor, so
/// neither the error `send()` returns (what `unwrap`, `?` into `Box<dyn Error>` or a log line
/// print) nor the SDK's shows the token.
#[tokio::test]
async fn stand_in_undecodable_token_response_does_not_leak_the_token() {
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n\
             {{\"access_token\":\"{SECRET}\",\"expires_in\":\"soon\"}}"
        )
        .into_boxed_str(),
    );
    let (url, task) = common::capture_one(response).await;
    let public = Client::public(&url).expect("client");
    let result = public
        .oauth2_token_exchange()
        .body(from_json::<types::Oauth2TokenExchangeBody>(
            json!({ "grant_type": "client_credentials" }),
        ))
        .send()
        .await;
    let _ = task.await;
    let raw = result.expect_err("the body does not decode");
    let boxed: Box<dyn std::error::Error> = Box::new(raw);
    let mut shown = vec![boxed.to_string(), format!("{boxed:?}")];
    let mut source = boxed.source();
    while let Some(e) = source {
        shown.extend([e.to_string(), format!("{e:?}")]);
        source = e.source();
    }
    for text in &shown {
        assert!(!text.contains(SECRET), "{text}");
    }
    let raw = *boxed
        .downcast::<hydra_sdk::Error<types::ErrorOAuth2>>()
        .expect("the generated call's error");
    let err = ApiError::from(raw);
    let ApiError::InvalidBody { reason, len } = &err else {
        panic!("expected InvalidBody, got {err:?}");
    };
    assert!(
        reason.contains("expires_in") || reason.contains("soon"),
        "{reason}"
    );
    assert_eq!(*len, SECRET.len() + 39, "{err:?}");
    assert!(!format!("{err:?}").contains(SECRET));
    assert!(!err.to_string().contains(SECRET));
}
