//! Rewrites of Hydra's spec, in memory, before progenitor sees it.
//!
//! Each fix-up is one function that works around one named upstream defect or generator limit.
//! Each reports whether it found what it fixes: when Hydra repairs a defect (or moves the thing a
//! fix-up patches), the report says so instead of the fix-up silently doing nothing.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::Provenance;

mod device;
pub mod names;
use device::{
    add_device_authorization_form, add_device_code_to_token_form,
    add_device_verification_query_parameters, device_authorization_endpoint_optional,
};

/// The component schema that stands for a credential; generated as `crate::Secret`.
pub const SECRET_SCHEMA: &str = "HydraSdkSecret";

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

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation as (method, path, operation object).
fn operations_mut(spec: &mut Value) -> Vec<(String, String, &mut Map<String, Value>)> {
    let mut out = Vec::new();
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            if let Some(item) = item.as_object_mut() {
                for (method, op) in item.iter_mut() {
                    if let (true, Some(op)) =
                        (METHODS.contains(&method.as_str()), op.as_object_mut())
                    {
                        out.push((method.clone(), path.clone(), op));
                    }
                }
            }
        }
    }
    out
}

fn operation_mut<'a>(
    spec: &'a mut Value,
    operation_id: &str,
) -> Option<&'a mut Map<String, Value>> {
    operations_mut(spec)
        .into_iter()
        .map(|(_, _, op)| op)
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
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

/// The properties of an operation's inline `application/x-www-form-urlencoded` body.
fn form_properties_mut(op: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    op.get_mut("requestBody")?
        .pointer_mut("/content/application~1x-www-form-urlencoded/schema/properties")?
        .as_object_mut()
}

/// Upstream: every Hydra operation lists its errors as `default`. Generator limit: progenitor
/// counts `default` as both a success and an error response, so `200: X` plus `default: Error`
/// gives two success types and trips `assert!(response_types.len() <= 1)` (42 of 47 operations
/// in v2.3.0). Hydra only ever sends its error body with 4xx and 5xx statuses, so `default`
/// becomes `4XX` and `5XX`.
fn error_default_responses_as_4xx_5xx(spec: &mut Value, _: &Provenance) -> Outcome {
    let mut changed = Vec::new();
    for (_, _, op) in operations_mut(spec) {
        let id = operation_id(op);
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(default) = responses.remove("default") {
            for range in ["4XX", "5XX"] {
                responses.entry(range).or_insert_with(|| default.clone());
            }
            changed.push(id);
        }
    }
    outcome(&changed, "no operation has a `default` response", || {
        format!("{} operations", changed.len())
    })
}

/// The JSON body schema of response `status` of operation `operation_id`, following a `$ref`
/// to a shared response (`#/components/responses/...`).
fn response_schema(spec: &Value, operation_id: &str, status: &str) -> Option<Value> {
    let op = spec
        .get("paths")?
        .as_object()?
        .values()
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))?;
    let response = resolve(spec, op.get("responses")?.get(status)?);
    response
        .pointer("/content/application~1json/schema")
        .cloned()
}

/// Points the error responses (`4XX`, `5XX` and the listed codes) of `operation_id` at `schema`.
/// Checks every response first and writes nothing unless all have a JSON body; a response that
/// is a `$ref` to a shared one is replaced by an inline copy, so the shared one stays as it is.
fn set_error_bodies(
    spec: &mut Value,
    operation_id: &str,
    codes: &[&str],
    schema: &str,
) -> Result<(), String> {
    let statuses: Vec<&str> = codes.iter().copied().chain(["4XX", "5XX"]).collect();
    let mut descriptions = Vec::new();
    for status in &statuses {
        if response_schema(spec, operation_id, status).is_none() {
            return Err(format!("{operation_id} has no JSON {status} response"));
        }
        let op =
            operation_mut(spec, operation_id).ok_or(format!("no operation `{operation_id}`"))?;
        let response = op
            .get("responses")
            .and_then(|r| r.get(*status))
            .cloned()
            .unwrap_or_default();
        let description = resolve(spec, &response)
            .get("description")
            .cloned()
            .unwrap_or_else(|| json!("error"));
        descriptions.push(description);
    }
    let op = operation_mut(spec, operation_id).ok_or(format!("no operation `{operation_id}`"))?;
    let responses = op
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .ok_or(format!("{operation_id} has no responses"))?;
    for (status, description) in statuses.iter().zip(descriptions) {
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "content": { "application/json": {
                    "schema": { "$ref": format!("#/components/schemas/{schema}") }
                } },
            }),
        );
    }
    Ok(())
}

/// Upstream: `getOAuth2LoginRequest`, `getOAuth2ConsentRequest` and `getOAuth2LogoutRequest`
/// answer 410 Gone with `oAuth2RedirectTo` when the request was already handled, and other errors
/// with `errorOAuth2`. Generator limit: one error type per operation
/// (`assert!(response_types.len() <= 1)`). Both bodies become one schema,
/// `errorOAuth2OrRedirectTo`: `errorOAuth2`'s fields plus an optional `redirect_to`.
fn gone_requests_share_error_body(spec: &mut Value, _: &Provenance) -> Outcome {
    const SCHEMA: &str = "errorOAuth2OrRedirectTo";
    const OPERATIONS: &[&str] = &[
        "getOAuth2LoginRequest",
        "getOAuth2ConsentRequest",
        "getOAuth2LogoutRequest",
    ];
    let redirect_to = spec.pointer("/components/schemas/oAuth2RedirectTo/properties/redirect_to");
    let error = spec.pointer("/components/schemas/errorOAuth2/properties");
    let (Some(redirect_to), Some(Value::Object(error))) = (redirect_to.cloned(), error.cloned())
    else {
        return Outcome::NotFound("no `oAuth2RedirectTo.redirect_to` or `errorOAuth2`".into());
    };
    let gone_is_redirect = |spec: &Value, id: &str| {
        response_schema(spec, id, "410")
            .is_some_and(|s| s.get("$ref") == Some(&json!("#/components/schemas/oAuth2RedirectTo")))
    };
    let mut changed = Vec::new();
    for id in OPERATIONS {
        if gone_is_redirect(spec, id) && set_error_bodies(spec, id, &["410"], SCHEMA).is_ok() {
            changed.push(*id);
        }
    }
    if changed.is_empty() {
        return Outcome::NotFound("no operation answers 410 with `oAuth2RedirectTo`".into());
    }
    let mut properties = error;
    properties.insert("redirect_to".into(), redirect_to);
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            SCHEMA.into(),
            json!({
                "description": "An OAuth2 error, or (410 Gone) where to send the user instead because the request was already handled.",
                "type": "object",
                "properties": properties,
            }),
        );
    }
    Outcome::Applied(changed.join(", "))
}

/// Upstream: `createVerifiableCredential` answers 400 with `verifiableCredentialPrimingResponse`
/// (an OAuth2 error that also carries a `c_nonce`) and other errors with `errorOAuth2`. Generator
/// limit: one error type per operation. The priming response has every field of `errorOAuth2`,
/// so it serves for all of them.
fn credential_errors_as_priming_response(spec: &mut Value, _: &Provenance) -> Outcome {
    const SCHEMA: &str = "verifiableCredentialPrimingResponse";
    let priming = json!(format!("#/components/schemas/{SCHEMA}"));
    let is_priming = |status: &str| {
        response_schema(spec, "createVerifiableCredential", status)
            .is_some_and(|s| s.get("$ref") == Some(&priming))
    };
    if !is_priming("400") || (is_priming("4XX") && is_priming("5XX")) {
        return Outcome::NotFound(
            "createVerifiableCredential does not mix a priming 400 with other error bodies".into(),
        );
    }
    match set_error_bodies(spec, "createVerifiableCredential", &[], SCHEMA) {
        Ok(()) => Outcome::Applied("createVerifiableCredential 4XX, 5XX".into()),
        Err(why) => Outcome::NotFound(why),
    }
}

/// Upstream: eight operations (`deleteOAuth2Client`, `setOAuth2ClientLifespans`, the four
/// trusted JWT-grant issuer operations, `deleteOidcDynamicClient`, `isAlive`) declare their errors
/// as `genericError`, whose `message` is required. Hydra v2.3.0 answers them with the same body as
/// every other endpoint, `errorOAuth2` (a real 404 from `DELETE /admin/clients/{id}`:
/// `{"error":"Unable to locate the resource","error_description":""}`), so none of their errors
/// decoded (serde: missing field `message`). Point those responses at `errorOAuth2`.
fn generic_errors_as_error_oauth2(spec: &mut Value, _: &Provenance) -> Outcome {
    let generic = json!("#/components/schemas/genericError");
    let mut changed = Vec::new();
    for (_, _, op) in operations_mut(spec) {
        let id = operation_id(op);
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            let slot = response.pointer_mut("/content/application~1json/schema");
            if let Some(slot) = slot.filter(|s| is_error(status) && s.get("$ref") == Some(&generic))
            {
                *slot = json!({ "$ref": "#/components/schemas/errorOAuth2" });
                changed.push(format!("{id} {status}"));
            }
        }
    }
    outcome(&changed, "no error response is `genericError`", || {
        changed.join(", ")
    })
}

/// Upstream: `isReady` declares its 200 and 503 bodies inline. Generator limit: both inline
/// schemas get the same generated name, so the 503 body is decoded as the 200 type and its
/// `errors` are lost. The spec already has the two shapes as `healthStatus` and
/// `healthNotReadyStatus`; point the responses at them.
fn name_is_ready_responses(spec: &mut Value, _: &Provenance) -> Outcome {
    let Some(op) = operation_mut(spec, "isReady") else {
        return Outcome::NotFound("no operation `isReady`".into());
    };
    let mut changed = Vec::new();
    for (status, schema) in [("200", "healthStatus"), ("503", "healthNotReadyStatus")] {
        let slot = op
            .get_mut("responses")
            .and_then(|r| r.get_mut(status))
            .and_then(|r| r.pointer_mut("/content/application~1json/schema"));
        if let Some(slot) = slot {
            if slot.get("$ref").is_none() {
                *slot = json!({ "$ref": format!("#/components/schemas/{schema}") });
                changed.push(format!("{status} -> {schema}"));
            }
        }
    }
    outcome(
        &changed,
        "isReady's 200 and 503 bodies are no longer inline",
        || changed.join(", "),
    )
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
    let Some(op) = operation_mut(spec, "oAuth2Authorize") else {
        return Outcome::NotFound("no operation `oAuth2Authorize`".into());
    };
    let parameters = op
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(parameters) = parameters.as_array_mut() else {
        return Outcome::NotFound("oAuth2Authorize's parameters are not a list".into());
    };
    let existing: BTreeSet<String> = parameters
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut added = Vec::new();
    for (name, required, description) in PARAMETERS {
        if !existing.contains(*name) {
            parameters.push(json!({
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
        "oAuth2Authorize already declares its query parameters",
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

/// Properties that hold a credential wherever they appear as a string.
const SECRET_PROPERTIES: &[&str] = &[
    "client_secret",
    "registration_access_token",
    "access_token",
    "refresh_token",
    "id_token",
    "code_verifier",
    // RFC 8628 §3.2: whoever holds it can poll the token endpoint for the user's tokens.
    "device_code",
];

/// Form fields that hold a credential in one operation only (`token` and `code` are ordinary
/// words elsewhere in the spec).
const SECRET_FORM_FIELDS: &[(&str, &str)] = &[
    ("introspectOAuth2Token", "token"),
    ("revokeOAuth2Token", "token"),
    ("oauth2TokenExchange", "code"),
];

/// Private members of a JSON Web Key (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const JWK_PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k"];

/// Upstream: credentials are typed as plain strings. Generated as `String` they would print in
/// every `{:?}` of a client, a token response or an error. Point each at one named schema that
/// the generator replaces with the redacting `crate::Secret`.
fn secrets_as_secret_schema(spec: &mut Value, _: &Provenance) -> Outcome {
    let secret_ref = || json!({ "$ref": format!("#/components/schemas/{SECRET_SCHEMA}") });
    let mut marked = Vec::new();

    // Component schemas.
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (schema_name, schema) in schemas.iter_mut() {
            let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (name, property) in properties.iter_mut() {
                let private_jwk =
                    schema_name == "jsonWebKey" && JWK_PRIVATE_MEMBERS.contains(&name.as_str());
                if (SECRET_PROPERTIES.contains(&name.as_str()) || private_jwk)
                    && property.get("type").and_then(Value::as_str) == Some("string")
                {
                    *property = secret_ref();
                    marked.push(format!("{schema_name}.{name}"));
                }
            }
        }
    }

    // Inline form bodies.
    for (_, _, op) in operations_mut(spec) {
        let id = operation_id(op);
        let Some(properties) = form_properties_mut(op) else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            let this_form = SECRET_FORM_FIELDS.contains(&(id.as_str(), name.as_str()));
            if (SECRET_PROPERTIES.contains(&name.as_str()) || this_form)
                && property.get("type").and_then(Value::as_str) == Some("string")
            {
                // The form name survives as `x-formData-name` for readers of the fixed spec.
                *property = secret_ref();
                marked.push(format!("{id}.{name}"));
            }
        }
    }

    if marked.is_empty() {
        return Outcome::NotFound("no credential-bearing string property found".into());
    }
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            SECRET_SCHEMA.into(),
            json!({ "type": "string", "description": "A credential; redacted when printed." }),
        );
    }
    Outcome::Applied(format!("{} fields: {}", marked.len(), marked.join(", ")))
}

/// Shapes that make progenitor 0.15 panic or generate wrong code, found before generation so the
/// error names the operation (progenitor's own panic names neither operation nor path).
pub fn preflight(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return vec!["the spec has no `paths`".into()];
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = op
                .get(names::ORIGINAL_ID)
                .or(op.get("operationId"))
                .and_then(Value::as_str)
                .unwrap_or("<no operationId>");
            let at = format!("{id} ({} {path})", method.to_uppercase());
            if op.get("operationId").is_none() {
                problems.push(format!("{at}: no operationId"));
            }
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            // progenitor tells response kinds apart by body type, "no body" being one kind.
            let body_of = |status: &String| -> String {
                let response = resolve(spec, &responses[status]);
                let Some(content) = response.get("content").and_then(Value::as_object) else {
                    return "no body".into();
                };
                content
                    .get("application/json")
                    .and_then(|c| c.get("schema"))
                    .map(Value::to_string)
                    .or_else(|| content.keys().next().cloned())
                    .unwrap_or_else(|| "no body".into())
            };
            let success: BTreeSet<String> = responses
                .keys()
                .filter(|s| is_success(s))
                .map(body_of)
                .collect();
            let errors: BTreeSet<String> = responses
                .keys()
                .filter(|s| is_error(s))
                .map(body_of)
                .collect();
            if success.len() > 1 {
                problems.push(format!(
                    "{at}: {} different success bodies (progenitor allows one)",
                    success.len()
                ));
            }
            if errors.len() > 1 {
                problems.push(format!(
                    "{at}: {} different error bodies (progenitor allows one)",
                    errors.len()
                ));
            }
        }
    }
    problems
}

/// progenitor's notion of a success status (`default` counts as both).
fn is_success(status: &str) -> bool {
    status == "default" || status == "2XX" || status == "101" || status.starts_with('2')
}

/// progenitor's notion of an error status (`default` counts as both).
fn is_error(status: &str) -> bool {
    status == "default" || status.starts_with('4') || status.starts_with('5')
}

/// Follows one local `$ref`.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| spec.pointer(pointer))
        .unwrap_or(value)
}
