//! A `reqwest-middleware` layer that authenticates outgoing requests with a [`TokenSource`].

use http::Extensions;
use hydra_sdk::ExposeSecret;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

use crate::{AccessToken, TokenSource};

/// Puts `Authorization: Bearer <token>` on every request, from a [`TokenSource`]; when the
/// downstream service answers 401, invalidates that token, fetches a new one and retries once.
///
/// The 401 is returned as is, without a retry, when the request's body cannot be cloned (a
/// stream), when it came from another origin than the request went to (a client that follows
/// redirects; reqwest sends `Authorization` to no other origin, so that 401 says nothing about
/// the token; a chain of redirects that leaves the origin and comes back to it is not told
/// apart, since a response does not show its hops), and when the source keeps the token: a
/// service that rejects each new token gets one at most every so often (see
/// [`TokenSource::invalidate`]), not one per request.
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

#[async_trait::async_trait]
impl Middleware for BearerAuth {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let retry = request.try_clone();
        let sent_to = request.url().origin();
        let token = self
            .source
            .token()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let response = next
            .clone()
            .run(authorize(request, &token)?, extensions)
            .await?;
        let rejected =
            response.status() == StatusCode::UNAUTHORIZED && response.url().origin() == sent_to;
        let Some(retry) = retry.filter(|_| rejected) else {
            return Ok(response);
        };
        if !self.source.invalidate(&token) {
            return Ok(response);
        }
        let token = self
            .source
            .token()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        next.run(authorize(retry, &token)?, extensions).await
    }
}
