//! No secret is ever printed: tracing at TRACE for whole flows (flow, hydra-sdk, reqwest, hyper),
//! and `Debug`/`Display` of every public type and error that has held one.

use std::error::Error;

use flow::{Config, TokenAuthMethod};
use hydra_tests::logs::Logs;
use hydra_tests::TestHydra;
use secrecy::ExposeSecret;

type TestResult = Result<(), Box<dyn Error>>;

#[tokio::test]
async fn trace_output_of_whole_flows_never_contains_a_secret() -> TestResult {
    let hydra = TestHydra::start().await?;
    let (captured, guard) = Logs::capture(tracing::Level::TRACE);

    let client_secret = format!("configured-{}", std::process::id());
    let mut shown: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = vec![client_secret.clone()];

    // client_secret_post with a configured secret, including a recovery from a wrong one.
    let post = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("traced-post")
        .client_secret(client_secret.clone())
        .scope("read")
        .build()?;
    let source = flow::TokenSource::new(post.clone())?;
    let token = source.token().await?;
    let registration = source.registration().await.ok_or("registered")?;
    secrets.push(token.secret().expose_secret().to_string());
    secrets.push(registration.client_secret.expose_secret().to_string());
    if let Some(rat) = &registration.registration_access_token {
        secrets.push(rat.expose_secret().to_string());
    }
    shown.extend([
        format!("{post:?}"),
        format!("{source:?}"),
        format!("{token:?}"),
        format!("{registration:?}"),
    ]);

    // client_secret_basic with a generated secret; restarted with a configured one, which the
    // flow then sets on its client in a JSON Patch (the secret-setting path).
    let basic_secret = format!("configured-basic-{}", std::process::id());
    secrets.push(basic_secret.clone());
    let basic = || {
        Config::builder(hydra.admin_url(), hydra.public_url())
            .client_id("traced-basic")
            .token_auth_method(TokenAuthMethod::ClientSecretBasic)
            .scope("read")
    };
    for basic in [
        basic().build()?,
        basic().client_secret(basic_secret).build()?,
    ] {
        let source = flow::TokenSource::new(basic)?;
        let token = source.token().await?;
        let registration = source.registration().await.ok_or("registered")?;
        secrets.push(token.secret().expose_secret().to_string());
        secrets.push(registration.client_secret.expose_secret().to_string());
        shown.extend([format!("{token:?}"), format!("{registration:?}")]);
    }

    // An error that came from a request carrying a secret.
    let wrong = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("traced-post")
        .client_secret("a-wrong-secret-that-must-not-print")
        .scope("read")
        .build()?;
    secrets.push("a-wrong-secret-that-must-not-print".into());
    let flow = flow::Flow::new(wrong)?;
    let err = flow
        .token(&flow.register().await?)
        .await
        .expect_err("wrong secret");
    shown.extend([format!("{err:?}"), err.to_string(), format!("{flow:?}")]);

    drop(guard);
    let logs = captured.text();
    // The capture really is at TRACE and covers the HTTP stack, or this test proves nothing.
    assert!(logs.contains("TRACE"), "no TRACE lines captured");
    assert!(logs.contains("hydra.token"), "no flow spans captured");
    assert!(logs.contains("hyper"), "no HTTP-level lines captured");
    for secret in &secrets {
        assert!(
            secret.len() >= 8,
            "a secret too short to search for: {}",
            secret.len()
        );
        assert_eq!(
            logs.matches(secret.as_str()).count(),
            0,
            "a secret is in the logs"
        );
        for text in &shown {
            assert!(
                !text.contains(secret.as_str()),
                "a secret is printed: {text}"
            );
        }
    }
    Ok(())
}
