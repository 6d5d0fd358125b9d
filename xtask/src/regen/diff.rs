//! A semantic diff of two raw Hydra specs: what a reviewer of a spec bump needs to know about the
//! API (operations with their parameters, request bodies and response types; schemas with their
//! fields), leaving out descriptions and examples. `cargo xtask regen` prints it.
//!
//! It compares the specs as upstream ships them, before fix-ups: the fix-ups report separately
//! what they did, so a defect Hydra repaired shows up once, as a fix-up that found nothing.

use std::collections::BTreeMap;
use std::fmt;

use hydra_sdk_codegen::spec;
use operation::operation_changes;
use schema::schema_change;
use serde_json::Value;

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

impl fmt::Display for OperationChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        for line in &self.changes {
            write!(f, "\n      {line}")?;
        }
        Ok(())
    }
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

impl SchemaChange {
    /// Nothing this diff compares changed (descriptions may have).
    fn is_empty(&self) -> bool {
        self.fields_added.is_empty() && self.fields_removed.is_empty() && self.changes.is_empty()
    }
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        for field in &self.fields_added {
            write!(f, "\n      + field {field}")?;
        }
        for field in &self.fields_removed {
            write!(f, "\n      - field {field}")?;
        }
        for line in &self.changes {
            write!(f, "\n      {line}")?;
        }
        Ok(())
    }
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
        section(f, "operations added", '+', &self.operations_added)?;
        section(f, "operations removed", '-', &self.operations_removed)?;
        section(f, "operations changed", '~', &self.operations_changed)?;
        section(f, "schemas added", '+', &self.schemas_added)?;
        section(f, "schemas removed", '-', &self.schemas_removed)?;
        section(f, "schemas changed", '~', &self.schemas_changed)?;
        if !self.otherwise_changed.is_empty() {
            let what = "changed only in descriptions, examples, titles or tags";
            writeln!(f, "{what} ({}):", self.otherwise_changed.len())?;
            writeln!(f, "  {}", self.otherwise_changed.join(", "))?;
        }
        Ok(())
    }
}

/// One part of the report: a heading with the count, then a line per item marked `sign`; nothing
/// at all for no items.
fn section(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    sign: char,
    items: &[impl fmt::Display],
) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(f, "{what} ({}):", items.len())?;
    for item in items {
        writeln!(f, "  {sign} {item}")?;
    }
    Ok(())
}

/// Two keyed collections side by side, in key order. Every comparison here (operations, schemas,
/// fields, parameters, responses) starts from it, so "added", "removed" and "in both" mean the
/// same thing throughout.
struct Sides<'a, K, V> {
    /// Each entry of the new side, with the old side's entry under the same key if it has one.
    new: Vec<(&'a K, Option<&'a V>, &'a V)>,
    /// The old side's entries whose key the new side lacks.
    removed: Vec<(&'a K, &'a V)>,
}

impl<'a, K: Ord, V> Sides<'a, K, V> {
    fn of(old: &'a BTreeMap<K, V>, new: &'a BTreeMap<K, V>) -> Self {
        Sides {
            new: new.iter().map(|(k, v)| (k, old.get(k), v)).collect(),
            removed: old.iter().filter(|(k, _)| !new.contains_key(k)).collect(),
        }
    }

    /// The new side's entries whose key the old side lacks.
    fn added(&self) -> impl Iterator<Item = (&'a K, &'a V)> + '_ {
        self.new
            .iter()
            .filter_map(|&(k, old, new)| old.is_none().then_some((k, new)))
    }

    /// The entries both sides have: key, old value, new value.
    fn both(&self) -> impl Iterator<Item = (&'a K, &'a V, &'a V)> + '_ {
        self.new
            .iter()
            .filter_map(|&(k, old, new)| Some((k, old?, new)))
    }
}

/// Compares two raw specs. Either may be any JSON (a missing `paths` counts as no operations), so
/// a first pin can be diffed against `{}`.
pub fn diff(old: &Value, new: &Value) -> SpecDiff {
    let mut out = SpecDiff::default();
    let (old_ops, new_ops) = (operations(old), operations(new));
    let ops = Sides::of(&old_ops, &new_ops);
    out.operations_added = ops.added().map(|(_, (op, _))| op.clone()).collect();
    out.operations_removed = ops.removed.iter().map(|(_, (op, _))| op.clone()).collect();
    for (id, (old_op, old_json), (new_op, new_json)) in ops.both() {
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

    let (old_schemas, new_schemas) = (
        members(old.pointer("/components/schemas")),
        members(new.pointer("/components/schemas")),
    );
    let schemas = Sides::of(&old_schemas, &new_schemas);
    out.schemas_added = schemas.added().map(|(name, _)| name.to_string()).collect();
    out.schemas_removed = schemas
        .removed
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    for (name, old_schema, new_schema) in schemas.both() {
        let change = schema_change(name, old_schema, new_schema);
        if !change.is_empty() {
            out.schemas_changed.push(change);
        } else if old_schema != new_schema {
            out.otherwise_changed.push(name.to_string());
        }
    }
    out.otherwise_changed.sort();
    out
}

/// The members of a JSON object by key; none if `object` is missing or not an object.
fn members(object: Option<&Value>) -> BTreeMap<&str, &Value> {
    object
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.as_str(), value))
        .collect()
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

mod operation;
mod schema;

#[cfg(test)]
mod tests;
