//! The edits a Hydra release typically brings, applied to the pinned spec by regen's tests and by
//! the diff's tests alike, so both speak of the same release.

use serde_json::{json, Value};

/// An operation added (`rotateOAuth2ClientSecret`), one removed (`getVersion`), a field added to
/// `oAuth2Client`, and `getJsonWebKey`'s response type changed.
pub(super) fn apply_release_edits(spec: &mut Value) {
    spec["paths"]["/admin/clients/{id}/secret"] = json!({
        "post": {
            "operationId": "rotateOAuth2ClientSecret",
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": {
                "200": { "description": "", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/oAuth2Client" } } } },
                "default": { "$ref": "#/components/responses/errorOAuth2Default" }
            }
        }
    });
    spec["paths"]
        .as_object_mut()
        .expect("paths")
        .remove("/version");
    spec["components"]["schemas"]["oAuth2Client"]["properties"]["secret_rotated_at"] =
        json!({ "type": "string", "format": "date-time" });
    spec["paths"]["/admin/keys/{set}/{kid}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"] = json!({ "$ref": "#/components/schemas/jsonWebKey" });
}
