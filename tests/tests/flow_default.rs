//! `flow::acquire_token()` with no arguments: configuration from the environment, one
//! process-wide token source. A binary of its own, because it sets this process's environment.

use std::error::Error;

use hydra_tests::wire::WireRecorder;
use hydra_tests::TestHydra;
use secrecy::ExposeSecret;

#[tokio::test]
async fn a_hundred_calls_make_one_token_request() -> Result<(), Box<dyn Error>> {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let public = WireRecorder::start(hydra.public_url()).await?;

    // Before the environment names Hydra: a typed configuration error, not a panic.
    let err = flow::acquire_token()
        .await
        .expect_err("no HYDRA_ADMIN_URL yet");
    assert!(err.to_string().contains("HYDRA_ADMIN_URL"), "{err}");

    // Only this test runs in this binary, so nothing reads the environment concurrently.
    std::env::set_var("HYDRA_ADMIN_URL", admin.url());
    std::env::set_var("HYDRA_PUBLIC_URL", public.url());
    std::env::set_var("HYDRA_CLIENT_NAME", "default-credentials");

    let first = flow::acquire_token().await?;
    for call in 1..100 {
        let token = flow::acquire_token().await?;
        // `assert!`, not `assert_eq!`: a failure names the call, not the tokens.
        assert!(
            token.secret().expose_secret() == first.secret().expose_secret(),
            "call {call} got a different token"
        );
    }
    assert_eq!(
        public.count("POST", "/oauth2/token"),
        1,
        "{:?}",
        public.requests()
    );
    assert_eq!(
        admin.count("POST", "/admin/clients"),
        1,
        "{:?}",
        admin.requests()
    );

    let status = flow::default_token_source()?.status();
    assert_eq!(status.token_requests, 1, "{status}");
    Ok(())
}
