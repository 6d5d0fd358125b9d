//! Step 1: the client on the admin API, registered or found.

use std::fmt;

use hydra_sdk::{types, ApiError, ApiResult as _, ExposeSecret as _, ResponseValue, Secret};
use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::{debug, info, info_span, warn, Instrument};

use super::ownership::{self, now_unix, Change, Marker, MARKER_KEY};
use super::secret::Identity;
use super::{Flow, HydraApis};
use crate::config::{Config, TokenAuthMethod};
use crate::lock::lock;
use crate::{Error, Stage};

/// A registered client: what the token step needs, secrets kept as secrets.
#[derive(Clone)]
pub struct Registration {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The registration access token Hydra returned when it created the client (RFC 7592);
    /// absent when the client already existed. Never sent to the token endpoint.
    pub registration_access_token: Option<Secret>,
    /// How the client authenticates at the token endpoint.
    pub token_auth_method: TokenAuthMethod,
    /// Whether this source (this [`crate::Flow`] or [`crate::TokenSource`]) created the client,
    /// including by a POST that timed out and was found by its retry (`false`: it existed).
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

/// What the flow reads of the client Hydra answers a registration with. The generated call
/// decodes the whole client (about forty fields, the metadata as a JSON tree, two timestamps)
/// for the flow to read two: in a cold acquire (`acquire_token_with`, register and token), that
/// was about 32,000 instructions per acquire (callgrind, the whole process).
#[derive(Deserialize)]
struct Created {
    client_id: Option<String>,
    registration_access_token: Option<Secret>,
}

fn marker(identity: &Identity, managed: Map<String, Value>) -> Marker {
    Marker {
        v: 1,
        created_by: identity.instance.clone(),
        managed,
        secret_set_by: identity.instance.clone(),
        secret_set_at: now_unix(),
        secret_configured: identity.secret_configured,
        secret_version: identity.secret_version,
        rev: Marker::new_rev(),
    }
}

/// The client this configuration registers: only the fields it manages, the marker, and the
/// id and secret fixed in `identity`. The marker goes in after the managed fields are typed, so
/// its JSON tree is not copied once more by a decode.
fn new_client(config: &Config, identity: &Identity) -> Result<types::OAuth2Client, Error> {
    let managed = ownership::desired(config);
    let mut body = managed.clone();
    if let Some(scope) = body.get_mut("scope") {
        *scope = scope
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
            .into();
    }
    body.insert("client_id".into(), identity.client_id.clone().into());
    let mut client: types::OAuth2Client = serde_json::from_value(Value::Object(body))
        .map_err(|e| Error::config("client", e.to_string()))?;
    let marker = serde_json::to_value(marker(identity, managed))
        .map_err(|e| Error::config("client", e.to_string()))?;
    let mut metadata = Map::new();
    metadata.insert(MARKER_KEY.into(), marker);
    client.metadata = Some(types::JsonRawMessage(Value::Object(metadata)));
    client.client_secret = Some(identity.secret.clone());
    Ok(client)
}

impl Flow {
    /// Step 1: registers the client on the admin API, or finds and reuses it when Hydra already
    /// has a client with this id (see [`Config`] for what the flow may change in it).
    pub async fn register(&self) -> Result<Registration, Error> {
        self.register_with(0).await
    }

    /// Registers the client, or finds its existing one.
    ///
    /// With a configured client id, `GET /admin/clients/{id}` first: a restart or another
    /// replica usually finds its client there, and reusing it then costs one GET, where a POST
    /// would cost a 409 (after Hydra hashed the secret) and the GET anyway. Otherwise, and on a
    /// 404, `POST /admin/clients` with the id and secret fixed in [`Identity`]. An existing
    /// client (found, or a 409 from a POST that raced another replica or retried one that timed
    /// out) is:
    /// - ours (it carries the marker): the managed fields are reconciled with one JSON Patch that
    ///   applies only to the client as it was read (see `Flow::patch`), and the secret is set
    ///   only if this source does not know it or Hydra rejected it (`rejections`, in a row), and
    ///   no other instance set it within [`ownership::SECRET_QUIET_PERIOD`]; a configured secret
    ///   of a higher version than the one another instance configured replaces it at once, and
    ///   one of a lower version, or a generated one, never replaces a configured one. After a first
    ///   rejection, a secret another instance set from its configuration is tried as it is: it is
    ///   most likely the one configured here too (replicas share it, and Hydra forgot the client
    ///   and another replica made it again);
    /// - someone else's: used as it is when it can serve, else [`Error::ForeignClient`]; taken
    ///   over only if the configuration opts in.
    pub(crate) async fn register_with(&self, rejections: u32) -> Result<Registration, Error> {
        let config = &self.config;
        let identity = &self.identity;
        let url = format!("{}/admin/clients", config.admin_url);
        let client_url = self.client_url();
        let span = info_span!("hydra.register", admin_url = %config.admin_url, client_id = %identity.client_id);
        async {
            if config.client_id.is_some() {
                match self.get_client().await {
                    Ok(existing) => return self.reuse_found(rejections, existing).await,
                    Err(e) if not_found(&e) => {}
                    Err(e) => return Err(Error::from_api(Stage::Register, &client_url, e)),
                }
            }
            // A configured secret found to differ from the one another instance set from its
            // configuration does not make the client again, for the quiet period after: the
            // replicas configured with that one notice the client gone only at their next
            // refresh, and this one would win the race, with a secret none of them has.
            lock(&self.secrets_seen).may_create(identity)?;
            let created = self.create(&url, &new_client(config, identity)?).await;
            match created.api() {
                Ok(client) => self.created(&url, client),
                Err(ApiError::Hydra { status, .. }) if status.as_u16() == 409 => {
                    let existing = self
                        .get_client()
                        .await
                        .map_err(|e| Error::from_api(Stage::Register, &client_url, e))?;
                    self.reuse_found(rejections, existing).await
                }
                Err(e) => Err(Error::from_api(Stage::Register, &url, e)),
            }
        }
        .instrument(span)
        .await
    }

    /// [`Flow::reuse`]; a client this flow could use ends an earlier secret conflict.
    async fn reuse_found(
        &self,
        rejections: u32,
        existing: types::OAuth2Client,
    ) -> Result<Registration, Error> {
        let result = self.reuse(rejections, existing).await;
        if result.is_ok() {
            lock(&self.secrets_seen).client_usable();
        }
        result
    }

    /// The request the generated `create_oauth2_client` call sends, its answer read as
    /// [`Created`].
    async fn create(
        &self,
        url: &str,
        client: &types::OAuth2Client,
    ) -> Result<ResponseValue<Created>, hydra_sdk::Error<types::ErrorOAuth2>> {
        let request = self.apis.post(url).json(client);
        HydraApis::send(&self.apis.admin, request, 201).await
    }

    /// The registration of a client Hydra just created from the POST to `url`.
    fn created(&self, url: &str, client: Created) -> Result<Registration, Error> {
        let identity = &self.identity;
        // The id was chosen here; a server that made the client under another one (or none)
        // would leave token requests failing with `invalid_client` for a client this source
        // could never find again.
        if client.client_id.as_deref() != Some(identity.client_id.as_str()) {
            return Err(Error::InvalidResponse {
                stage: Stage::Register,
                url: url.to_string(),
                reason: format!(
                    "the client was created as {}, not as `{}` as asked",
                    crate::bounds::shown(client.client_id.as_deref().unwrap_or("")),
                    identity.client_id
                ),
            });
        }
        info!("registered a new OAuth2 client");
        Ok(Registration {
            client_id: identity.client_id.clone(),
            client_secret: identity.secret.clone(),
            registration_access_token: client.registration_access_token,
            token_auth_method: self.config.token_auth_method,
            created: true,
        })
    }

    /// `/admin/clients/{id}` of this flow's client, for errors.
    fn client_url(&self) -> String {
        format!(
            "{}/admin/clients/{}",
            self.config.admin_url, self.identity.client_id
        )
    }

    /// A client read back by its id must be the client of that id. Whatever the URL layer does
    /// with an id, the flow writes to or deletes no client it did not ask for.
    fn check_same_id(&self, stage: Stage, client: &types::OAuth2Client) -> Result<(), Error> {
        let id = self.identity.client_id.as_str();
        if client.client_id.as_deref() == Some(id) {
            return Ok(());
        }
        Err(Error::InvalidResponse {
            stage,
            url: self.client_url(),
            reason: format!(
                "the client read back is {}, not `{id}`",
                crate::bounds::shown(client.client_id.as_deref().unwrap_or(""))
            ),
        })
    }

    async fn get_client(&self) -> Result<types::OAuth2Client, ApiError> {
        let id = self.identity.client_id.as_str();
        self.apis
            .admin
            .get_oauth2_client()
            .id(id)
            .send()
            .await
            .api()
    }

    async fn reuse(
        &self,
        rejections: u32,
        existing: types::OAuth2Client,
    ) -> Result<Registration, Error> {
        self.check_same_id(Stage::Register, &existing)?;
        let secret_rejected = rejections > 0;
        let config = &self.config;
        let identity = &self.identity;
        let id = identity.client_id.as_str();
        let registration = |created| Registration {
            client_id: id.to_string(),
            client_secret: identity.secret.clone(),
            registration_access_token: None,
            token_auth_method: config.token_auth_method,
            created,
        };
        let marker = match Marker::of(&existing) {
            Some(marker) => marker,
            None if config.take_over_foreign_client => {
                warn!(client_id = %id, "taking over a client this library did not create (take_over_foreign_client is on)");
                let previous = Map::new();
                let changes = ownership::plan(&existing, &previous, &ownership::desired(config));
                let set_secret = !identity.secret_configured || secret_rejected;
                self.patch(&existing, None, changes, set_secret).await?;
                return Ok(registration(false));
            }
            None => {
                foreign_serves(config, identity, &existing, secret_rejected)?;
                info!(client_id = %id, "using a client this library does not own, as it is");
                return Ok(registration(false));
            }
        };
        let updated_at = existing
            .updated_at
            .and_then(|t| u64::try_from(t.timestamp()).ok());
        let set_secret =
            lock(&self.secrets_seen).may_set_secret(identity, &marker, rejections, updated_at)?;
        let changes = ownership::plan(&existing, &marker.managed, &ownership::desired(config));
        if changes.is_empty() && !set_secret {
            debug!(client_id = %id, "reusing the registered OAuth2 client as it is");
        } else {
            self.patch(&existing, Some(&marker), changes, set_secret)
                .await?;
        }
        Ok(registration(marker.created_by == identity.instance))
    }
}

/// Hydra has no client under the id asked for.
fn not_found(error: &ApiError) -> bool {
    error.status() == Some(reqwest::StatusCode::NOT_FOUND)
}

/// Whether someone else's client can serve this configuration as it is.
fn foreign_serves(
    config: &Config,
    identity: &Identity,
    existing: &types::OAuth2Client,
    secret_rejected: bool,
) -> Result<(), Error> {
    let id = &identity.client_id;
    let secret_problem = if !identity.secret_configured {
        Some("no client secret is configured, and Hydra keeps only a hash of this client's")
    } else if secret_rejected {
        Some("Hydra rejected the configured client secret (invalid_client)")
    } else {
        None
    };
    if let Some(problem) = secret_problem {
        return Err(Error::ForeignClient {
            stage: Stage::Register,
            client_id: id.clone(),
            problems: vec![problem.to_string()],
            fix: "set HYDRA_CLIENT_SECRET (or HYDRA_CLIENT_SECRET_FILE) to this client's secret; \
                  this library never sets the secret of a client it did not create"
                .into(),
        });
    }
    let changes = ownership::plan(existing, &Map::new(), &ownership::required(config));
    if changes.is_empty() {
        return Ok(());
    }
    let mut fix = ownership::admin_fix(&config.admin_url, id, &changes);
    if changes
        .iter()
        .any(|c| matches!(c.field, "redirect_uris" | "response_types"))
    {
        fix.push_str(
            " (or turn the authorize step off, HYDRA_AUTHORIZE=false: the client-credentials \
             grant does not need it)",
        );
    }
    Err(Error::ForeignClient {
        stage: Stage::Register,
        client_id: id.clone(),
        problems: changes
            .iter()
            .map(|c| {
                format!(
                    "{} is {}, needs {}",
                    c.field,
                    ownership::shown_value(&c.old),
                    ownership::shown_value(&c.new)
                )
            })
            .collect(),
        fix,
    })
}

impl Flow {
    /// `PATCH /admin/clients/{id}` with the managed fields that differ, the secret when asked,
    /// and the marker with a new revision. For a client that carried the marker when it was read
    /// (`marker`), the patch starts with [`Marker::precondition`], so it applies to that client as
    /// it was read or not at all; a client taken over had none to check.
    async fn patch(
        &self,
        existing: &types::OAuth2Client,
        marker: Option<&Marker>,
        changes: Vec<Change>,
        set_secret: bool,
    ) -> Result<(), Error> {
        let config = &self.config;
        let identity = &self.identity;
        let id = identity.client_id.as_str();
        let url = self.client_url();
        let invalid = |reason: String| Error::config("client", reason);
        let mut ops = Vec::new();
        if let Some(read) = marker {
            ops.push(read.precondition().map_err(invalid)?);
        }
        let marker_path = format!("/metadata/{MARKER_KEY}");
        for change in &changes {
            warn!(client_id = %id, field = change.field, old = %change.old, new = %change.new, "reconciling a managed field of this library's client");
            ops.push(change.op().map_err(invalid)?);
        }
        let mut next = match marker {
            Some(read) => read.clone(),
            None => {
                // Taken over, not created: no instance created it. The secret it had stays
                // unless set below (always, for an instance without a configured secret); kept,
                // it counts from now on as this instance's configured one, and is protected as
                // such from the others.
                let mut fresh = self::marker(identity, Map::new());
                fresh.created_by = String::new();
                fresh
            }
        };
        next.managed = ownership::desired(config);
        if set_secret {
            warn!(client_id = %id, field = "client_secret", old = "[redacted]", new = "[redacted]", "setting the client secret");
            ops.push(
                ownership::add(
                    "/client_secret",
                    identity.secret.expose_secret().to_string().into(),
                )
                .map_err(invalid)?,
            );
            next.secret_set_by = identity.instance.clone();
            next.secret_set_at = now_unix();
            next.secret_configured = identity.secret_configured;
            next.secret_version = identity.secret_version;
        }
        next.rev = Marker::new_rev();
        let value = serde_json::to_value(&next).map_err(|e| invalid(e.to_string()))?;
        // A client whose metadata is not an object (taken over) gets one to hold the marker.
        if !existing.metadata.as_ref().is_some_and(|m| m.0.is_object()) {
            ops.push(ownership::add("/metadata", serde_json::json!({})).map_err(invalid)?);
        }
        ops.push(ownership::add(&marker_path, value).map_err(invalid)?);
        self.apis
            .admin
            .patch_oauth2_client()
            .id(id)
            .body(types::JsonPatchDocument(ops))
            .send()
            .await
            .api()
            .map_err(|e| Error::from_api(Stage::Register, &url, e))?;
        info!(client_id = %id, fields = changes.len(), secret_set = set_secret, "patched this library's client");
        Ok(())
    }

    /// At shutdown: deletes the client under this `Flow`'s id if its marker, read just before,
    /// says this `Flow` created it (Hydra has no conditional DELETE: a client swapped in between
    /// the two requests is the one window left). A client already gone, one never made, or one
    /// this `Flow` did not create is left alone, and is not an error.
    pub(crate) async fn delete_created(&self) -> Result<(), Error> {
        let id = self.identity.client_id.as_str();
        let url = self.client_url();
        match self.get_client().await {
            Ok(client) => {
                self.check_same_id(Stage::Delete, &client)?;
                if Marker::of(&client).is_some_and(|m| m.created_by == self.identity.instance) {
                    self.delete(id).await
                } else {
                    info!(client_id = %id, "not deleting the client: this source did not create it, or it was made again since");
                    Ok(())
                }
            }
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(Error::from_api(Stage::Delete, &url, e)),
        }
    }

    /// Deletes the client (`DELETE /admin/clients/{id}`); a client already gone is not an
    /// error. Only [`Flow::delete_created`] calls it, once the marker says this instance created
    /// the client: it was public, and deleted any id it was given, owned or not (the SDK's
    /// `delete_oauth2_client` is there for an administrator's own deletes).
    async fn delete(&self, client_id: &str) -> Result<(), Error> {
        let admin_url = &self.config.admin_url;
        let url = format!("{admin_url}/admin/clients/{client_id}");
        let span = info_span!("hydra.delete", admin_url = %admin_url, client_id = %client_id);
        async {
            match self
                .apis
                .admin
                .delete_oauth2_client()
                .id(client_id)
                .send()
                .await
                .api()
            {
                Ok(_) => {
                    info!("client deleted");
                    Ok(())
                }
                Err(e) if not_found(&e) => Ok(()),
                Err(e) => Err(Error::from_api(Stage::Delete, &url, e)),
            }
        }
        .instrument(span)
        .await
    }
}
