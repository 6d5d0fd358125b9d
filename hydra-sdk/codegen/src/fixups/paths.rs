//! The fix-up that types every path parameter as the checked `crate::PathSegment`.

use serde_json::{json, Value};

use super::{add_replaced_string_schema, operation_id, outcome, Outcome, PATH_SEGMENT_SCHEMA};
use crate::spec::{operations_mut, resolve};
use crate::Provenance;

/// Generator limit: progenitor-client's `encode_path` puts a path parameter into the URL
/// percent-encoded, but leaves `\` (which the URL parser reads as `/` in an `http(s)` URL) and
/// whole `.` and `..` segments (which it resolves). Generated as `String`, a client id such as
/// `mine\..\theirs` sent `set_oauth2_client` to another client, and `x\..\..\keys\set` sent
/// `delete_oauth2_client` to a JSON Web Key set. Point each string path parameter at one named
/// schema that the generator replaces with `crate::PathSegment`, which refuses such values.
pub(super) fn path_parameters_as_path_segment(spec: &mut Value, _: &Provenance) -> Outcome {
    let mut marked = Vec::new();
    for op in operations_mut(spec).map(|o| o.op) {
        let id = operation_id(op);
        let Some(parameters) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for parameter in parameters {
            if parameter.get("in").and_then(Value::as_str) != Some("path") {
                continue;
            }
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let Some(schema) = parameter.get_mut("schema") else {
                continue;
            };
            if schema.get("type").and_then(Value::as_str) == Some("string") {
                *schema = path_segment_ref();
                marked.push(format!("{id}.{name}"));
            }
        }
    }
    if !marked.is_empty() {
        add_replaced_string_schema(
            spec,
            PATH_SEGMENT_SCHEMA,
            "A path parameter; see `PathSegment`.",
        );
    }
    outcome(&marked, "no path parameter is a string", || {
        format!("{} parameters: {}", marked.len(), marked.join(", "))
    })
}

fn path_segment_ref() -> Value {
    json!({ "$ref": format!("#/components/schemas/{PATH_SEGMENT_SCHEMA}") })
}

/// Path parameters the fix-up above did not reach (declared on a path rather than an operation,
/// or through a `$ref`): each would be generated as a `String` and could lead its request
/// elsewhere. For the preflight.
pub(super) fn unchecked_path_parameters(spec: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        let item = resolve(spec, item);
        let mut lists = vec![(path.clone(), item.get("parameters"))];
        if let Some(methods) = item.as_object() {
            for (method, op) in methods {
                lists.push((
                    format!("{} {path}", method.to_uppercase()),
                    op.get("parameters"),
                ));
            }
        }
        for (at, list) in lists {
            for parameter in list.and_then(Value::as_array).into_iter().flatten() {
                let parameter = resolve(spec, parameter);
                let is_path = parameter.get("in").and_then(Value::as_str) == Some("path");
                if is_path && parameter.get("schema") != Some(&path_segment_ref()) {
                    let name = parameter.get("name").and_then(Value::as_str).unwrap_or("?");
                    found.push(format!(
                        "{at}: path parameter `{name}` is not a `{PATH_SEGMENT_SCHEMA}`"
                    ));
                }
            }
        }
    }
    found
}
