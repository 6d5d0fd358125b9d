//! Faults a real Hydra cannot be made to produce, from a scripted stand-in for Hydra's public
//! API (registration still happens on a real Hydra): a 503 with Retry-After, a 429, a stall, a
//! truncated body. Each test is bounded by the flow's own deadline.

use std::error::Error;
use std::future::Future;
use std::time::{Duration, Instant};

use flow::{Config, Stage};
use hydra_tests::stand_in::{Reply, StandIn, TOKEN};
use hydra_tests::TestHydra;
use secrecy::ExposeSecret;

type TestResult = Result<(), Box<dyn Error>>;

fn config(hydra: &TestHydra, public_url: &str) -> flow::ConfigBuilder {
    Config::builder(hydra.admin_url(), public_url)
        .client_id("faulty")
        .scope("read")
        .authorize(false)
}

/// A source for `config` whose client is registered already, so that its first `token()` goes
/// straight to the token endpoint and the deadline counts token requests only: registering on
/// a real Hydra (hashing the secret) can take a good part of a short deadline when the whole
/// suite runs at once, and a test of how the token stage meets its deadline must not depend on it.
async fn registered_source(config: Config) -> Result<flow::TokenSource, flow::Error> {
    let registration = flow::Flow::new(config.clone())?.register().await?;
    flow::TokenSource::with_registration(config, registration)
}

#[tokio::test]
async fn stand_in_503_with_retry_after_is_retried_after_the_wait() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![
        Reply::json(
            "503 Service Unavailable",
            &["retry-after: 1"],
            r#"{"error":"temporarily_unavailable"}"#,
        ),
        Reply::token(TOKEN),
    ])
    .await?;
    let started = Instant::now();
    let token = flow::acquire_token_with(&config(&hydra, public.url()).build()?).await?;
    assert_eq!(token.secret().expose_secret(), "stand-in-token");
    assert_eq!(public.served(), 2);
    // Retry-After said one second; the backoff alone would have waited 100 ms at most.
    assert!(started.elapsed() >= Duration::from_secs(1));
    Ok(())
}

#[tokio::test]
async fn stand_in_429_and_html_502_are_retried_with_backoff() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![
        Reply::json("429 Too Many Requests", &[], r#"{"error":"slow_down"}"#),
        Reply::Raw(
            "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 9\r\n\
             connection: close\r\n\r\n<h1>x</h1>"
                .into(),
        ),
        Reply::token(TOKEN),
    ])
    .await?;
    let token = flow::acquire_token_with(&config(&hydra, public.url()).build()?).await?;
    assert_eq!(token.scope(), Some("read"));
    assert_eq!(public.served(), 3);
    Ok(())
}

#[tokio::test]
async fn stand_in_stall_hits_the_request_timeout_then_the_deadline() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::Stall]).await?;
    let config = config(&hydra, public.url())
        .request_timeout(Duration::from_millis(300))
        .deadline(Duration::from_millis(1500))
        .build()?;
    let source = registered_source(config).await?;
    let started = Instant::now();
    let err = source.token().await.expect_err("stalls");
    let elapsed = started.elapsed();
    let flow::Error::DeadlineExceeded {
        stage, attempts, ..
    } = &err
    else {
        panic!("expected DeadlineExceeded, got {err:?}");
    };
    assert_eq!(*stage, Stage::Token);
    assert!(*attempts >= 2, "{err}");
    assert!(public.served() >= 2);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(err.to_string().contains("deadline"), "{err}");
    Ok(())
}

/// A user's test under tokio's paused clock (`start_paused`), against a Hydra that does not
/// answer: the clock jumps over every timeout and backoff while the runtime waits on the network,
/// so each request "timed out" at once, and the deadline, on the real clock, let the retries go
/// on at network speed (an audit counted 10,084 requests to a real Hydra in 20 s). The deadline
/// is on tokio's clock now, and passes after a few requests, each ended by its own timeout. The stand-in, on a runtime of its
/// own, is the Hydra that never answers.
#[test]
fn stand_in_stall_under_a_paused_clock_costs_a_few_requests_not_thousands() -> TestResult {
    let server = tokio::runtime::Runtime::new()?;
    let stand_in = server.block_on(StandIn::start(vec![Reply::Stall]))?;
    let config = Config::builder(stand_in.url(), stand_in.url())
        .client_id("paused")
        .authorize(false)
        .request_timeout(Duration::from_millis(500))
        // Longer than the longest backoff (5 s), which otherwise ends the loop first.
        .deadline(Duration::from_secs(8))
        .build()?;
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let err = paused
        .block_on(flow::acquire_token_with(&config))
        .expect_err("nothing answers");
    assert!(
        matches!(err, flow::Error::DeadlineExceeded { .. }),
        "{err:?}"
    );
    // 8 s of 500 ms timeouts and backoffs doubling from 100 ms (to 5 s): about eight requests.
    assert!(
        stand_in.served() <= 12,
        "{} requests: {err}",
        stand_in.served()
    );
    Ok(())
}

/// Callers that give up on a slow token request (a timeout of their own around `token()`, as a
/// request handler has) must not each start another: each one cancelled after it was sent still
/// costs Hydra a hash of the client secret, so a slow Hydra would be made slower. The request
/// goes on without them, and the callers after it get its token.
#[tokio::test]
async fn stand_in_slow_token_endpoint_callers_that_give_up_do_not_start_a_request_each(
) -> TestResult {
    let hydra = TestHydra::start().await?;
    let Reply::Raw(token) = Reply::token(TOKEN) else {
        unreachable!("a token reply is raw bytes")
    };
    let public = StandIn::start(vec![Reply::Late(Duration::from_millis(300), token)]).await?;
    let source = registered_source(config(&hydra, public.url()).build()?).await?;
    let mut gave_up = 0;
    for _ in 0..20 {
        match tokio::time::timeout(Duration::from_millis(50), source.token()).await {
            Ok(token) => {
                token?;
            }
            Err(_) => gave_up += 1,
        }
    }
    assert!(gave_up >= 2, "the token request was not slow: {gave_up}");
    assert_eq!(
        source.token().await?.secret().expose_secret(),
        "stand-in-token"
    );
    assert_eq!(public.served(), 1, "{}", source.status());
    Ok(())
}

/// A token whose answer comes later than its lifetime (counted, as every lifetime is, from when
/// the request was sent) is expired on arrival: before, it was handed out, to the caller and to
/// every caller waiting on the same fetch. The slow answer is a stand-in's.
#[tokio::test]
async fn stand_in_token_answered_after_its_lifetime_is_not_handed_out() -> TestResult {
    let hydra = TestHydra::start().await?;
    let answer = r#"{"access_token":"late-token","token_type":"bearer","expires_in":1}"#;
    let Reply::Raw(token) = Reply::token(answer) else {
        unreachable!("a token reply is raw bytes")
    };
    let public = StandIn::start(vec![Reply::Late(Duration::from_millis(1300), token)]).await?;
    let config = config(&hydra, public.url()).build()?;
    let err = flow::acquire_token_with(&config)
        .await
        .expect_err("expired on arrival");
    assert!(
        matches!(
            &err,
            flow::Error::InvalidResponse {
                stage: Stage::Token,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("expired on arrival"), "{err}");
    Ok(())
}

/// Hydra answers a serialization failure of its database (ory/x sqlcon's `ErrConcurrentUpdate`:
/// writes to one client at once, seen when four replicas registered together on v26.2.0) with a
/// 400, though trying again is what fixes it. It was taken for a refusal, and the replica failed.
/// The answer is a stand-in's: a real Hydra gives it only when such a race happens.
#[tokio::test]
async fn stand_in_hydras_concurrent_update_400_is_retried() -> TestResult {
    let hydra = TestHydra::start().await?;
    let Reply::Raw(token) = Reply::token(TOKEN) else {
        unreachable!("a token reply is raw bytes")
    };
    let public = StandIn::start(vec![
        Reply::json(
            "400 Bad Request",
            &[],
            r#"{"error":"Unable to serialize access due to a concurrent update in another session","error_description":""}"#,
        ),
        Reply::Raw(token),
    ])
    .await?;
    let source = registered_source(config(&hydra, public.url()).build()?).await?;
    let token = source.token().await?;
    assert_eq!(token.secret().expose_secret(), "stand-in-token");
    assert_eq!(public.served(), 2);
    Ok(())
}

/// A fetch dropped mid-request (its runtime shut down under it) ends its flight: the callers
/// waiting for it, on another runtime, are woken, and one of them fetches again. None waits
/// forever for an outcome that will not come.
#[test]
fn stand_in_slow_token_endpoint_a_fetch_dropped_with_its_runtime_leaves_no_caller_waiting(
) -> TestResult {
    let runtime = tokio::runtime::Runtime::new()?;
    let (_hydra, public, source) = runtime.block_on(async {
        let hydra = TestHydra::start().await?;
        let Reply::Raw(token) = Reply::token(TOKEN) else {
            unreachable!("a token reply is raw bytes")
        };
        let public = StandIn::start(vec![Reply::Late(Duration::from_millis(300), token)]).await?;
        let source = registered_source(config(&hydra, public.url()).build()?).await?;
        Ok::<_, Box<dyn Error>>((hydra, public, source))
    })?;
    // The first caller leads on a (multi-thread) runtime of its own, and gives up while the
    // request is out; the fetch, a task of that runtime, goes on there until the runtime is
    // dropped. (A current-thread runtime's caller has its fetch run on flow's own runtime, see
    // `stand_in_late_token_a_leader_that_gives_up_on_an_undriven_runtime_stalls_no_one`.)
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let gave_up = doomed
        .block_on(async { tokio::time::timeout(Duration::from_millis(100), source.token()).await });
    assert!(gave_up.is_err(), "the token request was not slow");
    assert_eq!(public.served(), 1);
    let waiter = runtime.spawn({
        let source = source.clone();
        async move { source.token().await }
    });
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    drop(doomed);
    let token = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .map_err(|_| "the waiter was never woken")?
            .map_err(|e| e.to_string())
    })??;
    assert_eq!(token.secret().expose_secret(), "stand-in-token");
    assert_eq!(public.served(), 2, "{}", source.status());
    Ok(())
}

/// A stand-in token endpoint that refuses every request with a 503, which flow retries with
/// backoff until its deadline (10 s here).
async fn refusing(hydra: &TestHydra) -> Result<(StandIn, Config), Box<dyn Error>> {
    let public = StandIn::start(vec![Reply::json(
        "503 Service Unavailable",
        &[],
        r#"{"error":"temporarily_unavailable"}"#,
    )])
    .await?;
    let config = config(hydra, public.url())
        .deadline(Duration::from_secs(10))
        .build()?;
    Ok((public, config))
}

/// A source whose fetch is under way against [`refusing`]: a caller's `token()`, on a task of its
/// own, that the token endpoint has refused once (within 5 s) and that goes on retrying.
async fn fetch_refused_once(
    hydra: &TestHydra,
) -> Result<
    (
        StandIn,
        flow::TokenSource,
        tokio::task::JoinHandle<Result<(), flow::Error>>,
    ),
    Box<dyn Error>,
> {
    let (public, config) = refusing(hydra).await?;
    let source = registered_source(config).await?;
    let caller = source.clone();
    let fetch = tokio::spawn(async move { caller.token().await.map(|_| ()) });
    let started = Instant::now();
    while public.served() == 0 {
        if started.elapsed() > Duration::from_secs(5) {
            return Err("no token request within 5 s".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok((public, source, fetch))
}

/// Runs `call` until the token endpoint has refused it once (within 5 s), then drops it: a
/// caller that gives up, with a timeout of its own.
async fn give_up_once_refused<F>(public: &StandIn, call: F) -> Result<(), String>
where
    F: Future,
    F::Output: std::fmt::Debug,
{
    let refused = async {
        while public.served() == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::select! {
        result = call => Err(format!("finished against a 503: {result:?}")),
        () = refused => Ok(()),
        () = tokio::time::sleep(Duration::from_secs(5)) => Err("no token request".into()),
    }
}

/// How many requests the stand-in gets in the next 1.5 s: long enough for several retries
/// (100 ms, 200 ms, 400 ms, … with jitter), had anything gone on sending.
async fn requests_in_the_next_while(public: &StandIn) -> usize {
    let before = public.served();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    public.served() - before
}

/// `shutdown()` during a fetch that Hydra keeps refusing with a 503 stops the fetch's retries:
/// it ends after the request in flight, and its caller gets `ShutDown`. Before, the fetch went
/// on retrying until its deadline (30 s by default, up to a day), sending requests after the
/// shutdown, and `shutdown()` waited for all of it; with `delete_on_shutdown`, past a typical
/// grace period of 30 s before its delete was even sent.
#[tokio::test]
async fn stand_in_503_shutdown_during_a_failing_fetch_stops_its_retries() -> TestResult {
    let hydra = TestHydra::start().await?;
    let (public, source, fetch) = fetch_refused_once(&hydra).await?;
    let before = public.served();
    let started = Instant::now();
    source.shutdown().await?;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    let got = fetch.await?.expect_err("shut down");
    assert!(matches!(got.unshared(), flow::Error::ShutDown), "{got:?}");
    assert!(
        public.served() - before <= 1,
        "{} token requests after the shutdown began",
        public.served() - before
    );
    assert_eq!(requests_in_the_next_while(&public).await, 0);
    Ok(())
}

/// `registration()` answers at once while a fetch is under way: a health endpoint that shows it
/// must not hang on a slow Hydra. Before, it waited for the fetch's lock, through all its
/// retries (up to the deadline).
#[tokio::test]
async fn stand_in_503_registration_answers_at_once_during_a_failing_fetch() -> TestResult {
    let hydra = TestHydra::start().await?;
    let (_public, source, fetch) = fetch_refused_once(&hydra).await?;
    let registration = tokio::time::timeout(Duration::from_millis(500), source.registration())
        .await
        .map_err(|_| "registration() waited for the fetch")?;
    assert_eq!(
        registration.map(|r| r.client_id),
        Some("faulty".to_string())
    );
    fetch.abort();
    Ok(())
}

/// A source dropped while its fetch is under way takes the fetch with it: once the last handle
/// is gone no caller can read the token, so nothing goes on sending (retries included) for it.
#[tokio::test]
async fn stand_in_503_a_source_dropped_mid_fetch_retries_nothing_after_it() -> TestResult {
    let hydra = TestHydra::start().await?;
    let (public, config) = refusing(&hydra).await?;
    let source = registered_source(config).await?;
    // The fetch goes on without the caller that gave up, for the callers after it, until the
    // service drops the source.
    give_up_once_refused(&public, source.token()).await?;
    drop(source);
    assert_eq!(
        requests_in_the_next_while(&public).await,
        0,
        "token requests after the source was dropped"
    );
    Ok(())
}

/// `acquire_token_with` is a one-shot: a caller that gives up on it (a timeout of its own) ends
/// it, as dropping any future does. Nothing of it goes on without the caller: no retry against
/// a failing Hydra, for a token no one will read.
#[tokio::test]
async fn stand_in_503_an_abandoned_acquire_token_retries_nothing_after_it_is_dropped() -> TestResult
{
    let hydra = TestHydra::start().await?;
    let (public, config) = refusing(&hydra).await?;
    give_up_once_refused(&public, flow::acquire_token_with(&config)).await?;
    assert_eq!(
        requests_in_the_next_while(&public).await,
        0,
        "token requests after the caller gave up"
    );
    Ok(())
}

#[tokio::test]
async fn stand_in_truncated_body_is_a_transport_error_retried_until_the_deadline() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::Raw(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\
         connection: close\r\n\r\n{\"access_token\":\"trunc"
            .into(),
    )])
    .await?;
    let config = config(&hydra, public.url())
        .deadline(Duration::from_secs(1))
        .build()?;
    let err = registered_source(config)
        .await?
        .token()
        .await
        .expect_err("truncated");
    let flow::Error::DeadlineExceeded { stage, last, .. } = &err else {
        panic!("expected DeadlineExceeded, got {err:?}");
    };
    assert_eq!(*stage, Stage::Token);
    let last = last
        .as_deref()
        .ok_or_else(|| format!("no last error: {err:?}"))?;
    assert!(matches!(last, flow::Error::Transport { .. }), "{last:?}");
    assert!(public.served() >= 2);
    // Nothing of the partial token leaks into the error.
    assert!(!format!("{err:?}").contains("trunc"));
    Ok(())
}

#[tokio::test]
async fn an_oauth2_error_that_retrying_cannot_fix_is_returned_at_once() -> TestResult {
    // A real Hydra and a wrong, configured secret: invalid_client. The source replaces the
    // client's secret with the configured one and succeeds; a plain token call does not retry.
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("rotating")
        .scope("read")
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&config).await?;
    let wrong = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("rotating")
        .client_secret("not-the-secret-hydra-holds")
        .scope("read")
        .authorize(false)
        .build()?;
    let flow = flow::Flow::new(wrong.clone())?;
    let registration = flow.register().await?;
    let err = flow.token(&registration).await.expect_err("wrong secret");
    assert_eq!(err.oauth2_error(), Some("invalid_client"));
    assert_eq!(err.status(), Some(401));
    assert!(!format!("{err:?} {err}").contains("not-the-secret-hydra-holds"));
    // The token source recovers: it sets the configured secret through the admin API.
    let token = flow::acquire_token_with(&wrong).await?;
    assert_eq!(token.scope(), Some("read"));
    Ok(())
}

/// A shutdown while a fetch is under way ends the fetch, keeping nothing: that is what was asked
/// for, not a failure, so the status shows no error (it showed "the token source was shut down"
/// as the last error, and the error counter went up).
#[tokio::test]
async fn stand_in_late_token_a_shutdown_during_the_fetch_is_no_error_in_the_status() -> TestResult {
    let hydra = TestHydra::start().await?;
    let Reply::Raw(answer) = Reply::token(TOKEN) else {
        return Err("Reply::token is raw".into());
    };
    let public = StandIn::start(vec![Reply::Late(Duration::from_millis(300), answer)]).await?;
    let source = registered_source(config(&hydra, public.url()).build()?).await?;
    let (caller, watcher) = (source.clone(), source.clone());
    let fetch = tokio::spawn(async move { caller.token().await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    source.shutdown().await?;
    let got = fetch.await?;
    assert!(got.is_err(), "a token was handed out after the shutdown");
    let status = watcher.status();
    assert!(status.last_error.is_none(), "{status}");
    assert!(!status.has_token, "{status}");
    Ok(())
}

/// A token past the point where it is no longer handed out is no token for the status: with the
/// refresh failing, the status said `has_token` for a token that had expired, while every
/// `token()` returned the refresh's error.
#[tokio::test]
async fn stand_in_token_expired_while_the_refresh_fails_is_no_token_in_the_status() -> TestResult {
    let hydra = TestHydra::start().await?;
    let refused = || Reply::json("400 Bad Request", &[], r#"{"error":"invalid_scope"}"#);
    let public = StandIn::start(vec![
        Reply::token(r#"{"access_token":"short","token_type":"bearer","expires_in":2}"#),
        refused(),
        refused(),
        refused(),
        refused(),
    ])
    .await?;
    let source = registered_source(config(&hydra, public.url()).build()?).await?;
    source.token().await?;
    assert!(source.status().has_token, "{}", source.status());
    // Not handed out from 1 s before its expiry (2 s) on; the refresh was refused.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        source.token().await.is_err(),
        "an expired token was handed out"
    );
    let status = source.status();
    assert!(!status.has_token, "{status}");
    assert!(status.expires_at.is_none(), "{status}");
    Ok(())
}

/// The flag that says a refresh from the token's last margin is under way is cleared however
/// that refresh's task ends, including dropped before it ever ran (started through a handle of a
/// runtime that was dropped): it stayed set, readers in the margin started no refresh again,
/// and the first read past the margin waited for Hydra.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_late_token_a_margin_refresh_dropped_unrun_does_not_stop_the_next() -> TestResult {
    let hydra = TestHydra::start().await?;
    let Reply::Raw(second) = Reply::token(TOKEN) else {
        return Err("Reply::token is raw".into());
    };
    let public = StandIn::start(vec![
        // Handed out until about 2.2 s (its last quarter, less the coarse clock's lag); refreshed
        // from 1.7 s on (at least 500 ms before that).
        Reply::token(r#"{"access_token":"first","token_type":"bearer","expires_in":3}"#),
        Reply::Late(Duration::from_millis(200), second),
    ])
    .await?;
    let source = registered_source(config(&hydra, public.url()).build()?).await?;
    // The first token, on a runtime dropped right after: its background refresh goes with it.
    let (first, dead) = {
        let source = source.clone();
        std::thread::spawn(move || -> Result<_, String> {
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime
                .block_on(source.token())
                .map_err(|e| e.to_string())?;
            let handle = runtime.handle().clone();
            drop(runtime);
            Ok((Instant::now(), handle))
        })
        .join()
        .map_err(|_| "the thread panicked")??
    };
    // In the margin, a read through the dead runtime's handle starts a refresh whose task is
    // dropped unrun.
    tokio::time::sleep_until((first + Duration::from_millis(1800)).into()).await;
    {
        let source = source.clone();
        std::thread::spawn(move || dead.block_on(source.token()).map(|_| ()))
            .join()
            .map_err(|_| "the read panicked")??;
    }
    // Reads on this runtime until past the margin: one starts the refresh, none waits.
    let mut waited = 0;
    while first.elapsed() < Duration::from_millis(2600) {
        let read = source.token();
        match futures::FutureExt::now_or_never(read) {
            Some(token) => drop(token?),
            None => {
                waited += 1;
                source.token().await?;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(waited, 0, "reads waited for Hydra; {}", source.status());
    assert_eq!(public.served(), 2, "{}", source.status());
    Ok(())
}

/// A caller that leads the fetch from a current-thread runtime (a sync wrapper's, blocked on
/// only for each call) and gives up: the fetch must not depend on that runtime being driven
/// again. It ran there, and every other caller waited, with no bound, until that runtime was
/// driven or dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_late_token_a_leader_that_gives_up_on_an_undriven_runtime_stalls_no_one(
) -> TestResult {
    let hydra = TestHydra::start().await?;
    let Reply::Raw(answer) = Reply::token(TOKEN) else {
        return Err("Reply::token is raw".into());
    };
    let public = StandIn::start(vec![Reply::Late(Duration::from_millis(300), answer)]).await?;
    let source = registered_source(config(&hydra, public.url()).build()?).await?;
    let (test_done, wait_for_the_test) = std::sync::mpsc::channel::<()>();
    let wrapper = {
        let source = source.clone();
        std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let got = runtime.block_on(async {
                tokio::time::timeout(Duration::from_millis(50), source.token()).await
            });
            if got.is_ok() {
                return Err("the token came within 50 ms".into());
            }
            // The runtime lives on, driven by no one, until the test is done.
            let _ = wait_for_the_test.recv_timeout(Duration::from_secs(20));
            drop(runtime);
            Ok(())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = tokio::time::timeout(Duration::from_secs(5), source.token()).await;
    drop(test_done);
    wrapper.join().map_err(|_| "the wrapper panicked")??;
    let token =
        got.map_err(|_| "no token within 5 s while the wrapper's runtime sat undriven")??;
    assert_eq!(token.secret().expose_secret(), "stand-in-token");
    assert_eq!(public.served(), 1);
    Ok(())
}
