//! Rewrites of Hydra's spec, in memory, before progenitor sees it.
//!
//! Each fix-up is one function that works around one named upstream defect or generator limit.
//! Each reports whether it found what it fixes: when Hydra repairs a defect (or moves the thing a
//! fix-up patches), the report says so instead of the fix-up silently doing nothing.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::spec::operation_mut;
use crate::Provenance;

mod errors;
mod paths;
mod preflight;
mod secrets;
use errors::{
    credential_errors_as_priming_response, error_default_responses_as_4xx_5xx,
    generic_errors_as_error_oauth2, gone_requests_share_error_body, name_is_ready_responses,
};
use paths::path_parameters_as_path_segment;
pub use preflight::preflight;
use secrets::secrets_as_secret_schema;

mod device;
pub mod names;
use device::{
    add_device_authorization_form, add_device_code_to_token_form,
    add_device_verification_query_parameters, device_authorization_endpoint_optional,
};

/// The component schema that stands for a credential; generated as `crate::Secret`.
pub const SECRET_SCHEMA: &str = "HydraSdkSecret";

/// The component schema that stands for a path parameter; generated as `crate::PathSegment`.
pub const PATH_SEGMENT_SCHEMA: &str = "HydraSdkPathSegment";

/// What one fix-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The fix-up's function name.
    pub name: &'static str,
    /// What it did, or why it did nothing.
    pub outcome: Outcome,
}

/// Whether a fix-up found its defect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The defect was there and was rewritten; the text says where.
    Applied(String),
    /// The defect was not found: the fix-up may be obsolete, or the spec moved the thing it fixes.
    NotFound(String),
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Applied(what) => write!(f, "applied   {}: {what}", self.name),
            Outcome::NotFound(what) => write!(f, "NOT FOUND {}: {what}", self.name),
        }
    }
}

type Fixup = fn(&mut Value, &Provenance) -> Outcome;

/// Every fix-up, in the order they run. Order matters in one place: the token and device forms
/// gain their missing fields before secrets are marked, so the added `client_secret` and
/// `device_code` are redacted too.
pub const ALL: &[(&str, Fixup)] = &[
    (
        "error_default_responses_as_4xx_5xx",
        error_default_responses_as_4xx_5xx,
    ),
    (
        "gone_requests_share_error_body",
        gone_requests_share_error_body,
    ),
    (
        "credential_errors_as_priming_response",
        credential_errors_as_priming_response,
    ),
    (
        "generic_errors_as_error_oauth2",
        generic_errors_as_error_oauth2,
    ),
    ("name_is_ready_responses", name_is_ready_responses),
    ("drop_unused_case_twins", drop_unused_case_twins),
    ("set_api_version", set_api_version),
    (
        "add_authorize_query_parameters",
        add_authorize_query_parameters,
    ),
    ("add_token_form_fields", add_token_form_fields),
    (
        "device_authorization_endpoint_optional",
        device_authorization_endpoint_optional,
    ),
    (
        "add_device_authorization_form",
        add_device_authorization_form,
    ),
    (
        "add_device_verification_query_parameters",
        add_device_verification_query_parameters,
    ),
    (
        "add_device_code_to_token_form",
        add_device_code_to_token_form,
    ),
    ("secrets_as_secret_schema", secrets_as_secret_schema),
    (
        "path_parameters_as_path_segment",
        path_parameters_as_path_segment,
    ),
    ("oauth2_in_method_names", names::oauth2_in_method_names),
];

/// Runs every fix-up in [`ALL`] and reports what each did.
pub fn apply_all(spec: &mut Value, provenance: &Provenance) -> Vec<Report> {
    ALL.iter()
        .map(|(name, fixup)| Report {
            name,
            outcome: fixup(spec, provenance),
        })
        .collect()
}

/// An operation's id, for reports.
fn operation_id(op: &Map<String, Value>) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

/// `Applied` with `applied()` when the fix-up changed something, else `NotFound(not_found)`.
fn outcome<T>(changed: &[T], not_found: &str, applied: impl FnOnce() -> String) -> Outcome {
    if changed.is_empty() {
        Outcome::NotFound(not_found.to_string())
    } else {
        Outcome::Applied(applied())
    }
}

/// Adds the component schema `name`: a string that the generator replaces with one of the SDK's
/// own types (see `settings` in the crate root).
fn add_replaced_string_schema(spec: &mut Value, name: &str, description: &str) {
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            name.into(),
            json!({ "type": "string", "description": description }),
        );
    }
}

/// The properties of an operation's inline `application/x-www-form-urlencoded` body.
fn form_properties_mut(op: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    op.get_mut("requestBody")?
        .pointer_mut("/content/application~1x-www-form-urlencoded/schema/properties")?
        .as_object_mut()
}

/// Upstream: the spec defines `NullTime` and `nullTime`, `NullDuration` and `nullDuration`.
/// Generator limit: typify names types in PascalCase, so each pair collides. One of each pair is
/// never referenced; drop the unreferenced one.
fn drop_unused_case_twins(spec: &mut Value, _: &Provenance) -> Outcome {
    let text = spec.to_string();
    let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return Outcome::NotFound("no component schemas".into());
    };
    let names: Vec<String> = schemas.keys().cloned().collect();
    let mut dropped = Vec::new();
    for name in &names {
        let twins = names
            .iter()
            .filter(|other| other.to_lowercase() == name.to_lowercase())
            .count();
        let referenced = text.contains(&format!("\"#/components/schemas/{name}\""));
        if twins > 1 && !referenced {
            schemas.remove(name);
            dropped.push(name.clone());
        }
    }
    outcome(
        &dropped,
        "no unreferenced schema differs from another only in case",
        || format!("dropped {}", dropped.join(", ")),
    )
}

/// Upstream: `info.version` is empty. progenitor sends it as an `api-version` header on every
/// request; an empty header helps no one, the pinned release at least says which spec the SDK
/// was generated from.
fn set_api_version(spec: &mut Value, provenance: &Provenance) -> Outcome {
    match spec.pointer_mut("/info/version") {
        Some(Value::String(v)) if v.is_empty() => {
            *v = provenance.version.clone();
            Outcome::Applied(format!("info.version = {}", provenance.version))
        }
        _ => Outcome::NotFound("info.version is not empty".into()),
    }
}

/// Upstream: `GET /oauth2/auth` (`oAuth2Authorize`) declares no query parameters at all, so the
/// generated call could only request `/oauth2/auth` bare. Add the request parameters of
/// RFC 6749 §4.1.1/§4.2.1, OpenID Connect Core §3.1.2.1, RFC 7636 (PKCE) and Hydra's `audience`,
/// plus Hydra's `login_verifier` and `consent_verifier`: the `redirect_to` of an accepted login or
/// consent request points back at `/oauth2/auth` with one of them, and the flow only resumes when
/// a client sends it.
fn add_authorize_query_parameters(spec: &mut Value, _: &Provenance) -> Outcome {
    const PARAMETERS: &[(&str, bool, &str)] = &[
        ("client_id", true, "The client identifier (RFC 6749 §2.2)."),
        (
            "response_type",
            true,
            "`code`, `token`, `id_token` or a space-separated combination.",
        ),
        (
            "redirect_uri",
            false,
            "Where Hydra redirects once done; must be registered.",
        ),
        ("scope", false, "Space-separated scopes (RFC 6749 §3.3)."),
        (
            "state",
            false,
            "An opaque value echoed back on the redirect (RFC 6749 §4.1.1).",
        ),
        (
            "audience",
            false,
            "Space-separated audiences for the token (Hydra).",
        ),
        (
            "nonce",
            false,
            "Binds an ID token to the session (OpenID Connect Core §3.1.2.1).",
        ),
        (
            "response_mode",
            false,
            "`query`, `fragment` or `form_post`.",
        ),
        (
            "prompt",
            false,
            "`none`, `login`, `consent` or `select_account`.",
        ),
        ("max_age", false, "Maximum authentication age in seconds."),
        (
            "login_hint",
            false,
            "A hint about the end-user's login identifier.",
        ),
        ("id_token_hint", false, "A previously issued ID token."),
        (
            "acr_values",
            false,
            "Requested authentication context class references.",
        ),
        ("ui_locales", false, "Preferred UI languages."),
        (
            "code_challenge",
            false,
            "PKCE code challenge (RFC 7636 §4.3).",
        ),
        (
            "code_challenge_method",
            false,
            "`S256` or `plain` (RFC 7636 §4.3).",
        ),
    ];
    add_query_parameters(spec, "oAuth2Authorize", &[PARAMETERS, RESUME_VERIFIERS])
}

/// Hydra's verifiers: the `redirect_to` of an accepted login or consent request points back at
/// the endpoint that started the flow with one of them, and the flow only resumes when a client
/// sends it.
const RESUME_VERIFIERS: &[(&str, bool, &str)] = &[
    (
        "login_verifier",
        false,
        "Hydra: resumes the flow after an accepted login request (from its `redirect_to`).",
    ),
    (
        "consent_verifier",
        false,
        "Hydra: resumes the flow after an accepted consent request (from its `redirect_to`).",
    ),
];

/// Adds each `(name, required, description)` string query parameter that operation `id` does not
/// declare yet: for operations whose upstream definition omits the parameters a flow needs.
fn add_query_parameters(
    spec: &mut Value,
    id: &str,
    parameters: &[&[(&str, bool, &str)]],
) -> Outcome {
    let Some(op) = operation_mut(spec, id) else {
        return Outcome::NotFound(format!("no operation `{id}`"));
    };
    let declared = op
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(declared) = declared.as_array_mut() else {
        return Outcome::NotFound(format!("{id}'s parameters are not a list"));
    };
    let existing: BTreeSet<String> = declared
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut added = Vec::new();
    for (name, required, description) in parameters.iter().copied().flatten() {
        if !existing.contains(*name) {
            declared.push(json!({
                "name": name,
                "in": "query",
                "required": required,
                "description": description,
                "schema": { "type": "string" },
            }));
            added.push(*name);
        }
    }
    outcome(
        &added,
        &format!("{id} already declares its query parameters"),
        || format!("added {}", added.join(", ")),
    )
}

/// Upstream: the `oauth2TokenExchange` form lacks `client_secret` (RFC 6749 §2.3.1,
/// `client_secret_post`), `scope` (§4.4.2), Hydra's `audience`, and `code_verifier` (RFC 7636
/// §4.5). Without them the client-credentials grant cannot be requested through the generated
/// call, and every Hydra call must go through a generated method.
fn add_token_form_fields(spec: &mut Value, _: &Provenance) -> Outcome {
    let Some(op) = operation_mut(spec, "oauth2TokenExchange") else {
        return Outcome::NotFound("no operation `oauth2TokenExchange`".into());
    };
    let Some(properties) = form_properties_mut(op) else {
        return Outcome::NotFound("oauth2TokenExchange has no inline form schema".into());
    };
    let mut added = Vec::new();
    for name in ["client_secret", "scope", "audience", "code_verifier"] {
        if !properties.contains_key(name) {
            properties.insert(
                name.into(),
                json!({ "type": "string", "x-formData-name": name }),
            );
            added.push(name);
        }
    }
    outcome(&added, "the token form already has its fields", || {
        format!("added {}", added.join(", "))
    })
}
