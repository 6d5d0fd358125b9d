//! How one schema changed: its fields, their types and requiredness, its enum values.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Field, SchemaChange, Sides};

pub(super) fn schema_change(name: &str, old: &Value, new: &Value) -> SchemaChange {
    let (old_fields, new_fields) = (fields(old), fields(new));
    let fields = Sides::of(&old_fields, &new_fields);
    let mut change = SchemaChange {
        name: name.to_string(),
        fields_added: fields.added().map(field).collect(),
        fields_removed: fields.removed.iter().copied().map(field).collect(),
        changes: Vec::new(),
    };
    let (was, is) = (describe(old), describe(new));
    if was != is {
        change.changes.push(format!("~ type: {was} -> {is}"));
    }
    if let Some(line) = enum_change(old, new) {
        change.changes.push(format!("~ {line}"));
    }
    let mut lines = Vec::new();
    common_field_changes(&fields, &mut lines);
    change
        .changes
        .extend(lines.into_iter().map(|l| format!("~ {l}")));
    change
}

/// Field changes of two inline object schemas, one line each.
pub(super) fn field_changes(old: &Value, new: &Value, lines: &mut Vec<String>) {
    let (old_fields, new_fields) = (fields(old), fields(new));
    let fields = Sides::of(&old_fields, &new_fields);
    for added in fields.added() {
        lines.push(format!("+ field {}", field(added)));
    }
    for (name, _) in &fields.removed {
        lines.push(format!("- field `{name}`"));
    }
    common_field_changes(&fields, lines);
}

/// A property's name, its schema and whether it is required.
type Fields = BTreeMap<String, (Value, bool)>;

fn field((name, (schema, required)): (&String, &(Value, bool))) -> Field {
    Field {
        name: name.clone(),
        ty: describe(schema),
        required: *required,
    }
}

fn common_field_changes(fields: &Sides<'_, String, (Value, bool)>, lines: &mut Vec<String>) {
    for (name, (before, was_required), (after, now_required)) in fields.both() {
        let (was, is) = (describe(before), describe(after));
        if was != is {
            lines.push(format!("field `{name}`: {was} -> {is}"));
        }
        match (was_required, now_required) {
            (false, true) => lines.push(format!("field `{name}`: now required")),
            (true, false) => lines.push(format!("field `{name}`: now optional")),
            _ => {}
        }
        if let Some(line) = enum_change(before, after) {
            lines.push(format!("field `{name}`: {line}"));
        }
    }
}

/// A schema's properties with their requiredness, including those of inline `allOf` members
/// (a `$ref` member's fields belong to the schema it names, which is diffed on its own).
fn fields(schema: &Value) -> Fields {
    let mut out = Fields::new();
    collect_fields(schema, &mut out, 0);
    out
}

fn collect_fields(schema: &Value, out: &mut Fields, depth: usize) {
    if depth > 8 {
        return;
    }
    let required: BTreeSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            out.insert(
                name.clone(),
                (property.clone(), required.contains(name.as_str())),
            );
        }
    }
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if member.get("$ref").is_none() {
            collect_fields(member, out, depth + 1);
        }
    }
}

/// Enum values added and removed, if the enum changed.
fn enum_change(old: &Value, new: &Value) -> Option<String> {
    let values = |s: &Value| -> BTreeSet<String> {
        s.get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect()
    };
    let (was, is) = (values(old), values(new));
    if was == is {
        return None;
    }
    let added: Vec<_> = is.difference(&was).map(String::as_str).collect();
    let removed: Vec<_> = was.difference(&is).map(String::as_str).collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("+ {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("- {}", removed.join(", ")));
    }
    Some(format!("enum values {}", parts.join("; ")))
}

/// A schema as a short type: the name a `$ref` points at, or the inline shape.
pub(super) fn describe(schema: &Value) -> String {
    describe_at(schema, 0)
}

fn describe_at(schema: &Value, depth: usize) -> String {
    if depth > 8 {
        return "…".into();
    }
    if schema.is_null() {
        return "any".into();
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        if let Some(members) = schema.get(combinator).and_then(Value::as_array) {
            let members: Vec<String> = members.iter().map(|m| describe_at(m, depth + 1)).collect();
            return format!("{combinator}[{}]", members.join(", "));
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
        None if schema.get("properties").is_some() => "object".into(),
        None => "any".into(),
    };
    let described = match ty.as_str() {
        "array" => format!(
            "array<{}>",
            describe_at(schema.get("items").unwrap_or(&Value::Null), depth + 1)
        ),
        "object" => match schema.get("additionalProperties") {
            Some(Value::Object(values)) if schema.get("properties").is_none() => format!(
                "map<{}>",
                describe_at(&Value::Object(values.clone()), depth + 1)
            ),
            _ => "object".into(),
        },
        _ => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("{ty}({format})"),
            None => ty,
        },
    };
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        format!("{described}?")
    } else {
        described
    }
}
