//! The redacting credential type used by every generated field that holds a secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A credential from or for Hydra: a client secret, a registration access token, an access,
/// refresh or ID token, a private JWK member.
///
/// Built on [`secrecy::SecretString`]: `Debug` prints `Secret([REDACTED])`, there is no
/// `Display`, and the memory is zeroed on drop. The text is reached only through
/// [`ExposeSecret::expose_secret`], which makes every use visible in review.
///
/// Unlike `SecretString` it is `Serialize`, because request bodies carry secrets to Hydra (a
/// client secret chosen at registration, a token to introspect). Serializing is the one other
/// way the text leaves this type; the SDK does it only when building a request.
///
/// ```
/// use hydra_sdk::{ExposeSecret, Secret};
/// let secret = Secret::from("hunter2");
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
/// assert_eq!(secret.expose_secret(), "hunter2");
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(SecretString::from(text.into()))
    }
}

impl ExposeSecret<str> for Secret {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret::new(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret::new(text)
    }
}

impl From<SecretString> for Secret {
    fn from(secret: SecretString) -> Self {
        Secret(secret)
    }
}

impl From<Secret> for SecretString {
    fn from(secret: Secret) -> Self {
        secret.0
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose_secret())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::from)
    }
}
