//! The client secret: who this instance is to Hydra ([`Identity`]), and the rules by which it
//! may set its secret on a client of the flow's that it found, or make a lost one again (see
//! "Ownership, replicas and secrets" in the crate docs: the quiet period, configured secrets and
//! their versions). No requests here: [`super::register`] reads and writes the client.

use hydra_sdk::Secret;

use super::ownership::{self, now_unix, Marker};
use crate::config::Config;
use crate::Error;

/// A new random client secret: 32 bytes from the operating system's CSPRNG, base64url.
fn generate_secret() -> Result<Secret, Error> {
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
    Ok(Secret::from(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

/// Who this source is to Hydra, fixed before the first request so that every retry of a
/// registration sends the same client: the client id (configured, or a random UUID), the secret
/// (configured, or generated here, since Hydra keeps only a hash of the one it generates), and
/// a random instance id recorded in the marker of the clients this source creates.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) client_id: String,
    pub(crate) secret: Secret,
    pub(crate) secret_configured: bool,
    /// The configured secret's version (see [`crate::ConfigBuilder::client_secret_version`]).
    pub(crate) secret_version: u64,
    pub(crate) instance: String,
}

impl Identity {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        let (secret, secret_configured) = match &config.client_secret {
            Some(secret) => (secret.clone(), true),
            None => (generate_secret()?, false),
        };
        Ok(Identity {
            client_id: config
                .client_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            secret,
            secret_configured,
            secret_version: config.client_secret_version,
            instance: uuid::Uuid::new_v4().to_string(),
        })
    }
}

/// What a flow learned of other instances' secrets, kept across its registrations.
#[derive(Debug, Default)]
pub(crate) struct SecretMemory {
    /// Another instance's configured secret this one's was found to differ from: for the quiet
    /// period after, the flow does not make the client again if it is gone.
    conflict: Option<SecretConflict>,
    /// The secret record (`secret_set_by`, `secret_set_at` of the marker) whose client this flow
    /// last tried as it is after a refusal: each new record is tried once.
    tried_as_is: Option<(String, u64)>,
}

/// Another instance's configured secret that this one's differs from (see
/// [`Error::ConfiguredSecretsDiffer`]).
#[derive(Debug, Clone)]
pub(crate) struct SecretConflict {
    holder: String,
    /// When it was set, in seconds since the Unix epoch (the marker's `secret_set_at`).
    set_at: u64,
    holder_version: u64,
    /// When this instance met it.
    met: std::time::Instant,
}

impl SecretConflict {
    fn error(&self, client_id: &str, version: u64) -> Error {
        Error::ConfiguredSecretsDiffer {
            client_id: client_id.to_string(),
            holder: self.holder.clone(),
            ago: std::time::Duration::from_secs(now_unix().saturating_sub(self.set_at)),
            holder_version: self.holder_version,
            version,
        }
    }
}

impl SecretMemory {
    /// Whether this instance may make the client again, Hydra having none under its id: not
    /// for the quiet period after it found its configured secret to differ from another
    /// instance's ([`Error::ConfiguredSecretsDiffer`] again). The replicas configured with that
    /// one notice the client gone only at their next refresh, and this one would win the race,
    /// with a secret none of them has.
    pub(crate) fn may_create(&self, identity: &Identity) -> Result<(), Error> {
        match self
            .conflict
            .as_ref()
            .filter(|c| c.met.elapsed() < ownership::SECRET_QUIET_PERIOD)
        {
            Some(conflict) => Err(conflict.error(&identity.client_id, identity.secret_version)),
            None => Ok(()),
        }
    }

    /// This instance found the flow's client and can use it: an earlier conflict is over.
    pub(crate) fn client_usable(&mut self) {
        self.conflict = None;
    }

    /// Whether this instance sets its secret on the flow's client that `marker` describes,
    /// refused `rejections` times in a row: `Ok(false)` to use the client's as it is, `Ok(true)`
    /// to set this one's, or the error that says whose it is and what to do. `updated_at` is
    /// Hydra's time of the client's last write, in seconds since the Unix epoch.
    pub(crate) fn may_set_secret(
        &mut self,
        identity: &Identity,
        marker: &Marker,
        rejections: u32,
        updated_at: Option<u64>,
    ) -> Result<bool, Error> {
        let secret_rejected = rejections > 0;
        let known = marker.secret_set_by == identity.instance || identity.secret_configured;
        // Once per secret another instance set from its configuration (by the marker's record
        // of it), after a refusal: it may well be this one's too (replicas share it; Hydra
        // forgot the client and another made it again, or put the fleet's secret back).
        let record = (marker.secret_set_by.clone(), marker.secret_set_at);
        let theirs_may_be_ours = secret_rejected
            && identity.secret_configured
            && marker.secret_configured
            && marker.secret_version == identity.secret_version
            && marker.secret_set_by != identity.instance
            && self.tried_as_is.as_ref() != Some(&record);
        if theirs_may_be_ours {
            self.tried_as_is = Some(record);
        }
        // A configured secret of a higher version (a rotation) is set at once, unrefused.
        let rotates = identity.secret_configured
            && marker.secret_configured
            && identity.secret_version > marker.secret_version;
        let set_secret = !known || rotates || (secret_rejected && !theirs_may_be_ours);
        // Another instance's secret is protected for the quiet period, so replicas without a
        // shared secret cannot take it from each other; only a configured secret (the source of
        // truth) replaces a generated one at once.
        let overrides = identity.secret_configured && (!marker.secret_configured || rotates);
        if set_secret && marker.secret_set_by != identity.instance && !overrides {
            let ago = marker.secret_age(updated_at);
            // Past the quiet period, another configured secret of the same version replaces it
            // (bounded: replicas that disagree take the client from each other at most once a
            // period, and none is locked out for good by an instance it cannot tell from a
            // restarted replica of its own). Never, however old: one an instance made up over a
            // configured one (an operator's one-off run, say), nor an older version over a newer.
            let for_good = marker.secret_configured
                && (!identity.secret_configured || marker.secret_version > identity.secret_version);
            if ago < ownership::SECRET_QUIET_PERIOD || for_good {
                let client_id = identity.client_id.clone();
                let holder = if marker.secret_set_by.is_empty() {
                    "none: the secret the client had when it was taken over".to_string()
                } else {
                    marker.secret_set_by.clone()
                };
                let quiet = ownership::SECRET_QUIET_PERIOD;
                // Both configured: this one knows its secret, and it differs.
                return Err(if identity.secret_configured {
                    let conflict = SecretConflict {
                        holder,
                        set_at: marker.secret_set_at,
                        holder_version: marker.secret_version,
                        met: std::time::Instant::now(),
                    };
                    let error = conflict.error(&client_id, identity.secret_version);
                    self.conflict = Some(conflict);
                    error
                } else {
                    Error::SecretHeldElsewhere {
                        client_id,
                        holder,
                        ago,
                        quiet,
                    }
                });
            }
        }
        Ok(set_secret)
    }
}
