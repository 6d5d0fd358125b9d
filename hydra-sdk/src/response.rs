//! What the SDK does with every response before progenitor's generated code sees it: caps the
//! body, turns an error status without Hydra's JSON error into a typed error that keeps the
//! status and `Retry-After`, and refuses an answer from where a redirect led (whatever the HTTP
//! client's redirect policy, a request goes elsewhere only as a bodiless `GET`).
//!
//! The seam is [`progenitor_client::ClientHooks::exec`]: the generated calls read bodies
//! themselves (`ResponseValue::from_response` buffers the whole body with `Response::bytes`), and
//! `exec` is the last place that holds the `reqwest::Response` before they do. So the body is
//! swapped there for one wrapped in [`http_body_util::Limited`]: whatever reads it (progenitor,
//! or a caller streaming a `ByteStream`) gets an error at the cap, having buffered no more.
//!
//! A body that a generated call decodes is also read there, and decoded once before progenitor
//! sees it ([`check_body`]): a body of more JSON objects or values than
//! [`MAX_JSON_OBJECTS`] and [`MAX_JSON_VALUES`] is refused undecoded (bytes under the cap can
//! decode into gigabytes), and one that does not decode is refused in an error that keeps serde's
//! reason and the length, since progenitor's own error for it keeps the body (a token, a client
//! secret) and prints it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE, DATE, RETRY_AFTER};
use reqwest::{Response, StatusCode};

use crate::redact::without_query_values;
use crate::{types, Client};

mod decode;
pub(crate) use decode::UndecodableBody;
use decode::{check_body, decoders};
pub use decode::{MAX_JSON_OBJECTS, MAX_JSON_VALUES};

/// The default cap on a response body: 8 MiB.
///
/// Hydra's largest realistic answer is a page of clients: at most 500 per page, a few KiB each
/// with all metadata set (a client carrying an inline JWKS is larger), so 16 KiB a client
/// leaves room. A token response is well under 16 KiB, even with a JWT access token.
pub const DEFAULT_MAX_RESPONSE_BODY: u64 = 8 * 1024 * 1024;

static MAX_RESPONSE_BODY: AtomicU64 = AtomicU64::new(DEFAULT_MAX_RESPONSE_BODY);

/// Sets the cap on every response body the SDK's clients read, in bytes (default
/// [`DEFAULT_MAX_RESPONSE_BODY`]). A body over the cap is an [`ApiError::BodyTooLarge`]
/// (success) or an [`ApiError::Status`] (error status); no more than the cap is ever buffered.
///
/// The cap is per process, not per [`Client`]: the generated client has no place for settings
/// (progenitor's `inner_type` would add one, at the price of an extra argument to every
/// constructor), and a memory bound is a property of the process anyway.
///
/// [`ApiError::BodyTooLarge`]: crate::ApiError::BodyTooLarge
/// [`ApiError::Status`]: crate::ApiError::Status
pub fn set_max_response_body(bytes: u64) {
    MAX_RESPONSE_BODY.store(bytes, Ordering::Relaxed);
}

/// The cap on response bodies in force; see [`set_max_response_body`].
pub fn max_response_body() -> u64 {
    MAX_RESPONSE_BODY.load(Ordering::Relaxed)
}

/// A response body grew past the cap: reading stopped there. Found in the source chain of the
/// `reqwest::Error` that reading the body returns, which [`crate::ApiError`] turns into
/// [`crate::ApiError::BodyTooLarge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The cap, in bytes.
    pub limit: u64,
    /// The status of the response whose body it was.
    pub status: StatusCode,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body ({}) exceeds the limit of {} bytes",
            self.status, self.limit
        )
    }
}

impl std::error::Error for BodyTooLarge {}

/// An error status whose body is not Hydra's JSON error. The body is dropped (or was over the
/// cap); reading it yields this, which [`crate::ApiError`] turns into [`crate::ApiError::Status`].
/// It travels as a body error because that is the one way to hand progenitor's generated code
/// an error of our own: its error path reads the body of every 4xx and 5xx.
#[derive(Debug, Clone)]
pub(crate) struct ErrorStatus {
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) over_limit: Option<u64>,
}

impl fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} without Hydra's JSON error", self.status)
    }
}

impl std::error::Error for ErrorStatus {}

/// `Retry-After` (RFC 9110 §10.2.3) as a wait from now: delay-seconds, or an HTTP-date measured
/// against the response's own `Date` when it has one (so the two clocks need not agree), else
/// against the local clock. A date in the past is no wait; delay-seconds too large for a `u64`
/// saturate, so "wait very long" stays that, and the caller's deadline decides. Anything else is
/// ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or_else(SystemTime::now);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl progenitor_client::ClientHooks for Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &progenitor_client::OperationInfo,
    ) -> reqwest::Result<Response> {
        let response = self.execute(request).await?;
        let status = response.status();
        if status.is_success() {
            if let Some(decoder) = decoders::success_decoder(info.operation_id) {
                return check_body(response, decoder).await;
            }
        } else if status.is_client_error() || status.is_server_error() {
            // Hydra's JSON error, as `execute` kept it, may still not be the operation's type.
            if let Some(decoder) = decoders::error_decoder(info.operation_id) {
                return check_body(response, decoder).await;
            }
        }
        Ok(response)
    }
}

impl Client {
    /// Sends a request built outside the generated calls (one that needs a header per request,
    /// say) on this client's connection pool, and hands back the response as the generated calls
    /// see theirs: the body capped as it is read, an error status without Hydra's JSON error
    /// turned into one that keeps the status and `Retry-After`. Decode it with
    /// `ResponseValue::from_response`, as they do; a response read any other way is not capped.
    ///
    /// Whatever the HTTP client's redirect policy, a request goes elsewhere only as a bodiless
    /// `GET`: its body, or its lack of one, is sent in a form the client cannot send a second
    /// time, so no redirect is followed with the method kept. A redirect the client does follow
    /// (a `303`, or a `301` or `302` to a `POST`, as a bodiless `GET`) gets an answer from
    /// elsewhere, which is refused: [`crate::ApiError::RedirectFollowed`].
    pub async fn execute(&self, mut request: reqwest::Request) -> reqwest::Result<Response> {
        let asked = request.url().clone();
        send_once(&mut request);
        let response = self.client.execute(request).await.map_err(|mut e| {
            if let Some(url) = e.url_mut() {
                without_query_values(url);
            }
            e
        })?;
        if !same_resource(&asked, response.url()) {
            return refuse_redirected(response).await;
        }
        shape(response, max_response_body()).await
    }
}

/// Makes the request's body, or its lack of one, something the HTTP client can send only once,
/// so that no redirect policy can send the request again to another URL with its method kept.
///
/// The SDK's constructors build clients that follow no redirects, but [`Client::new_with_client`]
/// takes any `reqwest::Client` (and the generated `Client::new` builds one with reqwest's
/// defaults), and reqwest's default policy follows a `307` or `308` by sending the same method
/// and body to the `Location`, wherever it points (it drops `Authorization` when the host
/// changes, never the body). Hydra's bodies carry client secrets: a registration, a secret set,
/// a token request with `client_secret_post`. A body that cannot be cloned is the one thing
/// reqwest (tower-http's `FollowRedirect`) does not follow with: it hands back the `307`
/// instead. The length stays exact, so the request still goes out with `Content-Length`, and
/// the bytes are not copied.
///
/// A request without a body (a `DELETE` of a client, of a key set, of consent sessions) would be
/// followed with its method kept by a `301`, `302`, `307` or `308`: on the same admin API, to
/// another client's URL. It gets a [`NoBody`], which cannot be cloned either. What a client that
/// follows redirects can still do is a bodiless `GET` after a `303` (or after a `301` or `302` to
/// a `POST`), whose answer [`Client::execute`] refuses.
fn send_once(request: &mut reqwest::Request) {
    // Wrapped, the body is a stream to reqwest (not clonable), with the bytes and size it had.
    let once = match request.body_mut().take() {
        Some(body) => reqwest::Body::wrap(body),
        None => reqwest::Body::wrap(NoBody),
    };
    *request.body_mut() = Some(once);
}

/// No body, in a form a redirect policy cannot make again. hyper sends no body (no
/// `Content-Length`, no chunks) for a body that says it has ended; tower-http's `FollowRedirect`
/// re-creates only a body whose size is exactly known to be 0, and this one leaves its size
/// unknown. The tests of bodiless redirects hold both crates to that.
struct NoBody;

impl http_body::Body for NoBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        true
    }
}

/// Whether the response came from the URL asked (reqwest reports the URL a response finally
/// came from). User and password are not compared: reqwest moves them into a header, so the URL
/// it reports has none.
fn same_resource(asked: &url::Url, answered: &url::Url) -> bool {
    asked.scheme() == answered.scheme()
        && asked.host_str() == answered.host_str()
        && asked.port_or_known_default() == answered.port_or_known_default()
        && asked.path() == answered.path()
        && asked.query() == answered.query()
}

/// The HTTP client followed a redirect (a `303`, or a `301` or `302` to a `POST`, turns the
/// request into a bodiless `GET`, which [`send_once`] cannot stop): the answer is not Hydra's to
/// the request sent, so it is not read. The error names where the client went by its origin
/// only, since a redirect's path and query can carry codes and tokens.
#[derive(Debug, Clone)]
pub(crate) struct RedirectFollowed {
    pub(crate) to: String,
}

impl fmt::Display for RedirectFollowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the HTTP client followed a redirect to {}", self.to)
    }
}

impl std::error::Error for RedirectFollowed {}

/// Refuses an answer from where a redirect led: [`RedirectFollowed`], as the `reqwest::Error` the
/// response hook must return. reqwest errors cannot be made directly; reading a body that fails
/// with ours is the public way to get one carrying it (as [`ErrorStatus`] travels too).
async fn refuse_redirected(response: Response) -> reqwest::Result<Response> {
    let cause = RedirectFollowed {
        to: response.url().origin().ascii_serialization(),
    };
    match Response::from(http::Response::new(failing(cause.clone())))
        .bytes()
        .await
    {
        Err(e) => Err(e),
        // Cannot happen (that body fails at once); the answer's own body would then fail instead.
        Ok(_) => Ok(replace_body(response, failing(cause))),
    }
}

/// The response as the generated code should see it.
///
/// - Success and redirect bodies are capped at `limit` as they are read.
/// - An error status (4xx, 5xx) is read here, up to the cap, and kept only if it is Hydra's JSON
///   error; otherwise (a proxy's page, a bare 503, garbage, over the cap) its body is replaced by
///   one that fails with [`ErrorStatus`]. The generated calls decode every 4xx/5xx body as
///   Hydra's error, so a body that is not one would surface as an undecodable payload with the
///   status and `Retry-After` lost, and a caller could not tell an outage from a bad answer.
pub(crate) async fn shape(response: Response, limit: u64) -> reqwest::Result<Response> {
    let status = response.status();
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if !(status.is_client_error() || status.is_server_error()) {
        if declared.is_some_and(|n| n > limit) {
            // Announced over the cap: fail before reading a byte.
            return Ok(replace_body(
                response,
                failing(BodyTooLarge { limit, status }),
            ));
        }
        return Ok(cap_body(response, limit));
    }
    let mut problem = ErrorStatus {
        status,
        retry_after: retry_after(response.headers()),
        over_limit: None,
    };
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Ok(replace_body(response, failing(problem)));
    }
    if declared.is_some_and(|n| n > limit) {
        problem.over_limit = Some(limit);
        return Ok(replace_body(response, failing(problem)));
    }
    let (head, body) = split(response);
    let read = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .collect()
        .await;
    let bytes = match read {
        Ok(collected) => collected.to_bytes(),
        Err(e) => match e.downcast::<reqwest::Error>() {
            // Cut short, timed out: a transport error, as if the generated code had read it.
            Ok(e) => return Err(*e),
            // `LengthLimitError`, the only other error `Limited` makes.
            Err(_) => {
                problem.over_limit = Some(limit);
                return Ok(join(head, failing(problem)));
            }
        },
    };
    if serde_json::from_slice::<types::ErrorOAuth2>(&bytes).is_err() {
        return Ok(join(head, failing(problem)));
    }
    Ok(join(head, reqwest::Body::from(bytes)))
}

/// A body that fails at once with `error`, never reading the network.
fn failing<E: std::error::Error + Send + Sync + 'static>(error: E) -> reqwest::Body {
    let chunk: Result<Bytes, E> = Err(error);
    reqwest::Body::wrap_stream(once(chunk))
}

/// A one-item stream.
fn once<T>(item: T) -> impl futures_core::Stream<Item = T> {
    struct Once<T>(Option<T>);
    impl<T> Unpin for Once<T> {}
    impl<T> futures_core::Stream for Once<T> {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.take())
        }
    }
    Once(Some(item))
}

fn cap_body(response: Response, limit: u64) -> Response {
    let status = response.status();
    let (head, body) = split(response);
    let limited = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .map_err(move |e| -> Box<dyn std::error::Error + Send + Sync> {
            if e.is::<http_body_util::LengthLimitError>() {
                Box::new(BodyTooLarge { limit, status })
            } else {
                e
            }
        });
    join(head, reqwest::Body::wrap(limited))
}

fn replace_body(response: Response, body: reqwest::Body) -> Response {
    join(split(response).0, body)
}

/// The response's head (status, headers, extensions, URL) and its body. Every response the SDK
/// hands on is taken apart here, and its head kept as it may print: progenitor's
/// `Error::UnexpectedResponse` prints it whole (`{:?}`: a `303` from the authorize endpoint,
/// say), and reqwest's errors from reading the body name its URL. So `Location`,
/// `Content-Location` and `Set-Cookie` are marked sensitive (their `Debug` is `Sensitive`; their
/// values are still read as they are), and the URL keeps its query's names but no values. The
/// URLs carry codes, tokens, verifiers and challenges (RFC 6749 §4.1.2, §4.2.2), the cookies
/// Hydra's sessions.
fn split(response: Response) -> ((http::response::Parts, url::Url), reqwest::Body) {
    use reqwest::header::{CONTENT_LOCATION, LOCATION, SET_COOKIE};
    let mut url = response.url().clone();
    without_query_values(&mut url);
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    for (name, value) in parts.headers.iter_mut() {
        if [LOCATION, CONTENT_LOCATION, SET_COOKIE].contains(name) {
            value.set_sensitive(true);
        }
    }
    ((parts, url), body)
}

fn join((mut parts, url): (http::response::Parts, url::Url), body: reqwest::Body) -> Response {
    // The conversion from `reqwest::Response` drops the URL; it goes back as reqwest keeps it,
    // so errors from reading the body still name it.
    use reqwest::ResponseBuilderExt as _;
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(carrier.into_parts().0.extensions);
    }
    Response::from(http::Response::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_resource_ignores_credentials_and_nothing_else() {
        let url = |u: &str| url::Url::parse(u).expect("URL");
        let asked = url("http://user:pw@127.0.0.1:4445/admin/clients?page_size=2");
        assert!(same_resource(
            &asked,
            &url("http://127.0.0.1:4445/admin/clients?page_size=2")
        ));
        for elsewhere in [
            "https://127.0.0.1:4445/admin/clients?page_size=2",
            "http://127.0.0.2:4445/admin/clients?page_size=2",
            "http://127.0.0.1:4444/admin/clients?page_size=2",
            "http://127.0.0.1:4445/login?page_size=2",
            "http://127.0.0.1:4445/admin/clients?page_size=3",
            "http://127.0.0.1:4445/admin/clients",
        ] {
            assert!(!same_resource(&asked, &url(elsewhere)), "{elsewhere}");
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn retry_after_in_both_forms() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 7 ")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "99999999999999999999999")])),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after(&headers(&[
                ("retry-after", "Sun, 06 Nov 1994 08:49:40 GMT"),
                ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ])),
            Some(Duration::from_secs(3))
        );
        // In the past: no wait.
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Sun, 06 Nov 1994 08:49:37 GMT"
            )])),
            Some(Duration::ZERO)
        );
        for bad in ["", "-1", "1.5", "soon", "Sun, 06 Nov 1994"] {
            assert_eq!(
                retry_after(&headers(&[("retry-after", bad)])),
                None,
                "{bad}"
            );
        }
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
