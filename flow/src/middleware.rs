//! A `reqwest-middleware` layer that authenticates outgoing requests with a [`TokenSource`].

use http::Extensions;
use hydra_sdk::ExposeSecret;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

use crate::{AccessToken, CachedToken, TokenSource};

/// Puts `Authorization: Bearer <token>` on every request, from a [`TokenSource`]; when the
/// downstream service answers 401, invalidates that token, fetches a new one and retries once.
/// The retry sends the request again, body and all, whatever its method: a 401 says the
/// service did not act on it.
///
/// The 401 is returned as is, without a retry, when the request's body cannot be cloned (a
/// stream; the token is invalidated all the same, so the next request gets a new one), when it
/// came from another origin than the request went to (a client that follows redirects; reqwest
/// sends `Authorization` to no other origin, so that 401 says nothing about the token; a chain
/// of redirects that leaves the origin and comes back to it is not told apart, since a response
/// does not show its hops), and when the source keeps the token: a service that rejects each new
/// token gets one at most every so often (see [`TokenSource::invalidate`]), not one per request.
///
/// A request's own timeout (`RequestBuilder::timeout`) bounds the whole call: the wait for a
/// token, the request, and the retry. Past it the call fails with reqwest's timeout error
/// (`reqwest::Error::is_timeout`) when it ran out during a request, or with a
/// [`std::io::Error`] of kind `TimedOut` when it ran out waiting for a token or before the
/// retry. Without one, a wait for a token is bounded by the flow's deadline (`HYDRA_DEADLINE`).
#[derive(Debug, Clone)]
pub struct BearerAuth {
    source: TokenSource,
}

impl BearerAuth {
    /// Authenticates with tokens from `source`.
    pub fn new(source: TokenSource) -> Self {
        BearerAuth { source }
    }
}

fn authorize(mut request: Request, token: &AccessToken) -> reqwest_middleware::Result<Request> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.secret().expose_secret()))
        .map_err(reqwest_middleware::Error::middleware)?;
    // Sensitive: reqwest and hyper leave it out of their Debug output and logs.
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(request)
}

/// The end of the request's own timeout, if it has one: the whole call must fit in it.
fn deadline_of(request: &Request) -> Option<tokio::time::Instant> {
    request
        .timeout()
        .and_then(|timeout| tokio::time::Instant::now().checked_add(*timeout))
}

fn timed_out(what: &str) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("the request's timeout passed {what}"),
    ))
}

impl BearerAuth {
    /// A token, within `deadline`.
    async fn token(
        &self,
        deadline: Option<tokio::time::Instant>,
    ) -> reqwest_middleware::Result<CachedToken> {
        let token = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, self.source.token())
                .await
                .map_err(|_| timed_out("while waiting for an access token"))?,
            None => self.source.token().await,
        };
        token.map_err(reqwest_middleware::Error::middleware)
    }
}

/// `request`, with what is left of `deadline` as its timeout.
fn within(
    mut request: Request,
    deadline: Option<tokio::time::Instant>,
) -> reqwest_middleware::Result<Request> {
    if let Some(deadline) = deadline {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(timed_out("before the request was sent"));
        }
        *request.timeout_mut() = Some(left);
    }
    Ok(request)
}

#[async_trait::async_trait]
impl Middleware for BearerAuth {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let deadline = deadline_of(&request);
        let retry = request.try_clone();
        let sent_to = request.url().origin();
        let token = self.token(deadline).await?;
        let request = within(authorize(request, &token)?, deadline)?;
        let response = next.clone().run(request, extensions).await?;
        let rejected =
            response.status() == StatusCode::UNAUTHORIZED && response.url().origin() == sent_to;
        // The token is forgotten on a rejection whether or not the request can be sent again.
        if !rejected || !self.source.invalidate(&token) {
            return Ok(response);
        }
        let Some(retry) = retry else {
            return Ok(response);
        };
        let token = self.token(deadline).await?;
        next.run(within(authorize(retry, &token)?, deadline)?, extensions)
            .await
    }
}
