//! Step 2: the authorize request on the public `/oauth2/auth`, redirects not followed.

use hydra_sdk::{ApiError, ApiResult as _};
use tracing::{info, info_span, Instrument};

use super::register::Registration;
use super::{missing, Flow};
use crate::{Error, Stage};
use hydra_sdk::peer_text;

/// A random `state` for the authorize request (RFC 6749 §10.12).
fn generate_state() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

impl Flow {
    /// Step 2: the authorize request, `GET /oauth2/auth` on the public API for the client,
    /// redirects not followed.
    ///
    /// Hydra answers a valid request with a redirect into its login flow (a `login_challenge`),
    /// and an invalid one with a redirect carrying `error` (RFC 6749 §4.1.2.1, §4.2.2.1) in the
    /// query or fragment, or with a JSON error.
    pub async fn authorize(&self, registration: &Registration) -> Result<(), Error> {
        let config = &self.config;
        let url = format!("{}/oauth2/auth", config.public_url);
        let state = generate_state();
        let span = info_span!("hydra.authorize", public_url = %config.public_url, client_id = %registration.client_id);
        async {
            let mut request = self
                .apis
                .public
                .oauth2_authorize()
                .client_id(registration.client_id.clone())
                .response_type(config.response_types.join(" "))
                .state(state.clone());
            if let Some(uri) = config.redirect_uris().first() {
                request = request.redirect_uri(uri.clone());
            }
            if let Some(scope) = config.registered_scope() {
                request = request.scope(scope.to_string());
            }
            match request.send().await.api().map(|_| ()) {
                Err(ApiError::UnexpectedStatus { status, location }) if status.is_redirection() => {
                    let location =
                        location.ok_or_else(|| missing(Stage::Authorize, &url, "Location"))?;
                    check_authorize_redirect(&url, &location, &state)
                }
                Ok(()) => Err(Error::InvalidResponse {
                    stage: Stage::Authorize,
                    url,
                    reason: "a success status where a redirect was expected".into(),
                }),
                Err(e) => Err(Error::from_api(Stage::Authorize, &url, e)),
            }
        }
        .instrument(span)
        .await
    }
}

/// Reads the authorize redirect: an OAuth2 error, or acceptance.
fn check_authorize_redirect(url: &str, location: &str, state: &str) -> Result<(), Error> {
    let parsed = url::Url::parse(location)
        .or_else(|_| url::Url::parse(url).and_then(|base| base.join(location)))
        .map_err(|e| Error::InvalidResponse {
            stage: Stage::Authorize,
            url: url.to_string(),
            reason: format!("the redirect's Location does not parse: {e}"),
        })?;
    let mut pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if let Some(fragment) = parsed.fragment() {
        pairs.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if let Some(error) = get("error") {
        return Err(Error::OAuth2 {
            stage: Stage::Authorize,
            status: None,
            error: peer_text(error),
            error_description: get("error_description").map(peer_text),
            error_hint: get("error_hint").map(peer_text),
            retry_after: None,
        });
    }
    if let Some(echoed) = get("state") {
        if echoed != state {
            return Err(Error::InvalidResponse {
                stage: Stage::Authorize,
                url: url.to_string(),
                reason: "the redirect's state is not the one sent".into(),
            });
        }
    }
    let accepted_into_login = get("login_challenge").is_some();
    info!(
        redirect = %hydra_sdk::redact_url(location),
        login_flow = accepted_into_login,
        "authorize request accepted"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:4444/oauth2/auth";

    #[test]
    fn a_redirect_into_the_login_flow_is_acceptance() {
        check_authorize_redirect(URL, "http://127.0.0.1:4444/login?login_challenge=abc", "s1")
            .expect("accepted");
    }

    #[test]
    fn an_error_in_the_query_is_a_typed_oauth2_error() {
        let err = check_authorize_redirect(
            URL,
            "http://127.0.0.1/callback?error=invalid_scope&error_description=The+requested+scope+is+invalid&error_hint=Scope+foo&state=s1",
            "s1",
        )
        .expect_err("error");
        let Error::OAuth2 {
            stage,
            status,
            error,
            error_description,
            error_hint,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(*stage, Stage::Authorize);
        assert_eq!(*status, None);
        assert_eq!(error, "invalid_scope");
        assert_eq!(
            error_description.as_deref(),
            Some("The requested scope is invalid")
        );
        assert_eq!(error_hint.as_deref(), Some("Scope foo"));
        assert_eq!(
            err.to_string(),
            "authorize: Hydra refused the request: invalid_scope: The requested scope is invalid (Scope foo)"
        );
    }

    #[test]
    fn an_error_in_the_fragment_is_found_too() {
        // Implicit-grant style responses (RFC 6749 §4.2.2.1) put the error in the fragment.
        let err = check_authorize_redirect(
            URL,
            "http://127.0.0.1/callback#error=unsupported_response_type&state=s1",
            "s1",
        )
        .expect_err("error");
        assert_eq!(err.oauth2_error(), Some("unsupported_response_type"));
    }

    #[test]
    fn a_relative_location_and_a_wrong_state() {
        check_authorize_redirect(URL, "/login?login_challenge=x", "s1").expect("relative is fine");
        let err = check_authorize_redirect(URL, "/login?login_challenge=x&state=other", "s1")
            .expect_err("wrong state");
        assert!(err.to_string().contains("state"), "{err}");
    }
}
