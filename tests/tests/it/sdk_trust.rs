//! Trusted issuers of the JWT-bearer grant (RFC 7523) through the generated admin calls against a
//! real Hydra: trust one, list, get, delete.

use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{types, ApiResult as _, Client};
use hydra_tests::sdk::{assert_not_found, hydra_error, new_signing_key_set};
use hydra_tests::TestHydra;

type TestResult = Result<(), Box<dyn Error>>;

/// The public half of a fresh RSA key, made by Hydra in a scratch set.
async fn public_key(admin: &Client, kid: &str) -> Result<types::JsonWebKey, Box<dyn Error>> {
    let set = new_signing_key_set(admin, &format!("issuer-{kid}"), "RS256", kid).await?;
    let mut key = set.keys.into_iter().next().ok_or("no key in the set")?;
    for private in [
        &mut key.d,
        &mut key.p,
        &mut key.q,
        &mut key.dp,
        &mut key.dq,
        &mut key.qi,
    ] {
        *private = None;
    }
    Ok(key)
}

#[tokio::test]
async fn trust_list_get_and_delete_an_issuer() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let jwk = public_key(&admin, "idp-1").await?;
    // Whole seconds: Hydra stores the expiry with second precision.
    let expires = UNIX_EPOCH
        + Duration::from_secs(
            (SystemTime::now() + Duration::from_secs(3600))
                .duration_since(UNIX_EPOCH)?
                .as_secs(),
        );

    let trusted = admin
        .trust_oauth2_jwt_grant_issuer()
        .body(
            types::TrustOAuth2JwtGrantIssuer::builder()
                .issuer("https://idp.example")
                .subject(Some("node-17".to_string()))
                .scope(vec!["read".to_string(), "write".to_string()])
                .expires_at(expires)
                .jwk(jwk),
        )
        .send()
        .await
        .api_response()?;
    assert_eq!(trusted.status(), StatusCode::CREATED);
    let trusted = trusted.into_inner();
    let id = trusted.id.clone().ok_or("no id")?;
    assert_eq!(trusted.issuer.as_deref(), Some("https://idp.example"));
    assert_eq!(trusted.subject.as_deref(), Some("node-17"));
    assert_eq!(trusted.scope, ["read", "write"]);
    let expected_expiry = i64::try_from(expires.duration_since(UNIX_EPOCH)?.as_secs())?;
    assert_eq!(
        trusted.expires_at.map(|t| t.timestamp()),
        Some(expected_expiry)
    );
    let key = trusted.public_key.as_ref().ok_or("no public_key")?;
    assert_eq!(key.kid.as_deref(), Some("idp-1"));
    // Hydra keeps the issuer's key in a set of its own, named after the issuer.
    assert_eq!(key.set.as_deref(), Some("https://idp.example"));

    let listed = admin
        .list_trusted_oauth2_jwt_grant_issuers()
        .send()
        .await
        .api()?;
    let ids: Vec<_> = listed.iter().filter_map(|t| t.id.as_deref()).collect();
    assert_eq!(ids, [id.as_str()]);

    let filtered = admin
        .list_trusted_oauth2_jwt_grant_issuers()
        .issuer("https://other.example")
        .send()
        .await
        .api()?;
    assert!(filtered.is_empty(), "{filtered:?}");

    let fetched = admin
        .get_trusted_oauth2_jwt_grant_issuer()
        .id(&id)
        .send()
        .await
        .api()?;
    assert_eq!(fetched.id.as_deref(), Some(id.as_str()));
    assert_eq!(fetched.issuer.as_deref(), Some("https://idp.example"));
    assert_eq!(fetched.subject.as_deref(), Some("node-17"));
    assert_eq!(fetched.scope, ["read", "write"]);

    let deleted = admin
        .delete_trusted_oauth2_jwt_grant_issuer()
        .id(&id)
        .send()
        .await
        .api_response()?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    // Hydra's spec declares `genericError` for these; Hydra sends `errorOAuth2` (fix-up
    // `generic_errors_as_error_oauth2`).
    let gone = admin
        .get_trusted_oauth2_jwt_grant_issuer()
        .id(&id)
        .send()
        .await
        .api();
    assert_not_found(gone)?;
    let listed = admin
        .list_trusted_oauth2_jwt_grant_issuers()
        .send()
        .await
        .api()?;
    assert!(listed.is_empty(), "{listed:?}");
    Ok(())
}

#[tokio::test]
async fn trusting_an_issuer_without_a_subject_is_a_typed_400() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let jwk = public_key(&admin, "idp-2").await?;

    // Neither `subject` nor `allow_any_subject`: Hydra refuses.
    let refused = admin
        .trust_oauth2_jwt_grant_issuer()
        .body(
            types::TrustOAuth2JwtGrantIssuer::builder()
                .issuer("https://idp.example")
                .scope(vec!["read".to_string()])
                .expires_at(SystemTime::now() + Duration::from_secs(3600))
                .jwk(jwk),
        )
        .send()
        .await
        .api();
    let (status, error) = hydra_error(refused)?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error.error.as_deref(), Some("missing_required_parameter"));
    assert!(
        error
            .error_description
            .as_deref()
            .is_some_and(|d| d.contains("allow_any_subject")),
        "{error:?}"
    );
    Ok(())
}
