//! Method names that read as Rust.
//!
//! Generator limit: progenitor snake-cases `operationId`, and `OAuth2` splits at the capital `A`,
//! so `createOAuth2Client` became `create_o_auth2_client`. Hydra's ids are what its docs and
//! other SDKs use, so the original is kept in [`ORIGINAL_ID`] and the surface listing prints it
//! beside the Rust name: a spec bump still maps one to one.

use serde_json::Value;

use super::{outcome, Outcome};
use crate::spec::operations_mut;
use crate::Provenance;

/// The extension under which an operation keeps Hydra's own `operationId`.
pub const ORIGINAL_ID: &str = "x-hydra-operation-id";

/// `createOAuth2Client` -> `createOauth2Client` (generated: `create_oauth2_client`), and a leading
/// `oAuth2` (as in `oAuth2Authorize`) -> `oauth2`.
pub(super) fn oauth2_in_method_names(spec: &mut Value, _: &Provenance) -> Outcome {
    let mut changed = Vec::new();
    for operation in operations_mut(spec) {
        let op = operation.op;
        let Some(id) = op.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let renamed = rust_friendly(id);
        if renamed != id {
            changed.push(format!("{id} -> {renamed}"));
            op.insert(ORIGINAL_ID.into(), Value::String(id.to_string()));
            op.insert("operationId".into(), Value::String(renamed));
        }
    }
    outcome(&changed, "no operationId spells `OAuth2`", || {
        format!(
            "{} operations renamed: {}",
            changed.len(),
            changed.join(", ")
        )
    })
}

fn rust_friendly(id: &str) -> String {
    let id = match id.strip_prefix("oAuth2") {
        Some(rest) => format!("oauth2{rest}"),
        None => id.to_string(),
    };
    id.replace("OAuth2", "Oauth2")
}

#[cfg(test)]
mod tests {
    use super::rust_friendly;

    #[test]
    fn oauth2_reads_as_one_word() {
        for (id, want) in [
            ("createOAuth2Client", "createOauth2Client"),
            ("oAuth2Authorize", "oauth2Authorize"),
            (
                "listTrustedOAuth2JwtGrantIssuers",
                "listTrustedOauth2JwtGrantIssuers",
            ),
            ("oauth2TokenExchange", "oauth2TokenExchange"),
            ("isReady", "isReady"),
        ] {
            assert_eq!(rust_friendly(id), want);
            assert!(!heck::AsSnakeCase(want).to_string().contains("o_auth2"));
        }
    }
}
