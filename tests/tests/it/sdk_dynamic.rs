//! OpenID Connect dynamic client registration (`/oauth2/register`, RFC 7591/7592) through the
//! generated public calls against a real Hydra, authenticated with the registration access token.

use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{
    bearer_auth_headers, http_client_builder, types, ApiResult as _, Client, ExposeSecret, Secret,
};
use hydra_tests::sdk::{assert_not_found, hydra_error};
use hydra_tests::TestHydra;

type TestResult = Result<(), Box<dyn Error>>;

/// A public-API client that sends `token` as its bearer token (RFC 7592 §3).
fn with_registration_token(hydra: &TestHydra, token: &Secret) -> Result<Client, Box<dyn Error>> {
    let http = http_client_builder()
        .default_headers(bearer_auth_headers(token)?)
        .build()?;
    Ok(Client::new_with_client(hydra.public_url(), http))
}

#[tokio::test]
async fn register_then_read_update_and_delete_with_the_registration_access_token() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = Client::public(hydra.public_url())?;
    let admin = Client::admin(hydra.admin_url())?;

    let registered = public
        .create_oidc_dynamic_client()
        .body(
            types::OAuth2Client::builder()
                .client_name(Some("registered".to_string()))
                .grant_types(Some(vec!["client_credentials".to_string()].into()))
                .scope(Some("read".to_string()))
                .token_endpoint_auth_method("client_secret_post"),
        )
        .send()
        .await
        .api_response()?;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let registered = registered.into_inner();
    let id = registered.client_id.clone().ok_or("no client_id")?;
    assert!(registered.client_secret.is_some(), "no client_secret");
    let token = registered
        .registration_access_token
        .clone()
        .ok_or("no registration_access_token")?;
    assert!(!token.expose_secret().is_empty());
    assert_eq!(
        registered.registration_client_uri.as_deref(),
        Some(format!("{}/oauth2/register/{id}", hydra.public_url()).as_str())
    );

    // Without the token Hydra refuses, with a typed error.
    let anonymous = public.get_oidc_dynamic_client().id(&id).send().await.api();
    let (status, error) = hydra_error(anonymous)?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error.error.is_some(), "no `error` in {error:?}");

    let fetched = with_registration_token(&hydra, &token)?
        .get_oidc_dynamic_client()
        .id(&id)
        .send()
        .await
        .api()?;
    assert_eq!(fetched.client_id.as_deref(), Some(id.as_str()));
    assert_eq!(fetched.client_name.as_deref(), Some("registered"));
    assert!(fetched.client_secret.is_none(), "a secret read back");

    let updated = with_registration_token(&hydra, &token)?
        .set_oidc_dynamic_client()
        .id(&id)
        .body(
            types::OAuth2Client::builder()
                .client_name(Some("renamed".to_string()))
                .grant_types(Some(vec!["client_credentials".to_string()].into()))
                .scope(Some("read".to_string()))
                .token_endpoint_auth_method("client_secret_post"),
        )
        .send()
        .await
        .api()?;
    assert_eq!(updated.client_name.as_deref(), Some("renamed"));
    // Hydra rotates the registration access token on every update: the new one is in the
    // response, and the old one no longer works.
    let rotated = updated
        .registration_access_token
        .clone()
        .ok_or("no registration_access_token after the update")?;
    assert_ne!(rotated.expose_secret(), token.expose_secret());
    let stale = with_registration_token(&hydra, &token)?
        .get_oidc_dynamic_client()
        .id(&id)
        .send()
        .await
        .api();
    assert_eq!(hydra_error(stale)?.0, StatusCode::UNAUTHORIZED);

    let current = with_registration_token(&hydra, &rotated)?;
    let fetched = current
        .get_oidc_dynamic_client()
        .id(&id)
        .send()
        .await
        .api()?;
    assert_eq!(fetched.client_name.as_deref(), Some("renamed"));

    let deleted = current
        .delete_oidc_dynamic_client()
        .id(&id)
        .send()
        .await
        .api_response()?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = admin.get_oauth2_client().id(&id).send().await.api();
    assert_not_found(gone)?;
    Ok(())
}

#[tokio::test]
async fn a_wrong_registration_access_token_is_a_typed_401_for_every_call() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = Client::public(hydra.public_url())?;
    let registered = public
        .create_oidc_dynamic_client()
        .body(
            types::OAuth2Client::builder()
                .grant_types(Some(vec!["client_credentials".to_string()].into()))
                .token_endpoint_auth_method("client_secret_post"),
        )
        .send()
        .await
        .api()?;
    let id = registered.client_id.ok_or("no client_id")?;
    let wrong = with_registration_token(&hydra, &Secret::from("not-the-token"))?;

    let got = wrong.get_oidc_dynamic_client().id(&id).send().await.api();
    assert_eq!(hydra_error(got)?.0, StatusCode::UNAUTHORIZED);
    let set = wrong
        .set_oidc_dynamic_client()
        .id(&id)
        .body(types::OAuth2Client::builder().client_name(Some("hijacked".to_string())))
        .send()
        .await
        .api();
    assert_eq!(hydra_error(set)?.0, StatusCode::UNAUTHORIZED);
    // deleteOidcDynamicClient is one of the operations whose error shape needed a fix-up.
    let deleted = wrong
        .delete_oidc_dynamic_client()
        .id(&id)
        .send()
        .await
        .api();
    let (status, error) = hydra_error(deleted)?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error.error_description.is_some(), "{error:?}");

    // The client is untouched.
    let admin = Client::admin(hydra.admin_url())?;
    let client = admin.get_oauth2_client().id(&id).send().await.api()?;
    assert_ne!(client.client_name.as_deref(), Some("hijacked"));
    Ok(())
}
