//! A hostile or broken peer in place of Hydra's public API (registration still happens on a real
//! Hydra): endless and oversized bodies, absurd `expires_in`, malformed tokens, `Retry-After` in
//! forms the client used to miss, certificates it cannot trust, redirects elsewhere. Each test is
//! named for the misbehaviour, and each failed on the code before the fix (see the reports of
//! issue 9, and of the redirects): a panic, an unbounded read, a bad token accepted, a hammering
//! retry, a retried TLS failure, a secret sent to where a redirect pointed.
//! The body and error-status tests run with both token-endpoint auth methods ([`AUTH_METHODS`]).
//! One test puts the stand-in in place of the admin API, for the registration's answer.

use std::error::Error;
use std::time::{Duration, Instant, SystemTime};

use flow::{Config, Stage, TokenAuthMethod, TokenSource};
use hydra_tests::stand_in::{Reply, StandIn, TOKEN};
use hydra_tests::{client_following_redirects, TestHydra};
use secrecy::ExposeSecret;

type TestResult = Result<(), Box<dyn Error>>;

fn config(hydra: &TestHydra, public_url: &str) -> flow::ConfigBuilder {
    // Sources in one test share the client id, so they share a secret too (issue 8's rule: a
    // source that does not know the secret another one just set is refused).
    Config::builder(hydra.admin_url(), public_url)
        .client_id("hostile")
        .client_secret("hostile-secret")
        .scope("read")
        .authorize(false)
}

/// An error, then how many requests reached the stand-in and how long it took.
async fn refused(
    hydra: &TestHydra,
    public: &StandIn,
) -> Result<(flow::Error, Duration), Box<dyn Error>> {
    refused_with(hydra, public, TokenAuthMethod::ClientSecretPost).await
}

/// Both ways of authenticating at the token endpoint. `client_secret_basic` sends its request by
/// hand (the generated call cannot add a header per request), so the tests of how an answer is
/// read run with each.
const AUTH_METHODS: [TokenAuthMethod; 2] = [
    TokenAuthMethod::ClientSecretPost,
    TokenAuthMethod::ClientSecretBasic,
];

/// [`refused`] with the token request authenticated by `method`.
async fn refused_with(
    hydra: &TestHydra,
    public: &StandIn,
    method: TokenAuthMethod,
) -> Result<(flow::Error, Duration), Box<dyn Error>> {
    let config = config(hydra, public.url())
        .token_auth_method(method)
        .deadline(Duration::from_secs(5))
        .build()?;
    let started = Instant::now();
    match flow::acquire_token_with(&config).await {
        Ok(token) => Err(format!(
            "a token was accepted: {token:?} ({} requests)",
            public.served()
        )
        .into()),
        Err(e) => Ok((e, started.elapsed())),
    }
}

/// After a token body over the cap: the request was not retried (the same request would get the
/// same body), and the client stopped reading near the cap (the rest of what the stand-in wrote
/// is the kernel's socket buffers).
fn assert_asked_once_and_read_near_the_cap(
    public: &StandIn,
    method: TokenAuthMethod,
    err: &flow::Error,
) {
    assert_eq!(public.served(), 1, "{method:?}: {err}");
    let written = public.written();
    assert!(
        written < 32 * 1024 * 1024,
        "{method:?}: {written} bytes were read"
    );
}

#[tokio::test]
async fn stand_in_endless_chunked_token_body_stops_at_the_cap() -> TestResult {
    let hydra = TestHydra::start().await?;
    for method in AUTH_METHODS {
        // "Endless" up to 128 MiB, so a client without a cap hurts itself but not the machine.
        let public = StandIn::start(vec![Reply::endless_token(
            "transfer-encoding: chunked",
            128 * 1024 * 1024,
        )])
        .await?;
        let (err, _) = refused_with(&hydra, &public, method).await?;
        let text = err.to_string();
        assert!(
            matches!(err, flow::Error::ResponseTooLarge { .. }),
            "{method:?}: {err:?}"
        );
        assert!(
            text.contains("exceeds the limit of 8388608 bytes"),
            "{method:?}: {text}"
        );
        assert_eq!(err.stage(), Some(Stage::Token));
        assert_asked_once_and_read_near_the_cap(&public, method, &err);
    }
    Ok(())
}

#[tokio::test]
async fn stand_in_huge_content_length_is_refused_unread() -> TestResult {
    let hydra = TestHydra::start().await?;
    for method in AUTH_METHODS {
        // Announces 2 GiB; sends at most 64 MiB.
        let public = StandIn::start(vec![Reply::endless_token(
            "content-length: 2147483648",
            64 * 1024 * 1024,
        )])
        .await?;
        let (err, _) = refused_with(&hydra, &public, method).await?;
        assert!(
            err.to_string().contains("exceeds the limit"),
            "{method:?}: {err}"
        );
        assert_asked_once_and_read_near_the_cap(&public, method, &err);
    }
    Ok(())
}

#[tokio::test]
async fn stand_in_expires_in_near_the_top_is_clamped_not_a_panic() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::token(
        r#"{"access_token":"long-lived","token_type":"bearer","expires_in":9223372036854775807}"#,
    )])
    .await?;
    let source = TokenSource::new(config(&hydra, public.url()).build()?)?;
    let token = source.token().await?;
    let expires_at = token.expires_at().ok_or("no expiry")?;
    let day = Duration::from_secs(24 * 60 * 60);
    assert!(
        expires_at <= SystemTime::now() + day,
        "expires at {expires_at:?}"
    );
    // The cached token keeps serving, and nothing panics on later calls either.
    let again = source.token().await?;
    assert_eq!(again.secret().expose_secret(), "long-lived");
    assert_eq!(public.served(), 1);
    Ok(())
}

#[tokio::test]
async fn stand_in_expires_in_zero_or_negative_is_refused_not_cached_forever() -> TestResult {
    let hydra = TestHydra::start().await?;
    for expires_in in ["0", "-1", "-9223372036854775808"] {
        let body = format!(
            r#"{{"access_token":"short-lived","token_type":"bearer","expires_in":{expires_in}}}"#
        );
        let public = StandIn::start(vec![Reply::token(&body)]).await?;
        let (err, _) = refused(&hydra, &public).await?;
        assert!(
            matches!(err, flow::Error::InvalidResponse { .. }),
            "{expires_in}: {err:?}"
        );
        assert!(err.to_string().contains("expires_in"), "{err}");
        assert_eq!(
            public.served(),
            1,
            "{expires_in}: a bad answer is not retried"
        );
    }
    Ok(())
}

#[tokio::test]
async fn stand_in_missing_expires_in_gets_a_bounded_lifetime() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::token(
        r#"{"access_token":"no-expiry","token_type":"Bearer"}"#,
    )])
    .await?;
    let token = flow::acquire_token_with(&config(&hydra, public.url()).build()?).await?;
    let expires_at = token.expires_at().ok_or("cached forever: no expiry")?;
    assert!(expires_at <= SystemTime::now() + Duration::from_secs(5 * 60 + 5));
    Ok(())
}

#[tokio::test]
async fn stand_in_empty_access_token_is_refused() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::token(
        r#"{"access_token":"","token_type":"bearer","expires_in":3600}"#,
    )])
    .await?;
    let (err, _) = refused(&hydra, &public).await?;
    assert!(
        matches!(err, flow::Error::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("access_token"), "{err}");
    assert_eq!(public.served(), 1);
    Ok(())
}

#[tokio::test]
async fn stand_in_access_token_with_crlf_is_refused_and_not_echoed() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::token(
        r#"{"access_token":"tok\r\nX-Injected: SECRET","token_type":"bearer","expires_in":3600}"#,
    )])
    .await?;
    let (err, _) = refused(&hydra, &public).await?;
    assert!(
        matches!(err, flow::Error::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("SECRET"), "{err:?}");
    assert_eq!(public.served(), 1);
    Ok(())
}

#[tokio::test]
async fn stand_in_token_type_mac_is_refused() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::token(
        r#"{"access_token":"mac-token","token_type":"mac","expires_in":3600}"#,
    )])
    .await?;
    let (err, _) = refused(&hydra, &public).await?;
    assert!(
        matches!(err, flow::Error::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("token_type"), "{err}");
    Ok(())
}

#[tokio::test]
async fn stand_in_503_plain_text_with_retry_after_waits_as_asked() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![
        Reply::with_type(
            "503 Service Unavailable",
            "text/plain",
            &["retry-after: 2"],
            "upstream is restarting",
        ),
        Reply::token(TOKEN),
    ])
    .await?;
    let started = Instant::now();
    let token = flow::acquire_token_with(&config(&hydra, public.url()).build()?).await?;
    assert_eq!(token.secret().expose_secret(), "stand-in-token");
    assert_eq!(public.served(), 2);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2),
        "did not wait: {elapsed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn stand_in_429_with_an_http_date_retry_after_waits_as_asked() -> TestResult {
    let hydra = TestHydra::start().await?;
    // The date form, measured against the response's own Date, so clocks need not agree.
    let now = SystemTime::now();
    let date = format!("date: {}", httpdate::fmt_http_date(now));
    let retry = format!(
        "retry-after: {}",
        httpdate::fmt_http_date(now + Duration::from_secs(2))
    );
    let public = StandIn::start(vec![
        Reply::json(
            "429 Too Many Requests",
            &[&date, &retry],
            r#"{"error":"slow_down"}"#,
        ),
        Reply::token(TOKEN),
    ])
    .await?;
    let started = Instant::now();
    flow::acquire_token_with(&config(&hydra, public.url()).build()?).await?;
    assert_eq!(public.served(), 2);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2),
        "did not wait: {elapsed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn stand_in_retry_after_beyond_the_deadline_gives_up_at_once_and_says_why() -> TestResult {
    let hydra = TestHydra::start().await?;
    for method in AUTH_METHODS {
        let public = StandIn::start(vec![Reply::with_type(
            "503 Service Unavailable",
            "text/html",
            &["retry-after: 120"],
            "<h1>maintenance</h1>",
        )])
        .await?;
        let (err, elapsed) = refused_with(&hydra, &public, method).await?;
        assert_eq!(public.served(), 1, "{method:?}: {err}");
        assert!(elapsed < Duration::from_secs(2), "{method:?}: {elapsed:?}");
        let text = err.to_string();
        assert!(
            text.contains("Retry-After"),
            "{method:?}: the reason is hidden: {text}"
        );
        assert!(text.contains("120s"), "{method:?}: {text}");
        assert_eq!(err.status(), Some(503), "{method:?}");
    }
    Ok(())
}

/// A source whose fetch gave up on a `Retry-After` beyond its deadline honours the wait for the
/// calls after it too: they get the same error without a request, not one request each.
#[tokio::test]
async fn stand_in_retry_after_beyond_the_deadline_holds_off_the_calls_after_it() -> TestResult {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::with_type(
        "429 Too Many Requests",
        "text/plain",
        &["retry-after: 120"],
        "slow down",
    )])
    .await?;
    let config = config(&hydra, public.url())
        .deadline(Duration::from_secs(5))
        .build()?;
    let source = TokenSource::new(config)?;
    for call in 0..20 {
        let err = source.token().await.expect_err("429");
        assert_eq!(err.status(), Some(429), "call {call}: {err}");
        assert!(err.to_string().contains("120s"), "call {call}: {err}");
    }
    assert_eq!(public.served(), 1, "{}", source.status());
    Ok(())
}

#[tokio::test]
async fn stand_in_attempts_are_counted_per_stage() -> TestResult {
    let hydra = TestHydra::start().await?;
    // 503s a second apart until the wait no longer fits the deadline: every request reaches the
    // stand-in, so the count in the error can be checked against it exactly.
    let public = StandIn::start(vec![Reply::json(
        "503 Service Unavailable",
        &["retry-after: 1"],
        r#"{"error":"temporarily_unavailable"}"#,
    )])
    .await?;
    let config = config(&hydra, public.url())
        .deadline(Duration::from_millis(2600))
        .build()?;
    let err = flow::acquire_token_with(&config)
        .await
        .expect_err("503 forever");
    assert_eq!(err.stage(), Some(Stage::Token));
    // The registration on the real Hydra is not a token attempt.
    let served = public.served();
    assert!(served >= 2, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("({served} token attempts)")),
        "{served} requests reached the token endpoint: {text}"
    );
    Ok(())
}

#[tokio::test]
async fn tls_unknown_ca_fails_at_once_without_retrying() -> TestResult {
    // A real Hydra over TLS whose CA the client was not given: a certificate error, which the
    // same request will hit every time.
    let hydra = TestHydra::builder().tls().start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("untrusting")
        .authorize(false)
        .deadline(Duration::from_secs(10))
        .build()?;
    let started = Instant::now();
    let err = flow::acquire_token_with(&config)
        .await
        .expect_err("unknown CA");
    let elapsed = started.elapsed();
    assert!(
        !matches!(err, flow::Error::DeadlineExceeded { .. }),
        "retried until the deadline: {err}"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}: {err}");
    assert_eq!(err.stage(), Some(Stage::Register));
    let text = format!("{err}");
    assert!(text.to_ascii_lowercase().contains("certificate"), "{text}");
    Ok(())
}

#[tokio::test]
async fn tls_name_mismatch_fails_at_once_without_retrying() -> TestResult {
    // The CA is trusted, but the certificate names 127.0.0.1 and localhost, not the IPv6 form of
    // the same address that the client dials: a name mismatch on a connection that works.
    let hydra = TestHydra::builder().tls().start().await?;
    let ca = reqwest::Certificate::from_pem(hydra.ca_pem().ok_or("no CA")?.as_bytes())?;
    let mapped = |url: &str| url.replace("127.0.0.1", "[::ffff:127.0.0.1]");
    let config = Config::builder(mapped(hydra.admin_url()), mapped(hydra.public_url()))
        .client_id("mismatched")
        .authorize(false)
        .ca_certificate(ca)
        .deadline(Duration::from_secs(10))
        .build()?;
    let started = Instant::now();
    let err = flow::acquire_token_with(&config)
        .await
        .expect_err("name mismatch");
    let elapsed = started.elapsed();
    let text = err.to_string();
    assert!(text.contains("not valid for name"), "{text}");
    assert!(
        !matches!(err, flow::Error::DeadlineExceeded { .. }),
        "retried until the deadline: {err}"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}: {err}");
    Ok(())
}

/// Hydra's answer to the look-up of a client id it does not have, which a flow with a configured
/// id sends before it registers.
fn client_not_found() -> Reply {
    Reply::json(
        "404 Not Found",
        &[],
        r#"{"error":"Unable to locate the resource"}"#,
    )
}

#[tokio::test]
async fn stand_in_registration_under_another_client_id_is_refused() -> TestResult {
    // The id is chosen by the flow before the POST; an admin API that answers 201 for a client
    // under another id (or none) would leave every token request failing for a client the flow
    // could never find again.
    for created in [r#""someone-else""#, r#""""#, "null"] {
        // With a configured id the flow looks the client up first: 404 as by Hydra, then the
        // POST gets the 201 under the wrong id.
        let admin = StandIn::start(vec![
            client_not_found(),
            Reply::json(
                "201 Created",
                &[],
                &format!(r#"{{"client_id":{created},"client_secret":"s3cret"}}"#),
            ),
        ])
        .await?;
        let config = Config::builder(admin.url(), admin.url())
            .client_id("mine")
            .client_secret("s3cret")
            .authorize(false)
            .build()?;
        let err = flow::Flow::new(config)?
            .register()
            .await
            .expect_err("a client created under another id");
        assert!(
            matches!(
                err,
                flow::Error::InvalidResponse {
                    stage: Stage::Register,
                    ..
                }
            ),
            "{created}: {err:?}"
        );
        assert!(err.to_string().contains("`mine`"), "{err}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_in_own_client_with_long_lists_is_reconciled_within_the_deadline() -> TestResult {
    // An admin API answering the look-up with a client that carries this library's marker, whose
    // `scope` holds 50,000 items and whose marker says the library set 50,000 others (300 KB,
    // far inside the body cap). Comparing every item of one list with every item of the other
    // took 21.7 s in a debug build (about 100 minutes at the 8 MiB cap in a release build), on a
    // worker thread the deadline cannot interrupt. The PATCH that follows stalls, so the fetch
    // ends at its deadline.
    const ITEMS: usize = 50_000;
    let client = serde_json::json!({
        "client_id": "mine",
        "scope": vec!["a"; ITEMS].join(" "),
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "client_name": "hydra-flow",
        "metadata": { flow::MARKER_KEY: {
            "v": 1, "created_by": "0b5e4a8e-3f9d-4c55-9a43-3c8f2d7a6e10",
            "managed": { "scope": vec!["b"; ITEMS] },
            "secret_set_by": "0b5e4a8e-3f9d-4c55-9a43-3c8f2d7a6e10", "secret_set_at": 0,
            "secret_configured": true,
            "rev": {"r1": true},
        }},
    });
    let admin = StandIn::start(vec![
        Reply::json("200 OK", &[], &client.to_string()),
        Reply::Stall,
    ])
    .await?;
    let config = Config::builder(admin.url(), admin.url())
        .client_id("mine")
        .client_secret("s3cret")
        .authorize(false)
        .deadline(Duration::from_secs(1))
        .build()?;
    let started = Instant::now();
    let err = TokenSource::new(config)?
        .token()
        .await
        .expect_err("the PATCH stalls");
    let elapsed = started.elapsed();
    assert!(
        matches!(err.unshared(), flow::Error::DeadlineExceeded { .. }),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    Ok(())
}

/// A stand-in token endpoint that answers `status` with a `Location` at a second stand-in's
/// token endpoint (returned second), which hands out [`TOKEN`] to whoever asks.
async fn token_endpoint_redirecting(status: &str) -> std::io::Result<(StandIn, StandIn)> {
    let elsewhere = StandIn::start(vec![Reply::token(TOKEN)]).await?;
    let to = format!("{}/oauth2/token", elsewhere.url());
    let public = StandIn::start(vec![Reply::redirect(status, &to)]).await?;
    Ok((public, elsewhere))
}

/// A 307 or 308 tells a client that follows redirects to send the same request, body and all,
/// to the `Location`, wherever it points. With `client_secret_post` the token request's body
/// holds the client secret: even through an HTTP client of the user's that follows redirects,
/// it goes to the configured token endpoint and nowhere else, and the redirect is an error.
#[tokio::test]
async fn stand_in_307_and_308_from_the_token_endpoint_never_send_the_secret_elsewhere() -> TestResult
{
    let hydra = TestHydra::start().await?;
    for status in ["307 Temporary Redirect", "308 Permanent Redirect"] {
        let (public, elsewhere) = token_endpoint_redirecting(status).await?;
        let config = config(&hydra, public.url())
            .token_auth_method(TokenAuthMethod::ClientSecretPost)
            .http_client(client_following_redirects()?)
            .build()?;
        let result = flow::acquire_token_with(&config).await;
        assert_eq!(
            elsewhere.served(),
            0,
            "{status}: the request went to the Location"
        );
        assert_eq!(public.served(), 1, "{status}: {result:?}");
        let err = result.expect_err("a redirect is not a token");
        assert_eq!(err.stage(), Some(Stage::Token), "{err}");
        assert!(err.to_string().contains(&status[..3]), "{err}");
    }
    Ok(())
}

/// The same on the admin API: the registration's body holds the client secret.
#[tokio::test]
async fn stand_in_307_from_the_admin_api_never_sends_the_registration_elsewhere() -> TestResult {
    let elsewhere = StandIn::start(vec![Reply::json(
        "201 Created",
        &[],
        r#"{"client_id":"hostile","client_secret":"hostile-secret"}"#,
    )])
    .await?;
    let admin = StandIn::start(vec![
        // The look-up by id first, as by Hydra; then the POST gets the redirect.
        client_not_found(),
        Reply::redirect(
            "307 Temporary Redirect",
            &format!("{}/admin/clients", elsewhere.url()),
        ),
    ])
    .await?;
    let config = Config::builder(admin.url(), admin.url())
        .client_id("hostile")
        .client_secret("hostile-secret")
        .authorize(false)
        .http_client(client_following_redirects()?)
        .build()?;
    let err = flow::Flow::new(config)?
        .register()
        .await
        .expect_err("a redirect is not a registration");
    assert_eq!(
        elsewhere.served(),
        0,
        "the registration went to the Location"
    );
    assert_eq!(admin.served(), 2, "{err}");
    assert_eq!(err.stage(), Some(Stage::Register), "{err}");
    Ok(())
}

/// A 302 or 303 turns the token request into a `GET` without a body, which a client that follows
/// redirects sends to the `Location`. Whatever answers there is not Hydra's token endpoint: its
/// token is not taken, and the error says the HTTP client is what needs changing.
#[tokio::test]
async fn stand_in_token_from_where_a_302_or_303_led_is_refused() -> TestResult {
    let hydra = TestHydra::start().await?;
    for status in ["302 Found", "303 See Other"] {
        let (public, elsewhere) = token_endpoint_redirecting(status).await?;
        let config = config(&hydra, public.url())
            .http_client(client_following_redirects()?)
            .build()?;
        let err = flow::acquire_token_with(&config)
            .await
            .expect_err("a token from elsewhere");
        let flow::Error::Config { name, reason } = &err else {
            panic!("{status}: expected a configuration error, got {err:?}");
        };
        assert_eq!(*name, "http_client", "{err}");
        assert!(reason.contains("follows redirects"), "{err}");
        assert!(reason.contains(elsewhere.url()), "{err}");
        // Refused at once, not retried: the same client would follow the same redirect.
        assert_eq!(public.served(), 1, "{status}");
    }
    Ok(())
}

/// The registration's answer is read for the client id and the registration access token only;
/// a client made under an id other than the one asked for is still refused, as is an answer
/// that is not a client at all, and neither is sent to again.
#[tokio::test]
async fn stand_in_admin_api_creating_the_client_under_another_id_or_answering_no_client_is_refused(
) -> TestResult {
    let answers = [
        (
            r#"{"client_id":"someone-else","client_secret":"x","metadata":{}}"#,
            "someone-else",
        ),
        (r#"{"client_name":"no id"}"#, "as asked"),
        (r#"["not","a","client"]"#, "does not decode"),
    ];
    for (body, expected) in answers {
        let admin = StandIn::start(vec![Reply::json("201 Created", &[], body)]).await?;
        // No client id configured: the registration starts with the POST (a GET otherwise).
        let config = Config::builder(admin.url(), "http://127.0.0.1:9")
            .authorize(false)
            .build()?;
        let err = match flow::Flow::new(config)?.register().await {
            Ok(registration) => return Err(format!("{body}: accepted as {registration:?}").into()),
            Err(e) => e,
        };
        assert_eq!(err.stage(), Some(Stage::Register), "{body}: {err:?}");
        assert!(
            err.to_string().to_lowercase().contains(expected),
            "{body}: {err}"
        );
        assert_eq!(admin.served(), 1, "{body}: {err}");
    }
    Ok(())
}

/// An OAuth2 error's text comes from the peer (a JSON error body, or the authorize redirect's
/// query). Printed as it came, a CR or an escape sequence in it rewrote the terminal line of
/// `hydra-token`'s message and a newline forged a log line, and a description as long as the
/// body cap made one line of megabytes (found by an outside audit). The error keeps the text
/// with control characters escaped and cut to a bounded length; RFC 6749 §5.2 allows neither.
#[tokio::test]
async fn stand_in_oauth2_error_text_with_control_characters_is_escaped_and_bounded() -> TestResult {
    fn assert_printable(err: &flow::Error, what: &str) {
        assert!(
            matches!(err.unshared(), flow::Error::OAuth2 { .. }),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains("line1"), "{what}: {err}");
        assert_printable_text(err, what);
    }
    fn assert_printable_text(err: &flow::Error, what: &str) {
        let text = err.to_string();
        let head: String = text.chars().take(300).collect();
        assert!(!text.chars().any(char::is_control), "{what}: {head:?}");
        assert!(text.len() < 4096, "{what}: {} bytes", text.len());
    }
    let hydra = TestHydra::start().await?;
    let long = "x".repeat(100_000);
    let body = format!(
        r#"{{"error":"invalid_request","error_description":"line1\r\nFORGED \u001b[31mRED{long}","error_hint":"hint\u0007"}}"#
    );
    for method in AUTH_METHODS {
        let public = StandIn::start(vec![Reply::json("400 Bad Request", &[], &body)]).await?;
        let (err, _) = refused_with(&hydra, &public, method).await?;
        assert_printable(&err, &format!("token, {method:?}"));
    }
    // Without `error` the answer is no OAuth2 error, but its texts are the peer's all the same.
    let body = format!(
        r#"{{"error_description":"line1\r\nFORGED \u001b]0;PWNED\u0007{long}","error_hint":"\u001b[31mRED"}}"#
    );
    for method in AUTH_METHODS {
        let public = StandIn::start(vec![Reply::json("400 Bad Request", &[], &body)]).await?;
        let (err, _) = refused_with(&hydra, &public, method).await?;
        assert!(err.to_string().contains("line1"), "{err}");
        assert_printable_text(&err, &format!("token without `error`, {method:?}"));
    }
    let location = format!(
        "http://127.0.0.1/callback?error=access_denied&error_description=line1%0D%0AFORGED%1B%5B31m{}",
        "y".repeat(10_000)
    );
    let public = StandIn::start(vec![Reply::Raw(format!(
        "HTTP/1.1 303 See Other\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ))])
    .await?;
    let config = config(&hydra, public.url())
        .authorize(true)
        .deadline(Duration::from_secs(5))
        .build()?;
    match flow::acquire_token_with(&config).await {
        Ok(token) => return Err(format!("a token was accepted: {token:?}").into()),
        Err(err) => {
            assert_eq!(err.stage(), Some(Stage::Authorize), "{err:?}");
            assert_printable(&err, "authorize");
        }
    }
    Ok(())
}

/// A client read back by its id must be that client: an admin API answering the look-up of
/// `mine` with a client of another id (as a path the URL resolved elsewhere did: an outside
/// audit's `x\..\victim` reached and patched `victim`) is refused, and nothing more is sent to
/// it (no patch, no registration).
#[tokio::test]
async fn stand_in_admin_api_answering_the_look_up_with_another_client_is_refused() -> TestResult {
    let other = r#"{"client_id":"victim","client_name":"theirs","grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post","scope":"read","metadata":{}}"#;
    let admin = StandIn::start(vec![Reply::json("200 OK", &[], other)]).await?;
    let config = Config::builder(admin.url(), "http://127.0.0.1:9")
        .client_id("mine")
        .client_secret("mine-secret")
        .scope("read")
        .authorize(false)
        .build()?;
    let err = match flow::Flow::new(config)?.register().await {
        Ok(registration) => return Err(format!("used {registration:?}").into()),
        Err(e) => e,
    };
    assert!(
        matches!(err, flow::Error::InvalidResponse { .. }),
        "{err:?}"
    );
    assert_eq!(err.stage(), Some(Stage::Register), "{err}");
    assert!(err.to_string().contains("\"victim\""), "{err}");
    assert_eq!(admin.served(), 1, "{err}");
    Ok(())
}
