//! A client the flow made, changed under it by someone else: deleted and made again under the same
//! id by an administrator, swapped between the flow's look-up and its patch, or still in use by
//! a clone of a source that was shut down. The flow writes to and deletes only a client that is
//! still its own when the write arrives, and a source that was shut down sends nothing more.

use std::error::Error;
use std::time::{Duration, Instant};

use flow::{Config, TokenSource};
use hydra_tests::sdk::clients;
use hydra_tests::stand_in::{Reply, StandIn, TOKEN};
use hydra_tests::wire::{Hold, WireRecorder};
use hydra_tests::TestHydra;
use serde_json::{json, Value};

type TestResult = Result<(), Box<dyn Error>>;

/// The admin API's answer to `method path` with `body`: its status and JSON (`null` if none).
async fn admin(
    hydra: &TestHydra,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), Box<dyn Error>> {
    let mut request = hydra
        .http_client()?
        .request(method, format!("{}{path}", hydra.admin_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// An administrator deletes the client `id` and makes one of their own under that id.
async fn admin_replaces(hydra: &TestHydra, id: &str, scope: &str) -> TestResult {
    let (status, _) = admin(
        hydra,
        reqwest::Method::DELETE,
        &format!("/admin/clients/{id}"),
        None,
    )
    .await?;
    assert_eq!(status, 204, "DELETE {id}");
    let (status, _) = admin(
        hydra,
        reqwest::Method::POST,
        "/admin/clients",
        Some(json!({
            "client_id": id,
            "client_secret": "the-administrators-secret",
            "scope": scope,
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
            "metadata": {"owner": "admin"},
        })),
    )
    .await?;
    assert_eq!(status, 201, "POST {id}");
    Ok(())
}

/// The administrator's client `id` is as they made it: their scope, their metadata, no marker.
async fn assert_untouched(hydra: &TestHydra, id: &str, scope: &str) -> TestResult {
    let (status, client) = admin(
        hydra,
        reqwest::Method::GET,
        &format!("/admin/clients/{id}"),
        None,
    )
    .await?;
    assert_eq!(status, 200, "the administrator's client is gone");
    assert_eq!(client["scope"], scope, "{client}");
    assert_eq!(client["metadata"], json!({"owner": "admin"}), "{client}");
    Ok(())
}

#[tokio::test]
async fn recovery_never_deletes_a_client_an_administrator_made_under_the_same_id() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("taken-over-id")
        .client_secret("the-flows-secret")
        .authorize(false)
        .build()?;
    let source = TokenSource::new(config)?;
    let token = source.token().await?.into_arc();
    admin_replaces(&hydra, "taken-over-id", "admin").await?;
    // Downstream rejects the token (BearerAuth would do this on a 401); the next token request
    // meets the administrator's client and its secret: invalid_client.
    assert!(source.invalidate(&token));
    let err = source
        .token()
        .await
        .expect_err("the administrator's client does not take the flow's secret");
    // Before, the source deleted the client it believed it had made, and made its own.
    assert_untouched(&hydra, "taken-over-id", "admin").await?;
    assert!(
        matches!(err.unshared(), flow::Error::ForeignClient { .. }),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_gate_a_client_swapped_between_the_look_up_and_the_patch_is_never_written(
) -> TestResult {
    // A proxy in front of Hydra's admin API holds the flow's PATCH while an administrator swaps
    // the client: a race a real Hydra cannot be made to lose on demand.
    let hydra = TestHydra::start().await?;
    let first = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("swapped")
        .client_secret("the-flows-secret")
        .scope("read")
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&first).await?;
    let (proxy, gate) = WireRecorder::start_gating_first(hydra.admin_url(), "PATCH").await?;
    // The next release of the service registers another scope: a look-up, then a PATCH.
    let second = Config::builder(proxy.url(), hydra.public_url())
        .client_id("swapped")
        .client_secret("the-flows-secret")
        .registered_scope("read write")
        .scope("read")
        .authorize(false)
        .build()?;
    let run = tokio::spawn(async move { flow::acquire_token_with(&second).await });
    tokio::time::timeout(Duration::from_secs(20), gate.arrived()).await?;
    admin_replaces(&hydra, "swapped", "admin").await?;
    gate.release();
    let outcome = tokio::time::timeout(Duration::from_secs(40), run).await??;
    // Before, the PATCH computed from the flow's own client landed on the administrator's: their
    // scope replaced, and the flow's marker added, which made it the flow's from then on.
    assert_untouched(&hydra, "swapped", "admin").await?;
    let err = outcome.expect_err("the client is someone else's now");
    assert!(matches!(err, flow::Error::ForeignClient { .. }), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn after_shutdown_deleted_the_client_no_clone_of_the_source_makes_it_again() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("ephemeral")
        .client_secret("the-flows-secret")
        .authorize(false)
        .delete_on_shutdown(true)
        .build()?;
    let source = TokenSource::new(config)?;
    // A clone still in use elsewhere, in a BearerAuth say.
    let clone = source.clone();
    let token = source.token().await?.into_arc();
    source.shutdown().await?;
    assert!(clients(hydra.admin_url()).await?.is_empty());
    // The clone meets a 401 downstream and asks again.
    clone.invalidate(&token);
    let result = clone.token().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left: Vec<_> = clients(hydra.admin_url())
        .await?
        .into_iter()
        .filter_map(|c| c.client_id)
        .collect();
    // Before, the clone registered the client again: the orphan `delete_on_shutdown` prevents.
    assert!(left.is_empty(), "a client is back after shutdown: {left:?}");
    let err = result.err().ok_or("a token after shutdown")?;
    assert!(matches!(err.unshared(), flow::Error::ShutDown), "{err:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_hold_shutdown_during_a_registration_leaves_no_client_and_no_token() -> TestResult
{
    // A proxy holds the answer to the first registration: Hydra made the client at once, and the
    // source learns it 2 s later. Meanwhile another clone shuts the source down. Before, the
    // fetch was aborted, so the client it made was never deleted (or, the other way the race
    // went, the fetch led again inline and kept a token after shutdown).
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start_holding_first_post(
        hydra.admin_url(),
        Hold::Response(Duration::from_secs(2)),
    )
    .await?;
    // No client id: the POST goes first, and its answer is the one held.
    let config = Config::builder(admin.url(), hydra.public_url())
        .scope("read")
        .authorize(false)
        .delete_on_shutdown(true)
        .build()?;
    let source = TokenSource::new(config)?;
    let (fetcher, other) = (source.clone(), source.clone());
    let fetching = tokio::spawn(async move { fetcher.token().await.map(|_| ()) });
    // Until the POST has reached Hydra.
    let started = Instant::now();
    while admin.count("POST", "/admin/clients") == 0 && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    source.shutdown().await?;
    let left: Vec<_> = clients(hydra.admin_url())
        .await?
        .into_iter()
        .filter_map(|c| c.client_id)
        .collect();
    assert!(
        left.is_empty(),
        "the client the fetch made is left: {left:?}"
    );
    let fetched = fetching.await?.expect_err("no token once shut down");
    assert!(
        matches!(fetched.unshared(), flow::Error::ShutDown),
        "{fetched:?}"
    );
    let after = other.token().await.err().ok_or("a token after shutdown")?;
    assert!(matches!(after, flow::Error::ShutDown), "{after:?}");
    assert!(!other.status().has_token);
    Ok(())
}

#[tokio::test]
async fn shutdown_deletes_only_a_client_this_source_made() -> TestResult {
    // Two replicas share one client: the first makes it, the second finds it. The second one's
    // shutdown leaves it to the first.
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("shared")
        .client_secret("the-shared-secret")
        .authorize(false)
        .delete_on_shutdown(true)
        .build()?;
    let (maker, finder) = (TokenSource::new(config.clone())?, TokenSource::new(config)?);
    maker.token().await?;
    finder.token().await?;
    assert!(finder.registration().await.is_some_and(|r| !r.created));
    finder.shutdown().await?;
    assert_eq!(
        clients(hydra.admin_url()).await?.len(),
        1,
        "the finder deleted it"
    );
    maker.token().await?;
    maker.shutdown().await?;
    assert!(clients(hydra.admin_url()).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn stand_in_admin_api_stalling_at_shutdown_ends_at_the_deadline() -> TestResult {
    // The look-up and the registration are answered, the token endpoint hands out a token, then
    // the admin API stalls: the requests of `shutdown` end at the configured deadline, even on an
    // HTTP client without a timeout of its own.
    let stand_in = StandIn::start(vec![
        Reply::json(
            "404 Not Found",
            &[],
            r#"{"error":"Unable to locate the resource"}"#,
        ),
        Reply::json("201 Created", &[], r#"{"client_id":"stalled"}"#),
        Reply::token(TOKEN),
        Reply::Stall,
        Reply::Stall,
    ])
    .await?;
    hydra_tests::install_crypto_provider();
    let no_timeout = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let config = Config::builder(stand_in.url(), stand_in.url())
        .client_id("stalled")
        .client_secret("s3cret")
        .authorize(false)
        .delete_on_shutdown(true)
        .deadline(Duration::from_secs(2))
        .http_client(no_timeout)
        .build()?;
    let source = TokenSource::new(config)?;
    source.token().await?;
    let started = Instant::now();
    let err = source.shutdown().await.expect_err("the admin API stalls");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}: {err}");
    assert!(
        matches!(err, flow::Error::DeadlineExceeded { .. }),
        "{err:?}"
    );
    Ok(())
}
