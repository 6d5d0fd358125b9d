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

    let public = Client::public("http://127.0.0.1:9").expect("client");
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
        (
            "OAuth2RedirectTo",
            format!(
                "{:?}",
                from_json::<types::OAuth2RedirectTo>(json!({ "redirect_to": SECRET }))
            ),
        ),
        (
            "ErrorOAuth2OrRedirectTo",
            format!(
                "{:?}",
                from_json::<types::ErrorOAuth2OrRedirectTo>(json!({ "redirect_to": SECRET }))
            ),
        ),
        (
            "OAuth2LoginRequest",
            format!(
                "{:?}",
                from_json::<types::OAuth2LoginRequest>(json!({
                    "challenge": "c", "skip": false, "subject": "s", "client": {},
                    "request_url": SECRET
                }))
            ),
        ),
        (
            "OAuth2ConsentRequest",
            format!(
                "{:?}",
                from_json::<types::OAuth2ConsentRequest>(
                    json!({ "challenge": "c", "request_url": SECRET })
                )
            ),
        ),
        (
            "OAuth2LogoutRequest",
            format!(
                "{:?}",
                from_json::<types::OAuth2LogoutRequest>(json!({ "request_url": SECRET }))
            ),
        ),
        (
            "DeviceUserAuthRequest",
            format!(
                "{:?}",
                from_json::<types::DeviceUserAuthRequest>(
                    json!({ "challenge": "c", "request_url": SECRET })
                )
            ),
        ),
        (
            "VerifyUserCodeRequest",
            format!(
                "{:?}",
                from_json::<types::VerifyUserCodeRequest>(json!({ "request_url": SECRET }))
            ),
        ),
        // Calls that send a credential in their query.
        (
            "Oauth2Authorize",
            format!(
                "{:?}",
                public
                    .oauth2_authorize()
                    .id_token_hint(SECRET)
                    .login_verifier(SECRET)
                    .consent_verifier(SECRET)
            ),
        ),
        (
            "PerformOauth2DeviceVerificationFlow",
            format!(
                "{:?}",
                public
                    .perform_oauth2_device_verification_flow()
                    .device_verifier(SECRET)
            ),
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

/// Every text an error shows: `Display` and `Debug` of it and of each of its causes.
fn shown(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut shown = vec![error.to_string(), format!("{error:?}")];
    let mut source = error.source();
    while let Some(e) = source {
        shown.extend([e.to_string(), format!("{e:?}")]);
        source = e.source();
    }
    shown
}

/// An authorize request the way a login UI resumes one: an ID token and a verifier in its query.
fn resumed_authorize(public: &Client) -> hydra_sdk::builder::Oauth2Authorize<'_> {
    public
        .oauth2_authorize()
        .client_id("c")
        .response_type("code")
        .id_token_hint(format!("eyJhbGciOiJSUzI1NiJ9.{SECRET}.sig"))
        .login_verifier(format!("verifier-{SECRET}"))
}

/// Stand-in for Hydra: a `303` the authorize endpoint does not list, with a token in its
/// `Location` and a session in its cookie. progenitor's error for it prints the response's
/// `Debug`, headers and URL whole; the README says the error `send()` returns is safe to print.
#[tokio::test]
async fn stand_in_an_unexpected_redirect_s_error_does_not_show_its_location_or_cookie() {
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 303 See Other\r\nlocation: http://app.example/cb#access_token={SECRET}\r\n\
             set-cookie: oauth2_authentication_session={SECRET}\r\ncontent-length: 0\r\n\
             connection: close\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let (url, task) = common::capture_one(response).await;
    let public = Client::public(&url).expect("client");
    let builder = resumed_authorize(&public);
    assert!(!format!("{builder:?}").contains(SECRET), "{builder:?}");
    let Err(raw) = builder.send().await else {
        panic!("a 303 is not a success");
    };
    let captured = task.await.ok().flatten().expect("the request arrived");
    // What Hydra needs still goes: the ID token and the verifier, in the query.
    assert!(captured.target.contains(SECRET), "{captured:?}");
    // Its body type (`ByteStream`) has no `Debug`, so neither has the error: `Display` is what
    // prints.
    assert!(!raw.to_string().contains(SECRET), "{raw}");
    let err = ApiError::from(raw);
    for text in shown(&err) {
        assert!(!text.contains(SECRET), "{text}");
    }
}

/// No Hydra at all: the transport error names the URL, whose query held the ID token and the
/// verifier.
#[tokio::test]
async fn a_transport_error_does_not_show_the_credentials_in_its_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    drop(listener);
    let public = Client::public(&url).expect("client");
    let Err(raw) = resumed_authorize(&public).send().await else {
        panic!("nothing listens");
    };
    let raw_text = raw.to_string();
    assert!(raw_text.contains("login_verifier"), "{raw_text}");
    assert!(!raw_text.contains(SECRET), "{raw_text}");
    let err = ApiError::from(raw);
    for text in shown(&err) {
        assert!(!text.contains(SECRET), "{text}");
    }
}
