//! The flow against a real Hydra: the whole sequence, JWT verification, single-flight under
//! load, idempotent registration across restarts, and recovery when Hydra forgets everything.
//! (Ownership and minimal reconcile: flow/tests/it/ownership.rs; replicas and bounded recovery:
//! `flow_replicas.rs`.)

use std::error::Error;
use std::time::{Duration, Instant};

use flow::{AccessTokenStrategy, Config, Stage, TokenAuthMethod};
use hydra_sdk::{types, ApiResult as _, Client};
use hydra_tests::sdk::{clients, introspect};
use hydra_tests::stand_in::{Reply, StandIn};
use hydra_tests::wire::WireRecorder;
use hydra_tests::TestHydra;
use secrecy::ExposeSecret;

use crate::flow_bss_wire::bss;

type TestResult = Result<(), Box<dyn Error>>;

#[tokio::test]
async fn bss_sequence_gives_a_token_that_introspects_active_with_its_client_and_scope() -> TestResult
{
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url()).build()?;
    let flow = flow::Flow::new(config.clone())?;
    let registration = flow.register().await?;
    assert!(registration.created);
    assert!(registration.registration_access_token.is_some());
    flow.authorize(&registration).await?;
    let token = flow.token(&registration).await?;
    assert_eq!(token.token_type(), "bearer");
    assert_eq!(token.scope(), Some("read"));
    let lifetime = token.expires_in().ok_or("no expires_in")?;
    assert!(lifetime > Duration::from_secs(3000) && lifetime <= Duration::from_secs(3600));

    let introspection = introspect(hydra.admin_url(), token.secret().expose_secret()).await?;
    assert!(introspection.active);
    assert_eq!(
        introspection.client_id.as_deref(),
        Some(registration.client_id.as_str())
    );
    assert_eq!(introspection.scope.as_deref(), Some("read"));

    // The one-shot entry point does the same, end to end.
    let token = flow::acquire_token_with(&config).await?;
    assert!(
        introspect(hydra.admin_url(), token.secret().expose_secret())
            .await?
            .active
    );
    Ok(())
}

#[tokio::test]
async fn client_secret_basic_is_registered_and_used() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = WireRecorder::start(hydra.public_url()).await?;
    let config = Config::builder(hydra.admin_url(), public.url())
        .client_id("basic-client")
        .scope("read")
        .token_auth_method(TokenAuthMethod::ClientSecretBasic)
        .authorize(false)
        .build()?;
    let token = flow::acquire_token_with(&config).await?;
    assert!(
        introspect(hydra.admin_url(), token.secret().expose_secret())
            .await?
            .active
    );

    let admin = Client::admin(hydra.admin_url())?;
    let client = admin
        .get_oauth2_client()
        .id("basic-client")
        .send()
        .await
        .api()?;
    assert_eq!(client.token_endpoint_auth_method, "client_secret_basic");
    let sent = public
        .requests()
        .into_iter()
        .find(|r| r.path() == "/oauth2/token")
        .ok_or("no token request")?;
    assert!(sent
        .header("authorization")
        .is_some_and(|v| v.starts_with("Basic ")));
    let body = String::from_utf8(sent.body)?;
    assert!(!body.contains("client_secret"), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_jwt_access_token_verifies_against_hydras_jwks() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-jwt")
        .access_token_strategy(AccessTokenStrategy::Jwt)
        .build()?;
    let token = flow::acquire_token_with(&config).await?;
    let jwt = token.secret().expose_secret();

    let public = Client::public(hydra.public_url())?;
    let jwks = public.discover_json_web_keys().send().await.api()?;
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(serde_json::to_value(&jwks)?)?;
    let header = jsonwebtoken::decode_header(jwt)?;
    let kid = header.kid.ok_or("the JWT names no key")?;
    let jwk = jwks.find(&kid).ok_or("the JWT's key is not in the JWKS")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk)?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[hydra.issuer()]);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &validation)?.claims;
    assert_eq!(claims["client_id"], "bss-jwt");
    assert_eq!(claims["sub"], "bss-jwt");
    assert_eq!(claims["scp"], serde_json::json!(["read"]));

    // A token whose signature was tampered with does not verify.
    let mut forged = jwt.to_string();
    let last = forged.pop().ok_or("empty token")?;
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(jsonwebtoken::decode::<serde_json::Value>(&forged, &key, &validation).is_err());
    Ok(())
}

#[tokio::test]
async fn an_authorize_error_redirect_is_a_typed_oauth2_error() -> TestResult {
    let hydra = TestHydra::start().await?;
    let registered = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-narrow")
        .registered_scope("read")
        .build()?;
    let registration = flow::Flow::new(registered)?.register().await?;
    // The same client asking to be authorized for a scope it was not registered with.
    let greedy = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-narrow")
        .registered_scope("admin")
        .build()?;
    let err = flow::Flow::new(greedy)?
        .authorize(&registration)
        .await
        .expect_err("scope not allowed");
    assert_eq!(err.stage(), Some(Stage::Authorize));
    assert_eq!(err.oauth2_error(), Some("invalid_scope"), "{err}");
    assert!(err.to_string().contains("invalid_scope"), "{err}");
    Ok(())
}

/// Hydra answers the authorize request with a redirect into its login flow, which the flow reads
/// from the `Location`. An HTTP client of the user's that follows redirects would take the
/// request to the login URL instead (and the flow failed on the 404 it found there); the SDK
/// sends every request in a form no redirect policy can send again with its method kept, so the
/// redirect comes back to be read, and the whole flow works through such a client.
#[tokio::test]
async fn an_http_client_that_follows_redirects_still_gets_hydras_authorize_redirect() -> TestResult
{
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .http_client(hydra_tests::client_following_redirects()?)
        .build()?;
    let flow = flow::Flow::new(config)?;
    let registration = flow.register().await?;
    flow.authorize(&registration).await?;
    let token = flow.token(&registration).await?;
    assert!(
        introspect(hydra.admin_url(), token.secret().expose_secret())
            .await?
            .active
    );
    Ok(())
}

#[tokio::test]
async fn a_thousand_concurrent_callers_on_a_cold_source_cause_one_token_request() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = WireRecorder::start(hydra.public_url()).await?;
    let config = bss(hydra.admin_url(), public.url())
        .client_id("bss-load")
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let callers = (0..1000).map(|_| {
        let source = source.clone();
        tokio::spawn(async move { source.token().await })
    });
    let results =
        tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(callers)).await?;
    let mut secrets = std::collections::BTreeSet::new();
    for result in results {
        secrets.insert(result??.secret().expose_secret().to_string());
    }
    assert_eq!(secrets.len(), 1, "every caller got the same token");
    assert_eq!(public.count("POST", "/oauth2/token"), 1);
    assert_eq!(public.count("GET", "/oauth2/auth"), 1);

    // Warm: more callers, no more requests.
    for _ in 0..100 {
        source.token().await?;
    }
    assert_eq!(public.count("POST", "/oauth2/token"), 1);
    Ok(())
}

#[tokio::test]
async fn a_hundred_restarts_with_a_stable_id_and_secret_leave_one_client_and_never_rotate(
) -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let config = bss(admin.url(), hydra.public_url())
        .client_id("bss-stable")
        .client_secret("the-stable-shared-secret")
        .authorize(false)
        .build()?;
    let mut last = None;
    for _ in 0..100 {
        // A new process each time: nothing carried over but the configuration.
        let source = flow::TokenSource::new(config.clone())?;
        last = Some(source.token().await?);
        source.shutdown().await?;
    }
    let all = clients(hydra.admin_url()).await?;
    assert_eq!(
        all.len(),
        1,
        "{:?}",
        all.iter().map(|c| &c.client_id).collect::<Vec<_>>()
    );
    assert_eq!(all[0].client_id.as_deref(), Some("bss-stable"));
    let last = last.ok_or("no token")?;
    assert!(
        introspect(hydra.admin_url(), last.secret().expose_secret())
            .await?
            .active
    );
    // The configured secret always worked: no restart wrote to the client.
    assert_eq!(admin.count("PATCH", "/admin/clients/bss-stable"), 0);
    assert_eq!(admin.count("PUT", "/admin/clients/bss-stable"), 0);

    // A restart with the same id and no secret does not know the one Hydra holds, and another
    // instance set it moments ago: a configuration error, not a rotation that would lock the
    // other instance out.
    let unshared = bss(admin.url(), hydra.public_url())
        .client_id("bss-stable")
        .authorize(false)
        .build()?;
    let err = flow::acquire_token_with(&unshared)
        .await
        .expect_err("a second secret for one client id");
    assert!(
        matches!(err, flow::Error::SecretHeldElsewhere { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HYDRA_CLIENT_SECRET"), "{err}");
    assert_eq!(admin.count("PATCH", "/admin/clients/bss-stable"), 0);

    // A restart configured with another secret (a rotation, or replicas that disagree) does know
    // its secret: the error says the two configurations differ, not to configure one.
    let rotated = bss(admin.url(), hydra.public_url())
        .client_id("bss-stable")
        .client_secret("bss-stable-rotated-secret")
        .authorize(false)
        .build()?;
    let err = flow::acquire_token_with(&rotated)
        .await
        .expect_err("another configured secret within the quiet period");
    assert!(
        matches!(err, flow::Error::ConfiguredSecretsDiffer { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("configured"), "{err}");
    // One line, as written: its source lines once lost their continuations, leaving runs of
    // spaces in the message.
    assert!(!err.to_string().contains("  "), "{err}");
    assert_eq!(admin.count("PATCH", "/admin/clients/bss-stable"), 0);
    Ok(())
}

#[tokio::test]
async fn with_a_configured_secret_restarts_reuse_the_client_without_replacing_it() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let config = bss(admin.url(), hydra.public_url())
        .client_id("bss-known")
        .client_secret("a-configured-secret-of-some-length")
        .authorize(false)
        .build()?;
    for _ in 0..5 {
        let source = flow::TokenSource::new(config.clone())?;
        source.token().await?;
    }
    // A configured id is looked up first: the first start finds nothing and creates the client,
    // every restart after it costs one GET (not a POST that Hydra refuses with 409, then a GET).
    assert_eq!(admin.count("POST", "/admin/clients"), 1);
    assert_eq!(admin.count("GET", "/admin/clients/bss-known"), 5);
    assert_eq!(admin.count("PUT", "/admin/clients/bss-known"), 0);
    assert_eq!(admin.count("PATCH", "/admin/clients/bss-known"), 0);
    assert_eq!(clients(hydra.admin_url()).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn shutdown_can_delete_the_client() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-ephemeral")
        .delete_on_shutdown(true)
        .build()?;
    let source = flow::TokenSource::new(config)?;
    source.token().await?;
    assert_eq!(clients(hydra.admin_url()).await?.len(), 1);
    source.shutdown().await?;
    assert!(clients(hydra.admin_url()).await?.is_empty());
    Ok(())
}

/// A downstream service (SMD, say) that accepts a request when its bearer token introspects as
/// active at Hydra. Not a stand-in for Hydra: Hydra is real; this is the service behind it.
async fn downstream(
    admin_url: String,
) -> Result<(String, tokio::task::JoinHandle<()>), Box<dyn Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let Ok(admin) = Client::admin(&admin_url) else {
            return;
        };
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let Ok(n) = socket.read(&mut buf).await else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let token = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("authorization")
                    .then(|| v.trim().strip_prefix("Bearer ").map(str::to_string))?
            });
            let active = match token {
                Some(token) => admin
                    .introspect_oauth2_token()
                    .body(
                        types::IntrospectOauth2TokenBody::builder()
                            .token(hydra_sdk::Secret::from(token)),
                    )
                    .send()
                    .await
                    .is_ok_and(|r| r.into_inner().active),
                None => false,
            };
            let status = if active { "200 OK" } else { "401 Unauthorized" };
            let _ = socket
                .write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await;
        }
    });
    Ok((url, task))
}

#[tokio::test]
async fn hydra_restarted_on_memory_mid_run_the_source_registers_again_and_the_middleware_recovers(
) -> TestResult {
    let mut hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-recover")
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let (smd_url, smd) = downstream(hydra.admin_url().to_string()).await?;
    let smd_client =
        reqwest_middleware::ClientBuilder::new(hydra_sdk::http_client_builder().build()?)
            .with(flow::BearerAuth::new(source.clone()))
            .build();

    let before = source.token().await?;
    let response = smd_client
        .get(format!("{smd_url}/hsm/v2/State/Components"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);

    // Hydra restarts with DSN=memory: the client and every token are gone.
    hydra.restart().await?;
    assert!(clients(hydra.admin_url()).await?.is_empty());
    assert!(
        !introspect(hydra.admin_url(), before.secret().expose_secret())
            .await?
            .active
    );

    // The downstream service now rejects the cached token; the middleware invalidates it, the
    // source finds its client rejected (invalid_client), registers again and gets a new token.
    let response = smd_client
        .get(format!("{smd_url}/hsm/v2/State/Components"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let after = source.token().await?;
    assert_ne!(
        after.secret().expose_secret(),
        before.secret().expose_secret()
    );
    assert!(
        introspect(hydra.admin_url(), after.secret().expose_secret())
            .await?
            .active
    );
    let all = clients(hydra.admin_url()).await?;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].client_id.as_deref(), Some("bss-recover"));
    smd.abort();
    Ok(())
}

/// A token request Hydra refuses (here `invalid_scope`: the client is registered for `read` and
/// asks for `write`) is refused however often it is sent, and each costs Hydra a hash of the
/// client secret: callers that keep asking get the error without a request each.
#[tokio::test]
async fn a_token_request_hydra_refuses_is_not_sent_again_for_every_caller() -> TestResult {
    const CALLS: u64 = 40;
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-wrong-scope")
        .registered_scope("read")
        .scope("write")
        .authorize(false)
        .build()?;
    let source = flow::TokenSource::new(config)?;

    let started = Instant::now();
    for call in 0..CALLS {
        let err = source.token().await.expect_err("invalid_scope");
        assert_eq!(
            err.oauth2_error(),
            Some("invalid_scope"),
            "call {call}: {err}"
        );
    }
    let elapsed = started.elapsed();

    // The first request at once, each later one 1 s, 2 s, 4 s, ... after the one before.
    let status = source.status();
    let most = 1 + (elapsed.as_secs_f64() + 1.0).log2().floor() as u64;
    assert!(
        (1..=most).contains(&status.token_requests),
        "{} token requests for {CALLS} calls in {elapsed:?}, at most {most}: {status}",
        status.token_requests
    );
    Ok(())
}

/// A downstream service that rejects every token (a wrong audience in its settings, say) must
/// not cost Hydra a token request per request: each one costs Hydra a hash of the client secret,
/// and one such service would load the Hydra every client depends on. Hydra is real; the
/// stand-in is the misconfigured service.
#[tokio::test]
async fn stand_in_downstream_rejecting_every_token_does_not_cost_a_token_request_each() -> TestResult
{
    const REQUESTS: u64 = 40;
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-rejected-downstream")
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let service = StandIn::start(vec![Reply::with_type(
        "401 Unauthorized",
        "text/plain",
        &["www-authenticate: Bearer error=\"invalid_token\""],
        "",
    )])
    .await?;
    let client = reqwest_middleware::ClientBuilder::new(hydra_sdk::http_client_builder().build()?)
        .with(flow::BearerAuth::new(source.clone()))
        .build();

    let started = Instant::now();
    for _ in 0..REQUESTS {
        let response = client
            .get(format!("{}/hsm/v2/State/Components", service.url()))
            .send()
            .await?;
        assert_eq!(response.status(), 401);
    }
    let elapsed = started.elapsed();

    // The first token, then one more for each rejection acted on: the first at once, each
    // later one 1 s, 2 s, 4 s, ... after the one before, so at most 1 + log2(elapsed + 1).
    let status = source.status();
    let acted_on = status.refreshes.saturating_sub(1);
    let most = 1 + (elapsed.as_secs_f64() + 1.0).log2().floor() as u64;
    assert!(
        (1..=most).contains(&acted_on),
        "{acted_on} rejections acted on in {elapsed:?}, at most {most}: {status}"
    );
    // Each one acted on retried its request once, with the new token; every other 401 came
    // back as it was.
    assert_eq!(service.served() as u64, REQUESTS + acted_on, "{status}");
    Ok(())
}

#[tokio::test]
async fn stand_in_downstream_redirecting_to_a_401_elsewhere_keeps_the_token() -> TestResult {
    // The service redirects to another origin, which answers 401. A client that follows
    // redirects brings that 401 back, but the token never went there (reqwest drops
    // `Authorization` across origins): it says nothing about the token. Before, each such 401
    // threw a valid token away and fetched another, and lengthened the hold-off a real
    // rejection then met.
    const REQUESTS: usize = 5;
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-redirected-downstream")
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let elsewhere = StandIn::start(vec![Reply::with_type(
        "401 Unauthorized",
        "text/plain",
        &[],
        "",
    )])
    .await?;
    let service = StandIn::start(vec![Reply::redirect(
        "302 Found",
        &format!("{}/moved", elsewhere.url()),
    )])
    .await?;
    let client = reqwest_middleware::ClientBuilder::new(hydra_tests::client_following_redirects()?)
        .with(flow::BearerAuth::new(source.clone()))
        .build();
    for _ in 0..REQUESTS {
        let response = client
            .get(format!("{}/hsm/v2/State/Components", service.url()))
            .send()
            .await?;
        assert_eq!(response.status(), 401);
    }
    let status = source.status();
    assert_eq!(status.refreshes, 1, "{status}");
    assert_eq!(status.token_requests, 1, "{status}");
    // Each request went once, with no retry.
    assert_eq!(service.served(), REQUESTS, "{status}");
    assert_eq!(elsewhere.served(), REQUESTS, "{status}");
    Ok(())
}

/// A 401 to a request whose body is a stream (an upload) cannot be retried, but it still says
/// the token is rejected. Before, the token was kept: every later request carried it, until the
/// refresh at three quarters of its life (45 minutes for an hour's token). Hydra is real; the
/// stand-in is the service that rejects the token.
#[tokio::test]
async fn stand_in_downstream_rejecting_a_streamed_request_invalidates_the_token() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = bss(hydra.admin_url(), hydra.public_url())
        .client_id("bss-streamed-upload")
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let service = StandIn::start(vec![Reply::with_type(
        "401 Unauthorized",
        "text/plain",
        &[],
        "",
    )])
    .await?;
    let client = reqwest_middleware::ClientBuilder::new(hydra_sdk::http_client_builder().build()?)
        .with(flow::BearerAuth::new(source.clone()))
        .build();
    let before = source.token().await?.into_arc();
    let upload = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"boot parameters",
    ))]);
    let response = client
        .put(format!("{}/boot/v1/bootparameters", service.url()))
        .body(reqwest::Body::wrap_stream(upload))
        .send()
        .await?;
    assert_eq!(response.status(), 401);
    // Not sent again (it cannot be), but the token is forgotten: the next one is new.
    assert_eq!(service.served(), 1);
    let after = source.token().await?;
    assert_ne!(
        after.secret().expose_secret(),
        before.secret().expose_secret()
    );
    Ok(())
}

/// A request's own timeout bounds the whole call through the middleware, the wait for a token
/// included. Before, the wait was bounded only by the flow's deadline (30 s by default): a
/// request with a 500 ms timeout came back after as long as the token endpoint took. The token
/// endpoint is a stand-in that never answers (a stall no real Hydra makes on demand).
#[tokio::test]
async fn stand_in_stalled_token_endpoint_a_request_timeout_bounds_the_wait_for_a_token(
) -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::Stall]).await?;
    let config = bss(hydra.admin_url(), public.url())
        .client_id("bss-request-timeout")
        .authorize(false)
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let service = StandIn::start(vec![Reply::with_type("200 OK", "text/plain", &[], "")]).await?;
    let client = reqwest_middleware::ClientBuilder::new(hydra_sdk::http_client_builder().build()?)
        .with(flow::BearerAuth::new(source.clone()))
        .build();
    let started = Instant::now();
    let result = client
        .get(format!("{}/hsm/v2/State/Components", service.url()))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    let elapsed = started.elapsed();
    let err = result.expect_err("no token within the timeout");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}: {err}");
    assert!(err.to_string().contains("timeout"), "{err}");
    assert_eq!(service.served(), 0);
    Ok(())
}

#[tokio::test]
async fn the_token_is_refreshed_in_the_background_before_it_expires() -> TestResult {
    let hydra = TestHydra::builder()
        .env("TTL_ACCESS_TOKEN", "4s")
        .start()
        .await?;
    let public = WireRecorder::start(hydra.public_url()).await?;
    let config = bss(hydra.admin_url(), public.url())
        .client_id("bss-refresh")
        .authorize(false)
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let first = source.token().await?;
    assert!(first
        .expires_in()
        .is_some_and(|d| d <= Duration::from_secs(4)));
    assert_eq!(public.count("POST", "/oauth2/token"), 1);

    // Three quarters into the lifetime the refresher fetches the next token on its own; wait
    // (bounded) until the recorder has seen the request and the source holds its answer (the
    // recorder logs a request before Hydra answers it), without calling token() meanwhile.
    let waited = std::time::Instant::now();
    while public.count("POST", "/oauth2/token") < 2 || source.status().refreshes < 2 {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "no background refresh"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A reader now gets the new token from the cache, without a request of its own.
    let second = source.token().await?;
    assert_ne!(
        second.secret().expose_secret(),
        first.secret().expose_secret()
    );
    assert_eq!(public.count("POST", "/oauth2/token"), 2);
    assert!(
        introspect(hydra.admin_url(), second.secret().expose_secret())
            .await?
            .active
    );
    Ok(())
}

#[tokio::test]
async fn a_restart_with_changed_metadata_reconciles_the_registered_client() -> TestResult {
    let hydra = TestHydra::start().await?;
    let first = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("bss-evolving")
        .client_secret("bss-evolving-secret")
        .scope("read")
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&first).await?;
    // The next release of the service needs another scope and JWTs.
    let second = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("bss-evolving")
        .client_secret("bss-evolving-secret")
        .registered_scope("read write")
        .scope("write")
        .access_token_strategy(AccessTokenStrategy::Jwt)
        .authorize(false)
        .build()?;
    let token = flow::acquire_token_with(&second).await?;
    assert_eq!(token.scope(), Some("write"));
    assert_eq!(
        token.secret().expose_secret().split('.').count(),
        3,
        "a JWT"
    );
    let all = clients(hydra.admin_url()).await?;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].scope.as_deref(), Some("read write"));
    assert_eq!(all[0].access_token_strategy.as_deref(), Some("jwt"));
    Ok(())
}

/// `acquire_token_with` on a current-thread runtime (a sync wrapper's, blocked on for each call
/// and idle in between) opened its connections there, and they went back into the process's
/// one pool. A source elsewhere that took one from the pool sent its request on a connection
/// whose runtime no one drove: it stalled until its timeout, and with a healthy Hydra the source
/// reported `DeadlineExceeded`.
#[test]
fn a_one_shot_on_an_idle_current_thread_runtime_leaves_no_stalled_connection_behind() -> TestResult
{
    let driven = tokio::runtime::Runtime::new()?;
    let hydra = driven.block_on(TestHydra::start())?;
    // The same HTTP settings for both, so that they share one pooled client; a deadline shorter
    // than the request timeout, so that a stalled request fails the fetch.
    let config = bss(hydra.admin_url(), hydra.public_url())
        .deadline(Duration::from_secs(3))
        .build()?;
    let idle = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    idle.block_on(flow::acquire_token_with(&config))?;
    // `idle` stays alive, and nothing blocks on it.
    let source = flow::TokenSource::new(config)?;
    let token = driven.block_on(source.token());
    assert!(token.is_ok(), "{:?}", token.err());
    drop(idle);
    Ok(())
}
