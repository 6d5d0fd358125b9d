//! The fix-up that types every credential in the spec as the redacting `crate::Secret`.

use serde_json::{json, Value};

use super::{
    add_replaced_string_schema, form_properties_mut, operation_id, Outcome, SECRET_SCHEMA,
};
use crate::spec::operations_mut;
use crate::Provenance;

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
    // Where an accepted (or already handled) login, consent or device request sends the
    // browser: it carries the verifier with which Hydra resumes the flow.
    "redirect_to",
    // The client's original request, as a login, consent, logout or device request shows it:
    // a logout request's carries the ID token (`id_token_hint`), and any one its `state`.
    "request_url",
];

/// Form fields that hold a credential in one operation only (`token` and `code` are ordinary
/// words elsewhere in the spec).
const SECRET_FORM_FIELDS: &[(&str, &str)] = &[
    ("introspectOAuth2Token", "token"),
    ("revokeOAuth2Token", "token"),
    ("oauth2TokenExchange", "code"),
];

/// Query parameters that hold a credential (all added by fix-ups: `add_authorize_query_parameters`,
/// `add_device_verification_query_parameters`): an ID token (OpenID Connect Core §3.1.2.1), and
/// the verifiers with which Hydra resumes a login, consent or device flow. As `String`s they
/// printed in a builder's `Debug`; the URL they are sent in is redacted from errors by the SDK.
const SECRET_QUERY_PARAMETERS: &[&str] = &[
    "id_token_hint",
    "login_verifier",
    "consent_verifier",
    "device_verifier",
];

/// Private members of a JSON Web Key (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const JWK_PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k"];

/// Upstream: credentials are typed as plain strings. Generated as `String` they would print in
/// every `{:?}` of a client, a token response or an error. Point each at one named schema that
/// the generator replaces with the redacting `crate::Secret`.
pub(super) fn secrets_as_secret_schema(spec: &mut Value, _: &Provenance) -> Outcome {
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
    for op in operations_mut(spec).map(|o| o.op) {
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

    // Query parameters.
    for op in operations_mut(spec).map(|o| o.op) {
        let id = operation_id(op);
        let Some(parameters) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for parameter in parameters {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
            if parameter.get("in").and_then(Value::as_str) == Some("query")
                && SECRET_QUERY_PARAMETERS.contains(&name)
                && parameter.pointer("/schema/type").and_then(Value::as_str) == Some("string")
            {
                let name = name.to_string();
                parameter["schema"] = secret_ref();
                marked.push(format!("{id}.{name}"));
            }
        }
    }

    if marked.is_empty() {
        return Outcome::NotFound("no credential-bearing string property found".into());
    }
    add_replaced_string_schema(spec, SECRET_SCHEMA, "A credential; redacted when printed.");
    Outcome::Applied(format!("{} fields: {}", marked.len(), marked.join(", ")))
}
