//! Discovery, health and version through the generated calls against a real Hydra.

use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{ApiResult as _, Client};
use hydra_tests::TestHydra;

type TestResult = Result<(), Box<dyn Error>>;

#[tokio::test]
async fn openid_configuration_names_this_hydra() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = Client::public(hydra.public_url())?;
    let base = hydra.public_url();

    let config = public.discover_oidc_configuration().send().await.api()?;
    assert_eq!(config.issuer, hydra.issuer());
    assert_eq!(config.token_endpoint, format!("{base}/oauth2/token"));
    assert_eq!(config.authorization_endpoint, format!("{base}/oauth2/auth"));
    assert_eq!(config.jwks_uri, format!("{base}/.well-known/jwks.json"));
    assert_eq!(
        config.registration_endpoint,
        Some(format!("{base}/oauth2/register"))
    );
    assert_eq!(
        config.revocation_endpoint,
        Some(format!("{base}/oauth2/revoke"))
    );
    for grant in ["authorization_code", "client_credentials", "refresh_token"] {
        assert!(
            config.grant_types_supported.iter().any(|g| g == grant),
            "{grant} not in {:?}",
            config.grant_types_supported
        );
    }
    for method in ["client_secret_post", "client_secret_basic"] {
        assert!(
            config
                .token_endpoint_auth_methods_supported
                .iter()
                .any(|m| m == method),
            "{method} not in {:?}",
            config.token_endpoint_auth_methods_supported
        );
    }
    assert!(config
        .code_challenge_methods_supported
        .iter()
        .any(|m| m == "S256"));
    // v26.2.0's spec requires it, v2.3.0 does not send it: the document decodes from both
    // (fix-up `device_authorization_endpoint_optional`), and says which one has the device flow.
    let device = (hydra_tests::release()? != hydra_launcher::V2_3_0)
        .then(|| format!("{base}/oauth2/device/auth"));
    assert_eq!(config.device_authorization_endpoint, device);
    Ok(())
}

#[tokio::test]
async fn published_jwks_hold_public_signing_keys_only() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = Client::public(hydra.public_url())?;

    let jwks = public.discover_json_web_keys().send().await.api()?;
    assert!(!jwks.keys.is_empty(), "Hydra publishes no keys");
    for key in &jwks.keys {
        assert!(!key.kid.is_empty(), "a key without kid");
        assert_eq!(key.use_, "sig", "{}", key.kid);
        assert_eq!(key.kty, "RSA", "{}", key.kid);
        assert!(key.n.is_some() && key.e.is_some(), "{}", key.kid);
        // The public endpoint must never carry a private member.
        assert!(
            key.d.is_none()
                && key.p.is_none()
                && key.q.is_none()
                && key.dp.is_none()
                && key.dq.is_none()
                && key.qi.is_none()
                && key.k.is_none(),
            "private members published for {}",
            key.kid
        );
    }
    Ok(())
}

#[tokio::test]
async fn health_and_version_on_both_ports() -> TestResult {
    let hydra = TestHydra::start().await?;
    for base in [hydra.admin_url(), hydra.public_url()] {
        let client = Client::admin(base)?;
        let alive = client.is_alive().send().await.api_response()?;
        assert_eq!(alive.status(), StatusCode::OK, "{base}");
        assert_eq!(alive.into_inner().status.as_deref(), Some("ok"), "{base}");
        let ready = client.is_ready().send().await.api_response()?;
        assert_eq!(ready.status(), StatusCode::OK, "{base}");
        assert_eq!(ready.into_inner().status.as_deref(), Some("ok"), "{base}");
    }

    let admin = Client::admin(hydra.admin_url())?;
    let version = admin.get_version().send().await.api()?;
    assert_eq!(
        version.version.as_deref(),
        Some(hydra_tests::release()?.version)
    );
    Ok(())
}
