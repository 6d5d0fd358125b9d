//! Step 1: the client on the admin API, registered or found.

use std::fmt;

use hydra_sdk::{types, ApiError, Secret};
use secrecy::SecretString;
use tracing::{debug, info, info_span, warn, Instrument};

use super::{missing, Hydra};
use crate::config::{Config, TokenAuthMethod};
use crate::{Error, Stage};

/// A registered client: what the token step needs, secrets kept as secrets.
#[derive(Clone)]
pub struct Registration {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// The registration access token Hydra returned when it created the client (RFC 7592);
    /// absent when the client already existed. Never sent to the token endpoint.
    pub registration_access_token: Option<SecretString>,
    /// How the client authenticates at the token endpoint.
    pub token_auth_method: TokenAuthMethod,
    /// Whether this call created the client (`false`: it existed and was reused).
    pub created: bool,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field(
                "registration_access_token",
                &self
                    .registration_access_token
                    .as_ref()
                    .map(|_| "[REDACTED]"),
            )
            .field("token_auth_method", &self.token_auth_method)
            .field("created", &self.created)
            .finish()
    }
}

/// A new random client secret: 32 bytes from the operating system's CSPRNG, base64url.
fn generate_secret() -> Result<SecretString, Error> {
    use base64::Engine as _;
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| {
            Error::config(
                "client_secret",
                "no system randomness to generate one".into(),
            )
        })?;
    Ok(SecretString::from(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

/// The client metadata this configuration registers.
fn desired_client(
    config: &Config,
    secret: Option<&SecretString>,
) -> Result<types::OAuth2Client, Error> {
    let strings = |v: Vec<String>| Some(types::StringSliceJsonFormat(v));
    types::OAuth2Client::builder()
        .client_id(config.client_id.clone())
        .client_secret(secret.map(|s| Secret::from(s.clone())))
        .client_name(Some(config.client_name.clone()))
        .grant_types(strings(vec!["client_credentials".to_string()]))
        .response_types(strings(config.response_types.clone()))
        .redirect_uris(strings(config.redirect_uris()))
        .scope(config.registered_scope().map(str::to_string))
        .audience(
            (!config.audience.is_empty())
                .then(|| types::StringSliceJsonFormat(config.audience.clone())),
        )
        .token_endpoint_auth_method(config.token_auth_method.as_str().to_string())
        .access_token_strategy(config.access_token_strategy.map(|s| s.as_str().to_string()))
        .try_into()
        .map_err(|e: types::error::ConversionError| Error::config("client", e.to_string()))
}

/// What differs between a registered client and the one this configuration wants; empty when
/// the existing client serves.
fn mismatches(existing: &types::OAuth2Client, config: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    let has = |list: &Option<types::StringSliceJsonFormat>, item: &str| {
        list.as_ref().is_some_and(|l| l.0.iter().any(|x| x == item))
    };
    if !has(&existing.grant_types, "client_credentials") {
        out.push("grant_types");
    }
    if let Some(wanted) = config.registered_scope() {
        let granted: Vec<&str> = existing.scope.as_deref().unwrap_or("").split(' ').collect();
        if !wanted.split(' ').all(|s| granted.contains(&s)) {
            out.push("scope");
        }
    }
    if existing.token_endpoint_auth_method != config.token_auth_method.as_str() {
        out.push("token_endpoint_auth_method");
    }
    if !config.audience.iter().all(|a| has(&existing.audience, a)) {
        out.push("audience");
    }
    if let Some(strategy) = config.access_token_strategy {
        if existing.access_token_strategy.as_deref() != Some(strategy.as_str()) {
            out.push("access_token_strategy");
        }
    }
    if config.authorize {
        if !config
            .redirect_uris()
            .iter()
            .all(|u| has(&existing.redirect_uris, u))
        {
            out.push("redirect_uris");
        }
        if !config
            .response_types
            .iter()
            .all(|t| has(&existing.response_types, t))
        {
            out.push("response_types");
        }
    }
    out
}

/// Registers the client, or finds and reuses it.
///
/// With a configured client id: a 409 means the client exists. It is reused as is when its
/// metadata fits and its secret is known (configured) and not `secret_rejected`; otherwise it is
/// replaced (`PUT /admin/clients/{id}`) with this configuration's metadata and a secret: the
/// configured one, or a freshly generated one (rotation).
pub(crate) async fn register(
    hydra: &Hydra,
    config: &Config,
    secret_rejected: bool,
) -> Result<Registration, Error> {
    let url = format!("{}/admin/clients", config.admin_url);
    let span = info_span!("hydra.register", admin_url = %config.admin_url, client_id = config.client_id.as_deref().unwrap_or("(generated)"));
    async {
        let desired = desired_client(config, config.client_secret.as_ref())?;
        let created = hydra
            .admin
            .create_o_auth2_client()
            .body(desired)
            .send()
            .await;
        match created.map_err(ApiError::from) {
            Ok(response) => {
                let client = response.into_inner();
                let client_id = client
                    .client_id
                    .clone()
                    .ok_or_else(|| missing(Stage::Register, &url, "client_id"))?;
                let client_secret = client
                    .client_secret
                    .clone()
                    .map(SecretString::from)
                    .or_else(|| config.client_secret.clone())
                    .ok_or_else(|| missing(Stage::Register, &url, "client_secret"))?;
                info!(client_id = %client_id, "registered a new OAuth2 client");
                Ok(Registration {
                    client_id,
                    client_secret,
                    registration_access_token: client
                        .registration_access_token
                        .map(SecretString::from),
                    token_auth_method: config.token_auth_method,
                    created: true,
                })
            }
            Err(ApiError::Hydra { status, .. }) if status.as_u16() == 409 => {
                let Some(id) = config.client_id.as_deref() else {
                    return Err(Error::InvalidResponse {
                        stage: Stage::Register,
                        url,
                        reason: "409 Conflict for a client without a configured id".into(),
                    });
                };
                reuse(hydra, config, id, secret_rejected).await
            }
            Err(e) => Err(Error::from_api(Stage::Register, &url, e)),
        }
    }
    .instrument(span)
    .await
}

async fn reuse(
    hydra: &Hydra,
    config: &Config,
    id: &str,
    secret_rejected: bool,
) -> Result<Registration, Error> {
    let url = format!("{}/admin/clients/{id}", config.admin_url);
    let existing = hydra
        .admin
        .get_o_auth2_client()
        .id(id)
        .send()
        .await
        .map_err(|e| Error::from_api(Stage::Register, &url, e.into()))?
        .into_inner();
    let differs = mismatches(&existing, config);
    let known_secret = config.client_secret.clone().filter(|_| !secret_rejected);
    if let (true, Some(secret)) = (differs.is_empty(), known_secret) {
        info!(client_id = %id, "reusing the registered OAuth2 client");
        return Ok(Registration {
            client_id: id.to_string(),
            client_secret: secret,
            registration_access_token: None,
            token_auth_method: config.token_auth_method,
            created: false,
        });
    }
    // The secret Hydra holds is unknown here (it stores only a hash), or the metadata is not
    // what this service needs: replace the client with ours and a secret we know.
    let secret = match (&config.client_secret, secret_rejected) {
        (Some(configured), _) => configured.clone(),
        (None, _) => generate_secret()?,
    };
    if differs.is_empty() {
        info!(client_id = %id, "setting the registered client's secret");
    } else {
        warn!(client_id = %id, fields = ?differs, "registered client differs from the configuration; replacing it");
    }
    let replaced = hydra
        .admin
        .set_o_auth2_client()
        .id(id)
        .body(desired_client(config, Some(&secret))?)
        .send()
        .await
        .map_err(|e| Error::from_api(Stage::Register, &url, e.into()))?
        .into_inner();
    debug!(client_id = ?replaced.client_id, "client replaced");
    Ok(Registration {
        client_id: id.to_string(),
        client_secret: secret,
        registration_access_token: replaced.registration_access_token.map(SecretString::from),
        token_auth_method: config.token_auth_method,
        created: false,
    })
}

/// Deletes the client (`DELETE /admin/clients/{id}`); a client already gone is not an error.
pub(crate) async fn delete(hydra: &Hydra, config: &Config, client_id: &str) -> Result<(), Error> {
    let url = format!("{}/admin/clients/{client_id}", config.admin_url);
    let span = info_span!("hydra.delete", admin_url = %config.admin_url, client_id = %client_id);
    async {
        match hydra
            .admin
            .delete_o_auth2_client()
            .id(client_id)
            .send()
            .await
            .map_err(ApiError::from)
        {
            Ok(_) => {
                info!("client deleted");
                Ok(())
            }
            Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => Ok(()),
            Err(e) => Err(Error::from_api(Stage::Delete, &url, e)),
        }
    }
    .instrument(span)
    .await
}
