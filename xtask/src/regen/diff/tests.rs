//! The semantic diff of two raw specs, against the pinned spec and edits of it.

use super::{diff, Field, Operation};
use serde_json::{json, Value};

const SPEC: &[u8] = include_bytes!("../../../../openapi/api.json");

fn pinned() -> Value {
    serde_json::from_slice(SPEC).expect("the pinned spec is JSON")
}

fn op_mut<'a>(spec: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    spec["paths"]
        .get_mut(path)
        .and_then(|item| item.get_mut(method))
        .unwrap_or_else(|| panic!("{method} {path} is in the pinned spec"))
}

/// The edits a spec bump typically brings, one of each kind.
fn edited() -> Value {
    let mut spec = pinned();
    // An operation added and one removed, a field added to a schema, a response type changed.
    crate::regen::test_edits::apply_release_edits(&mut spec);
    // A field removed from a schema, and a field's type changed.
    let client = &mut spec["components"]["schemas"]["oAuth2Client"]["properties"];
    client
        .as_object_mut()
        .expect("properties")
        .remove("logo_uri");
    client["client_secret_expires_at"] = json!({ "type": "string" });
    // A query parameter added, one made required.
    let list = op_mut(&mut spec, "/admin/clients", "get");
    list["parameters"]
        .as_array_mut()
        .expect("parameters")
        .push(json!({ "name": "contact", "in": "query", "schema": { "type": "string" } }));
    for p in list["parameters"].as_array_mut().expect("parameters") {
        if p["name"] == "client_name" {
            p["required"] = json!(true);
        }
    }
    // A form field added to an inline request body.
    op_mut(&mut spec, "/oauth2/revoke", "post")["requestBody"]["content"]
        ["application/x-www-form-urlencoded"]["schema"]["properties"]["token_type_hint"] =
        json!({ "type": "string" });
    // A description changed: listed, but not as a change to the contract.
    op_mut(&mut spec, "/health/alive", "get")["description"] = json!("Edited.");
    // A schema added and one removed.
    spec["components"]["schemas"]["secretRotation"] =
        json!({ "type": "object", "properties": { "rotated_at": { "type": "string" } } });
    spec["components"]["schemas"]
        .as_object_mut()
        .expect("schemas")
        .remove("version");
    spec
}

#[test]
fn a_spec_against_itself_has_no_changes() {
    let spec = pinned();
    let d = diff(&spec, &spec);
    assert!(d.is_empty(), "{d}");
    assert_eq!(d.to_string(), "no changes\n");
}

#[test]
fn each_kind_of_edit_is_reported() {
    let d = diff(&pinned(), &edited());

    assert_eq!(
        d.operations_added,
        [Operation {
            id: "rotateOAuth2ClientSecret".into(),
            method: "POST".into(),
            path: "/admin/clients/{id}/secret".into(),
        }]
    );
    assert_eq!(
        d.operations_removed
            .iter()
            .map(|o| o.id.as_str())
            .collect::<Vec<_>>(),
        ["getVersion"]
    );
    let changed: Vec<&str> = d
        .operations_changed
        .iter()
        .map(|c| c.operation.id.as_str())
        .collect();
    assert_eq!(
        changed,
        ["listOAuth2Clients", "getJsonWebKey", "revokeOAuth2Token"]
    );
    assert_eq!(d.schemas_added, ["secretRotation"]);
    assert_eq!(d.schemas_removed, ["version"]);
    let client = d
        .schemas_changed
        .iter()
        .find(|s| s.name == "oAuth2Client")
        .expect("oAuth2Client changed");
    assert_eq!(
        client.fields_added,
        [Field {
            name: "secret_rotated_at".into(),
            ty: "string(date-time)".into(),
            required: false,
        }]
    );
    assert_eq!(client.fields_removed.len(), 1);
    assert_eq!(client.fields_removed[0].name, "logo_uri");
    assert_eq!(d.otherwise_changed, ["isAlive"]);

    insta::assert_snapshot!("edited_spec", d.to_string());
}

#[test]
fn a_first_pin_lists_every_operation_as_added() {
    let d = diff(&json!({}), &pinned());
    assert_eq!(d.operations_added.len(), 50);
    assert!(d.operations_removed.is_empty() && d.operations_changed.is_empty());
    assert!(d.schemas_added.iter().any(|s| s == "oAuth2Client"));
}

#[test]
fn a_moved_operation_and_path_level_parameters_are_compared() {
    let old = json!({ "paths": { "/a/{id}": {
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "get": { "operationId": "getA", "responses": { "204": { "description": "" } } }
    } } });
    let new = json!({ "paths": { "/b/{id}": {
        "get": {
            "operationId": "getA",
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64" } }],
            "responses": { "204": { "description": "" } }
        }
    } } });
    let d = diff(&old, &new);
    assert_eq!(d.operations_changed.len(), 1, "{d}");
    assert_eq!(
        d.operations_changed[0].changes,
        [
            "moved from GET /a/{id} to GET /b/{id}",
            "~ path parameter `id`: string -> integer(int64)",
        ]
    );
}

#[test]
fn enum_values_and_requiredness_of_fields_are_compared() {
    let old = json!({ "components": { "schemas": { "grant": {
        "type": "object",
        "required": ["kind"],
        "properties": { "kind": { "type": "string", "enum": ["a", "b"] } }
    } } } });
    let new = json!({ "components": { "schemas": { "grant": {
        "type": "object",
        "properties": { "kind": { "type": "string", "enum": ["a", "c"] } }
    } } } });
    let d = diff(&old, &new);
    assert_eq!(
        d.schemas_changed[0].changes,
        [
            "~ field `kind`: now optional",
            "~ field `kind`: enum values + c; - b",
        ]
    );
}
