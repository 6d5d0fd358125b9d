//! Step 3: the client-credentials token request on the public `/oauth2/token`, and the token.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use hydra_sdk::{types, ApiResult as _, ExposeSecret as _, ResponseValue, Secret};
use tracing::{info, info_span, Instrument};

use super::register::Registration;
use super::{missing, Flow};
use crate::config::TokenAuthMethod;
use crate::{Error, Stage};

/// An access token from Hydra's token endpoint.
#[derive(Clone)]
pub struct AccessToken {
    secret: Secret,
    token_type: String,
    scope: Option<String>,
    expires_in: Option<Duration>,
    obtained_at: Instant,
    issued_at: SystemTime,
    /// When to fetch the next token, on the coarse clock the cached read checks (a few ns to
    /// read, where `Instant::now()` costs about 25).
    refresh_at: coarsetime::Instant,
    /// The last moment the token is handed out.
    usable_until: coarsetime::Instant,
    /// Which token of its [`crate::TokenSource`] this is (stamped there; 0 outside one), so a
    /// rejected token can be told from a newer one.
    pub(crate) generation: u64,
}

/// A token is handed out until this long before it expires, so the request carrying it arrives
/// in time; a quarter of the lifetime for tokens shorter than 4 s.
const EXPIRY_MARGIN: Duration = Duration::from_secs(1);
/// The refresh starts at least this long before the token stops being handed out...
const MIN_REFRESH_LEAD: Duration = Duration::from_millis(500);
/// ...or this many times the token request's own latency, if longer.
const LATENCY_FACTOR: u32 = 4;
/// Lifetimes are capped here (about 68 years) before they meet the coarse clock, whose ticks
/// hold seconds in 32 bits. [`lifetime`] caps what Hydra sends at [`MAX_LIFETIME`] (a day)
/// already; this cap keeps the schedule safe for any `Duration` it is given.
const MAX_SCHEDULED_LIFETIME: Duration = Duration::from_secs(1 << 31);
/// How far the coarse clock may lag the real one (one kernel tick, at most 10 ms at HZ=100).
const COARSE_CLOCK_LAG: Duration = Duration::from_millis(10);

impl AccessToken {
    /// A token Hydra issued: `obtained_at` is when the request was sent (so the lifetime is
    /// counted conservatively from before Hydra issued it) and `latency` how long it took.
    pub(crate) fn new(
        secret: Secret,
        token_type: String,
        scope: Option<String>,
        expires_in: Option<Duration>,
        obtained_at: Instant,
        issued_at: SystemTime,
        latency: Duration,
    ) -> Self {
        let (refresh_at, usable_until) = schedule(
            coarsetime::Instant::now_without_cache_update(),
            obtained_at.elapsed(),
            expires_in,
            latency,
        );
        AccessToken {
            secret,
            token_type,
            scope,
            expires_in,
            obtained_at,
            issued_at,
            refresh_at,
            usable_until,
            generation: 0,
        }
    }

    /// Stands for "no token": never fresh, never handed out. Lets the cache be a plain
    /// `ArcSwap<AccessToken>`, so a handle to it needs no `Option` to look through.
    pub(crate) fn none() -> Self {
        let never = coarsetime::Instant::from_u64(0);
        AccessToken {
            secret: Secret::from(String::new()),
            token_type: String::new(),
            scope: None,
            expires_in: Some(Duration::ZERO),
            obtained_at: Instant::now(),
            issued_at: SystemTime::now(),
            refresh_at: never,
            usable_until: never,
            generation: 0,
        }
    }

    /// The token. Put it in an `Authorization: Bearer` header and nowhere else.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The token type; `bearer` for Hydra.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The scope granted, when Hydra says (RFC 6749 §5.1).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The lifetime Hydra gave the token at issue (`expires_in`).
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }

    /// When the token expires, by the wall clock; `None` when it does not expire or the time is
    /// beyond what the clock can hold.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.issued_at.checked_add(self.expires_in?)
    }

    /// The monotonic instant the token expires, for scheduling.
    pub(crate) fn expires_at_instant(&self) -> Option<Instant> {
        self.obtained_at.checked_add(self.expires_in?)
    }

    /// When the background refresh should fetch the next token, on the monotonic clock.
    pub(crate) fn refresh_at(&self) -> Option<Instant> {
        self.expires_in?;
        let after = self
            .refresh_at
            .duration_since(coarsetime::Instant::now_without_cache_update());
        Instant::now().checked_add(after.into())
    }

    /// Where the token stands at `now`, read on the coarse clock. The cached read's one check.
    #[inline]
    pub(crate) fn freshness(&self, now: coarsetime::Instant) -> Freshness {
        if now < self.refresh_at {
            Freshness::Fresh
        } else if now < self.usable_until {
            Freshness::Refresh
        } else {
            Freshness::Stale
        }
    }

    /// Whether the token is still handed out: unexpired with a margin for the request that
    /// will carry it.
    pub(crate) fn is_fresh(&self) -> bool {
        self.freshness(coarsetime::Instant::now_without_cache_update()) != Freshness::Stale
    }
}

/// Where a cached token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Hand it out.
    Fresh,
    /// Hand it out, and start the next fetch if none is under way (stale-while-revalidate).
    Refresh,
    /// Do not hand it out; wait for a new one.
    Stale,
}

/// The refresh point and the end of use for a token `age` old (since its request was sent) at
/// `now`, with lifetime `expires_in` (as Hydra rounded it: down to whole seconds) and a request
/// that took `latency`.
///
/// The refresh comes three quarters into the lifetime, but never later than the end of use minus
/// a lead of several request latencies, so that even for a 1 s `expires_in` the next token
/// arrives before readers would have to wait. All arithmetic saturates: `expires_in` comes from
/// the network.
fn schedule(
    now: coarsetime::Instant,
    age: Duration,
    expires_in: Option<Duration>,
    latency: Duration,
) -> (coarsetime::Instant, coarsetime::Instant) {
    let Some(lifetime) = expires_in else {
        let never = coarsetime::Instant::from_u64(u64::MAX);
        return (never, never);
    };
    let lifetime = lifetime.min(MAX_SCHEDULED_LIFETIME);
    let margin = EXPIRY_MARGIN.min(lifetime / 4);
    let usable = lifetime
        .saturating_sub(margin)
        .saturating_sub(COARSE_CLOCK_LAG);
    let lead = MIN_REFRESH_LEAD.max(latency.saturating_mul(LATENCY_FACTOR));
    let refresh = (lifetime / 4 * 3).min(usable.saturating_sub(lead));
    let at = |offset: Duration| now.saturating_add(offset.saturating_sub(age).into());
    (at(refresh), at(usable))
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

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
        Some(seconds) if seconds <= 0 => Err(format!(
            "expires_in is {seconds}: the token would be expired on arrival"
        )),
        Some(seconds) => Ok(Duration::from_secs(seconds.unsigned_abs()).min(MAX_LIFETIME)),
    }
}

/// RFC 6750 §2.1: a bearer token is a non-empty `b64token`,
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. Anything else (a CR/LF that
/// would split the `Authorization` header, a space, a quote) is not a token that can be sent.
fn check_access_token(token: &str) -> Result<(), String> {
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
            info!(expires_in = ?token.expires_in, scope = ?token.scope, "access token issued");
            Ok(token)
        }
        .instrument(span)
        .await
    }

    /// The generated `oauth2_token_exchange` call with extra headers: the same request and the
    /// same reading of the answer, on the shared HTTP client (the user's, when configured). The
    /// generated builder has no way to add a header per request, and a client with the
    /// credentials in its default headers would be one more connection pool per token request.
    async fn send_with_headers(
        &self,
        url: &str,
        body: &types::Oauth2TokenExchangeBody,
        headers: reqwest::header::HeaderMap,
    ) -> Result<ResponseValue<types::OAuth2TokenExchange>, hydra_sdk::Error<types::ErrorOAuth2>>
    {
        use reqwest::header::{HeaderValue, ACCEPT};
        let http = &self.apis.http;
        let request = http
            .post(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .headers(headers)
            .form(body)
            .build()?;
        let response = http.execute(request).await?;
        match response.status().as_u16() {
            200 => ResponseValue::from_response(response).await,
            400..=599 => Err(hydra_sdk::Error::ErrorResponse(
                ResponseValue::from_response(response).await?,
            )),
            _ => Err(hydra_sdk::Error::UnexpectedResponse(response)),
        }
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
    Ok(AccessToken::new(
        secret,
        token_type,
        response.scope,
        Some(expires_in),
        obtained_at,
        issued_at,
        obtained_at.elapsed(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_registrations_do_not_print_secrets() {
        let token = AccessToken::new(
            Secret::from("tok-SECRET"),
            "bearer".into(),
            Some("read".into()),
            Some(Duration::from_secs(60)),
            Instant::now(),
            SystemTime::now(),
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

    fn offsets(expires_in: u64, latency_ms: u64) -> (Duration, Duration) {
        let now = coarsetime::Instant::from_u64(1 << 40);
        let (refresh, usable) = schedule(
            now,
            Duration::ZERO,
            Some(Duration::from_secs(expires_in)),
            Duration::from_millis(latency_ms),
        );
        (
            refresh.duration_since(now).into(),
            usable.duration_since(now).into(),
        )
    }

    #[test]
    fn the_refresh_comes_before_the_token_stops_being_handed_out() {
        // A 4 s TTL, which Hydra reports as 3: the old schedule refreshed at 2.25 s, after the
        // token had gone stale at 2 s.
        let (refresh, usable) = offsets(3, 5);
        assert!(
            refresh + MIN_REFRESH_LEAD <= usable,
            "{refresh:?} {usable:?}"
        );
        assert!(usable < Duration::from_secs(3));
        // A slow Hydra moves the refresh earlier.
        let (slow, _) = offsets(3, 200);
        assert!(slow + Duration::from_millis(800) <= usable, "{slow:?}");
        // Long tokens keep three quarters.
        assert_eq!(offsets(3600, 5).0, Duration::from_secs(2700));
        for s in [1, 2, 5, 60] {
            let (refresh, usable) = offsets(s, 5);
            assert!(refresh < usable, "{s}: {refresh:?} {usable:?}");
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

    #[test]
    fn huge_lifetimes_saturate_instead_of_panicking() {
        let token = AccessToken::new(
            Secret::from("t"),
            "bearer".into(),
            None,
            Some(Duration::MAX),
            Instant::now(),
            SystemTime::now(),
            Duration::from_millis(5),
        );
        assert_eq!(
            token.freshness(coarsetime::Instant::now()),
            Freshness::Fresh
        );
        let _ = (
            token.expires_at(),
            token.expires_at_instant(),
            token.refresh_at(),
        );
        let (refresh, usable) = offsets(u64::MAX, u64::MAX);
        assert!(refresh <= usable);
        assert_eq!(
            AccessToken::none().freshness(coarsetime::Instant::now()),
            Freshness::Stale
        );
    }
}
