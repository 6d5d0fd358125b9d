//! Many replicas of one service against a real Hydra, and the recovery paths that must stay
//! bounded: persistent `invalid_client` and a registration that timed out. Each replica is a
//! `TokenSource` with its own HTTP client, as a separate process would have.

use std::error::Error;
use std::time::{Duration, Instant};

use flow::{Config, TokenSource};
use hydra_tests::sdk::clients;
use hydra_tests::stand_in::{Reply, StandIn};
use hydra_tests::wire::{Hold, WireRecorder};
use hydra_tests::TestHydra;

type TestResult = Result<(), Box<dyn Error>>;

/// How long the replica runs last: several token lifetimes of 3 s.
const RUN: Duration = Duration::from_secs(30);
/// How many replicas of one configuration run together.
const REPLICAS: usize = 4;

async fn client_ids(hydra: &TestHydra) -> Result<Vec<String>, Box<dyn Error>> {
    Ok(clients(hydra.admin_url())
        .await?
        .into_iter()
        .filter_map(|c| c.client_id)
        .collect())
}

/// PATCH requests that set a client secret: the secret changes.
fn secret_changes(admin: &WireRecorder) -> usize {
    admin
        .requests()
        .iter()
        .filter(|r| {
            r.method == "PATCH" && String::from_utf8_lossy(&r.body).contains("client_secret")
        })
        .count()
}

/// Runs [`REPLICAS`] sources of `config` started together for [`RUN`], each asking for a token
/// every 250 ms; returns, per replica, (successes, failures, the first failure).
async fn run_replicas(
    config: &Config,
) -> Result<Vec<(u32, u32, Option<flow::Error>)>, Box<dyn Error>> {
    let sources = (0..REPLICAS)
        .map(|_| TokenSource::new(config.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let until = Instant::now() + RUN;
    let tasks: Vec<_> = sources
        .into_iter()
        .map(|source| {
            tokio::spawn(async move {
                let (mut ok, mut failed, mut first) = (0, 0, None);
                while Instant::now() < until {
                    match source.token().await {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            failed += 1;
                            first.get_or_insert(e);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                (ok, failed, first)
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_with_a_shared_secret_never_fail_and_never_change_the_secret() -> TestResult {
    let hydra = TestHydra::builder()
        .env("TTL_ACCESS_TOKEN", "3s")
        .start()
        .await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let public = WireRecorder::start(hydra.public_url()).await?;
    let config = Config::builder(admin.url(), public.url())
        .client_id("replicated")
        .client_secret("a-secret-all-replicas-share")
        .scope("read")
        .authorize(false)
        .build()?;
    let results = run_replicas(&config).await?;
    for (i, (ok, failed, first)) in results.iter().enumerate() {
        assert_eq!(*failed, 0, "replica {i}: {first:?}");
        assert!(*ok > 50, "replica {i} got {ok} tokens");
    }
    assert_eq!(secret_changes(&admin), 0);
    assert_eq!(client_ids(&hydra).await?, ["replicated"]);
    // The replicas fetched new tokens all along (3 s lifetimes over 30 s), not once at the
    // start, so the shared secret was checked by Hydra again and again.
    let token_requests = public.count("POST", "/oauth2/token");
    assert!(
        token_requests >= REPLICAS * 8,
        "{token_requests} token requests"
    );
    assert!(shared_secret_works(&hydra).await?);
    Ok(())
}

/// The shared client still gets tokens with the shared secret.
async fn shared_secret_works(hydra: &TestHydra) -> Result<bool, Box<dyn Error>> {
    let response = hydra
        .http_client()?
        .post(format!("{}/oauth2/token", hydra.public_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "replicated"),
            ("client_secret", "a-secret-all-replicas-share"),
        ])
        .send()
        .await?;
    Ok(response.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_without_a_secret_one_serves_the_others_get_a_configuration_error(
) -> TestResult {
    // Which outcome this is: the first replica to register holds the secret it generated and
    // never fails; the other three do not know it, see that another instance set it moments
    // ago, and fail with SecretHeldElsewhere (naming HYDRA_CLIENT_SECRET) instead of rotating.
    let hydra = TestHydra::builder()
        .env("TTL_ACCESS_TOKEN", "3s")
        .start()
        .await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let config = Config::builder(admin.url(), hydra.public_url())
        .client_id("replicated-unshared")
        .scope("read")
        .authorize(false)
        .build()?;
    let results = run_replicas(&config).await?;
    let serving: Vec<_> = results
        .iter()
        .filter(|(_, failed, _)| *failed == 0)
        .collect();
    assert_eq!(serving.len(), 1, "{results:?}");
    assert!(serving[0].0 > 50);
    for (ok, failed, first) in results.iter().filter(|(_, failed, _)| *failed > 0) {
        assert_eq!(*ok, 0, "a refused replica never got a token");
        assert!(*failed > 50);
        let err = first.as_ref().ok_or("a failure")?;
        assert!(
            matches!(err.unshared(), flow::Error::SecretHeldElsewhere { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("HYDRA_CLIENT_SECRET"), "{err}");
    }
    assert!(secret_changes(&admin) <= 1);
    assert_eq!(
        secret_changes(&admin),
        0,
        "no secret was set after creation"
    );
    assert_eq!(client_ids(&hydra).await?, ["replicated-unshared"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_a_secret_both_recover_when_hydra_forgets_their_client() -> TestResult {
    // The setup README recommends: one id, one configured secret. Hydra restarts on memory and
    // both replicas meet `invalid_client` at once; one makes the client again, the other finds it
    // made by an instance it does not know, with the secret it holds itself. Before, the second
    // was refused (SecretHeldElsewhere) for the ten minutes of the quiet period.
    let mut hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("forgotten")
        .client_secret("the-shared-secret")
        .authorize(false)
        .build()?;
    let (a, b) = (TokenSource::new(config.clone())?, TokenSource::new(config)?);
    let (token_a, token_b) = (a.token().await?.into_arc(), b.token().await?.into_arc());
    hydra.restart().await?;
    // Downstream rejects both tokens (BearerAuth would do this on a 401).
    assert!(a.invalidate(&token_a));
    assert!(b.invalidate(&token_b));
    let (again_a, again_b) = tokio::join!(a.token(), b.token());
    assert!(again_a.is_ok(), "{:?}", again_a.err());
    assert!(again_b.is_ok(), "{:?}", again_b.err());
    assert_eq!(client_ids(&hydra).await?, ["forgotten"]);
    Ok(())
}

#[tokio::test]
async fn stand_in_persistent_invalid_client_registers_a_bounded_number_of_times_and_leaves_one_client(
) -> TestResult {
    // A stand-in public API that rejects every client (a real Hydra cannot be made to reject a
    // client it just accepted), in front of nothing; the admin API is a real Hydra's.
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let public = StandIn::start(vec![Reply::json(
        "401 Unauthorized",
        &[],
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
    )])
    .await?;
    // No client id: each source makes up its own (the case that used to leave 21 clients).
    let config = Config::builder(admin.url(), public.url())
        .scope("read")
        .authorize(false)
        .build()?;
    let source = TokenSource::new(config)?;
    let started = Instant::now();
    let mut last = None;
    for _ in 0..10 {
        last = Some(source.token().await.expect_err("always rejected"));
    }
    let registrations = admin.count("POST", "/admin/clients");
    // K = 1 + MAX_REREGISTRATIONS: the first registration and three re-registrations.
    let k = 1 + flow::MAX_REREGISTRATIONS;
    assert_eq!(registrations, k, "{:?}", admin.requests());
    assert_eq!(client_ids(&hydra).await?.len(), 1);
    // Each re-registration found the client it made (409) and set its secret again; none was
    // deleted, since the client in Hydra may no longer be the one the source made.
    assert_eq!(deletes(&admin), 0);
    assert_eq!(secret_changes(&admin), k - 1);
    let last = last.ok_or("ran")?;
    assert!(
        matches!(
            last.unshared(),
            flow::Error::ClientRejected {
                outlasts_deadline: false,
                ..
            }
        ),
        "{last:?}"
    );
    assert_eq!(last.oauth2_error(), Some("invalid_client"));
    // Backoff 1 + 2 + 4 s, and nothing after the bound is reached.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn a_rejected_client_with_no_time_left_to_register_again_says_the_deadline_is_why(
) -> TestResult {
    // The client is the flow's, made with another secret; Hydra rejects this one, and the wait
    // before registering again (1 s) is more than is left of a 0.9 s deadline. It gave up after
    // 0 re-registrations, and said Hydra "keeps rejecting" it "after 0 re-registrations".
    let hydra = TestHydra::start().await?;
    let config = |secret: &str, deadline: Duration| {
        Config::builder(hydra.admin_url(), hydra.public_url())
            .client_id("short-deadline")
            .client_secret(secret)
            .authorize(false)
            .deadline(deadline)
            .build()
    };
    flow::acquire_token_with(&config("the-first-secret", Duration::from_secs(10))?).await?;
    let err = flow::acquire_token_with(&config("another-secret", Duration::from_millis(900))?)
        .await
        .expect_err("Hydra holds the first secret");
    assert!(
        matches!(
            err.unshared(),
            flow::Error::ClientRejected {
                reregistrations: 0,
                outlasts_deadline: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.oauth2_error(), Some("invalid_client"));
    let text = err.to_string();
    assert!(
        text.contains("would outlast the deadline") && !text.contains("keeps rejecting"),
        "{text}"
    );
    Ok(())
}

/// Another instance of the service, configured without the scope this replica asks for (an
/// older or newer version in a rolling update, an operator's `hydra-token` run), reconciles the
/// shared client to its own settings and removes the scope. Hydra then refuses this replica's
/// token requests (`invalid_scope`). Before, nothing read the client again: the replica failed
/// until it was restarted. Now a refused token request reads the client again, once per fetch,
/// and the replica puts back what it needs.
#[tokio::test]
async fn a_replica_whose_scope_another_instance_removed_puts_it_back() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = |scope: Option<&str>| {
        let builder = Config::builder(hydra.admin_url(), hydra.public_url())
            .client_id("scope-removed")
            .client_secret("scope-removed-shared-secret")
            .authorize(false);
        match scope {
            Some(scope) => builder.scope(scope),
            None => builder,
        }
        .build()
    };
    let replica = TokenSource::new(config(Some("read"))?)?;
    let first = replica.token().await?.into_arc();
    assert_eq!(first.scope(), Some("read"));
    flow::acquire_token_with(&config(None)?).await?;
    let admin = hydra_sdk::Client::admin(hydra.admin_url())?;
    let client = admin
        .get_oauth2_client()
        .id("scope-removed")
        .send()
        .await?
        .into_inner();
    assert!(
        !client
            .scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .any(|s| s == "read"),
        "the other instance did not remove the scope: {:?}",
        client.scope
    );
    // Downstream rejects the token (or it expires): the replica must get a new one.
    assert!(replica.invalidate(&first));
    let again = replica.token().await?;
    assert_eq!(again.scope(), Some("read"));
    Ok(())
}

fn deletes(admin: &WireRecorder) -> usize {
    admin
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path().starts_with("/admin/clients/"))
        .count()
}

async fn one_client_after_a_held_first_registration(hold: Hold) -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start_holding_first_post(hydra.admin_url(), hold).await?;
    // No client id configured: the source fixes a UUID before the first attempt.
    let config = Config::builder(admin.url(), hydra.public_url())
        .scope("read")
        .authorize(false)
        .request_timeout(Duration::from_millis(500))
        .build()?;
    let source = TokenSource::new(config)?;
    source.token().await?;
    // Let the held POST reach Hydra (and be answered) before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        admin.count("POST", "/admin/clients") >= 2,
        "the first POST timed out and was retried"
    );
    let ids = client_ids(&hydra).await?;
    assert_eq!(ids.len(), 1, "{ids:?}");
    let registration = source.registration().await.ok_or("registered")?;
    assert_eq!(ids[0], registration.client_id);
    Ok(())
}

#[tokio::test]
async fn stand_in_registration_held_past_the_timeout_then_forwarded_leaves_one_client() -> TestResult
{
    one_client_after_a_held_first_registration(Hold::Request(Duration::from_millis(1200))).await
}

#[tokio::test]
async fn stand_in_registration_answered_after_the_timeout_is_found_by_the_retry() -> TestResult {
    // Hydra created the client at once; the answer came too late. The retried POST gets 409 and
    // recognises its own client by the marker, and uses the secret it chose.
    one_client_after_a_held_first_registration(Hold::Response(Duration::from_millis(1200))).await
}
