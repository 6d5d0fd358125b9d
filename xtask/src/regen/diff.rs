//! A semantic diff of two raw Hydra specs: what a reviewer of a spec bump needs to know about the
//! API (operations with their parameters, request bodies and response types; schemas with their
//! fields), leaving out descriptions and examples. `cargo xtask regen` prints it.
//!
//! It compares the specs as upstream ships them, before fix-ups: the fix-ups report separately
//! what they did, so a defect Hydra repaired shows up once, as a fix-up that found nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use hydra_sdk_codegen::spec::{self, resolve};
use serde_json::{Map, Value};

/// One operation, named the way the surface snapshot and the preflight name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    /// `operationId`, or `METHOD path` for an operation without one.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// The path template, e.g. `/admin/clients/{id}`.
    pub path: String,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} {})", self.id, self.method, self.path)
    }
}

/// An operation present in both specs whose contract changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationChange {
    /// The operation as the new spec has it.
    pub operation: Operation,
    /// One line per change: a moved path, a parameter, the request body, a response.
    pub changes: Vec<String>,
}

/// A field of a schema or of an inline body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The property name.
    pub name: String,
    /// Its type, shortly: `string`, `string(date-time)`, `array<jsonWebKey>`, `oAuth2Client`.
    pub ty: String,
    /// Whether the schema lists it as required.
    pub required: bool,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.name, self.ty)?;
        if self.required {
            write!(f, ", required")?;
        }
        Ok(())
    }
}

/// A component schema present in both specs whose shape changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChange {
    /// The schema's name under `components/schemas`.
    pub name: String,
    /// Properties only the new spec has.
    pub fields_added: Vec<Field>,
    /// Properties only the old spec has.
    pub fields_removed: Vec<Field>,
    /// Everything else: the schema's own type, a field's type, requiredness or enum values.
    pub changes: Vec<String>,
}

/// What changed between two specs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecDiff {
    /// Operations only the new spec has.
    pub operations_added: Vec<Operation>,
    /// Operations only the old spec has.
    pub operations_removed: Vec<Operation>,
    /// Operations in both whose parameters, body or responses changed.
    pub operations_changed: Vec<OperationChange>,
    /// Component schemas only the new spec has.
    pub schemas_added: Vec<String>,
    /// Component schemas only the old spec has.
    pub schemas_removed: Vec<String>,
    /// Component schemas in both whose fields or type changed.
    pub schemas_changed: Vec<SchemaChange>,
    /// Operations and schemas whose JSON differs only in what this diff does not compare
    /// (descriptions, examples, titles, tags): listed so that nothing changes unseen.
    pub otherwise_changed: Vec<String>,
}

impl SpecDiff {
    /// No difference at all, not even in descriptions.
    pub fn is_empty(&self) -> bool {
        self.operations_added.is_empty()
            && self.operations_removed.is_empty()
            && self.operations_changed.is_empty()
            && self.schemas_added.is_empty()
            && self.schemas_removed.is_empty()
            && self.schemas_changed.is_empty()
            && self.otherwise_changed.is_empty()
    }
}

impl fmt::Display for SpecDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no changes");
        }
        let heading =
            |f: &mut fmt::Formatter<'_>, what: &str, n: usize| writeln!(f, "{what} ({n}):");
        if !self.operations_added.is_empty() {
            heading(f, "operations added", self.operations_added.len())?;
            for op in &self.operations_added {
                writeln!(f, "  + {op}")?;
            }
        }
        if !self.operations_removed.is_empty() {
            heading(f, "operations removed", self.operations_removed.len())?;
            for op in &self.operations_removed {
                writeln!(f, "  - {op}")?;
            }
        }
        if !self.operations_changed.is_empty() {
            heading(f, "operations changed", self.operations_changed.len())?;
            for change in &self.operations_changed {
                writeln!(f, "  ~ {}", change.operation)?;
                for line in &change.changes {
                    writeln!(f, "      {line}")?;
                }
            }
        }
        if !self.schemas_added.is_empty() {
            heading(f, "schemas added", self.schemas_added.len())?;
            for name in &self.schemas_added {
                writeln!(f, "  + {name}")?;
            }
        }
        if !self.schemas_removed.is_empty() {
            heading(f, "schemas removed", self.schemas_removed.len())?;
            for name in &self.schemas_removed {
                writeln!(f, "  - {name}")?;
            }
        }
        if !self.schemas_changed.is_empty() {
            heading(f, "schemas changed", self.schemas_changed.len())?;
            for change in &self.schemas_changed {
                writeln!(f, "  ~ {}", change.name)?;
                for field in &change.fields_added {
                    writeln!(f, "      + field {field}")?;
                }
                for field in &change.fields_removed {
                    writeln!(f, "      - field {field}")?;
                }
                for line in &change.changes {
                    writeln!(f, "      {line}")?;
                }
            }
        }
        if !self.otherwise_changed.is_empty() {
            heading(
                f,
                "changed only in descriptions, examples, titles or tags",
                self.otherwise_changed.len(),
            )?;
            writeln!(f, "  {}", self.otherwise_changed.join(", "))?;
        }
        Ok(())
    }
}

/// Compares two raw specs. Either may be any JSON (a missing `paths` counts as no operations), so
/// a first pin can be diffed against `{}`.
pub fn diff(old: &Value, new: &Value) -> SpecDiff {
    let mut out = SpecDiff::default();
    let old_ops = operations(old);
    let new_ops = operations(new);

    for (id, (op, _)) in &new_ops {
        if !old_ops.contains_key(id) {
            out.operations_added.push(op.clone());
        }
    }
    for (id, (op, _)) in &old_ops {
        if !new_ops.contains_key(id) {
            out.operations_removed.push(op.clone());
        }
    }
    for (id, (new_op, new_json)) in &new_ops {
        let Some((old_op, old_json)) = old_ops.get(id) else {
            continue;
        };
        let changes = operation_changes(old, old_op, old_json, new, new_op, new_json);
        if !changes.is_empty() {
            out.operations_changed.push(OperationChange {
                operation: new_op.clone(),
                changes,
            });
        } else if old_json != new_json {
            out.otherwise_changed.push(id.clone());
        }
    }
    let by_place = |a: &Operation, b: &Operation| (&a.path, &a.method).cmp(&(&b.path, &b.method));
    out.operations_added.sort_by(by_place);
    out.operations_removed.sort_by(by_place);
    out.operations_changed
        .sort_by(|a, b| by_place(&a.operation, &b.operation));

    let empty = Map::new();
    let schemas = |spec: &Value| -> Map<String, Value> {
        spec.pointer("/components/schemas")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone()
    };
    let old_schemas = schemas(old);
    let new_schemas = schemas(new);
    out.schemas_added = new_schemas
        .keys()
        .filter(|k| !old_schemas.contains_key(*k))
        .cloned()
        .collect();
    out.schemas_removed = old_schemas
        .keys()
        .filter(|k| !new_schemas.contains_key(*k))
        .cloned()
        .collect();
    for (name, new_schema) in &new_schemas {
        let Some(old_schema) = old_schemas.get(name) else {
            continue;
        };
        let change = schema_change(name, old_schema, new_schema);
        if !change.fields_added.is_empty()
            || !change.fields_removed.is_empty()
            || !change.changes.is_empty()
        {
            out.schemas_changed.push(change);
        } else if old_schema != new_schema {
            out.otherwise_changed.push(name.clone());
        }
    }
    out.otherwise_changed.sort();
    out
}

/// Every operation by id, with its JSON (path-level parameters merged in, as OpenAPI says they
/// apply to every operation of the path).
fn operations(spec: &Value) -> BTreeMap<String, (Operation, Value)> {
    let mut out = BTreeMap::new();
    for operation in spec::operations(spec) {
        let method = operation.method.to_uppercase();
        let path = operation.path;
        let id = operation
            .id()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{method} {path}"));
        let mut json = operation.op.clone();
        let shared = operation.item.get("parameters").and_then(Value::as_array);
        if let (Some(shared), Some(obj)) = (shared, json.as_object_mut()) {
            let own = obj
                .entry("parameters")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(own) = own.as_array_mut() {
                own.extend(shared.iter().cloned());
            }
        }
        let op = Operation {
            id: id.clone(),
            method,
            path: path.to_string(),
        };
        out.insert(id, (op, json));
    }
    out
}

fn operation_changes(
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
    for ((location, name), p) in &new_params {
        let Some(before) = old_params.get(&(location.clone(), name.clone())) else {
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
    for (location, name) in old_params.keys() {
        if !new_params.contains_key(&(location.clone(), name.clone())) {
            changes.push(format!("- {location} parameter `{name}`"));
        }
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
    let empty = Map::new();
    let responses = |op: &Value| op.get("responses").and_then(Value::as_object).cloned();
    let old_responses = responses(old).unwrap_or_else(|| empty.clone());
    let new_responses = responses(new).unwrap_or_else(|| empty.clone());
    for (status, response) in &new_responses {
        let after = content(new_spec, response);
        match old_responses.get(status) {
            None => changes.push(format!("+ response {status}: {}", describe_content(&after))),
            Some(before) => body_changes(
                &format!("response {status}"),
                &content(old_spec, before),
                &after,
                changes,
            ),
        }
    }
    for status in old_responses.keys() {
        if !new_responses.contains_key(status) {
            changes.push(format!("- response {status}"));
        }
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
    for (media, after) in new {
        let Some(before) = old.get(media) else {
            continue;
        };
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

fn schema_change(name: &str, old: &Value, new: &Value) -> SchemaChange {
    let mut change = SchemaChange {
        name: name.to_string(),
        fields_added: Vec::new(),
        fields_removed: Vec::new(),
        changes: Vec::new(),
    };
    let (was, is) = (describe(old), describe(new));
    if was != is {
        change.changes.push(format!("~ type: {was} -> {is}"));
    }
    if let Some(line) = enum_change(old, new) {
        change.changes.push(format!("~ {line}"));
    }
    let old_fields = fields(old);
    let new_fields = fields(new);
    for (field, (schema, required)) in &new_fields {
        if !old_fields.contains_key(field) {
            change.fields_added.push(Field {
                name: field.clone(),
                ty: describe(schema),
                required: *required,
            });
        }
    }
    for (field, (schema, required)) in &old_fields {
        if !new_fields.contains_key(field) {
            change.fields_removed.push(Field {
                name: field.clone(),
                ty: describe(schema),
                required: *required,
            });
        }
    }
    let mut lines = Vec::new();
    common_field_changes(&old_fields, &new_fields, &mut lines);
    change
        .changes
        .extend(lines.into_iter().map(|l| format!("~ {l}")));
    change
}

/// Field changes of two inline object schemas, one line each.
fn field_changes(old: &Value, new: &Value, lines: &mut Vec<String>) {
    let old_fields = fields(old);
    let new_fields = fields(new);
    for (name, (schema, required)) in &new_fields {
        if !old_fields.contains_key(name) {
            let field = Field {
                name: name.clone(),
                ty: describe(schema),
                required: *required,
            };
            lines.push(format!("+ field {field}"));
        }
    }
    for name in old_fields.keys() {
        if !new_fields.contains_key(name) {
            lines.push(format!("- field `{name}`"));
        }
    }
    common_field_changes(&old_fields, &new_fields, lines);
}

type Fields = BTreeMap<String, (Value, bool)>;

fn common_field_changes(old: &Fields, new: &Fields, lines: &mut Vec<String>) {
    for (name, (after, now_required)) in new {
        let Some((before, was_required)) = old.get(name) else {
            continue;
        };
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
fn describe(schema: &Value) -> String {
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

#[cfg(test)]
mod tests;
