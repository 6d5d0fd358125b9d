//! The SDK over HTTPS against a real Hydra serving a certificate from a throwaway CA: trusted
//! through `http_client_builder().tls_certs_only(..)`, refused without that CA.

use std::error::Error;

use hydra_sdk::reqwest::{Certificate, StatusCode};
use hydra_sdk::{http_client_builder, ApiError, ApiResult as _, Client};
use hydra_tests::{error_chain, TestHydra};

type TestResult = Result<(), Box<dyn Error>>;

/// Asserts that a call failed in the TLS handshake, as a transport error.
fn assert_refused<T: std::fmt::Debug>(result: Result<T, ApiError>) -> TestResult {
    match result {
        Err(ApiError::Transport(e)) => {
            assert!(e.is_connect(), "expected a connect error, got {e:?}");
            let chain = error_chain(&e);
            assert!(
                chain.to_lowercase().contains("certificate"),
                "expected a certificate error, got {chain}"
            );
            Ok(())
        }
        other => Err(format!("expected ApiError::Transport, got {other:?}").into()),
    }
}

#[tokio::test]
async fn the_sdk_trusts_hydra_through_the_test_ca_and_refuses_it_otherwise() -> TestResult {
    let hydra = TestHydra::builder().tls().start().await?;
    assert!(hydra.admin_url().starts_with("https://"));
    let ca = hydra.ca_pem().ok_or("no CA for a TLS Hydra")?;

    let trusting = http_client_builder()
        .tls_certs_only([Certificate::from_pem(ca.as_bytes())?])
        .build()?;
    let admin = Client::new_with_client(hydra.admin_url(), trusting.clone());
    let ready = admin.is_ready().send().await.api_response()?;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.into_inner().status.as_deref(), Some("ok"));
    let public = Client::new_with_client(hydra.public_url(), trusting);
    let config = public.discover_oidc_configuration().send().await.api()?;
    assert_eq!(config.issuer, hydra.issuer());
    assert!(config.token_endpoint.starts_with("https://"));

    // A client that trusts another CA only: the handshake fails.
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])?;
    let distrusting = http_client_builder()
        .tls_certs_only([Certificate::from_pem(stranger.cert.pem().as_bytes())?])
        .build()?;
    let refused = Client::new_with_client(hydra.admin_url(), distrusting)
        .is_ready()
        .send()
        .await
        .api();
    assert_refused(refused)?;

    // The SDK's defaults (the platform's roots) do not know the test CA either. On a machine with
    // no system roots at all the platform verifier refuses already when the client is built.
    match Client::admin(hydra.admin_url()) {
        Ok(default_roots) => {
            assert_refused(default_roots.is_ready().send().await.api())?;
        }
        Err(hydra_sdk::ClientError::Http(e)) => {
            eprintln!("no platform roots here, the client was not built: {e}");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
