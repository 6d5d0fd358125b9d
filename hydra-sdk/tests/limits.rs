//! The cap on response bodies, and `Retry-After` on error statuses whatever their body. Every
//! test in this binary sets the same small cap (the cap is per process), so a body over it is
//! cheap to send.

mod common;

use std::time::Duration;

use hydra_sdk::{ApiError, Client};

const CAP: u64 = 64 * 1024;

fn leak(response: String) -> &'static str {
    Box::leak(response.into_boxed_str())
}

fn client(url: &str) -> Client {
    hydra_sdk::set_max_response_body(CAP);
    Client::admin(url).expect("client")
}

/// The error of a `list_oauth2_clients` call that the stand-in answers with `response`.
async fn list_error(response: &'static str) -> ApiError {
    let (url, task) = common::capture_one(response).await;
    let err = ApiError::from(
        client(&url)
            .list_oauth2_clients()
            .send()
            .await
            .expect_err("an error"),
    );
    let _ = task.await;
    err
}

#[test]
fn the_default_cap_is_eight_mebibytes() {
    assert_eq!(hydra_sdk::DEFAULT_MAX_RESPONSE_BODY, 8 * 1024 * 1024);
}

#[tokio::test]
async fn stand_in_success_body_over_the_cap_is_body_too_large() {
    let body = format!("[{}]", "{\"client_id\":\"x\"},".repeat(10_000));
    let err = list_error(leak(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{body}"
    )))
    .await;
    let ApiError::BodyTooLarge { status, limit } = &err else {
        panic!("expected BodyTooLarge, got {err:?}");
    };
    assert_eq!((status.as_u16(), *limit), (200, CAP));
    assert!(
        err.to_string().contains("exceeds the limit of 65536 bytes"),
        "{err}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn stand_in_declared_length_over_the_cap_is_refused_unread() {
    let err = list_error(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000000000\r\n\
         connection: close\r\n\r\n[",
    )
    .await;
    assert!(
        matches!(err, ApiError::BodyTooLarge { limit: CAP, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn stand_in_a_body_under_the_cap_still_decodes() {
    let (url, task) = common::capture_one(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n\
         [{\"client_id\":\"a\"},{\"client_id\":\"b\"}]",
    )
    .await;
    let clients = client(&url)
        .list_oauth2_clients()
        .send()
        .await
        .expect("decodes")
        .into_inner();
    let _ = task.await;
    assert_eq!(clients.len(), 2);
}

#[tokio::test]
async fn stand_in_streamed_body_stops_at_the_cap() {
    // The authorize call hands a 2xx body out as a stream; the cap holds there too.
    let body = "x".repeat(3 * CAP as usize);
    let (url, task) = common::capture_one(leak(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{body}"
    )))
    .await;
    let response = client(&url)
        .oauth2_authorize()
        .client_id("bss")
        .response_type("code")
        .send()
        .await
        .expect("200");
    let mut stream = response.into_inner_stream();
    let mut read: u64 = 0;
    let failure = loop {
        match std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            Some(Err(e)) => break e,
            None => panic!("read {read} bytes past the cap"),
        }
    };
    let _ = task.await;
    assert!(read <= CAP, "{read}");
    let too_large = std::error::Error::source(&failure)
        .and_then(|e| e.downcast_ref::<hydra_sdk::BodyTooLarge>())
        .or_else(|| {
            std::error::Error::source(&failure)
                .and_then(std::error::Error::source)
                .and_then(|e| e.downcast_ref::<hydra_sdk::BodyTooLarge>())
        });
    assert_eq!(too_large.map(|e| e.limit), Some(CAP), "{failure:?}");
}

#[tokio::test]
async fn stand_in_json_error_body_over_the_cap_keeps_status_and_retry_after() {
    let body = format!("{{\"error\":\"{}\"}}", "e".repeat(2 * CAP as usize));
    let err = list_error(leak(format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 3\r\n\
         connection: close\r\n\r\n{body}"
    )))
    .await;
    let ApiError::Status {
        status,
        retry_after,
        over_limit,
    } = &err
    else {
        panic!("expected Status, got {err:?}");
    };
    assert_eq!(status.as_u16(), 503);
    assert_eq!(*retry_after, Some(Duration::from_secs(3)));
    assert_eq!(*over_limit, Some(CAP));
    assert!(err.is_transient());
}

#[tokio::test]
async fn stand_in_plain_text_429_keeps_an_http_date_retry_after() {
    let err = list_error(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\n\
         date: Sun, 06 Nov 1994 08:49:37 GMT\r\nretry-after: Sun, 06 Nov 1994 08:49:42 GMT\r\n\
         connection: close\r\n\r\nslow down",
    )
    .await;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
    assert!(err.is_transient());
}

#[tokio::test]
async fn permanent_and_transient_statuses() {
    for (status, transient) in [
        ("400 Bad Request", false),
        ("404 Not Found", false),
        ("408 Request Timeout", true),
        ("429 Too Many Requests", true),
        ("500 Internal Server Error", true),
        ("502 Bad Gateway", true),
    ] {
        let err = list_error(leak(format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<p>x</p>"
        )))
        .await;
        assert_eq!(err.is_transient(), transient, "{status}: {err:?}");
    }
}

#[tokio::test]
async fn stand_in_hydra_error_text_is_escaped_and_cut() {
    // Control characters would rewrite the terminal line or forge a log line; a description as
    // long as the cap allows would make one line of it.
    let long = "d".repeat(CAP as usize / 4);
    let err = list_error(leak(format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n\
         {{\"error\":\"x\\u001b]0;PWNED\\u0007\",\"error_description\":\"line1\\r\\nFORGED {long}\",\
         \"error_hint\":\"\\u001b[31mred \\u202egnp.exe\",\"error_debug\":\"\\n{long}\"}}"
    )))
    .await;
    let hydra = err.hydra_error().expect("Hydra's error");
    assert_eq!(hydra.error.as_deref(), Some("x\\u{1b}]0;PWNED\\u{7}"));
    // A right-to-left override reorders the rest of the line as it is shown.
    assert_eq!(
        hydra.error_hint.as_deref(),
        Some("\\u{1b}[31mred \\u{202e}gnp.exe")
    );
    assert!(
        hydra
            .error_description
            .as_deref()
            .is_some_and(|d| d.starts_with("line1\\r\\nFORGED d") && d.ends_with('…')),
        "{hydra:?}"
    );
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(
            shown.len() < 4 * hydra_sdk::MAX_PEER_TEXT,
            "{} bytes",
            shown.len()
        );
    }
}

#[tokio::test]
async fn stand_in_an_undecodable_body_s_reason_is_cut() {
    // serde's reason quotes the string it found, which can be nearly the whole body.
    let err = list_error(leak(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n\"{}\"",
        "s".repeat(CAP as usize / 2)
    )))
    .await;
    let ApiError::InvalidBody { reason, len } = &err else {
        panic!("expected InvalidBody, got {err:?}");
    };
    assert_eq!(*len, CAP as usize / 2 + 2);
    assert!(
        reason.chars().count() <= hydra_sdk::MAX_PEER_TEXT + 1,
        "{reason}"
    );
}

#[tokio::test]
async fn stand_in_a_body_of_more_objects_than_decoding_is_bounded_to_is_refused_undecoded() {
    // Three bytes each, but each `{}` decodes into a whole client (about a kilobyte): a body under
    // the default cap made of them decoded into gigabytes. The count is checked before decoding.
    let objects = hydra_sdk::MAX_JSON_OBJECTS + 1;
    assert!(3 * objects < CAP as usize);
    let err = list_error(leak(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[{}{{}}]",
        "{},".repeat(objects - 1)
    )))
    .await;
    let ApiError::InvalidBody { reason, len } = &err else {
        panic!("expected InvalidBody, got {err:?}");
    };
    assert_eq!(*len, 3 * objects + 1);
    assert!(reason.contains("objects"), "{reason}");
    assert!(!err.is_transient());
}
