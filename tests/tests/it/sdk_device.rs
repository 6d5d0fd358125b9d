//! The device authorization grant (RFC 8628) through the three operations Hydra v26 added:
//! the device asks for codes, the user's browser goes through verification, login and consent,
//! and the device's polling turns into a token. Against v2.3.0, which has no device flow, each
//! operation must fail as a typed 404, not as a panic or a decoding error.

use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{types, ApiError, ApiResult as _, Client, ExposeSecret, Secret};
use hydra_tests::browser::{accept_consent, accept_login, query, Browser};
use hydra_tests::sdk::introspect;
use hydra_tests::TestHydra;
use url::Url;

type TestResult = Result<(), Box<dyn Error>>;

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const CLIENT_ID: &str = "bss-console";
const SUBJECT: &str = "operator-7";

fn device_request() -> Result<types::Oauth2DeviceFlowBody, Box<dyn Error>> {
    Ok(types::Oauth2DeviceFlowBody::builder()
        .client_id(CLIENT_ID)
        .scope(Some("openid read".to_owned()))
        .try_into()?)
}

fn device_token_request(device_code: &Secret) -> types::builder::Oauth2TokenExchangeBody {
    types::Oauth2TokenExchangeBody::builder()
        .grant_type(DEVICE_CODE_GRANT)
        .client_id(Some(CLIENT_ID.to_owned()))
        .device_code(Some(Secret::from(device_code.expose_secret())))
}

/// A public client (RFC 8628 §3.1: devices usually cannot keep a secret) for the device grant.
async fn create_device_client(admin: &Client) -> TestResult {
    admin
        .create_oauth2_client()
        .body(
            types::OAuth2Client::builder()
                .client_id(Some(CLIENT_ID.to_owned()))
                .grant_types(Some(
                    vec![DEVICE_CODE_GRANT.to_owned(), "refresh_token".to_owned()].into(),
                ))
                .scope(Some("openid offline_access read".to_owned()))
                .token_endpoint_auth_method("none"),
        )
        .send()
        .await
        .api()?;
    Ok(())
}

#[tokio::test]
async fn device_flow_on_v26_or_a_typed_not_found_on_v2_3_0() -> TestResult {
    let hydra = TestHydra::start().await?;
    if hydra_tests::release()? == hydra_launcher::V2_3_0 {
        return v2_3_0_has_no_device_flow(&hydra).await;
    }
    let admin = Client::admin(hydra.admin_url())?;
    let public = Client::public(hydra.public_url())?;
    create_device_client(&admin).await?;

    // 1. The device asks for a device code and a user code (§3.1, §3.2).
    let codes = public
        .oauth2_device_flow()
        .body(device_request()?)
        .send()
        .await
        .api()?;
    let device_code = codes.device_code.ok_or("no device_code")?;
    let user_code = codes.user_code.ok_or("no user_code")?;
    let verification_uri = codes.verification_uri.ok_or("no verification_uri")?;
    assert_eq!(
        verification_uri,
        format!("{}/oauth2/device/verify", hydra.public_url())
    );
    assert!(codes.expires_in.is_some_and(|s| s > 0));
    // The device code is a credential: the generated type redacts it.
    assert!(!format!("{device_code:?}").contains(device_code.expose_secret()));

    // 2. Until the user approves, polling says so (§3.5), as a typed OAuth2 error.
    let pending = public
        .oauth2_token_exchange()
        .body(device_token_request(&device_code))
        .send()
        .await;
    let err = ApiError::from(pending.err().ok_or("a token before approval")?);
    assert_eq!(
        err.hydra_error().and_then(|e| e.error.as_deref()),
        Some("authorization_pending"),
        "{err}"
    );

    // 3. The user's browser opens the verification URI; Hydra sends it to the verification
    //    page with a device challenge.
    let mut browser = Browser::default();
    let to_page = browser.redirect(
        StatusCode::FOUND,
        browser
            .client(hydra.public_url())?
            .perform_oauth2_device_verification_flow()
            .send()
            .await,
    )?;
    let device_challenge = query(&to_page, "device_challenge")?;
    assert!(
        browser.has_cookies(),
        "no CSRF cookie from the verification"
    );

    // 4. The verification page accepts the user code the user typed in.
    let accepted = admin
        .accept_user_code_request()
        .device_challenge(&device_challenge)
        .body(types::AcceptDeviceUserCodeRequest::builder().user_code(Some(user_code.clone())))
        .send()
        .await
        .api()?;

    // 5. Back to Hydra with the device verifier: on to login, then consent, each accepted
    //    through the admin API, each answer followed back through the generated verify call.
    let mut next = Url::parse(accepted.redirect_to.expose_secret())?;
    for _ in 0..3 {
        let client = browser.client(hydra.public_url())?;
        let answer = verify(&client, &hydra, &next)?.send().await;
        let location = browser.redirect(StatusCode::FOUND, answer)?;
        if let Ok(challenge) = query(&location, "login_challenge") {
            next = accept_login(&admin, &challenge, SUBJECT).await?;
        } else if let Ok(challenge) = query(&location, "consent_challenge") {
            let request = admin
                .get_oauth2_consent_request()
                .consent_challenge(&challenge)
                .send()
                .await
                .api()?;
            assert_eq!(
                request.client.as_ref().and_then(|c| c.client_id.as_deref()),
                Some(CLIENT_ID)
            );
            next = accept_consent(&admin, &challenge, &["openid", "read"]).await?;
        } else {
            // Done: Hydra shows the user its success page.
            assert_eq!(
                location.as_str().split('?').next(),
                Some(format!("{}/oauth2/fallbacks/device/done", hydra.public_url()).as_str())
            );
            break;
        }
    }

    // 6. The device's next poll gets the user's token (§3.5).
    let token = public
        .oauth2_token_exchange()
        .body(device_token_request(&device_code))
        .send()
        .await
        .api()?;
    let access_token = token.access_token.ok_or("no access_token")?;
    let introspected = introspect(hydra.admin_url(), access_token.expose_secret()).await?;
    assert!(introspected.active);
    assert_eq!(introspected.sub.as_deref(), Some(SUBJECT));
    assert_eq!(introspected.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(introspected.scope.as_deref(), Some("openid read"));
    Ok(())
}

/// The generated verify call for a `/oauth2/device/verify` URL Hydra handed out, parameter by
/// parameter; one the call cannot carry is an error, not dropped.
fn verify<'a>(
    client: &'a Client,
    hydra: &TestHydra,
    url: &Url,
) -> Result<hydra_sdk::builder::PerformOauth2DeviceVerificationFlow<'a>, Box<dyn Error>> {
    let expected = format!("{}/oauth2/device/verify", hydra.public_url());
    assert_eq!(url.as_str().split('?').next(), Some(expected.as_str()));
    let mut request = client.perform_oauth2_device_verification_flow();
    for (name, value) in url.query_pairs() {
        let value = value.into_owned();
        request = match name.as_ref() {
            "client_id" => request.client_id(value),
            "user_code" => request.user_code(value),
            "device_verifier" => request.device_verifier(value),
            "login_verifier" => request.login_verifier(value),
            "consent_verifier" => request.consent_verifier(value),
            other => return Err(format!("the verify call cannot carry `{other}`").into()),
        };
    }
    Ok(request)
}

/// v2.3.0 routes none of the three operations: each is a 404 the SDK reports as such.
async fn v2_3_0_has_no_device_flow(hydra: &TestHydra) -> TestResult {
    let admin = Client::admin(hydra.admin_url())?;
    let public = Client::public(hydra.public_url())?;
    let errors = [
        public
            .oauth2_device_flow()
            .body(device_request()?)
            .send()
            .await
            .api()
            .map(drop),
        public
            .perform_oauth2_device_verification_flow()
            .send()
            .await
            .api()
            .map(drop),
        admin
            .accept_user_code_request()
            .device_challenge("no-such-challenge")
            .body(types::AcceptDeviceUserCodeRequest::builder().user_code(Some("ABCD".into())))
            .send()
            .await
            .api()
            .map(drop),
    ];
    for result in errors {
        let err = result
            .err()
            .ok_or("v2.3.0 answered a device-flow operation")?;
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND), "{err:?}");
    }
    Ok(())
}
