//! Client-credentials tokens through the generated calls against a real Hydra: issue
//! (`client_secret_post` and `client_secret_basic`), introspect, revoke, delete per client.

use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{
    basic_auth_headers, http_client_builder, types, ApiError, ApiResult as _, Client, ExposeSecret,
    Secret,
};
use hydra_tests::sdk::{hydra_error, introspect};
use hydra_tests::TestHydra;

type TestResult = Result<(), Box<dyn Error>>;

/// Creates a client-credentials client; returns its id and secret.
async fn create_client(
    admin: &Client,
    auth_method: &str,
) -> Result<(String, Secret), Box<dyn Error>> {
    let created = admin
        .create_oauth2_client()
        .body(
            types::OAuth2Client::builder()
                .grant_types(Some(vec!["client_credentials".to_string()].into()))
                .scope(Some("read write".to_string()))
                .token_endpoint_auth_method(auth_method),
        )
        .send()
        .await
        .api()?;
    Ok((
        created.client_id.ok_or("no client_id")?,
        created.client_secret.ok_or("no client_secret")?,
    ))
}

/// A client-credentials token with `client_secret_post`.
async fn token_post(
    public: &Client,
    id: &str,
    secret: &Secret,
    scope: &str,
) -> Result<types::OAuth2TokenExchange, ApiError> {
    public
        .oauth2_token_exchange()
        .body(
            types::Oauth2TokenExchangeBody::builder()
                .grant_type("client_credentials")
                .client_id(Some(id.to_string()))
                .client_secret(Some(secret.clone()))
                .scope(Some(scope.to_string())),
        )
        .send()
        .await
        .api()
}

#[tokio::test]
async fn client_secret_post_token_is_introspected_then_revoked() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let public = Client::public(hydra.public_url())?;
    let (id, secret) = create_client(&admin, "client_secret_post").await?;

    let token = token_post(&public, &id, &secret, "read").await?;
    assert_eq!(token.token_type.as_deref(), Some("bearer"));
    assert_eq!(token.scope.as_deref(), Some("read"));
    assert!(token.refresh_token.is_none() && token.id_token.is_none());
    let expires_in = token.expires_in.ok_or("no expires_in")?;
    assert!(
        (3590..=3600).contains(&expires_in),
        "expires_in {expires_in}"
    );
    let access_token = token.access_token.ok_or("no access_token")?;

    let introspected = introspect(hydra.admin_url(), access_token.expose_secret()).await?;
    assert!(introspected.active);
    assert_eq!(introspected.client_id.as_deref(), Some(id.as_str()));
    assert_eq!(introspected.scope.as_deref(), Some("read"));
    assert_eq!(introspected.token_use.as_deref(), Some("access_token"));
    // Client credentials: the client is its own subject.
    assert_eq!(introspected.sub.as_deref(), Some(id.as_str()));
    assert_eq!(introspected.iss.as_deref(), Some(hydra.issuer()));

    let revoked = public
        .revoke_oauth2_token()
        .body(
            types::RevokeOauth2TokenBody::builder()
                .token(access_token.clone())
                .client_id(Some(id.clone()))
                .client_secret(Some(secret.clone())),
        )
        .send()
        .await
        .api_response()?;
    assert_eq!(revoked.status(), StatusCode::OK);
    let introspected = introspect(hydra.admin_url(), access_token.expose_secret()).await?;
    assert!(!introspected.active, "a revoked token is still active");
    assert!(introspected.client_id.is_none());
    Ok(())
}

#[tokio::test]
async fn deleting_a_clients_tokens_deactivates_them() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let public = Client::public(hydra.public_url())?;
    let (id, secret) = create_client(&admin, "client_secret_post").await?;
    let (other_id, other_secret) = create_client(&admin, "client_secret_post").await?;

    let token = token_post(&public, &id, &secret, "read write")
        .await?
        .access_token
        .ok_or("no access_token")?;
    let other = token_post(&public, &other_id, &other_secret, "read")
        .await?
        .access_token
        .ok_or("no access_token")?;
    assert!(
        introspect(hydra.admin_url(), token.expose_secret())
            .await?
            .active
    );

    let deleted = admin
        .delete_oauth2_token()
        .client_id(&id)
        .send()
        .await
        .api_response()?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        !introspect(hydra.admin_url(), token.expose_secret())
            .await?
            .active,
        "the deleted client's token is still active"
    );
    // Only that client's tokens go.
    let other = introspect(hydra.admin_url(), other.expose_secret()).await?;
    assert!(other.active, "another client's token was deleted too");
    assert_eq!(other.client_id.as_deref(), Some(other_id.as_str()));
    Ok(())
}

#[tokio::test]
async fn client_secret_basic_through_default_headers() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let (id, secret) = create_client(&admin, "client_secret_basic").await?;
    let basic = |secret: &Secret| -> Result<Client, Box<dyn Error>> {
        let http = http_client_builder()
            .default_headers(basic_auth_headers(&id, secret)?)
            .build()?;
        Ok(Client::new_with_client(hydra.public_url(), http))
    };
    let form = || {
        types::Oauth2TokenExchangeBody::builder()
            .grant_type("client_credentials")
            .scope(Some("write".to_string()))
    };

    let token = basic(&secret)?
        .oauth2_token_exchange()
        .body(form())
        .send()
        .await
        .api()?;
    assert_eq!(token.scope.as_deref(), Some("write"));
    let access_token = token.access_token.ok_or("no access_token")?;
    let introspected = introspect(hydra.admin_url(), access_token.expose_secret()).await?;
    assert!(introspected.active);
    assert_eq!(introspected.client_id.as_deref(), Some(id.as_str()));

    // A wrong secret is Hydra's typed `invalid_client`.
    let wrong = Secret::from(format!("{}x", secret.expose_secret()));
    let refused = basic(&wrong)?
        .oauth2_token_exchange()
        .body(form())
        .send()
        .await
        .api();
    let (status, error) = hydra_error(refused)?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error.error.as_deref(), Some("invalid_client"));
    assert!(error.error_description.is_some(), "{error:?}");

    // The client is registered for basic: sending the secret in the form instead is refused.
    let public = Client::public(hydra.public_url())?;
    let refused = token_post(&public, &id, &secret, "write").await;
    let (status, error) = hydra_error(refused)?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error.error.as_deref(), Some("invalid_client"));
    Ok(())
}
