//! The one error type of the flow: which stage failed, and why.

use std::fmt;
use std::time::Duration;

use hydra_sdk::ApiError;

/// The step of the sequence an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Registering (or finding, or updating) the OAuth2 client on the admin API.
    Register,
    /// The authorize request on the public `/oauth2/auth`.
    Authorize,
    /// The client-credentials request on the public `/oauth2/token`.
    Token,
    /// Deleting the client at shutdown.
    Delete,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Register => "register",
            Stage::Authorize => "authorize",
            Stage::Token => "token",
            Stage::Delete => "delete",
        })
    }
}

/// Why a token could not be had. Every variant that comes from a request names its [`Stage`];
/// none carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting or environment variable is missing or invalid.
    #[error("invalid configuration: {name} {reason}")]
    Config {
        /// The environment variable or builder setting.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// Hydra answered with an OAuth2 error (RFC 6749 §5.2): in a JSON body, or for the authorize
    /// step, in the query or fragment of the redirect. The three texts are kept as sent, except
    /// that a control character (which RFC 6749 does not allow in them) is escaped and a text
    /// over 512 characters is cut, so that printing the error cannot rewrite a terminal line or
    /// forge a log line.
    #[error("{stage}: Hydra refused the request{}: {error}{}{}", status_text(*.status),
        .error_description.as_ref().map(|d| format!(": {d}")).unwrap_or_default(),
        .error_hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    OAuth2 {
        /// The step.
        stage: Stage,
        /// The HTTP status, when the error came in a response body.
        status: Option<u16>,
        /// The OAuth2 error code, e.g. `invalid_client`.
        error: String,
        /// Hydra's description.
        error_description: Option<String>,
        /// Hydra's hint.
        error_hint: Option<String>,
        /// How long Hydra asked to wait before trying again (`Retry-After`).
        retry_after: Option<Duration>,
    },

    /// Hydra could not be reached, or answered with an error status and no OAuth2 error body
    /// (a proxy in between, a server starting up).
    #[error("{stage}: request to {url} failed: {source}")]
    Transport {
        /// The step.
        stage: Stage,
        /// The URL (never with credentials).
        url: String,
        /// What the SDK reported.
        source: Box<ApiError>,
    },

    /// Hydra's answer was not what its API describes: a missing field, a body that does not
    /// decode, an unexpected status.
    #[error("{stage}: unexpected answer from {url}: {reason}")]
    InvalidResponse {
        /// The step.
        stage: Stage,
        /// The URL.
        url: String,
        /// What was wrong, naming the field where one is missing.
        reason: String,
    },

    /// Hydra's response body is larger than the SDK's cap ([`hydra_sdk::set_max_response_body`]);
    /// reading stopped at the cap. Not retried: the same request gets the same answer.
    #[error(
        "{stage}: the response from {url} ({status}) exceeds the limit of {limit} bytes; \
        reading stopped there"
    )]
    ResponseTooLarge {
        /// The step.
        stage: Stage,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The cap, in bytes.
        limit: u64,
    },

    /// Retries ran out of time: the caller's deadline passed.
    #[error("{stage}: no success within the deadline of {deadline:?} ({attempts} {stage} \
        attempts){}",
        .last.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
    DeadlineExceeded {
        /// The step.
        stage: Stage,
        /// The configured deadline.
        deadline: Duration,
        /// How many requests this stage sent.
        attempts: u32,
        /// The last error seen; none when the last attempt itself ran out of time.
        last: Option<Box<Error>>,
    },

    /// The client exists but belongs to someone else (its `metadata` has no `hydra-rs.flow`
    /// marker), and it cannot serve this configuration as it is. The flow changed nothing;
    /// `fix` is the admin API call that would make it serve.
    #[error("{stage}: client `{client_id}` is not managed by this library (no `hydra-rs.flow` \
        marker in its metadata), so it is used as it is and never changed, and it cannot serve \
        this configuration: {}. Nothing was changed; an administrator can fix it with: {fix}",
        .problems.join("; "))]
    ForeignClient {
        /// The step.
        stage: Stage,
        /// The client id.
        client_id: String,
        /// What the client lacks, one entry per field (`grant_types lacks client_credentials`).
        problems: Vec<String>,
        /// A command for an administrator (a JSON Patch with curl), or the setting to change.
        fix: String,
    },

    /// Another instance set this client's secret within the quiet period, or from its
    /// configuration (at any time), and this one does not know it. Setting it again would lock
    /// that instance out, so the flow stops instead.
    #[error("register: the secret of client `{client_id}` was set {}s ago by another instance \
        ({holder}) and this one does not know it; replicas that share a client id need a shared \
        secret: set HYDRA_CLIENT_SECRET or HYDRA_CLIENT_SECRET_FILE (a secret is set again only \
        {}s after its last change, and never over a configured one)", .ago.as_secs(), .quiet.as_secs())]
    SecretHeldElsewhere {
        /// The client id.
        client_id: String,
        /// The instance that set the secret (a random id from the client's marker).
        holder: String,
        /// How long ago.
        ago: Duration,
        /// The quiet period.
        quiet: Duration,
    },

    /// This instance's configured secret is not the client's, which another instance set from
    /// its own configuration, with a version no lower than this one's: replicas configured with
    /// different secrets, or a rotation this replica has not had yet. Setting it would lock that
    /// instance out, so the flow stops instead: for the quiet period
    /// ([`crate::SECRET_QUIET_PERIOD`]) after that secret was set when the versions are equal
    /// (then this one's is set), for good when the other's is newer. Meanwhile it does not make
    /// the client again if the client is gone. A secret of a higher version replaces it at once
    /// (see [`crate::ConfigBuilder::client_secret_version`]).
    #[error("register: {}", secrets_differ(client_id, holder, *ago, *holder_version, *version))]
    ConfiguredSecretsDiffer {
        /// The client id.
        client_id: String,
        /// The instance that set the secret (a random id from the client's marker).
        holder: String,
        /// How long ago.
        ago: Duration,
        /// The version of the secret it set.
        holder_version: u64,
        /// This instance's configured secret's version.
        version: u64,
    },

    /// Hydra kept answering `invalid_client` after the bounded number of re-registrations: the
    /// flow gives up instead of creating clients without end. Or it answered so with too little
    /// left of the deadline to wait and register again (`outlasts_deadline`).
    #[error("token: {}; giving up: {last}", rejected(client_id, *reregistrations, *window, *outlasts_deadline))]
    ClientRejected {
        /// The client id.
        client_id: String,
        /// Re-registrations made within the window.
        reregistrations: u32,
        /// The window they are counted in.
        window: Duration,
        /// Whether it gave up before the bound, because the wait before registering again would
        /// have outlasted the deadline.
        outlasts_deadline: bool,
        /// The last rejection.
        last: Box<Error>,
    },

    /// Hydra (or a proxy) asked to wait (`Retry-After`) longer than what is left of the
    /// deadline, so the client gave up at once instead of sleeping past it.
    #[error(
        "{stage}: gave up without waiting: Retry-After asks for {retry_after:?}, more than \
        the {remaining:?} left of the deadline of {deadline:?} ({attempts} {stage} attempts); \
        last error: {last}"
    )]
    RetryAfterBeyondDeadline {
        /// The step.
        stage: Stage,
        /// The wait asked for.
        retry_after: Duration,
        /// What was left of the deadline.
        remaining: Duration,
        /// The configured deadline.
        deadline: Duration,
        /// How many requests this stage sent.
        attempts: u32,
        /// The answer that carried the `Retry-After`.
        last: Box<Error>,
    },

    /// [`crate::TokenSource::shutdown`] was called on a clone of this source: every clone's
    /// `token()` returns this, without a request (a fetch that was under way ends after the
    /// call in flight, and its callers get this too).
    #[error("the token source was shut down (TokenSource::shutdown)")]
    ShutDown,

    /// [`crate::acquire_token_with`] was called outside a running tokio runtime (it runs in the
    /// caller's future, or on flow's own runtime for a current-thread caller, and either way
    /// needs the caller's), or a token source's
    /// fetch found none to run on: flow's own thread for it could not be started. Nothing was
    /// sent.
    #[error(
        "no running tokio runtime to fetch a token on (the calling context has none, or its \
         runtime is shutting down)"
    )]
    NoRuntime,

    /// A request to Hydra failed with this error, and more than one caller gets it: every caller
    /// of a [`crate::TokenSource`] that waited for that one request, and, when asking again at
    /// once cannot help (anything but [`Error::DeadlineExceeded`], [`Error::ShutDown`] and
    /// [`Error::NoRuntime`]), the caller that made it and those that come while the source holds
    /// off (see [`crate::TokenSource::token`]).
    /// [`Error::unshared`] looks through it; [`Error::stage`], [`Error::oauth2_error`] and
    /// [`Error::status`] do already.
    #[error(transparent)]
    Shared(std::sync::Arc<Error>),
}

/// Hydra's answer to a serialization failure of its database (ory/x `sqlcon.ErrConcurrentUpdate`,
/// from PostgreSQL's `40001` or CockroachDB's `CR000`): writes to one client at once, as replicas
/// registering together make. Hydra sends it as a 400, an upstream defect: trying again is what
/// fixes it, so it is retried as a transient failure.
const CONCURRENT_UPDATE: &str =
    "Unable to serialize access due to a concurrent update in another session";

fn status_text(status: Option<u16>) -> String {
    status.map(|s| format!(" with {s}")).unwrap_or_default()
}

/// [`Error::ConfiguredSecretsDiffer`]'s words: what this replica's operator should do, which
/// depends on whose secret is the newer.
fn secrets_differ(
    client_id: &str,
    holder: &str,
    ago: Duration,
    holder_version: u64,
    version: u64,
) -> String {
    let ago = ago.as_secs();
    if holder_version > version {
        format!(
            "the configured secret of client `{client_id}` is out of date: another instance \
             ({holder}) set one of version {holder_version} from its configuration {ago}s ago, \
             and this one's is version {version}; give this replica the version-{holder_version} \
             secret"
        )
    } else {
        let quiet = crate::SECRET_QUIET_PERIOD.as_secs();
        format!(
            "the configured secret of client `{client_id}` is not the one another instance \
             ({holder}) set from its configuration {ago}s ago, of the same version ({version}): a \
             mistyped or stale secret, here or there; replicas that share a client id must be \
             configured with the same secret (this one sets its own only {quiet}s after the \
             other was set, and for {quiet}s does not make the client again if it is gone, so \
             replicas that disagree take it from each other). Raise HYDRA_CLIENT_SECRET_VERSION only to roll a new \
             secret out to every replica: raised on one alone, its secret replaces the others'"
        )
    }
}

/// [`Error::ClientRejected`]'s words for why it gave up: the bound, or the deadline.
fn rejected(client_id: &str, made: u32, window: Duration, outlasts_deadline: bool) -> String {
    let window = window.as_secs();
    if outlasts_deadline {
        format!(
            "Hydra rejected client `{client_id}` ({made} re-registrations within {window}s so \
             far), and waiting to register it again would outlast the deadline"
        )
    } else {
        format!(
            "Hydra keeps rejecting client `{client_id}` after {made} re-registrations within \
             {window}s"
        )
    }
}

impl Error {
    pub(crate) fn config(name: &'static str, reason: String) -> Self {
        Error::Config { name, reason }
    }

    /// The step the error comes from, if it comes from a request.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Error::Config { .. } | Error::ShutDown | Error::NoRuntime => None,
            Error::OAuth2 { stage, .. }
            | Error::Transport { stage, .. }
            | Error::InvalidResponse { stage, .. }
            | Error::ResponseTooLarge { stage, .. }
            | Error::DeadlineExceeded { stage, .. }
            | Error::RetryAfterBeyondDeadline { stage, .. }
            | Error::ForeignClient { stage, .. } => Some(*stage),
            Error::SecretHeldElsewhere { .. } | Error::ConfiguredSecretsDiffer { .. } => {
                Some(Stage::Register)
            }
            Error::ClientRejected { .. } => Some(Stage::Token),
            Error::Shared(e) => e.stage(),
        }
    }

    /// The OAuth2 error code Hydra sent, if any (looking through a deadline error to its last
    /// cause).
    pub fn oauth2_error(&self) -> Option<&str> {
        match self {
            Error::OAuth2 { error, .. } => Some(error),
            Error::DeadlineExceeded { last, .. } => last.as_ref()?.oauth2_error(),
            Error::ClientRejected { last, .. } => last.oauth2_error(),
            Error::RetryAfterBeyondDeadline { last, .. } => last.oauth2_error(),
            Error::Shared(e) => e.oauth2_error(),
            _ => None,
        }
    }

    /// The HTTP status of Hydra's answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::OAuth2 { status, .. } => *status,
            Error::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            Error::ResponseTooLarge { status, .. } => Some(*status),
            Error::DeadlineExceeded { last, .. } => last.as_ref()?.status(),
            Error::RetryAfterBeyondDeadline { last, .. } => last.status(),
            Error::Shared(e) => e.status(),
            _ => None,
        }
    }

    /// The error itself, looking through [`Error::Shared`]: what to match a variant against.
    ///
    /// ```
    /// # fn handle(err: &flow::Error) {
    /// if let flow::Error::ClientRejected { client_id, .. } = err.unshared() {
    ///     eprintln!("Hydra keeps rejecting {client_id}");
    /// }
    /// # }
    /// ```
    pub fn unshared(&self) -> &Error {
        match self {
            Error::Shared(e) => e.unshared(),
            e => e,
        }
    }

    /// Turns an SDK error at `stage`, calling `url`, into the flow's error.
    pub(crate) fn from_api(stage: Stage, url: &str, e: ApiError) -> Self {
        match e {
            ApiError::Hydra {
                status,
                error,
                retry_after,
            } if error.error.is_some() => Error::OAuth2 {
                stage,
                status: Some(status.as_u16()),
                // The SDK keeps these escaped and cut (`hydra_sdk::peer_text`).
                error: error.error.unwrap_or_default(),
                error_description: error.error_description,
                error_hint: error.error_hint,
                retry_after,
            },
            ApiError::BodyTooLarge { status, limit } => Error::ResponseTooLarge {
                stage,
                url: url.to_string(),
                status: status.as_u16(),
                limit,
            },
            ApiError::InvalidBody { reason, len } => Error::InvalidResponse {
                stage,
                url: url.to_string(),
                reason: format!("the body ({len} bytes) does not decode: {reason}"),
            },
            ApiError::UnexpectedStatus { status, .. } => Error::InvalidResponse {
                stage,
                url: url.to_string(),
                reason: format!("status {status} is not one the API describes"),
            },
            // Only an HTTP client of the user's follows redirects; flow's own follows none.
            ApiError::RedirectFollowed { to } => Error::config(
                "http_client",
                format!(
                    "follows redirects: the {stage} request to {url} was answered from {to}; \
                     build it with reqwest::redirect::Policy::none()"
                ),
            ),
            other => Error::Transport {
                stage,
                url: url.to_string(),
                source: Box::new(other),
            },
        }
    }

    /// Whether trying again may succeed: connection failures, timeouts, a body cut short, 5xx,
    /// 408 and 429 ([`ApiError::is_transient`]). Never: TLS certificate and handshake failures,
    /// other 4xx, malformed or oversized success bodies, configuration. (`invalid_client` has
    /// its own recovery in [`crate::TokenSource`].)
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } => source.is_transient(),
            Error::OAuth2 {
                status: Some(status),
                error,
                ..
            } => *status >= 500 || matches!(*status, 408 | 429) || error == CONCURRENT_UPDATE,
            _ => false,
        }
    }

    /// How long Hydra asked to wait before trying again (`Retry-After`).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::OAuth2 { retry_after, .. } => *retry_after,
            Error::Transport { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// Whether Hydra rejected the client's credentials (RFC 6749 §5.2 `invalid_client`): the
    /// client vanished (Hydra restarted on an in-memory database) or its secret changed.
    pub(crate) fn is_invalid_client(&self) -> bool {
        matches!(self, Error::OAuth2 { error, .. } if error == "invalid_client")
            || matches!(
                self,
                Error::OAuth2 {
                    status: Some(401),
                    ..
                }
            )
    }
}
