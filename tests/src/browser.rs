//! The browser's part of a redirect-based flow (authorization code, device verification), played
//! through generated calls: it keeps Hydra's cookies and reads each redirect's `Location`.

use std::collections::BTreeMap;
use std::error::Error;

use hydra_sdk::reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{
    http_client_builder, types, ApiError, ApiResult as _, ByteStream, Client, ExposeSecret as _,
    ResponseValue,
};
use url::Url;

/// The cookies Hydra has set so far (its CSRF and session cookies), sent back on every later
/// authorize request as a browser would. Hydra refuses a `login_verifier` or `consent_verifier`
/// that arrives without the CSRF cookie of the request that issued it.
#[derive(Default)]
pub struct Browser {
    cookies: BTreeMap<String, String>,
}

impl Browser {
    /// Whether Hydra has set any cookie yet (its CSRF cookie comes with the first redirect).
    pub fn has_cookies(&self) -> bool {
        !self.cookies.is_empty()
    }

    /// Keeps the cookies of a response's `Set-Cookie` headers.
    pub fn store(&mut self, headers: &HeaderMap) {
        for set_cookie in headers.get_all(SET_COOKIE) {
            let Ok(set_cookie) = set_cookie.to_str() else {
                continue;
            };
            let pair = set_cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                // An empty value is how Hydra clears a cookie it no longer needs.
                if value.is_empty() {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_string(), value.to_string());
                }
            }
        }
    }

    /// A public-API client that sends the cookies stored so far.
    pub fn client(&self, public_url: &str) -> Result<Client, Box<dyn Error>> {
        let mut headers = HeaderMap::new();
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            let mut value = HeaderValue::try_from(cookie)?;
            value.set_sensitive(true);
            headers.insert(COOKIE, value);
        }
        let http = http_client_builder().default_headers(headers).build()?;
        Ok(Client::new_with_client(public_url, http))
    }

    /// Hydra's answer to an authorize request must be a redirect with status `expected`: keeps
    /// its cookies and returns its `Location`, read through the SDK's own
    /// `ApiError::UnexpectedStatus`.
    pub fn redirect(
        &mut self,
        expected: StatusCode,
        result: Result<ResponseValue<ByteStream>, hydra_sdk::Error<types::ErrorOAuth2>>,
    ) -> Result<Url, Box<dyn Error>> {
        let response = match result {
            Err(hydra_sdk::Error::UnexpectedResponse(response)) => response,
            Ok(response) => {
                return Err(format!("expected a {expected}, got {}", response.status()).into())
            }
            Err(e) => return Err(ApiError::from(e).into()),
        };
        self.store(response.headers());
        let error = hydra_sdk::Error::<types::ErrorOAuth2>::UnexpectedResponse(response);
        match ApiError::from(error) {
            ApiError::UnexpectedStatus {
                status,
                location: Some(location),
            } if status == expected => Ok(Url::parse(&location)?),
            other => Err(format!("expected a {expected} with a Location, got {other:?}").into()),
        }
    }
}

/// The value of query parameter `name` in `url`.
pub fn query(url: &Url, name: &str) -> Result<String, String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no {name} in {url}"))
}

/// The login app's part: accepts login request `challenge` for `subject` through the admin API
/// and returns where Hydra sends the browser next (`redirect_to`).
pub async fn accept_login(
    admin: &Client,
    challenge: &str,
    subject: &str,
) -> Result<Url, Box<dyn Error>> {
    let accepted = admin
        .accept_oauth2_login_request()
        .login_challenge(challenge)
        .body(types::AcceptOAuth2LoginRequest::builder().subject(subject))
        .send()
        .await
        .api()?;
    Ok(Url::parse(accepted.redirect_to.expose_secret())?)
}

/// The consent app's part: grants `scopes` for consent request `challenge` through the admin
/// API and returns where Hydra sends the browser next (`redirect_to`).
pub async fn accept_consent(
    admin: &Client,
    challenge: &str,
    scopes: &[&str],
) -> Result<Url, Box<dyn Error>> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let accepted = admin
        .accept_oauth2_consent_request()
        .consent_challenge(challenge)
        .body(types::AcceptOAuth2ConsentRequest::builder().grant_scope(Some(scopes.into())))
        .send()
        .await
        .api()?;
    Ok(Url::parse(accepted.redirect_to.expose_secret())?)
}
