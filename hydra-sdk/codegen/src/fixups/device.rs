//! Fix-ups for the device authorization grant (RFC 8628), new in Hydra v25, and for decoding the
//! answers of both servers the SDK is tested against (v26.2.0 and v2.3.0) with one client.

use serde_json::{json, Value};

use super::{add_query_parameters, form_properties_mut, Outcome, RESUME_VERIFIERS};
use crate::spec::operation_mut;
use crate::Provenance;

/// Upstream (v26.2.0): `oidcConfiguration` lists `device_authorization_endpoint` as required.
/// Hydra v2.3.0, still widely deployed, has no device flow and does not send it, so discovery
/// against v2.3.0 failed to decode (serde: missing field). RFC 8414 §2 makes the field optional
/// for servers without the grant; so does this fix-up.
pub(super) fn device_authorization_endpoint_optional(spec: &mut Value, _: &Provenance) -> Outcome {
    const FIELD: &str = "device_authorization_endpoint";
    let Some(required) = spec
        .pointer_mut("/components/schemas/oidcConfiguration/required")
        .and_then(Value::as_array_mut)
    else {
        return Outcome::NotFound("oidcConfiguration has no `required` list".into());
    };
    let before = required.len();
    required.retain(|name| name.as_str() != Some(FIELD));
    if required.len() == before {
        return Outcome::NotFound(format!("oidcConfiguration does not require `{FIELD}`"));
    }
    Outcome::Applied(format!("oidcConfiguration.{FIELD} is optional"))
}

/// Upstream: `oAuth2DeviceFlow` (`POST /oauth2/device/auth`) declares no request body, so the
/// generated call could only send an empty form, which Hydra refuses (fosite: "The POST body can
/// not be empty"). Add the form of RFC 8628 §3.1: `client_id` and `scope`, plus
/// `client_secret` for a confidential client (RFC 6749 §2.3.1) and Hydra's `audience`.
pub(super) fn add_device_authorization_form(spec: &mut Value, _: &Provenance) -> Outcome {
    let Some(op) = operation_mut(spec, "oAuth2DeviceFlow") else {
        return Outcome::NotFound("no operation `oAuth2DeviceFlow`".into());
    };
    if op.contains_key("requestBody") {
        return Outcome::NotFound("oAuth2DeviceFlow already declares a request body".into());
    }
    let field = |name: &str, description: &str| json!({ "type": "string", "x-formData-name": name, "description": description });
    op.insert(
        "requestBody".into(),
        json!({
            "required": true,
            "content": { "application/x-www-form-urlencoded": { "schema": {
                "type": "object",
                "required": ["client_id"],
                "properties": {
                    "client_id": field("client_id", "The client identifier (RFC 8628 §3.1)."),
                    "client_secret": field("client_secret", "For a confidential client (RFC 6749 §2.3.1)."),
                    "scope": field("scope", "Space-separated scopes (RFC 8628 §3.1)."),
                    "audience": field("audience", "Space-separated audiences for the token (Hydra)."),
                },
            } } },
        }),
    );
    Outcome::Applied("form: client_id, client_secret, scope, audience".into())
}

/// Upstream: `performOAuth2DeviceVerificationFlow` (`GET /oauth2/device/verify`) declares no
/// query parameters, yet the flow only moves on when the browser comes back with one: the
/// `redirect_to` of an accepted user code carries `device_verifier` and `client_id`, and those of
/// the login and consent requests that follow carry `login_verifier` and `consent_verifier`.
/// `user_code` pre-fills the verification page (RFC 8628 §3.3.1, `verification_uri_complete`).
pub(super) fn add_device_verification_query_parameters(
    spec: &mut Value,
    _: &Provenance,
) -> Outcome {
    const PARAMETERS: &[(&str, bool, &str)] = &[
        (
            "user_code",
            false,
            "The user code, to pre-fill the verification page (RFC 8628 §3.3.1).",
        ),
        (
            "client_id",
            false,
            "Hydra: the client of the device grant, from an accepted user code's `redirect_to`.",
        ),
        (
            "device_verifier",
            false,
            "Hydra: resumes the flow after an accepted user code (from its `redirect_to`).",
        ),
    ];
    add_query_parameters(
        spec,
        "performOAuth2DeviceVerificationFlow",
        &[PARAMETERS, RESUME_VERIFIERS],
    )
}

/// Upstream: the `oauth2TokenExchange` form lacks `device_code` (RFC 8628 §3.4), so the device
/// grant's token request could not be sent through the generated call.
pub(super) fn add_device_code_to_token_form(spec: &mut Value, _: &Provenance) -> Outcome {
    let Some(op) = operation_mut(spec, "oauth2TokenExchange") else {
        return Outcome::NotFound("no operation `oauth2TokenExchange`".into());
    };
    let Some(properties) = form_properties_mut(op) else {
        return Outcome::NotFound("oauth2TokenExchange has no inline form schema".into());
    };
    if properties.contains_key("device_code") {
        return Outcome::NotFound("the token form already has `device_code`".into());
    }
    properties.insert(
        "device_code".into(),
        json!({ "type": "string", "x-formData-name": "device_code" }),
    );
    Outcome::Applied("added device_code".into())
}
