//! Turns Ory Hydra's pinned OpenAPI spec into the source of `hydra-sdk`.
//!
//! `hydra-sdk/build.rs` and `cargo xtask regen` share this crate, so the spec that CI checks is
//! generated exactly the way the SDK is: same provenance check, same fix-ups, same progenitor
//! settings, same surface listing.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fixups;
pub mod spec;
pub mod surface;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where the pinned spec came from: the contents of `openapi/api.source.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Hydra's release, e.g. `v2.3.0`.
    pub version: String,
    /// Where the spec was taken from (recorded as `module`, its name when only Go modules were).
    #[serde(rename = "module")]
    pub source: Source,
    /// The spec's path inside the module.
    pub path: String,
    /// Lower-case hex sha256 of `openapi/api.json`.
    pub sha256: String,
    /// The upstream license (SPDX).
    pub license: String,
    /// The upstream copyright line.
    pub copyright: String,
}

/// Where a spec was taken from. Recorded in `api.source.json` as one string; told apart once,
/// when it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Source {
    /// A Go module, e.g. `github.com/ory/hydra/v2`; the spec is at [`Provenance::path`] inside it.
    GoModule(String),
    /// An `http://` or `https://` URL.
    Url(String),
    /// A local file, described as given: `local file api.json`, or the origin named with
    /// `cargo xtask regen --source`.
    File(String),
}

impl Source {
    /// `text` as it is recorded: a URL, a Go module path (`host.tld/...`, no spaces), or else a
    /// description of a file.
    pub fn parse(text: &str) -> Source {
        let text = text.to_string();
        if text.starts_with("https://") || text.starts_with("http://") {
            Source::Url(text)
        } else if is_go_module_path(&text) {
            Source::GoModule(text)
        } else {
            Source::File(text)
        }
    }

    /// The recorded text.
    pub fn as_str(&self) -> &str {
        match self {
            Source::GoModule(s) | Source::Url(s) | Source::File(s) => s,
        }
    }
}

/// A Go module path: slash-separated, its first element a domain name (`github.com/ory/hydra/v2`).
fn is_go_module_path(text: &str) -> bool {
    let mut parts = text.split('/');
    let host = parts.next().unwrap_or_default();
    !text.starts_with("local file ")
        && !text.chars().any(char::is_whitespace)
        && host.contains('.')
        && parts.next().is_some_and(|p| !p.is_empty())
}

impl From<String> for Source {
    fn from(text: String) -> Self {
        Source::parse(&text)
    }
}

impl From<Source> for String {
    fn from(source: Source) -> Self {
        source.as_str().to_string()
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Provenance {
    /// Reads `api.source.json`.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
        serde_json::from_slice(&text).map_err(|e| Error::Provenance(path.display().to_string(), e))
    }
}

/// What generation produced.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The client's Rust source, formatted.
    pub code: String,
    /// One line per operation; see [`surface`].
    pub surface: String,
    /// Each operation's success decoder, for the SDK's response hook; see
    /// [`surface::success_decoders`].
    pub success_decoders: String,
    /// What each fix-up did to this spec.
    pub fixups: Vec<fixups::Report>,
}

/// Why the spec could not be turned into a client.
#[derive(Debug)]
pub enum Error {
    /// A file could not be read.
    Io(String, std::io::Error),
    /// `api.source.json` is not what it should be.
    Provenance(String, serde_json::Error),
    /// The spec's bytes are not the ones recorded in `api.source.json`.
    Sha256Mismatch {
        /// The recorded digest.
        expected: String,
        /// The digest of the bytes on disk.
        actual: String,
    },
    /// The spec is not JSON, or not an OpenAPI 3.0.x document.
    NotOpenApi(String),
    /// The spec has a shape progenitor cannot digest, found before generation.
    Preflight(Vec<String>),
    /// progenitor refused the spec or panicked on it.
    Generator(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(path, e) => write!(f, "cannot read {path}: {e}"),
            Error::Provenance(path, e) => write!(f, "{path} is not a valid provenance record: {e}"),
            Error::Sha256Mismatch { expected, actual } => write!(
                f,
                "openapi/api.json does not match its recorded sha256 \
                 (api.source.json says {expected}, the file is {actual}); \
                 the pinned spec must be byte for byte what upstream ships: \
                 restore it, or move to a new spec with `cargo xtask regen`"
            ),
            Error::NotOpenApi(why) => write!(f, "the spec is not an OpenAPI 3.0.x document: {why}"),
            Error::Preflight(problems) => {
                write!(f, "the spec has shapes the generator cannot handle:")?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            Error::Generator(why) => write!(f, "progenitor could not generate the client: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks that `spec` is the file `provenance` describes.
pub fn verify(spec: &[u8], provenance: &Provenance) -> Result<(), Error> {
    let actual = sha256_hex(spec);
    if actual == provenance.sha256 {
        Ok(())
    } else {
        Err(Error::Sha256Mismatch {
            expected: provenance.sha256.clone(),
            actual,
        })
    }
}

/// Parses the raw spec and checks it is OpenAPI 3.0.x; progenitor reads no other version.
pub fn parse(spec: &[u8]) -> Result<serde_json::Value, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(spec).map_err(|e| Error::NotOpenApi(format!("not JSON: {e}")))?;
    match value.get("openapi").and_then(|v| v.as_str()) {
        Some(v) if v.starts_with("3.0.") => Ok(value),
        Some(v) => Err(Error::NotOpenApi(format!(
            "it declares `openapi: {v}`; only 3.0.x is supported"
        ))),
        None if value.get("swagger").is_some() => Err(Error::NotOpenApi(
            "it is a Swagger 2.0 document (no `openapi` field)".into(),
        )),
        None => Err(Error::NotOpenApi("it has no `openapi` field".into())),
    }
}

/// The progenitor settings the SDK is generated with.
///
/// The builder interface keeps call sites readable for operations with many optional parameters
/// (`list_oauth2_clients().page_size(10).send()`); merged tags give one `Client` because
/// progenitor does not implement every interface/tag combination, and Hydra's tags are not a
/// useful split for callers.
pub fn settings() -> progenitor::GenerationSettings {
    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        // Every credential in Hydra's API is generated as the redacting `crate::Secret`; see
        // `fixups::secrets_as_secret_schema`.
        .with_replacement(fixups::SECRET_SCHEMA, "crate::Secret", std::iter::empty())
        // Every path parameter is the checked `crate::PathSegment`; see
        // `fixups::path_parameters_as_path_segment`.
        .with_replacement(
            fixups::PATH_SEGMENT_SCHEMA,
            "crate::PathSegment",
            std::iter::empty(),
        );
    settings
}

/// Verifies, fixes up and generates: the whole pipeline `build.rs` runs.
pub fn generate(spec: &[u8], provenance: &Provenance) -> Result<Generated, Error> {
    verify(spec, provenance)?;
    let mut value = parse(spec)?;
    let reports = fixups::apply_all(&mut value, provenance);
    let problems = fixups::preflight(&value);
    if !problems.is_empty() {
        return Err(Error::Preflight(problems));
    }
    let openapi: openapiv3::OpenAPI = serde_json::from_value(value.clone())
        .map_err(|e| Error::NotOpenApi(format!("it does not match the OpenAPI 3.0 schema: {e}")))?;

    // progenitor reports some unsupported shapes by panicking; turn that into an error so the
    // caller can say which spec failed. `preflight` catches the known ones first, with names.
    let tokens = std::panic::catch_unwind(|| {
        let mut generator = progenitor::Generator::new(&settings());
        generator.generate_tokens(&openapi)
    })
    .map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Error::Generator(format!("progenitor panicked: {why}"))
    })?
    .map_err(|e| Error::Generator(e.to_string()))?;

    let file: syn::File =
        syn::parse2(tokens).map_err(|e| Error::Generator(format!("unparsable output: {e}")))?;
    let surface = surface::render(&value, &file).map_err(Error::Generator)?;
    let success_decoders = surface::success_decoders(&file).map_err(Error::Generator)?;
    Ok(Generated {
        code: prettyplease::unparse(&file),
        surface,
        success_decoders,
        fixups: reports,
    })
}

#[cfg(test)]
mod tests {
    use super::Source;

    #[test]
    fn sources_are_told_apart_when_read_and_recorded_as_they_were() {
        for (text, expected) in [
            (
                "github.com/ory/hydra/v2",
                Source::GoModule("github.com/ory/hydra/v2".into()),
            ),
            (
                "https://x.test/api.json",
                Source::Url("https://x.test/api.json".into()),
            ),
            (
                "local file api.json",
                Source::File("local file api.json".into()),
            ),
            (
                "copied from a colleague",
                Source::File("copied from a colleague".into()),
            ),
            ("api.json", Source::File("api.json".into())),
        ] {
            let source = Source::parse(text);
            assert_eq!(source, expected, "{text}");
            assert_eq!(String::from(source), text);
        }
    }
}
