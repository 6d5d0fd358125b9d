//! Fix-ups for the response types: progenitor allows one success and one error body per
//! operation, and names inline bodies after the operation; Hydra's spec breaks both rules.

use serde_json::{json, Value};

use super::preflight::is_error;
use super::{operation_id, outcome, Outcome};
use crate::spec::{operation, operation_mut, operations_mut, resolve};
use crate::Provenance;

/// Upstream: every Hydra operation lists its errors as `default`. Generator limit: progenitor
/// counts `default` as both a success and an error response, so `200: X` plus `default: Error`
/// gives two success types and trips `assert!(response_types.len() <= 1)` (42 of 47 operations
/// in v2.3.0). Hydra only ever sends its error body with 4xx and 5xx statuses, so `default`
/// becomes `4XX` and `5XX`.
pub(super) fn error_default_responses_as_4xx_5xx(spec: &mut Value, _: &Provenance) -> Outcome {
    let mut changed = Vec::new();
    for op in operations_mut(spec).map(|o| o.op) {
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
    let op = operation(spec, operation_id)?;
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
pub(super) fn gone_requests_share_error_body(spec: &mut Value, _: &Provenance) -> Outcome {
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
pub(super) fn credential_errors_as_priming_response(spec: &mut Value, _: &Provenance) -> Outcome {
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
pub(super) fn generic_errors_as_error_oauth2(spec: &mut Value, _: &Provenance) -> Outcome {
    let generic = json!("#/components/schemas/genericError");
    let mut changed = Vec::new();
    for op in operations_mut(spec).map(|o| o.op) {
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
pub(super) fn name_is_ready_responses(spec: &mut Value, _: &Provenance) -> Outcome {
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
