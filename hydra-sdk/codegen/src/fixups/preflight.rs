//! The preflight: shapes of a (fixed-up) spec that progenitor cannot digest, named before
//! generation.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::spec::{operations, resolve};

/// Shapes that make progenitor 0.15 panic or generate wrong code, found before generation so the
/// error names the operation (progenitor's own panic names neither operation nor path).
pub fn preflight(spec: &Value) -> Vec<String> {
    if spec.get("paths").and_then(Value::as_object).is_none() {
        return vec!["the spec has no `paths`".into()];
    }
    let mut problems = super::paths::unchecked_path_parameters(spec);
    for operation in operations(spec) {
        let id = operation.upstream_id().unwrap_or("<no operationId>");
        let at = format!(
            "{id} ({} {})",
            operation.method.to_uppercase(),
            operation.path
        );
        if operation.id().is_none() {
            problems.push(format!("{at}: no operationId"));
        }
        let Some(responses) = operation.op.get("responses").and_then(Value::as_object) else {
            continue;
        };
        // progenitor tells response kinds apart by body type, "no body" being one kind.
        let bodies = |is_kind: fn(&str) -> bool| -> BTreeSet<String> {
            responses
                .iter()
                .filter(|(status, _)| is_kind(status))
                .map(|(_, response)| body_kind(spec, response))
                .collect()
        };
        for (kind, bodies) in [("success", bodies(is_success)), ("error", bodies(is_error))] {
            if bodies.len() > 1 {
                problems.push(format!(
                    "{at}: {} different {kind} bodies (progenitor allows one)",
                    bodies.len()
                ));
            }
        }
    }
    problems
}

/// What progenitor would decode `response` as: its JSON schema, another content type, or none.
fn body_kind(spec: &Value, response: &Value) -> String {
    let Some(content) = resolve(spec, response)
        .get("content")
        .and_then(Value::as_object)
    else {
        return "no body".into();
    };
    content
        .get("application/json")
        .and_then(|c| c.get("schema"))
        .map(Value::to_string)
        .or_else(|| content.keys().next().cloned())
        .unwrap_or_else(|| "no body".into())
}

/// progenitor's notion of a success status (`default` counts as both).
fn is_success(status: &str) -> bool {
    status == "default" || status == "2XX" || status == "101" || status.starts_with('2')
}

/// progenitor's notion of an error status (`default` counts as both).
pub(super) fn is_error(status: &str) -> bool {
    status == "default" || status.starts_with('4') || status.starts_with('5')
}
