//! A whole authorization-code flow (RFC 6749 §4.1) against a real Hydra, driven only by generated
//! calls: the test plays the browser (reads each `Location`, carries Hydra's cookies) and the
//! login and consent app (accepts both requests through the admin API).

use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{builder, types, ApiError, ApiResult as _, Client, ExposeSecret, Secret};
use hydra_tests::browser::{accept_consent, accept_login, query, Browser};
use hydra_tests::sdk::introspect;
use hydra_tests::TestHydra;
use url::Url;

type TestResult = Result<(), Box<dyn Error>>;

/// Nothing listens there: the test reads the final redirect instead of following it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const STATE: &str = "state-of-the-test-0123";
const SUBJECT: &str = "user-42";

/// The generated authorize call for an `/oauth2/auth` URL that Hydra handed out (the
/// `redirect_to` of an accepted login or consent request), parameter by parameter. A parameter
/// the generated call cannot carry is an error, not silently dropped.
fn authorize_request<'a>(
    client: &'a Client,
    url: &Url,
) -> Result<builder::Oauth2Authorize<'a>, String> {
    let mut request = client.oauth2_authorize();
    for (name, value) in url.query_pairs() {
        let value = value.into_owned();
        request = match name.as_ref() {
            "client_id" => request.client_id(value),
            "response_type" => request.response_type(value),
            "redirect_uri" => request.redirect_uri(value),
            "scope" => request.scope(value),
            "state" => request.state(value),
            "nonce" => request.nonce(value),
            "audience" => request.audience(value),
            "login_verifier" => request.login_verifier(value),
            "consent_verifier" => request.consent_verifier(value),
            other => return Err(format!("the authorize call cannot carry `{other}` ({url})")),
        };
    }
    Ok(request)
}

/// Asserts that `url` is `base` with a query, i.e. Hydra sent the browser where it should.
fn assert_points_at(url: &Url, base: &str) {
    let without_query = url.as_str().split('?').next().unwrap_or_default();
    assert_eq!(
        without_query,
        base,
        "redirected to {}",
        hydra_sdk::redact_query(url.as_str())
    );
}

#[tokio::test]
async fn authorization_code_flow_through_generated_calls_only() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let public_url = hydra.public_url();
    let authorize_url = format!("{public_url}/oauth2/auth");

    let created = admin
        .create_oauth2_client()
        .body(
            types::OAuth2Client::builder()
                .grant_types(Some(
                    vec![
                        "authorization_code".to_string(),
                        "refresh_token".to_string(),
                    ]
                    .into(),
                ))
                .response_types(Some(vec!["code".to_string()].into()))
                .redirect_uris(Some(vec![REDIRECT_URI.to_string()].into()))
                .scope(Some("openid offline_access read".to_string()))
                .token_endpoint_auth_method("client_secret_post"),
        )
        .send()
        .await
        .api()?;
    let client_id = created.client_id.ok_or("no client_id")?;
    let client_secret = created.client_secret.ok_or("no client_secret")?;
    let mut browser = Browser::default();

    // 1. The authorization request: Hydra sends the browser to the login app.
    let to_login = browser.redirect(
        StatusCode::FOUND,
        browser
            .client(public_url)?
            .oauth2_authorize()
            .client_id(&client_id)
            .response_type("code")
            .redirect_uri(REDIRECT_URI)
            .scope("openid read")
            .state(STATE)
            .send()
            .await,
    )?;
    assert_points_at(&to_login, hydra.login_url());
    let login_challenge = query(&to_login, "login_challenge")?;
    assert!(
        browser.has_cookies(),
        "Hydra set no CSRF cookie on the authorization request"
    );

    // 2.–3. The login app reads the request and accepts it.
    let login = admin
        .get_oauth2_login_request()
        .login_challenge(&login_challenge)
        .send()
        .await
        .api()?;
    assert_eq!(login.challenge, login_challenge);
    assert_eq!(login.client.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(
        login.requested_scope.as_deref().map(Vec::as_slice),
        Some(&["openid".to_string(), "read".to_string()][..])
    );
    assert!(
        !login.skip,
        "a fresh browser has no session to skip login with"
    );
    assert!(
        login.request_url.expose_secret().contains(STATE),
        "request_url {:?}",
        hydra_sdk::redact_query(login.request_url.expose_secret())
    );
    let back_from_login = accept_login(&admin, &login_challenge, SUBJECT).await?;
    assert_points_at(&back_from_login, &authorize_url);
    query(&back_from_login, "login_verifier")?;

    // 4. The browser follows `redirect_to`: Hydra sends it on to the consent app.
    let to_consent = browser.redirect(
        StatusCode::FOUND,
        authorize_request(&browser.client(public_url)?, &back_from_login)?
            .send()
            .await,
    )?;
    assert_points_at(&to_consent, hydra.consent_url());
    let consent_challenge = query(&to_consent, "consent_challenge")?;

    // 5.–6. The consent app reads the request and grants the scopes.
    let consent = admin
        .get_oauth2_consent_request()
        .consent_challenge(&consent_challenge)
        .send()
        .await
        .api()?;
    assert_eq!(consent.challenge, consent_challenge);
    assert_eq!(consent.subject.as_deref(), Some(SUBJECT));
    assert_eq!(
        consent.client.as_ref().and_then(|c| c.client_id.as_deref()),
        Some(client_id.as_str())
    );
    assert_eq!(
        consent.requested_scope.as_deref().map(Vec::as_slice),
        Some(&["openid".to_string(), "read".to_string()][..])
    );
    let back_from_consent = accept_consent(&admin, &consent_challenge, &["openid", "read"]).await?;
    assert_points_at(&back_from_consent, &authorize_url);
    query(&back_from_consent, "consent_verifier")?;

    // 7. Following it ends at the client's redirect URI with the code; Hydra (fosite) answers
    // this last one with 303 See Other.
    let callback = browser.redirect(
        StatusCode::SEE_OTHER,
        authorize_request(&browser.client(public_url)?, &back_from_consent)?
            .send()
            .await,
    )?;
    assert_points_at(&callback, REDIRECT_URI);
    assert_eq!(query(&callback, "state")?, STATE);
    assert_eq!(query(&callback, "scope")?, "openid read");
    assert!(
        query(&callback, "error").is_err(),
        "Hydra redirected with an error: {:?}",
        query(&callback, "error_description")
    );
    let code = Secret::from(query(&callback, "code")?);

    // 8. The client exchanges the code.
    let public = Client::public(public_url)?;
    let token = public
        .oauth2_token_exchange()
        .body(
            types::Oauth2TokenExchangeBody::builder()
                .grant_type("authorization_code")
                .code(Some(code.clone()))
                .redirect_uri(Some(REDIRECT_URI.to_string()))
                .client_id(Some(client_id.clone()))
                .client_secret(Some(client_secret.clone())),
        )
        .send()
        .await
        .api()?;
    assert_eq!(token.token_type.as_deref(), Some("bearer"));
    assert_eq!(token.scope.as_deref(), Some("openid read"));
    // `openid` was granted: an ID token (a JWT) comes with the access token.
    let id_token = token.id_token.as_ref().ok_or("no id_token")?;
    assert_eq!(id_token.expose_secret().split('.').count(), 3);
    // `offline_access` was not requested: no refresh token.
    assert!(token.refresh_token.is_none());
    let access_token = token.access_token.ok_or("no access_token")?;

    // 9. The access token is active, for the user who logged in.
    let introspected = introspect(hydra.admin_url(), access_token.expose_secret()).await?;
    assert!(introspected.active);
    assert_eq!(introspected.sub.as_deref(), Some(SUBJECT));
    assert_eq!(introspected.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(introspected.scope.as_deref(), Some("openid read"));

    // A code is good once (RFC 6749 §4.1.2).
    let replayed = public
        .oauth2_token_exchange()
        .body(
            types::Oauth2TokenExchangeBody::builder()
                .grant_type("authorization_code")
                .code(Some(code))
                .redirect_uri(Some(REDIRECT_URI.to_string()))
                .client_id(Some(client_id.clone()))
                .client_secret(Some(client_secret)),
        )
        .send()
        .await
        .api();
    match replayed {
        Err(ApiError::Hydra { status, error, .. }) => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(error.error.as_deref(), Some("invalid_grant"));
        }
        other => return Err(format!("a replayed code was not refused: {other:?}").into()),
    }
    Ok(())
}
