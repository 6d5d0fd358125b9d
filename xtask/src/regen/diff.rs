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

mod operation;
mod schema;

#[cfg(test)]
mod tests;
