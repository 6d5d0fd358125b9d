//! How one operation changed: its path, parameters, request body and responses.

use std::collections::BTreeMap;

use hydra_sdk_codegen::spec::resolve;
use serde_json::Value;

use super::schema::{describe, field_changes};
use super::{members, Operation, Sides};

pub(super) fn operation_changes(
    old_spec: &Value,
    old_op: &Operation,
    old: &Value,
    new_spec: &Value,
    new_op: &Operation,
    new: &Value,
) -> Vec<String> {
    let mut changes = Vec::new();
    if (&old_op.method, &old_op.path) != (&new_op.method, &new_op.path) {
        changes.push(format!(
            "moved from {} {} to {} {}",
            old_op.method, old_op.path, new_op.method, new_op.path
        ));
    }
    parameter_changes(old_spec, old, new_spec, new, &mut changes);
    request_body_changes(old_spec, old, new_spec, new, &mut changes);
    response_changes(old_spec, old, new_spec, new, &mut changes);
    changes
}

/// Parameters by (location, name). Later entries do not override earlier ones, so an
/// operation's own parameter wins over a path-level one of the same name.
fn parameters<'a>(spec: &'a Value, op: &'a Value) -> BTreeMap<(String, String), &'a Value> {
    let mut out = BTreeMap::new();
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = resolve(spec, p);
        let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
        let location = p.get("in").and_then(Value::as_str).unwrap_or("?");
        out.entry((location.to_string(), name.to_string()))
            .or_insert(p);
    }
    out
}

fn parameter_changes(
    old_spec: &Value,
    old: &Value,
    new_spec: &Value,
    new: &Value,
    changes: &mut Vec<String>,
) {
    let old_params = parameters(old_spec, old);
    let new_params = parameters(new_spec, new);
    let is_required = |p: &Value| p.get("required").and_then(Value::as_bool) == Some(true);
    let ty = |p: &Value| describe(p.get("schema").unwrap_or(&Value::Null));
    let params = Sides::of(&old_params, &new_params);
    for ((location, name), before, p) in params.new {
        let Some(before) = before else {
            let required = if is_required(p) { ", required" } else { "" };
            changes.push(format!(
                "+ {location} parameter `{name}`: {}{required}",
                ty(p)
            ));
            continue;
        };
        let (was, is) = (ty(before), ty(p));
        if was != is {
            changes.push(format!("~ {location} parameter `{name}`: {was} -> {is}"));
        }
        match (is_required(before), is_required(p)) {
            (false, true) => changes.push(format!("~ {location} parameter `{name}`: now required")),
            (true, false) => changes.push(format!("~ {location} parameter `{name}`: now optional")),
            _ => {}
        }
    }
    for ((location, name), _) in params.removed {
        changes.push(format!("- {location} parameter `{name}`"));
    }
}

/// A body's schema per media type.
fn content(spec: &Value, holder: &Value) -> BTreeMap<String, Value> {
    resolve(spec, holder)
        .get("content")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(|(media, m)| {
                    (
                        media.clone(),
                        m.get("schema").cloned().unwrap_or(Value::Null),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn request_body_changes(
    old_spec: &Value,
    old: &Value,
    new_spec: &Value,
    new: &Value,
    changes: &mut Vec<String>,
) {
    match (old.get("requestBody"), new.get("requestBody")) {
        (None, None) => {}
        (None, Some(body)) => changes.push(format!(
            "+ request body: {}",
            describe_content(&content(new_spec, body))
        )),
        (Some(_), None) => changes.push("- request body".into()),
        (Some(before), Some(after)) => {
            let required = |spec: &Value, b: &Value| {
                resolve(spec, b).get("required").and_then(Value::as_bool) == Some(true)
            };
            match (required(old_spec, before), required(new_spec, after)) {
                (false, true) => changes.push("~ request body: now required".into()),
                (true, false) => changes.push("~ request body: now optional".into()),
                _ => {}
            }
            body_changes(
                "request body",
                &content(old_spec, before),
                &content(new_spec, after),
                changes,
            );
        }
    }
}

fn response_changes(
    old_spec: &Value,
    old: &Value,
    new_spec: &Value,
    new: &Value,
    changes: &mut Vec<String>,
) {
    let (old_responses, new_responses) =
        (members(old.get("responses")), members(new.get("responses")));
    let responses = Sides::of(&old_responses, &new_responses);
    for (status, before, response) in responses.new {
        let after = content(new_spec, response);
        match before {
            None => changes.push(format!("+ response {status}: {}", describe_content(&after))),
            Some(before) => body_changes(
                &format!("response {status}"),
                &content(old_spec, before),
                &after,
                changes,
            ),
        }
    }
    for (status, _) in responses.removed {
        changes.push(format!("- response {status}"));
    }
}

/// Compares two bodies: their media types, their types, and the fields of inline objects (form
/// bodies are inline, so a form field shows up here).
fn body_changes(
    what: &str,
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
    changes: &mut Vec<String>,
) {
    let (was, is) = (describe_content(old), describe_content(new));
    if was != is {
        changes.push(format!("~ {what}: {was} -> {is}"));
        return;
    }
    for (media, before, after) in Sides::of(old, new).both() {
        if before.get("$ref").is_some() || after.get("$ref").is_some() {
            continue;
        }
        let mut fields = Vec::new();
        field_changes(before, after, &mut fields);
        for line in fields {
            changes.push(format!("~ {what} ({media}): {line}"));
        }
    }
}

/// `no body`, or the body's type (with its media type unless it is JSON).
fn describe_content(content: &BTreeMap<String, Value>) -> String {
    if content.is_empty() {
        return "no body".into();
    }
    content
        .iter()
        .map(|(media, schema)| {
            let ty = describe(schema);
            if media == "application/json" {
                ty
            } else {
                format!("{ty} ({media})")
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
