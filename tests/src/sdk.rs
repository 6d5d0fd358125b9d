//! Small helpers the tests share for asking Hydra's admin API what it holds, through the SDK.

use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{types, ApiError, ApiResult as _, Client, HydraError, Secret};

/// The status and Hydra's error fields of a call that must fail with a typed Hydra error; any
/// other outcome is the test's error.
pub fn hydra_error<T: std::fmt::Debug>(
    result: Result<T, ApiError>,
) -> Result<(StatusCode, HydraError), Box<dyn Error>> {
    match result {
        Err(ApiError::Hydra { status, error, .. }) => Ok((status, error)),
        other => Err(format!("expected a typed Hydra error, got {other:?}").into()),
    }
}

/// Checks that a call failed with Hydra's typed 404 carrying an `error` code (the object was not
/// there, and Hydra said so in its own error shape).
pub fn assert_not_found<T: std::fmt::Debug>(
    result: Result<T, ApiError>,
) -> Result<(), Box<dyn Error>> {
    let (status, error) = hydra_error(result)?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error:?}");
    assert!(error.error.is_some(), "no `error` in {error:?}");
    Ok(())
}

/// A new JSON Web Key set `set` that Hydra makes with one signing key (`alg`, `kid`); the admin
/// API hands out its private members too.
pub async fn new_signing_key_set(
    admin: &Client,
    set: &str,
    alg: &str,
    kid: &str,
) -> Result<types::JsonWebKeySet, Box<dyn Error>> {
    Ok(admin
        .create_json_web_key_set()
        .set(set)
        .body(
            types::CreateJsonWebKeySet::builder()
                .alg(alg)
                .kid(kid)
                .use_("sig"),
        )
        .send()
        .await
        .api()?)
}

/// What Hydra's introspection (RFC 7662) says of `token`, asked through the admin API at
/// `admin_url`.
pub async fn introspect(
    admin_url: &str,
    token: &str,
) -> Result<types::IntrospectedOAuth2Token, Box<dyn Error>> {
    Ok(Client::admin(admin_url)?
        .introspect_oauth2_token()
        .body(types::IntrospectOauth2TokenBody::builder().token(Secret::from(token)))
        .send()
        .await
        .api()?)
}

/// Every OAuth2 client Hydra holds: one page of up to 500, more than any test makes.
pub async fn clients(admin_url: &str) -> Result<Vec<types::OAuth2Client>, Box<dyn Error>> {
    Ok(Client::admin(admin_url)?
        .list_oauth2_clients()
        .page_size(500)
        .send()
        .await
        .api()?)
}
