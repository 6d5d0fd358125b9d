//! Step 3: the client-credentials token request on the public `/oauth2/token`, and the checks
//! on what comes back.

use std::time::{Duration, Instant, SystemTime};

use hydra_sdk::{types, ApiResult as _, ExposeSecret as _, ResponseValue};
use tracing::{info, info_span, Instrument};

use super::access_token::{AccessToken, Issued};
use super::register::Registration;
use super::{missing, Flow, HydraApis};
use crate::bounds::MAX_SCOPE;
use crate::config::TokenAuthMethod;
use crate::{Error, Stage};

/// The lifetime assumed for a token whose response has no `expires_in`. RFC 6749 §5.1 lets a
/// server leave it out; Hydra always sends it. Five minutes is short enough that a token
/// revoked or expired earlier than that is replaced soon, and long enough not to load Hydra.
pub const ASSUMED_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// The longest lifetime trusted: a day. A larger `expires_in` (up to `i64::MAX` seconds) is cut
/// to this, so the token is refreshed at least daily and no time arithmetic on it can overflow.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The lifetime to schedule a token by, from `expires_in` (RFC 6749 §5.1):
///
/// | `expires_in` | lifetime |
/// |---|---|
/// | missing | [`ASSUMED_LIFETIME`] |
/// | 0 or negative | an error: a token expired on arrival cannot be used, and must not be cached |
/// | 1 ..= 86 400 | as sent |
/// | above 86 400 | [`MAX_LIFETIME`] |
pub(crate) fn lifetime(expires_in: Option<i64>) -> Result<Duration, String> {
    match expires_in {
        None => Ok(ASSUMED_LIFETIME),
        // Hydra rounds the lifespan down to whole seconds: one of 1 s (TTL_ACCESS_TOKEN=1s, or
        // the client's client_credentials lifespan) answers 0.
        Some(0) => Err(
            "expires_in is 0: the token would be expired on arrival (Hydra rounds \
                        the access-token lifespan down to whole seconds, so one of 1 s answers \
                        0: give access tokens at least 2 s)"
                .into(),
        ),
        Some(seconds) if seconds < 0 => Err(format!(
            "expires_in is {seconds}: the token would be expired on arrival"
        )),
        Some(seconds) => Ok(Duration::from_secs(seconds.unsigned_abs()).min(MAX_LIFETIME)),
    }
}

/// The longest access token kept: far above any real one (a JWT with many claims is a few
/// kilobytes), far below what would make every request carry megabytes in its header.
const MAX_ACCESS_TOKEN: usize = 64 * 1024;

/// RFC 6750 §2.1: a bearer token is a non-empty `b64token`,
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. Anything else (a CR/LF that
/// would split the `Authorization` header, a space, a quote) is not a token that can be sent.
fn check_access_token(token: &str) -> Result<(), String> {
    if token.len() > MAX_ACCESS_TOKEN {
        return Err(format!(
            "access_token is longer than {MAX_ACCESS_TOKEN} bytes"
        ));
    }
    let body = token.trim_end_matches('=');
    if body.is_empty() {
        return Err("access_token is empty".into());
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/');
    if !body.chars().all(allowed) {
        // Which character is wrong, not where: the text is a secret.
        return Err(
            "access_token has characters a bearer token cannot have (RFC 6750 §2.1)".into(),
        );
    }
    Ok(())
}

/// RFC 6749 §7.1, §5.1: the flow sends tokens as bearer tokens (RFC 6750), so the server must
/// have issued one; the type's name is case-insensitive.
fn check_token_type(token_type: &str) -> Result<(), String> {
    if token_type.eq_ignore_ascii_case("bearer") {
        Ok(())
    } else {
        Err(format!(
            "token_type is {:?}, not Bearer",
            token_type.chars().take(32).collect::<String>()
        ))
    }
}

impl Flow {
    /// Step 3: the client-credentials token request, `POST /oauth2/token` on the public API
    /// with `grant_type=client_credentials`.
    ///
    /// The client authenticates the way it was registered; the registration access token is
    /// never sent (Hydra ignores it at this endpoint, so sending it could only leak it).
    pub async fn token(&self, registration: &Registration) -> Result<AccessToken, Error> {
        let config = &self.config;
        let url = format!("{}/oauth2/token", config.public_url);
        let span = info_span!("hydra.token", public_url = %config.public_url, client_id = %registration.client_id, auth_method = registration.token_auth_method.as_str());
        async {
            let audience = (!config.audience.is_empty()).then(|| config.audience.join(" "));
            let mut body = types::Oauth2TokenExchangeBody {
                grant_type: "client_credentials".into(),
                scope: config.scope.clone(),
                audience,
                client_id: None,
                client_secret: None,
                code: None,
                code_verifier: None,
                device_code: None,
                redirect_uri: None,
                refresh_token: None,
            };
            let issued_at = SystemTime::now();
            let obtained_at = Instant::now();
            let response = match registration.token_auth_method {
                TokenAuthMethod::ClientSecretPost => {
                    body.client_id = Some(registration.client_id.clone());
                    body.client_secret = Some(registration.client_secret.clone());
                    let exchange = self.apis.public.oauth2_token_exchange().body(body);
                    exchange.send().await
                }
                TokenAuthMethod::ClientSecretBasic => {
                    let headers = hydra_sdk::basic_auth_headers(
                        &registration.client_id,
                        &registration.client_secret,
                    )
                    .map_err(|e| Error::config("client_secret", e.to_string()))?;
                    self.send_with_headers(&url, &body, headers).await
                }
            }
            .api()
            .map_err(|e| Error::from_api(Stage::Token, &url, e))?;
            let token = issued(&url, response, obtained_at, issued_at)?;
            info!(expires_in = ?token.expires_in(), scope = ?token.scope(), "access token issued");
            Ok(token)
        }
        .instrument(span)
        .await
    }

    /// The generated `oauth2_token_exchange` call with extra headers, on the shared HTTP
    /// client (the user's, when configured). The generated builder has no way to add a header
    /// per request, and a client with the credentials in its default headers would be one more
    /// connection pool per token request.
    async fn send_with_headers(
        &self,
        url: &str,
        body: &types::Oauth2TokenExchangeBody,
        headers: reqwest::header::HeaderMap,
    ) -> Result<ResponseValue<types::OAuth2TokenExchange>, hydra_sdk::Error<types::ErrorOAuth2>>
    {
        let request = self.apis.post(url).headers(headers).form(body);
        HydraApis::send(&self.apis.public, request, 200).await
    }
}

/// The token in Hydra's answer from `url`, checked: a bearer token (RFC 6750 §2.1) of type
/// Bearer, with a lifetime by [`lifetime`]'s policy.
fn issued(
    url: &str,
    response: types::OAuth2TokenExchange,
    obtained_at: Instant,
    issued_at: SystemTime,
) -> Result<AccessToken, Error> {
    let invalid = |reason: String| Error::InvalidResponse {
        stage: Stage::Token,
        url: url.to_string(),
        reason,
    };
    let secret = response
        .access_token
        .ok_or_else(|| missing(Stage::Token, url, "access_token"))?;
    check_access_token(secret.expose_secret()).map_err(invalid)?;
    let token_type = response
        .token_type
        .ok_or_else(|| missing(Stage::Token, url, "token_type"))?;
    check_token_type(&token_type).map_err(invalid)?;
    let expires_in = lifetime(response.expires_in).map_err(invalid)?;
    // The lifetime counts from when the request was sent (Hydra's clock started no earlier), so
    // an answer slower than the lifetime holds a token already expired.
    let latency = obtained_at.elapsed();
    if latency >= expires_in {
        return Err(invalid(format!(
            "the answer took {} ms, longer than the token's lifetime (expires_in {} s): it was \
             expired on arrival",
            latency.as_millis(),
            expires_in.as_secs()
        )));
    }
    // The granted scope is at most the one asked for, which is at most this long.
    if response.scope.as_ref().is_some_and(|s| s.len() > MAX_SCOPE) {
        return Err(invalid(format!("scope is longer than {MAX_SCOPE} bytes")));
    }
    Ok(AccessToken::new(
        Issued {
            secret,
            token_type,
            scope: response.scope,
            expires_in: Some(expires_in),
            obtained_at,
            issued_at,
        },
        latency,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hydra_sdk::Secret;

    #[test]
    fn a_lifetime_of_0_says_what_setting_gives_it() {
        // A Hydra with TTL_ACCESS_TOKEN=1s answers expires_in 0 for every token.
        let why = lifetime(Some(0)).expect_err("expired on arrival");
        assert!(why.contains("at least 2 s"), "{why}");
        assert!(lifetime(Some(-5)).is_err());
        assert_eq!(lifetime(Some(1)), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn tokens_and_registrations_do_not_print_secrets() {
        let token = AccessToken::new(
            Issued {
                secret: Secret::from("tok-SECRET"),
                token_type: "bearer".into(),
                scope: Some("read".into()),
                expires_in: Some(Duration::from_secs(60)),
                obtained_at: Instant::now(),
                issued_at: SystemTime::now(),
            },
            Duration::from_millis(3),
        );
        let registration = Registration {
            client_id: "bss".into(),
            client_secret: Secret::from("cs-SECRET"),
            registration_access_token: Some(Secret::from("rat-SECRET")),
            token_auth_method: TokenAuthMethod::ClientSecretPost,
            created: true,
        };
        for text in [format!("{token:?}"), format!("{registration:?}")] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(text.contains("[REDACTED]"), "{text}");
        }
        assert!(token.is_fresh());
        assert!(token.refresh_at() < token.expires_at_instant());
    }

    #[test]
    fn lifetimes_follow_the_documented_policy() {
        assert_eq!(lifetime(None), Ok(ASSUMED_LIFETIME));
        assert_eq!(lifetime(Some(3600)), Ok(Duration::from_secs(3600)));
        assert_eq!(lifetime(Some(86_401)), Ok(MAX_LIFETIME));
        assert_eq!(lifetime(Some(i64::MAX)), Ok(MAX_LIFETIME));
        for bad in [0, -1, i64::MIN] {
            assert!(lifetime(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn bearer_tokens_and_types_are_checked() {
        for good in ["a", "ory_at_x.y-z~+/", "abc==", "A1"] {
            assert_eq!(check_access_token(good), Ok(()), "{good}");
        }
        for bad in ["", "==", "a b", "a\r\nX-Evil: 1", "a\"", "é", "=a"] {
            assert!(check_access_token(bad).is_err(), "{bad:?}");
        }
        for good in ["bearer", "Bearer", "BEARER"] {
            assert_eq!(check_token_type(good), Ok(()));
        }
        for bad in ["mac", "", "bearer ", "N_A"] {
            assert!(check_token_type(bad).is_err(), "{bad:?}");
        }
    }
}
