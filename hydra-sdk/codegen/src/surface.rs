//! The SDK's surface: one line per operation, read from the generated code itself.
//!
//! `operationId  rust_method  METHOD /path  body=T  ok=T  err=T`. Reading the types out of the
//! generated builders (rather than predicting them from the spec) means the listing shows what
//! callers actually get, so a spec bump or a fix-up change shows up as a small, reviewable diff.
//!
//! The same reading gives the SDK's response hook its table of success types
//! ([`success_decoders`]).

use std::collections::BTreeMap;

use quote::ToTokens;
use serde_json::Value;

/// Types seen on one generated builder.
#[derive(Default)]
struct Builder {
    body: Option<String>,
    ok: Option<String>,
    err: Option<String>,
    /// `T` of `send`'s `ResponseValue<T>`, as generated.
    ok_type: Option<syn::Type>,
    /// `E` of `send`'s `Error<E>`, as generated.
    err_type: Option<syn::Type>,
    /// The `operation_id` its `send` passes to the client's hooks.
    operation_id: Option<String>,
}

/// Renders the surface listing of `file`, generated from `spec`.
pub fn render(spec: &Value, file: &syn::File) -> Result<String, String> {
    let methods = client_methods(file);
    let builders = builders(file);
    if spec.get("paths").and_then(Value::as_object).is_none() {
        return Err("the spec has no paths".into());
    }
    let mut lines = Vec::new();
    for operation in crate::spec::operations(spec) {
        let (Some(generated_id), Some(id)) = (operation.id(), operation.upstream_id()) else {
            continue;
        };
        let rust = heck::AsSnakeCase(generated_id).to_string();
        let builder_name = methods
            .get(&rust)
            .ok_or(format!("no generated method `{rust}` for operation `{id}`"))?;
        let b = builders
            .get(builder_name)
            .ok_or(format!("no generated builder `{builder_name}` for `{id}`"))?;
        lines.push(format!(
            "{id} {rust} {} {} body={} ok={} err={}",
            operation.method.to_uppercase(),
            operation.path,
            b.body.as_deref().unwrap_or("-"),
            b.ok.as_deref().unwrap_or("?"),
            b.err.as_deref().unwrap_or("?"),
        ));
    }
    Ok(lines.join("\n") + "\n")
}

/// `Client` methods and the builder each returns.
fn client_methods(file: &syn::File) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || !is_path_named(&imp.self_ty, "Client") {
            continue;
        }
        for item in &imp.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            if let syn::ReturnType::Type(_, ty) = &f.sig.output {
                if let Some(name) = last_segment(ty) {
                    out.insert(f.sig.ident.to_string(), name);
                }
            }
        }
    }
    out
}

/// The top-level `mod builder`: each operation's builder struct, its body and `send` types.
fn builders(file: &syn::File) -> BTreeMap<String, Builder> {
    let mut out: BTreeMap<String, Builder> = BTreeMap::new();
    let Some(items) = file.items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|(_, items)| items),
        _ => None,
    }) else {
        return out;
    };
    for item in items {
        match item {
            syn::Item::Struct(s) => {
                let body = s.fields.iter().find_map(|f| {
                    let is_body = f.ident.as_ref().is_some_and(|i| i == "body");
                    // `body: Result<types::builder::T, String>`: report `T`.
                    is_body.then(|| generic_args(&f.ty).first().map(render_type))?
                });
                out.entry(s.ident.to_string()).or_default().body = body;
            }
            syn::Item::Impl(imp) if imp.trait_.is_none() => {
                let Some(name) = last_segment(&imp.self_ty) else {
                    continue;
                };
                for item in &imp.items {
                    let syn::ImplItem::Fn(f) = item else { continue };
                    if f.sig.ident != "send" {
                        continue;
                    }
                    // `Result<ResponseValue<T>, Error<E>>`.
                    if let syn::ReturnType::Type(_, ty) = &f.sig.output {
                        let args = generic_args(ty);
                        let entry = out.entry(name.clone()).or_default();
                        entry.ok_type = args.first().and_then(|t| generic_args(t).first().cloned());
                        entry.ok = entry.ok_type.as_ref().map(render_type);
                        entry.operation_id = operation_id(&f.block);
                        entry.err_type = args.get(1).and_then(|t| generic_args(t).first().cloned());
                        entry.err = entry.err_type.as_ref().map(render_type);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The tables the SDK's response hook decodes bodies with before progenitor does
/// (`hydra-sdk/src/response.rs`): for each operation, by the `operation_id` its `send` passes to
/// the client's hooks, the type of its success body and of its error body. progenitor's error
/// for a body that does not decode keeps the body (a token, a client secret) and prints it; with
/// the tables the SDK refuses such a body first, in an error that keeps no body. A body of `()`
/// or a `ByteStream` is not decoded and is not in them.
pub fn success_decoders(file: &syn::File) -> Result<String, String> {
    let (mut ok_arms, mut err_arms) = (Vec::new(), Vec::new());
    for (name, b) in builders(file) {
        let id = || {
            b.operation_id
                .clone()
                .ok_or(format!("no operation_id in the `send` of builder `{name}`"))
        };
        for (ty, arms) in [(&b.ok_type, &mut ok_arms), (&b.err_type, &mut err_arms)] {
            let Some(ty) = ty else { continue };
            if matches!(render_type(ty).as_str(), "()" | "ByteStream") {
                continue;
            }
            let id = id()?;
            arms.push(quote::quote! { #id => decode::<#ty>, });
        }
    }
    if ok_arms.is_empty() || err_arms.is_empty() {
        return Err("no operation decodes a JSON body".into());
    }
    let tokens = quote::quote! {
        /// The decoder of each operation's success body, by the `operation_id` its `send` passes
        /// to the client's hooks. Generated by hydra-sdk-codegen (`surface::success_decoders`)
        /// from the generated client.
        pub(crate) fn success_decoder(operation_id: &str) -> Option<Decoder> {
            Some(match operation_id {
                #(#ok_arms)*
                _ => return None,
            })
        }
        /// The decoder of each operation's error body (4xx and 5xx), likewise.
        pub(crate) fn error_decoder(operation_id: &str) -> Option<Decoder> {
            Some(match operation_id {
                #(#err_arms)*
                _ => return None,
            })
        }
    };
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("decoders: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

/// The string in `operation_id: "…"` of the `OperationInfo` a `send` builds.
fn operation_id(block: &syn::Block) -> Option<String> {
    let text = block.to_token_stream().to_string();
    let rest = &text[text.find("operation_id")? + "operation_id".len()..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn is_path_named(ty: &syn::Type, name: &str) -> bool {
    last_segment(ty).as_deref() == Some(name)
}

fn last_segment(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The generic arguments of the last path segment of `ty`.
fn generic_args(ty: &syn::Type) -> Vec<syn::Type> {
    let syn::Type::Path(p) = ty else {
        return Vec::new();
    };
    let Some(seg) = p.path.segments.last() else {
        return Vec::new();
    };
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return Vec::new();
    };
    args.args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// A type as a reader would write it: no paths, no spaces (`Vec<OAuth2Client>`).
fn render_type(ty: &syn::Type) -> String {
    let text = ty.to_token_stream().to_string().replace(' ', "");
    let mut out = String::new();
    for part in text.split_inclusive(['<', '>', ',']) {
        let (name, sep) = match part.char_indices().last() {
            Some((i, '<' | '>' | ',')) => (&part[..i], &part[i..]),
            _ => (part, ""),
        };
        out.push_str(name.rsplit("::").next().unwrap_or(name));
        out.push_str(sep);
    }
    out
}
