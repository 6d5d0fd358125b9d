//! The SDK and the flow against two Hydra v26.2.0 replicas on one PostgreSQL, as Hydra runs in
//! production: a client registered through one replica is the other's too, a token minted by one
//! is introspected by the other, the token source carries on when a replica dies, and a restart
//! of both keeps everything (unlike `DSN=memory`).
//!
//! These need PostgreSQL, so a plain `cargo test` skips them (`#[ignore]`); `cargo xtask test`
//! runs them with `--ignored` as its PostgreSQL leg, and fails in CI when PostgreSQL is missing.

use std::error::Error;
use std::time::Duration;

use flow::{Config, ConfigBuilder, TokenAuthMethod};
use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{types, ApiResult as _, Client};
use hydra_tests::sdk::{hydra_error, introspect};
use hydra_tests::wire::WireRecorder;
use hydra_tests::ReplicaSet;
use secrecy::ExposeSecret;

type TestResult = Result<(), Box<dyn Error>>;

fn bss(admin_url: &str, public_url: &str, client_id: &str) -> ConfigBuilder {
    Config::builder(admin_url, public_url)
        .client_id(client_id)
        .client_secret("a-configured-secret-of-some-length")
        .client_name("bss")
        .token_auth_method(TokenAuthMethod::ClientSecretPost)
        .registered_scope("read")
        .scope("read")
        .authorize(false)
}

#[tokio::test]
#[ignore = "needs PostgreSQL; run by cargo xtask test (its PostgreSQL leg)"]
async fn a_client_registered_through_one_replica_is_found_and_reused_through_the_other(
) -> TestResult {
    let set = ReplicaSet::start(2, &[]).await?;
    let (one, two) = (set.replica(0)?, set.replica(1)?);

    // The SDK: created on replica 1, a second create on replica 2 is a typed 409, and replica 2
    // reads the client replica 1 wrote.
    let client: types::OAuth2Client = serde_json::from_value(serde_json::json!({
        "client_id": "sdk-shared", "grant_types": ["client_credentials"], "scope": "read",
    }))?;
    Client::admin(one.admin_url())?
        .create_oauth2_client()
        .body(client.clone())
        .send()
        .await
        .api()?;
    let again = Client::admin(two.admin_url())?
        .create_oauth2_client()
        .body(client)
        .send()
        .await;
    let (status, _) = hydra_error(again.api())?;
    assert_eq!(status, StatusCode::CONFLICT);
    let read = Client::admin(two.admin_url())?
        .get_oauth2_client()
        .id("sdk-shared")
        .send()
        .await
        .api()?;
    assert_eq!(read.client_id.as_deref(), Some("sdk-shared"));

    // The flow: registered through replica 1; through replica 2 the lookup of the configured id
    // finds it and leads to reuse, not to a second client or a replaced secret.
    let first = flow::Flow::new(bss(one.admin_url(), one.public_url(), "bss-shared").build()?)?
        .register()
        .await?;
    assert!(first.created);
    let admin = WireRecorder::start(two.admin_url()).await?;
    let second = flow::Flow::new(bss(admin.url(), two.public_url(), "bss-shared").build()?)?;
    let reused = second.register().await?;
    assert!(!reused.created, "{reused:?}");
    assert_eq!(admin.count("GET", "/admin/clients/bss-shared"), 1);
    assert_eq!(admin.count("POST", "/admin/clients"), 0);
    assert_eq!(admin.count("PUT", "/admin/clients/bss-shared"), 0);
    assert_eq!(admin.count("PATCH", "/admin/clients/bss-shared"), 0);
    // The reused registration works against replica 2's token endpoint.
    let token = second.token(&reused).await?;
    assert!(
        introspect(one.admin_url(), token.secret().expose_secret())
            .await?
            .active
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs PostgreSQL; run by cargo xtask test (its PostgreSQL leg)"]
async fn a_token_minted_by_one_replica_is_introspected_by_the_other() -> TestResult {
    let set = ReplicaSet::start(2, &[]).await?;
    let (one, two) = (set.replica(0)?, set.replica(1)?);
    let flow = flow::Flow::new(bss(one.admin_url(), one.public_url(), "bss-mint").build()?)?;
    let registration = flow.register().await?;
    let token = flow.token(&registration).await?;

    let seen = introspect(two.admin_url(), token.secret().expose_secret()).await?;
    assert!(seen.active);
    assert_eq!(seen.client_id.as_deref(), Some("bss-mint"));
    assert_eq!(seen.scope.as_deref(), Some("read"));
    // Both replicas name the proxy as the issuer, so the token does not say which minted it.
    assert_eq!(
        seen.iss.as_deref(),
        Some(format!("{}/", set.public_url()).as_str())
    );

    // Revoked through replica 2, it is inactive on replica 1.
    Client::public(two.public_url())?
        .revoke_oauth2_token()
        .body(
            types::RevokeOauth2TokenBody::builder()
                .token(hydra_sdk::Secret::from(token.secret().expose_secret()))
                .client_id(Some("bss-mint".to_owned()))
                .client_secret(Some(hydra_sdk::Secret::from(
                    "a-configured-secret-of-some-length",
                ))),
        )
        .send()
        .await
        .api()?;
    assert!(
        !introspect(one.admin_url(), token.secret().expose_secret())
            .await?
            .active
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs PostgreSQL; run by cargo xtask test (its PostgreSQL leg)"]
async fn the_token_source_carries_on_through_the_other_replica_when_one_is_killed() -> TestResult {
    let mut set = ReplicaSet::start(2, &[]).await?;
    let config = bss(set.admin_url(), set.public_url(), "bss-failover")
        .deadline(Duration::from_secs(20))
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let before = source.token().await?;

    // Mid-run, one replica dies; the proxy's next connection goes to the other. Fresh clients
    // open fresh connections, so round robin offers the dead replica to some of them.
    set.replica_mut(0)?.kill()?;
    assert!(!set.replica_mut(0)?.is_running());
    for _ in 0..4 {
        let alive = Client::admin(set.admin_url())?
            .is_alive()
            .send()
            .await
            .api_response()?;
        assert_eq!(alive.status(), StatusCode::OK);
    }
    source.invalidate(&before);
    let after = source.token().await?;
    assert_ne!(
        after.secret().expose_secret(),
        before.secret().expose_secret()
    );
    let survivor = set.replica(1)?.admin_url().to_owned();
    assert!(
        introspect(&survivor, after.secret().expose_secret())
            .await?
            .active
    );
    // The token from before the kill is still good: it lives in PostgreSQL, not in the replica.
    assert!(
        introspect(&survivor, before.secret().expose_secret())
            .await?
            .active
    );
    let registration = source.registration().await.ok_or("no registration")?;
    assert_eq!(registration.client_id, "bss-failover");
    // Both replicas served connections through the proxy before or after the kill.
    assert!(
        set.connections().iter().all(|n| *n > 0),
        "{:?}",
        set.connections()
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs PostgreSQL; run by cargo xtask test (its PostgreSQL leg)"]
async fn restarting_both_replicas_keeps_the_client_and_its_tokens() -> TestResult {
    let mut set = ReplicaSet::start(2, &[]).await?;
    let config = bss(set.admin_url(), set.public_url(), "bss-durable").build()?;
    let source = flow::TokenSource::new(config)?;
    let before = source.token().await?;
    assert!(source.registration().await.is_some_and(|r| r.created));

    set.restart_all().await?;

    // Still there after both replicas restarted: the client, and the token minted before.
    assert!(
        introspect(set.admin_url(), before.secret().expose_secret())
            .await?
            .active
    );
    let admin = WireRecorder::start(set.admin_url()).await?;
    let config = bss(admin.url(), set.public_url(), "bss-durable").build()?;
    let flow = flow::Flow::new(config)?;
    let registration = flow.register().await?;
    assert!(!registration.created, "registered again: {registration:?}");
    assert_eq!(admin.count("PUT", "/admin/clients/bss-durable"), 0);
    let token = flow.token(&registration).await?;
    assert!(
        introspect(set.admin_url(), token.secret().expose_secret())
            .await?
            .active
    );
    Ok(())
}
