//! Step 3: the client-credentials token request on the public `/oauth2/token`, and the token.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use hydra_sdk::{types, Client, Secret};
use secrecy::SecretString;
use tracing::{info, info_span, Instrument};

use super::register::Registration;
use super::{missing, Hydra};
use crate::config::{Config, TokenAuthMethod};
use crate::{Error, Stage};

/// An access token from Hydra's token endpoint.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    token_type: String,
    scope: Option<String>,
    expires_in: Option<Duration>,
    obtained_at: Instant,
    issued_at: SystemTime,
    pub(crate) generation: u64,
}

impl AccessToken {
    /// The token. Put it in an `Authorization: Bearer` header and nowhere else.
    pub fn secret(&self) -> &SecretString {
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

    /// When the token expires, by the wall clock.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_in.map(|d| self.issued_at + d)
    }

    /// The monotonic instant the token expires, for scheduling.
    pub(crate) fn expires_at_instant(&self) -> Option<Instant> {
        self.expires_in.map(|d| self.obtained_at + d)
    }

    /// When to refresh ahead of expiry: three quarters into the lifetime, so a refresh has a
    /// quarter of it (at least a few seconds) to succeed while readers keep the current token.
    pub(crate) fn refresh_at(&self) -> Option<Instant> {
        self.expires_in.map(|d| self.obtained_at + d.mul_f64(0.75))
    }

    /// Whether the token is still usable: unexpired with a small margin for the request that
    /// will carry it.
    pub(crate) fn is_fresh(&self) -> bool {
        match self.expires_at_instant() {
            Some(at) => Instant::now() + Duration::from_secs(1) < at,
            None => true,
        }
    }
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

/// The token step: `POST /oauth2/token` with `grant_type=client_credentials`.
///
/// The client authenticates the way it was registered; the registration access token is never
/// sent (Hydra ignores it at this endpoint, so sending it could only leak it).
pub(crate) async fn token(
    hydra: &Hydra,
    config: &Config,
    registration: &Registration,
    generation: u64,
) -> Result<AccessToken, Error> {
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
        let basic_client;
        let client = match registration.token_auth_method {
            TokenAuthMethod::ClientSecretPost => {
                body.client_id = Some(registration.client_id.clone());
                body.client_secret = Some(Secret::from(registration.client_secret.clone()));
                &hydra.public
            }
            TokenAuthMethod::ClientSecretBasic => {
                let headers = hydra_sdk::basic_auth_headers(
                    &registration.client_id,
                    &Secret::from(registration.client_secret.clone()),
                )
                .map_err(|e| Error::config("client_secret", e.to_string()))?;
                let http = config
                    .http_client_builder()
                    .default_headers(headers)
                    .build()
                    .map_err(|e| Error::config("http_client", format!("cannot build: {e}")))?;
                basic_client = Client::new_with_client(&config.public_url, http);
                &basic_client
            }
        };
        let issued_at = SystemTime::now();
        let obtained_at = Instant::now();
        let response = client
            .oauth2_token_exchange()
            .body(body)
            .send()
            .await
            .map_err(|e| Error::from_api(Stage::Token, &url, e.into()))?
            .into_inner();
        let secret = response
            .access_token
            .map(SecretString::from)
            .ok_or_else(|| missing(Stage::Token, &url, "access_token"))?;
        let expires_in = response
            .expires_in
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.unsigned_abs()));
        let token = AccessToken {
            secret,
            token_type: response
                .token_type
                .clone()
                .unwrap_or_else(|| "bearer".into()),
            scope: response.scope.clone(),
            expires_in,
            obtained_at,
            issued_at,
            generation,
        };
        info!(expires_in = ?token.expires_in, scope = ?token.scope, "access token issued");
        Ok(token)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_registrations_do_not_print_secrets() {
        let token = AccessToken {
            secret: SecretString::from("tok-SECRET"),
            token_type: "bearer".into(),
            scope: Some("read".into()),
            expires_in: Some(Duration::from_secs(60)),
            obtained_at: Instant::now(),
            issued_at: SystemTime::now(),
            generation: 1,
        };
        let registration = Registration {
            client_id: "bss".into(),
            client_secret: SecretString::from("cs-SECRET"),
            registration_access_token: Some(SecretString::from("rat-SECRET")),
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
}
