//! The token source's read path against a real Hydra: readers never wait across refreshes with a
//! short token lifetime (counted, not timed), and `client_secret_basic` goes through the user's
//! HTTP client and reuses its connections. The 1000-caller single flight is in `flow_sequence.rs`.

use std::collections::BTreeSet;
use std::error::Error;
use std::time::{Duration, Instant};

use flow::{Config, TokenAuthMethod, TokenSource};
use futures::FutureExt;
use hydra_tests::tcp_proxy::TcpProxy;
use hydra_tests::wire::WireRecorder;
use hydra_tests::TestHydra;
use secrecy::ExposeSecret;

type TestResult = Result<(), Box<dyn Error>>;

/// What one reader saw.
#[derive(Default)]
struct Reads {
    reads: u64,
    /// Calls whose `token()` could not complete on its first poll: it had to wait (on the
    /// network, or on another caller's request).
    waited: u64,
    tokens: BTreeSet<String>,
}

/// Reads `source` until `until`, polling each `token()` once: a read path that never waits
/// always completes on the first poll. `busy` readers only yield between reads, keeping the
/// runtime's workers occupied; the others sleep a millisecond.
async fn read(source: TokenSource, until: Instant, busy: bool) -> Result<Reads, flow::Error> {
    let mut seen = Reads::default();
    while Instant::now() < until {
        seen.reads += 1;
        match source.token().now_or_never() {
            Some(token) => {
                seen.tokens
                    .insert(token?.secret().expose_secret().to_string());
            }
            None => seen.waited += 1,
        }
        if busy {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_wait_across_refreshes_with_a_4s_token_lifetime() -> TestResult {
    // Hydra reports a 4 s lifetime as `expires_in: 3`.
    let hydra = TestHydra::builder()
        .env("TTL_ACCESS_TOKEN", "4s")
        .start()
        .await?;
    let public = WireRecorder::start(hydra.public_url()).await?;
    let config = Config::builder(hydra.admin_url(), public.url())
        .client_id("bss-readers")
        .scope("read")
        .registered_scope("read")
        .authorize(false)
        .build()?;
    let source = TokenSource::new(config)?;
    // The cold fetch is the one wait by design.
    source.token().await?;

    // Three token lifetimes: at least three refreshes, each across the point where the old
    // schedule (three quarters of `expires_in`, after the 1 s stale margin) made readers wait.
    let until = Instant::now() + Duration::from_secs(10);
    let readers: Vec<_> = (0..4)
        .map(|i| tokio::spawn(read(source.clone(), until, i == 0)))
        .collect();
    let mut tokens = BTreeSet::new();
    let mut reads = 0;
    for reader in futures::future::join_all(readers).await {
        let seen = reader??;
        assert_eq!(
            seen.waited, 0,
            "of {} reads, {} waited",
            seen.reads, seen.waited
        );
        reads += seen.reads;
        tokens.extend(seen.tokens);
    }
    let requests = public.count("POST", "/oauth2/token");
    assert!(
        tokens.len() >= 4,
        "{} tokens in {reads} reads",
        tokens.len()
    );
    // Every token request was a refresh some reader then saw (at most the last one unseen):
    // no refetch storms.
    assert!(
        requests <= tokens.len() + 1,
        "{requests} token requests for {} tokens",
        tokens.len()
    );
    Ok(())
}

#[tokio::test]
async fn client_secret_basic_goes_through_the_users_http_client() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = WireRecorder::start(hydra.public_url()).await?;
    let http = hydra_sdk::http_client_builder()
        .user_agent("bss-own-client/1")
        .build()?;
    let config = Config::builder(hydra.admin_url(), public.url())
        .client_id("bss-basic-own")
        .token_auth_method(TokenAuthMethod::ClientSecretBasic)
        .authorize(false)
        .http_client(http)
        .build()?;
    let source = TokenSource::new(config)?;
    source.token().await?;
    let sent = public.requests();
    let token_requests: Vec<_> = sent
        .iter()
        .filter(|r| r.method == "POST" && r.path() == "/oauth2/token")
        .collect();
    assert_eq!(token_requests.len(), 1);
    let request = token_requests[0];
    assert_eq!(request.header("user-agent"), Some("bss-own-client/1"));
    assert!(request
        .header("authorization")
        .is_some_and(|a| a.starts_with("Basic ")));
    let body = String::from_utf8_lossy(&request.body);
    assert!(!body.contains("client_secret"), "{body}");
    Ok(())
}

#[tokio::test]
async fn client_secret_basic_token_requests_reuse_one_connection() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = TcpProxy::bind().await?;
    public.set_backends(std::iter::once(hydra.urls().public_port));
    let config = Config::builder(hydra.admin_url(), public.url())
        .client_id("bss-basic-reuse")
        .token_auth_method(TokenAuthMethod::ClientSecretBasic)
        .authorize(false)
        .build()?;
    // Registered once (on the admin API, not through the proxy); then five sources of that
    // client, each asking for its first token.
    let registration = flow::Flow::new(config.clone())?.register().await?;
    let mut tokens = BTreeSet::new();
    for _ in 0..5 {
        let source = TokenSource::with_registration(config.clone(), registration.clone())?;
        let token = source.token().await?;
        tokens.insert(token.secret().expose_secret().to_string());
    }
    assert_eq!(tokens.len(), 5, "each token came from its own request");
    // Five token requests with HTTP Basic authentication, one after another, on one connection:
    // the client (and its pool) is the flow's shared one, not one built per request or source.
    assert_eq!(public.counts(), vec![1]);
    Ok(())
}

/// A token one source handed out means nothing to another: every source used to count its
/// tokens from 1, so `b.invalidate(&a's first token)` matched b's own first token and threw it
/// away (and cost b a step of its hold-off).
#[tokio::test]
async fn invalidating_another_source_s_token_keeps_this_one_s() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("bss-invalidate-foreign")
        .authorize(false)
        .build()?;
    let registration = flow::Flow::new(config.clone())?.register().await?;
    let a = TokenSource::with_registration(config.clone(), registration.clone())?;
    let b = TokenSource::with_registration(config, registration)?;
    let (from_a, from_b) = (a.token().await?, b.token().await?);
    assert!(b.invalidate(&from_a), "b's next token is not a's");
    let kept = b.token().await?;
    assert_eq!(
        kept.secret().expose_secret(),
        from_b.secret().expose_secret(),
        "b threw its own token away"
    );
    assert_eq!(b.status().token_requests, 1, "{}", b.status());
    Ok(())
}
