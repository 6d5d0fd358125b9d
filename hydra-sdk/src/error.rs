//! One error type for every generated call, with Hydra's own error fields typed.
//!
//! progenitor returns `progenitor_client::Error<E>` with a different `E` per operation, and a
//! variant that carries the raw body of a response it could not decode (which for a token
//! response is the token). [`ApiError`] folds them into one enum callers can match on, keeps
//! Hydra's `error`, `error_description` and `error_hint`, and never keeps a raw body.

use std::fmt;

use crate::redact::{peer_text, redact_url};
use crate::types;
use secrecy::ExposeSecret as _;

/// Hydra's error body, from whichever of its error shapes the operation declares. Its texts are
/// the peer's, escaped and cut ([`peer_text`]), so printing one cannot rewrite a terminal line or
/// forge a log line.
///
/// Hydra answers OAuth2 and admin errors with RFC 6749 §5.2 fields (`errorOAuth2`). The spec also
/// declares the older `genericError` for a few endpoints; Hydra v2.3.0 does not send it (see the
/// `generic_errors_as_error_oauth2` fix-up), but the type stays mapped for a spec that uses it.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HydraError {
    /// The OAuth2 error code, e.g. `invalid_client` (RFC 6749 §5.2).
    pub error: Option<String>,
    /// Human-readable detail.
    pub error_description: Option<String>,
    /// Hydra's hint on how to fix the request.
    pub error_hint: Option<String>,
    /// Debug detail; Hydra sends it only in dev mode.
    pub error_debug: Option<String>,
    /// Where to send the user instead (login, consent and logout requests already handled).
    pub redirect_to: Option<String>,
}

/// `redirect_to` redacted ([`redact_url`]): it carries a code, a token or a verifier.
impl fmt::Debug for HydraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HydraError")
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("error_hint", &self.error_hint)
            .field("error_debug", &self.error_debug)
            .field("redirect_to", &self.redirect_to.as_deref().map(redact_url))
            .finish()
    }
}

impl fmt::Display for HydraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error.as_deref().unwrap_or("unknown_error"))?;
        if let Some(description) = &self.error_description {
            write!(f, ": {description}")?;
        }
        if let Some(hint) = &self.error_hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl HydraError {
    /// Hydra's error fields as the SDK keeps them: each text through [`peer_text`]. The
    /// `redirect_to` URL is kept as sent, for the caller to follow; messages never show it.
    fn from_peer(
        error: Option<String>,
        error_description: Option<String>,
        error_hint: Option<String>,
        error_debug: Option<String>,
        redirect_to: Option<String>,
    ) -> Self {
        HydraError {
            error: error.map(peer_text),
            error_description: error_description.map(peer_text),
            error_hint: error_hint.map(peer_text),
            error_debug: error_debug.map(peer_text),
            redirect_to,
        }
    }
}

/// An error body type that a generated operation can return.
pub trait ErrorBody {
    /// Hydra's error fields, whatever the shape.
    fn into_hydra_error(self) -> HydraError;
}

/// `ErrorBody` for the generated types of Hydra's OAuth2 error shape (RFC 6749 §5.2's `error`
/// and `error_description`, Hydra's `error_hint` and `error_debug`), with or without the
/// `redirect_to` that the authorization endpoint adds.
macro_rules! oauth2_error_body {
    ($ty:ty) => {
        oauth2_error_body!($ty, |_body| None);
    };
    ($ty:ty, |$body:ident| $redirect_to:expr) => {
        impl ErrorBody for $ty {
            fn into_hydra_error(self) -> HydraError {
                let $body = self;
                let redirect_to = $redirect_to;
                HydraError::from_peer(
                    $body.error,
                    $body.error_description,
                    $body.error_hint,
                    $body.error_debug,
                    redirect_to,
                )
            }
        }
    };
}

oauth2_error_body!(types::ErrorOAuth2);
oauth2_error_body!(types::VerifiableCredentialPrimingResponse);
oauth2_error_body!(types::ErrorOAuth2OrRedirectTo, |body| body
    .redirect_to
    .map(|url| url.expose_secret().to_string()));

impl ErrorBody for types::GenericError {
    fn into_hydra_error(self) -> HydraError {
        HydraError::from_peer(
            self.status,
            Some(self.message),
            self.reason,
            self.debug,
            None,
        )
    }
}

impl ErrorBody for types::HealthNotReadyStatus {
    fn into_hydra_error(self) -> HydraError {
        let mut errors: Vec<_> = self.errors.into_iter().collect();
        errors.sort();
        let description = errors
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HydraError::from_peer(
            Some("not_ready".into()),
            Some(description),
            None,
            None,
            None,
        )
    }
}

/// Operations that declare no error body (`getVersion`, `revokeOidcSession`).
impl ErrorBody for () {
    fn into_hydra_error(self) -> HydraError {
        HydraError::default()
    }
}

/// Why a call to Hydra failed. `Debug`, like `Display`, shows a redirect's `Location` redacted
/// ([`redact_url`]); the field itself holds it as Hydra sent it.
#[non_exhaustive]
pub enum ApiError {
    /// Hydra answered with an error status and its error body.
    Hydra {
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// Hydra's error fields.
        error: HydraError,
        /// The `Retry-After` header (RFC 9110 §10.2.3), in either form (see
        /// [`crate::retry_after`]).
        retry_after: Option<std::time::Duration>,
    },
    /// An error status without Hydra's JSON error: a proxy's page, a bare `503` from a load
    /// balancer, a body that does not decode or is over the cap. The body is not kept.
    Status {
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The `Retry-After` header, in either form (see [`crate::retry_after`]).
        retry_after: Option<std::time::Duration>,
        /// The cap, when the body was over it (see [`crate::set_max_response_body`]).
        over_limit: Option<u64>,
    },
    /// A success body larger than the cap ([`crate::set_max_response_body`]); reading stopped
    /// at the cap.
    BodyTooLarge {
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The request could not be sent or the response not read: connection refused, TLS, a
    /// timeout (see [`reqwest::Error::is_timeout`]), a body cut short.
    Transport(reqwest::Error),
    /// A success body that is not what the spec says, e.g. a proxy's HTML page answered with
    /// `200`, or one of more JSON objects or values than the SDK decodes
    /// ([`crate::MAX_JSON_OBJECTS`], [`crate::MAX_JSON_VALUES`]). (An error status whose body is
    /// not Hydra's error is [`ApiError::Status`].) The body itself is not kept: it may be a
    /// token.
    InvalidBody {
        /// What did not decode, from serde.
        reason: String,
        /// Length of the body in bytes.
        len: usize,
    },
    /// A status the spec does not list for this operation, e.g. a redirect.
    UnexpectedStatus {
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The `Location` header, for redirects.
        location: Option<String>,
    },
    /// The HTTP client followed a redirect, so the answer came from somewhere other than the URL
    /// asked. Clients from the SDK's constructors follow none; a `reqwest::Client` passed to
    /// [`crate::Client::new_with_client`] may, as does the generated `Client::new`. The answer is
    /// not read, and a request body is never sent to where a redirect points (see
    /// [`crate::Client::execute`]). Build the client from
    /// [`crate::http_client_builder`], or with `redirect::Policy::none()`.
    RedirectFollowed {
        /// Where the client went: the origin only (scheme, host, port), as a redirect's path and
        /// query can carry codes and tokens.
        to: String,
    },
    /// The request was not built: a required parameter was not set, or a value did not convert.
    InvalidRequest(String),
}

/// As derived, but for the `Location` of [`ApiError::UnexpectedStatus`], whose path, query and
/// fragment can carry authorization codes and tokens (RFC 6749 §4.1.2, §4.2.2): `{:?}` is what
/// `unwrap`, `expect` and an error returned from `main` print.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Hydra {
                status,
                error,
                retry_after,
            } => f
                .debug_struct("Hydra")
                .field("status", status)
                .field("error", error)
                .field("retry_after", retry_after)
                .finish(),
            ApiError::Status {
                status,
                retry_after,
                over_limit,
            } => f
                .debug_struct("Status")
                .field("status", status)
                .field("retry_after", retry_after)
                .field("over_limit", over_limit)
                .finish(),
            ApiError::BodyTooLarge { status, limit } => f
                .debug_struct("BodyTooLarge")
                .field("status", status)
                .field("limit", limit)
                .finish(),
            ApiError::Transport(e) => f.debug_tuple("Transport").field(e).finish(),
            ApiError::InvalidBody { reason, len } => f
                .debug_struct("InvalidBody")
                .field("reason", reason)
                .field("len", len)
                .finish(),
            ApiError::UnexpectedStatus { status, location } => f
                .debug_struct("UnexpectedStatus")
                .field("status", status)
                .field("location", &location.as_deref().map(redact_url))
                .finish(),
            ApiError::RedirectFollowed { to } => {
                f.debug_struct("RedirectFollowed").field("to", to).finish()
            }
            ApiError::InvalidRequest(why) => f.debug_tuple("InvalidRequest").field(why).finish(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Hydra { status, error, .. } => {
                write!(f, "Hydra answered {status}: {error}")
            }
            ApiError::Status {
                status, over_limit, ..
            } => {
                write!(f, "Hydra answered {status} without its JSON error")?;
                if let Some(limit) = over_limit {
                    write!(f, " (the body exceeds the limit of {limit} bytes)")?;
                }
                Ok(())
            }
            ApiError::BodyTooLarge { status, limit } => write!(
                f,
                "Hydra's response body ({status}) exceeds the limit of {limit} bytes"
            ),
            ApiError::Transport(e) => {
                // reqwest's message names the URL: `Client::execute` leaves its query's names
                // and no values (`id_token_hint`, the verifiers are credentials).
                write!(f, "request to Hydra failed: {e}")?;
                let mut source = std::error::Error::source(e);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            ApiError::InvalidBody { reason, len } => write!(
                f,
                "Hydra's response body ({len} bytes) is not what its API describes: {reason}"
            ),
            ApiError::UnexpectedStatus { status, location } => {
                write!(f, "Hydra answered with unexpected status {status}")?;
                if let Some(location) = location {
                    write!(f, " (Location: {})", redact_url(location))?;
                }
                Ok(())
            }
            ApiError::RedirectFollowed { to } => write!(
                f,
                "the HTTP client followed a redirect to {to}; Hydra's answers are read only from \
                 the URL asked (build the client with redirects off, as \
                 hydra_sdk::http_client_builder does)"
            ),
            ApiError::InvalidRequest(why) => write!(f, "invalid request: {why}"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Transport(e) => Some(e),
            _ => None,
        }
    }
}

impl ApiError {
    /// The HTTP status, if Hydra answered.
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            ApiError::Hydra { status, .. }
            | ApiError::Status { status, .. }
            | ApiError::BodyTooLarge { status, .. }
            | ApiError::UnexpectedStatus { status, .. } => Some(*status),
            ApiError::Transport(e) => e.status(),
            _ => None,
        }
    }

    /// How long Hydra (or a proxy) asked to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ApiError::Hydra { retry_after, .. } | ApiError::Status { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether trying the same request again may succeed.
    ///
    /// Transient: connection failures, timeouts, a body cut short, 5xx, 408 and 429.
    /// Permanent: TLS certificate and handshake failures (the same certificate will fail the
    /// same way), other 4xx, a success body that does not decode or is over the cap, a redirect
    /// the HTTP client followed, a request that could not be built.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Hydra { status, .. }
            | ApiError::Status { status, .. }
            | ApiError::UnexpectedStatus { status, .. } => transient_status(*status),
            ApiError::Transport(e) => {
                !(e.is_builder() || e.is_redirect() || is_tls_failure(e))
                    && e.status().is_none_or(transient_status)
            }
            ApiError::BodyTooLarge { .. }
            | ApiError::InvalidBody { .. }
            | ApiError::RedirectFollowed { .. }
            | ApiError::InvalidRequest(_) => false,
        }
    }

    /// Hydra's error fields, if it sent them.
    pub fn hydra_error(&self) -> Option<&HydraError> {
        match self {
            ApiError::Hydra { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The result of a generated request's `send().await`, with the error as [`ApiError`]: the short
/// way to call the SDK.
///
/// ```no_run
/// use hydra_sdk::{ApiResult as _, Client};
/// # async fn f() -> Result<(), hydra_sdk::ApiError> {
/// let admin = Client::admin("http://127.0.0.1:4445").expect("valid URL");
/// let client = admin.get_oauth2_client().id("bss").send().await.api()?;
/// let page = admin.list_oauth2_clients().send().await.api_response()?;
/// # let _ = (client, page.status());
/// # Ok(()) }
/// ```
// `ApiError` is as large as the `Result<_, ApiError>` every caller already gets from
// `ApiError::from`; boxing it here alone would make the short way differ from the long one.
#[allow(clippy::result_large_err)]
pub trait ApiResult<T> {
    /// The decoded body, or the error as an [`ApiError`].
    fn api(self) -> Result<T, ApiError>;
    /// The whole response (status and headers too), or the error as an [`ApiError`].
    fn api_response(self) -> Result<progenitor_client::ResponseValue<T>, ApiError>;
}

#[allow(clippy::result_large_err)]
impl<T, E: ErrorBody> ApiResult<T>
    for Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>
{
    fn api(self) -> Result<T, ApiError> {
        self.api_response()
            .map(progenitor_client::ResponseValue::into_inner)
    }

    fn api_response(self) -> Result<progenitor_client::ResponseValue<T>, ApiError> {
        self.map_err(ApiError::from)
    }
}

impl<E: ErrorBody> From<progenitor_client::Error<E>> for ApiError {
    fn from(e: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error;
        match e {
            Error::ErrorResponse(response) => ApiError::Hydra {
                status: response.status(),
                retry_after: crate::retry_after(response.headers()),
                error: response.into_inner().into_hydra_error(),
            },
            Error::CommunicationError(e)
            | Error::ResponseBodyError(e)
            | Error::InvalidUpgrade(e) => from_reqwest(e),
            Error::InvalidResponsePayload(body, e) => ApiError::InvalidBody {
                // serde quotes what it found: a string from the body, escaped but as long as
                // the body allows.
                reason: peer_text(e.to_string()),
                len: body.len(),
            },
            Error::UnexpectedResponse(response)
                if response.status().is_client_error() || response.status().is_server_error() =>
            {
                ApiError::Status {
                    status: response.status(),
                    retry_after: crate::retry_after(response.headers()),
                    over_limit: None,
                }
            }
            Error::UnexpectedResponse(response) => ApiError::UnexpectedStatus {
                status: response.status(),
                location: response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            },
            Error::InvalidRequest(why) | Error::Custom(why) => ApiError::InvalidRequest(why),
        }
    }
}

/// A `reqwest::Error` as the SDK reports it: the errors the response hook plants in a body
/// ([`crate::response`]) come out as their own variants.
fn from_reqwest(e: reqwest::Error) -> ApiError {
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        if let Some(too_large) = c.downcast_ref::<crate::BodyTooLarge>() {
            return ApiError::BodyTooLarge {
                status: too_large.status,
                limit: too_large.limit,
            };
        }
        if let Some(redirected) = c.downcast_ref::<crate::response::RedirectFollowed>() {
            return ApiError::RedirectFollowed {
                to: redirected.to.clone(),
            };
        }
        if let Some(refused) = c.downcast_ref::<crate::response::UndecodableBody>() {
            return ApiError::InvalidBody {
                reason: refused.reason.clone(),
                len: refused.len,
            };
        }
        if let Some(problem) = c.downcast_ref::<crate::response::ErrorStatus>() {
            return ApiError::Status {
                status: problem.status,
                retry_after: problem.retry_after,
                over_limit: problem.over_limit,
            };
        }
        cause = c.source();
    }
    ApiError::Transport(e)
}

/// 5xx, 408 Request Timeout and 429 Too Many Requests (RFC 9110 §15.5.9, RFC 6585 §4).
fn transient_status(status: reqwest::StatusCode) -> bool {
    status.is_server_error() || matches!(status.as_u16(), 408 | 429)
}

/// Whether a TLS failure is somewhere in the error's causes: an unknown CA, a name mismatch, an
/// expired certificate, a failed handshake. rustls's error reaches reqwest wrapped in
/// `io::Error`s (two, today), whose `source()` skips the error they wrap, so each `io::Error` is
/// opened with `get_ref` instead.
fn is_tls_failure(e: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<rustls::Error>() {
            return true;
        }
        cause = match c.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    false
}
