//! One typed view of an OpenAPI document as JSON: its operations and its local `$ref`s.
//!
//! The fix-ups, the preflight, the surface listing and `cargo xtask regen`'s diff all walk the
//! spec the same way through this module, so "an operation" means the same thing everywhere.

use serde_json::{Map, Value};

/// The keys of a path item that hold an operation (OpenAPI 3.0 §4.7.9); the others
/// (`parameters`, `summary`, `servers`, ...) are not operations.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How many `$ref` hops [`resolve`] follows before it gives up: enough for any chain a real spec
/// has (Hydra's have one hop at most), and a bound so that a cycle cannot loop forever.
pub const MAX_REF_HOPS: usize = 8;

/// One operation of a spec.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// The path template, e.g. `/admin/clients/{id}`.
    pub path: &'a str,
    /// The lower-case method key, e.g. `get`.
    pub method: &'a str,
    /// The path item the operation sits in (its `parameters` apply to every operation).
    pub item: &'a Map<String, Value>,
    /// The operation object.
    pub op: &'a Value,
}

impl<'a> Operation<'a> {
    /// The `operationId`, if the operation has one.
    pub fn id(&self) -> Option<&'a str> {
        self.op.get("operationId").and_then(Value::as_str)
    }

    /// Hydra's own `operationId`, as upstream spells it, even where a fix-up renamed it (see
    /// [`crate::fixups::names`]); for messages and listings that must map one to one to Hydra's
    /// spec.
    pub fn upstream_id(&self) -> Option<&'a str> {
        self.op
            .get(crate::fixups::names::ORIGINAL_ID)
            .and_then(Value::as_str)
            .or_else(|| self.id())
    }
}

/// One operation of a spec, to rewrite.
#[derive(Debug)]
pub struct OperationMut<'a> {
    /// The path template.
    pub path: &'a str,
    /// The lower-case method key.
    pub method: &'a str,
    /// The operation object.
    pub op: &'a mut Map<String, Value>,
}

/// The one walk over a spec's operations, written once for the shared and the mutable borrow
/// (std's slice `Iter` and `IterMut` share their code the same way): `paths`, then each path item
/// that is an object, then its [`METHODS`] keys. `$make` builds the item from `$path`, `$item`,
/// `$method` and `$op`, returning `None` to leave an operation out.
macro_rules! walk_operations {
    ($spec:expr, $get:ident, $as_object:ident, $iter:ident,
     |$path:ident, $item:ident, $method:ident, $op:ident| $make:expr) => {
        $spec
            .$get("paths")
            .and_then(Value::$as_object)
            .into_iter()
            .flatten()
            .filter_map(|(path, item)| Some((path, item.$as_object()?)))
            .flat_map(|($path, $item)| {
                $item
                    .$iter()
                    .filter(|(method, _)| METHODS.contains(&method.as_str()))
                    .filter_map(move |($method, $op)| $make)
            })
    };
}

/// Every operation of `spec`, in the spec's order. A spec without `paths` has none.
pub fn operations(spec: &Value) -> impl Iterator<Item = Operation<'_>> {
    walk_operations!(spec, get, as_object, iter, |path, item, method, op| {
        Some(Operation {
            path,
            method,
            item,
            op,
        })
    })
}

/// Every operation of `spec` that is a JSON object, to rewrite in place.
pub fn operations_mut(spec: &mut Value) -> impl Iterator<Item = OperationMut<'_>> {
    walk_operations!(
        spec,
        get_mut,
        as_object_mut,
        iter_mut,
        |path, item, method, op| {
            Some(OperationMut {
                path,
                method,
                op: op.as_object_mut()?,
            })
        }
    )
}

/// The operation whose `operationId` is `id`, to rewrite.
pub fn operation_mut<'a>(spec: &'a mut Value, id: &str) -> Option<&'a mut Map<String, Value>> {
    operations_mut(spec)
        .map(|o| o.op)
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(id))
}

/// The operation whose `operationId` is `id`.
pub fn operation<'a>(spec: &'a Value, id: &str) -> Option<&'a Value> {
    operations(spec).find(|o| o.id() == Some(id)).map(|o| o.op)
}

/// `value`, or what its local `$ref` (`#/...`) points at, following a chain of them up to
/// [`MAX_REF_HOPS`]. A `$ref` that points nowhere, or outside the document, stops the walk at the
/// value that holds it: callers then see a `$ref` object rather than a guess.
pub fn resolve<'a>(spec: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_HOPS {
        let Some(target) = value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| spec.pointer(pointer))
        else {
            break;
        };
        value = target;
    }
    value
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn operations_skip_path_level_keys_and_keep_the_spec_order() {
        let spec = json!({ "paths": {
            "/a": { "parameters": [], "get": { "operationId": "getA" }, "post": {} },
            "/b": { "summary": "x", "delete": { "operationId": "deleteB" } },
        } });
        let seen: Vec<_> = operations(&spec)
            .map(|o| (o.path, o.method, o.id()))
            .collect();
        assert_eq!(
            seen,
            [
                ("/a", "get", Some("getA")),
                ("/a", "post", None),
                ("/b", "delete", Some("deleteB")),
            ]
        );
        assert_eq!(operations(&json!({})).count(), 0);
    }

    #[test]
    fn operations_mut_rewrite_in_place() {
        let mut spec = json!({ "paths": { "/a": { "get": { "operationId": "getA" } } } });
        if let Some(op) = operation_mut(&mut spec, "getA") {
            op.insert("x".into(), json!(1));
        }
        assert_eq!(spec.pointer("/paths/~1a/get/x"), Some(&json!(1)));
        assert!(operation_mut(&mut spec, "nope").is_none());
    }

    #[test]
    fn resolve_follows_chains_and_stops_at_cycles_and_dangling_refs() {
        let spec = json!({
            "a": { "$ref": "#/b" },
            "b": { "$ref": "#/c" },
            "c": { "type": "string" },
            "loop": { "$ref": "#/loop" },
            "dangling": { "$ref": "#/nowhere" },
        });
        assert_eq!(resolve(&spec, &spec["a"]), &json!({ "type": "string" }));
        assert_eq!(resolve(&spec, &spec["loop"]), &spec["loop"]);
        assert_eq!(resolve(&spec, &spec["dangling"]), &spec["dangling"]);
    }
}
