//! Which clients in Hydra belong to this library, and what it may change in them.
//!
//! Hydra is shared with other people's clients. A client the flow created carries a marker in its
//! `metadata` under [`MARKER_KEY`]; a client without one is foreign and is only ever read. For
//! clients it owns, the flow changes only the fields it manages, with a JSON Patch computed here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hydra_sdk::types;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::Config;

/// The key of the ownership marker in a client's `metadata`. A JSON object: see [`Marker`].
pub const MARKER_KEY: &str = "hydra-rs.flow";

/// How long a secret set by one instance is protected from being set again by another instance
/// that does not know it. Within this period a second instance fails with
/// [`crate::Error::SecretHeldElsewhere`] instead of rotating, so replicas without a shared secret
/// cannot invalidate each other more than once per period.
pub const SECRET_QUIET_PERIOD: Duration = Duration::from_secs(600);

/// The fields the flow manages, each with the value it wants (a string, or a list of strings;
/// `scope` is kept as a list and sent space-separated).
const TEXT_FIELDS: [&str; 3] = [
    "client_name",
    "token_endpoint_auth_method",
    "access_token_strategy",
];
const LIST_FIELDS: [&str; 5] = [
    "grant_types",
    "scope",
    "audience",
    "redirect_uris",
    "response_types",
];

/// The marker in `metadata["hydra-rs.flow"]` of a client this library created (or took over).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Marker {
    /// The format version, 1.
    pub(crate) v: u32,
    /// The instance (one [`crate::TokenSource`] or [`crate::Flow`], a random UUID) that created
    /// the client: a retried registration recognises its own client by it.
    pub(crate) created_by: String,
    /// The values this library set for each field it manages. Only these fields are ever
    /// patched; a value dropped from the configuration is removed again.
    pub(crate) managed: Map<String, Value>,
    /// The instance that last set the client secret.
    pub(crate) secret_set_by: String,
    /// When it did, in seconds since the Unix epoch.
    pub(crate) secret_set_at: u64,
}

impl Marker {
    /// The marker of `client`, or `None` when it has none (or one this version cannot read, which
    /// is treated the same way: as someone else's client).
    pub(crate) fn of(client: &types::OAuth2Client) -> Option<Marker> {
        let metadata = client.metadata.as_ref()?;
        let marker = metadata.0.get(MARKER_KEY)?;
        serde_json::from_value::<Marker>(marker.clone())
            .ok()
            .filter(|m| m.v == 1)
    }

    /// How long ago the secret was set, by the local clock (zero if that is in the future).
    pub(crate) fn secret_age(&self) -> Duration {
        Duration::from_secs(now_unix().saturating_sub(self.secret_set_at))
    }
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What this configuration manages, and the values it wants.
///
/// Always: `client_name`, `grant_types` (`client_credentials`) and `token_endpoint_auth_method`.
/// When configured: `scope` (the registered scope), `audience`, `access_token_strategy`. When the
/// authorize step is on: `redirect_uris` and `response_types`.
pub(crate) fn desired(config: &Config) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("client_name".into(), config.client_name.clone().into());
    out.insert("grant_types".into(), vec!["client_credentials"].into());
    out.insert(
        "token_endpoint_auth_method".into(),
        config.token_auth_method.as_str().into(),
    );
    if let Some(scope) = config.registered_scope() {
        out.insert("scope".into(), scope.split(' ').collect::<Vec<_>>().into());
    }
    if !config.audience.is_empty() {
        out.insert("audience".into(), config.audience.clone().into());
    }
    if let Some(strategy) = config.access_token_strategy {
        out.insert("access_token_strategy".into(), strategy.as_str().into());
    }
    if config.authorize {
        out.insert("redirect_uris".into(), config.redirect_uris().into());
        out.insert(
            "response_types".into(),
            config.response_types.clone().into(),
        );
    }
    out
}

/// What a client someone else owns must already allow for this configuration to use it as it
/// is: the grant, the requested scope, the audience, the auth method, the strategy asked for,
/// and for the authorize step the redirect URI and response types. Its name is not checked.
pub(crate) fn required(config: &Config) -> Map<String, Value> {
    let mut out = desired(config);
    out.remove("client_name");
    match config.scope.as_deref() {
        Some(scope) => {
            out.insert("scope".into(), scope.split(' ').collect::<Vec<_>>().into());
        }
        None => {
            out.remove("scope");
        }
    }
    out
}

/// One field to change: its name, the value Hydra has, the value to set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub(crate) field: &'static str,
    pub(crate) old: Value,
    pub(crate) new: Value,
}

impl Change {
    /// The JSON Patch operation (RFC 6902 `add` replaces an existing member, and adds a missing
    /// one, so it fits both).
    pub(crate) fn op(&self) -> Result<types::JsonPatch, String> {
        add(&format!("/{}", self.field), self.new.clone())
    }

    /// `old -> new`, as the log shows it (no secret is ever a managed field).
    #[cfg(test)]
    pub(crate) fn describe(&self) -> String {
        format!("{}: {} -> {}", self.field, self.old, self.new)
    }
}

pub(crate) fn add(path: &str, value: Value) -> Result<types::JsonPatch, String> {
    types::JsonPatch::builder()
        .op("add")
        .path(path.to_string())
        .value(Some(value))
        .try_into()
        .map_err(|e: types::error::ConversionError| e.to_string())
}

pub(crate) fn test(path: &str, value: Value) -> Result<types::JsonPatch, String> {
    types::JsonPatch::builder()
        .op("test")
        .path(path.to_string())
        .value(Some(value))
        .try_into()
        .map_err(|e: types::error::ConversionError| e.to_string())
}

/// The changes that bring `client` to `desired`, given the values this library set before
/// (`previous`; empty for a client it never managed):
///
/// - a single-valued field takes the desired value; one the configuration no longer sets, and
///   that still holds what this library set, goes back to Hydra's default (empty);
/// - a list keeps every item someone else added, loses the items this library added that the
///   configuration no longer wants, and gains the wanted ones it lacks.
///
/// Fields outside [`TEXT_FIELDS`] and [`LIST_FIELDS`] are never touched.
pub(crate) fn plan(
    client: &types::OAuth2Client,
    previous: &Map<String, Value>,
    desired: &Map<String, Value>,
) -> Vec<Change> {
    let current = serde_json::to_value(client).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for field in TEXT_FIELDS {
        let have = text(current.get(field));
        let before = text(previous.get(field));
        let want = match text(desired.get(field)) {
            Some(want) => want,
            None if before.is_some() && have == before => String::new(),
            None => continue,
        };
        if have.as_deref().unwrap_or("") != want {
            out.push(Change {
                field,
                old: have.map(Value::from).unwrap_or(Value::Null),
                new: want.into(),
            });
        }
    }
    for field in LIST_FIELDS {
        let have = list(current.get(field));
        let before = list(previous.get(field));
        let want = list(desired.get(field));
        let mut new: Vec<String> = have
            .iter()
            .filter(|x| !before.contains(x) || want.contains(x))
            .cloned()
            .collect();
        for item in &want {
            if !new.contains(item) {
                new.push(item.clone());
            }
        }
        if new != have {
            let (old, new) = if field == "scope" {
                (have.join(" ").into(), new.join(" ").into())
            } else {
                (have.into(), new.into())
            };
            out.push(Change { field, old, new });
        }
    }
    out
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A list field's items: a JSON array of strings, or (for `scope`) a space-separated string.
fn list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// A JSON Patch document an administrator can send to make `client_id` serve, as a `curl`
/// command (Hydra's `hydra update oauth2-client` replaces the whole client, so it is not shown).
pub(crate) fn admin_fix(admin_url: &str, client_id: &str, changes: &[Change]) -> String {
    let patch: Vec<Value> = changes
        .iter()
        .map(|c| serde_json::json!({"op": "add", "path": format!("/{}", c.field), "value": c.new}))
        .collect();
    format!(
        "curl -X PATCH {admin_url}/admin/clients/{client_id} -H 'Content-Type: application/json' -d '{}'",
        Value::from(patch)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(value: Value) -> types::OAuth2Client {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn lists_keep_foreign_items_and_lose_dropped_managed_ones() {
        let c = client(json!({
            "scope": "read admin",
            "redirect_uris": ["http://a/cb", "http://admin/extra"],
            "audience": ["old"],
            "access_token_strategy": "jwt",
            "token_endpoint_auth_method": "client_secret_post",
            "client_name": "bss",
            "grant_types": ["client_credentials"],
        }));
        let previous = json!({
            "scope": ["read"], "audience": ["old"], "access_token_strategy": "jwt",
            "redirect_uris": ["http://a/cb"], "client_name": "bss",
            "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post",
        });
        let desired = json!({
            "scope": ["read", "write"], "client_name": "bss",
            "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post",
        });
        let (Value::Object(previous), Value::Object(desired)) = (previous, desired) else {
            panic!("objects")
        };
        let changes = plan(&c, &previous, &desired);
        let described: Vec<String> = changes.iter().map(Change::describe).collect();
        assert_eq!(
            described,
            [
                r#"access_token_strategy: "jwt" -> """#,
                r#"scope: "read admin" -> "read admin write""#,
                r#"audience: ["old"] -> []"#,
                r#"redirect_uris: ["http://a/cb","http://admin/extra"] -> ["http://admin/extra"]"#,
            ]
        );
        // Nothing to do once applied.
        let fixed = client(json!({
            "scope": "read admin write", "redirect_uris": ["http://admin/extra"],
            "token_endpoint_auth_method": "client_secret_post", "client_name": "bss",
            "grant_types": ["client_credentials"],
        }));
        assert!(plan(&fixed, &desired, &desired).is_empty());
    }

    #[test]
    fn a_marker_that_does_not_parse_means_foreign() {
        let c = client(json!({"metadata": {MARKER_KEY: {"v": 1, "created_by": 3}}}));
        assert!(Marker::of(&c).is_none());
        let c = client(json!({"metadata": "not an object"}));
        assert!(Marker::of(&c).is_none());
    }
}
