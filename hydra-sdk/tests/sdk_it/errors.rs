//! Error statuses decode into Hydra's typed error; bodies that are not Hydra's are a clear error,
//! never a panic. Real Hydra's errors are exercised in the integration suite; these stand-ins
//! produce what Hydra itself does not: a proxy's HTML page, a bare 503.

use crate::common;

use hydra_sdk::{ApiError, Client};

#[tokio::test]
async fn stand_in_oauth2_error_body_is_typed() {
    let (url, task) = common::capture_one(
        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n\
         {\"error\":\"not_found\",\"error_description\":\"Unable to locate the resource\",\
         \"error_hint\":\"Is the id right?\",\"status_code\":404}",
    )
    .await;
    let admin = Client::admin(&url).expect("client");
    let err = ApiError::from(
        admin
            .get_oauth2_client()
            .id("nope")
            .send()
            .await
            .expect_err("404"),
    );
    assert!(task.await.expect("listener").is_some());
    let ApiError::Hydra { status, error, .. } = &err else {
        panic!("expected a typed Hydra error, got {err:?}");
    };
    assert_eq!(status.as_u16(), 404);
    assert_eq!(error.error.as_deref(), Some("not_found"));
    assert_eq!(
        error.error_description.as_deref(),
        Some("Unable to locate the resource")
    );
    assert_eq!(error.error_hint.as_deref(), Some("Is the id right?"));
    assert_eq!(
        err.to_string(),
        "Hydra answered 404 Not Found: not_found: Unable to locate the resource (Is the id right?)"
    );
}

#[tokio::test]
async fn stand_in_proxy_html_error_page_keeps_its_status() {
    let (url, task) = common::capture_one(
        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n\
         <html><body><h1>502 Bad Gateway</h1></body></html>",
    )
    .await;
    let admin = Client::admin(&url).expect("client");
    let err = ApiError::from(admin.list_oauth2_clients().send().await.expect_err("502"));
    assert!(task.await.expect("listener").is_some());
    assert!(matches!(err, ApiError::Status { .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert!(err.to_string().contains("502 Bad Gateway"), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn stand_in_json_error_body_that_does_not_decode_keeps_its_status() {
    // A cut-off or foreign JSON body on an error status is not Hydra's error; the status (a
    // retryable 500 here) is what the caller needs, and the body is not kept.
    let (url, task) = common::capture_one(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n\
         connection: close\r\n\r\n{\"error\": ",
    )
    .await;
    let admin = Client::admin(&url).expect("client");
    let err = ApiError::from(admin.list_oauth2_clients().send().await.expect_err("500"));
    assert!(task.await.expect("listener").is_some());
    let ApiError::Status { status, .. } = &err else {
        panic!("expected Status, got {err:?}");
    };
    assert_eq!(status.as_u16(), 500);
    assert!(err.is_transient());
    assert!(err.to_string().contains("without its JSON error"), "{err}");
}

#[test]
fn credentials_are_redacted_from_urls_that_do_not_parse() {
    for (url, shown) in [
        ("http://user:pw@127.0.0.1:99999", "http://…@127.0.0.1:99999"),
        ("http://user:pw@[::1/x?code=1", "http://…@[::1/x?code=…"),
        ("user:pw@host", "…@host"),
        // A password may hold `/`, `?` or `#`, which end the authority for a parser: every `@`
        // is taken for the end of a user and password, so one in a path is redacted too.
        ("http://user:p/ss@127.0.0.1:4445", "http://…@127.0.0.1:4445"),
        (
            "http://user:p/ss@127.0.0.1:4445/x?y=1",
            "http://…@127.0.0.1:4445/x?y=…",
        ),
        ("http://u:se?cret@h", "http://…@h"),
        ("http://u:p?a=b@h", "http://…@h"),
        ("http://u:se#cret@h/cb", "http://…@h/cb"),
        ("http://127.0.0.1/a@b", "http://…@b"),
        ("http://127.0.0.1/a", "http://127.0.0.1/a"),
    ] {
        assert_eq!(hydra_sdk::redact_url(url), shown);
    }
    for url in [
        "http://admin:hunter2@127.0.0.1:99999",
        "http://admin:hun/ter2@127.0.0.1:4445",
        "http://admin:hun?ter2@127.0.0.1:4445",
    ] {
        let err = hydra_sdk::normalize_base_url(url).expect_err("bad URL");
        assert!(!err.to_string().contains("ter2"), "{err}");
    }
}

#[tokio::test]
async fn stand_in_503_retry_after_is_kept() {
    let (url, task) = common::capture_one(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 7\r\nconnection: close\r\n\r\n{\"error\":\"temporarily_unavailable\"}",
    )
    .await;
    let public = Client::public(&url).expect("client");
    let err = ApiError::from(
        public
            .discover_json_web_keys()
            .send()
            .await
            .expect_err("503"),
    );
    assert!(task.await.expect("listener").is_some());
    let ApiError::Hydra {
        retry_after, error, ..
    } = &err
    else {
        panic!("expected a typed Hydra error, got {err:?}");
    };
    assert_eq!(*retry_after, Some(std::time::Duration::from_secs(7)));
    assert_eq!(error.error.as_deref(), Some("temporarily_unavailable"));
}

#[tokio::test]
async fn stand_in_redirect_is_unexpected_status_with_location() {
    let (url, task) = common::capture_one(
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/cb?code=abc&state=xyz\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    let public = Client::public(&url).expect("client");
    let result = public
        .oauth2_authorize()
        .client_id("bss")
        .response_type("code")
        .send()
        .await;
    let Err(err) = result else {
        panic!("302 is not a success to progenitor");
    };
    let err = ApiError::from(err);
    let sent = task.await.expect("listener").expect("captured");
    assert_eq!(sent.target, "/oauth2/auth?client_id=bss&response_type=code");
    let ApiError::UnexpectedStatus { status, location } = &err else {
        panic!("expected UnexpectedStatus, got {err:?}");
    };
    assert_eq!(status.as_u16(), 302);
    assert_eq!(
        location.as_deref(),
        Some("http://127.0.0.1:1/cb?code=abc&state=xyz")
    );
    // The message redacts the code, and so does `{:?}` (what `unwrap` and `expect` print).
    assert!(!err.to_string().contains("abc"), "{err}");
    let debug = format!("{err:?}");
    assert!(!debug.contains("abc"), "{debug}");
    assert!(debug.contains("127.0.0.1:1/cb"), "{debug}");
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // Bind then drop: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let admin = Client::admin(&format!("http://127.0.0.1:{port}")).expect("client");
    let err = ApiError::from(admin.is_alive().send().await.expect_err("refused"));
    assert!(matches!(err, ApiError::Transport(_)), "{err:?}");
}

#[test]
fn base_urls_are_checked() {
    assert!(Client::admin("http://127.0.0.1:4445/").is_ok());
    assert_eq!(
        hydra_sdk::normalize_base_url("http://127.0.0.1:4445/").expect("valid"),
        "http://127.0.0.1:4445"
    );
    for bad in [
        "127.0.0.1:4445",
        "ftp://127.0.0.1",
        "http://user:pw@127.0.0.1:4445",
        "http://127.0.0.1:4445/?x=1",
    ] {
        let err = Client::admin(bad).expect_err(bad);
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

/// Stand-in for Hydra: a client whose lists hold more values than decoding is bounded to (a
/// `""` is 3 bytes on the wire and a 24-byte `String` decoded, twice that while its `Vec`
/// grows); refused before decoding, whatever the cap on the body.
#[tokio::test]
async fn stand_in_a_body_of_more_values_than_decoding_is_bounded_to_is_refused_undecoded() {
    let values = hydra_sdk::MAX_JSON_VALUES;
    let body = format!(
        "{{\"client_id\":\"x\",\"contacts\":[{}\"\"]}}",
        "\"\",".repeat(values)
    );
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let (url, task) = common::capture_one(response).await;
    let admin = Client::admin(&url).expect("client");
    let err = ApiError::from(
        admin
            .get_oauth2_client()
            .id("x")
            .send()
            .await
            .expect_err("too many values"),
    );
    let _ = task.await;
    let ApiError::InvalidBody { reason, len } = &err else {
        panic!("expected InvalidBody, got {err:?}");
    };
    assert_eq!(*len, body.len());
    assert!(reason.contains("values"), "{reason}");
}

/// Stand-in for Hydra: an error body that is JSON but not the operation's error type (here the
/// readiness check's, whose `errors` map holds strings). progenitor's error for it kept the body
/// and printed it; it is an error status without Hydra's error, as any other body that is not
/// Hydra's error is.
#[tokio::test]
async fn stand_in_an_error_body_of_another_shape_is_a_status_and_not_kept() {
    let (url, task) = common::capture_one(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 2\r\nconnection: close\r\n\r\n{\"errors\":{\"database\":5},\"x\":\"KEPT-BODY\"}",
    )
    .await;
    let admin = Client::admin(&url).expect("client");
    let raw = admin.is_ready().send().await.expect_err("503");
    let _ = task.await;
    for shown in [raw.to_string(), format!("{raw:?}")] {
        assert!(!shown.contains("KEPT-BODY"), "{shown}");
    }
    let err = ApiError::from(raw);
    let ApiError::Status {
        status,
        retry_after,
        ..
    } = &err
    else {
        panic!("expected Status, got {err:?}");
    };
    assert_eq!(status.as_u16(), 503);
    assert_eq!(*retry_after, Some(std::time::Duration::from_secs(2)));
    assert!(err.is_transient());
}

/// Stand-in for Hydra's `410 Gone` for a login request already handled: its `redirect_to` holds
/// the verifier that resumes the flow. The error kept it as sent, for the caller to follow, and
/// printed it whole in `Debug`, raw (the generated type's `String`) and converted (`HydraError`).
#[tokio::test]
async fn stand_in_a_gone_request_s_redirect_is_kept_but_not_printed() {
    const VERIFIER: &str = "VERIFIER-must-not-print-3c9d";
    let (url, task) = common::capture_one(
        "HTTP/1.1 410 Gone\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n\
         {\"redirect_to\":\"http://127.0.0.1:4444/oauth2/auth?client_id=c&login_verifier=VERIFIER-must-not-print-3c9d\"}",
    )
    .await;
    let admin = Client::admin(&url).expect("client");
    let raw = admin
        .get_oauth2_login_request()
        .login_challenge("handled")
        .send()
        .await
        .expect_err("410");
    assert!(task.await.expect("listener").is_some());
    for text in [raw.to_string(), format!("{raw:?}")] {
        assert!(!text.contains(VERIFIER), "{text}");
    }
    let err = ApiError::from(raw);
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(VERIFIER), "{text}");
    }
    let ApiError::Hydra { status, error, .. } = &err else {
        panic!("expected a typed Hydra error, got {err:?}");
    };
    assert_eq!(status.as_u16(), 410);
    assert!(
        error
            .redirect_to
            .as_deref()
            .is_some_and(|to| to.ends_with(VERIFIER)),
        "{err:?}"
    );
}
