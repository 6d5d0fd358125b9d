//! Fetch: the new spec's bytes and where they came from (the pinned file, a Go module through
//! `go mod download`, a URL through curl, or a local file). Nothing here judges the spec; the
//! plan does.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hydra_launcher::run::{output_within, Output, TempDir};
use hydra_sdk_codegen::{Provenance, Source};
use serde_json::Value;

use super::write::read_optional;
use super::{SpecInput, MODULE, SPEC_PATH};
use crate::Result;

const GO_TIMEOUT: Duration = Duration::from_secs(300);
const UNZIP_TIMEOUT: Duration = Duration::from_secs(60);
const CURL_TIMEOUT: Duration = Duration::from_secs(150);
const CURL_MAX_SECONDS: &str = "120";
const CURL_CONNECT_SECONDS: &str = "15";

/// What was fetched, before anything is checked.
pub(super) struct Fetched {
    pub spec: Vec<u8>,
    /// The Hydra release the spec belongs to.
    pub version: String,
    pub source: Source,
    /// The spec's path inside its source.
    pub path: String,
    /// The upstream license text, when the source has one (a Go module does).
    pub license_text: Option<Vec<u8>>,
    pub license: Option<String>,
    pub copyright: Option<String>,
}

impl Fetched {
    fn bare(spec: Vec<u8>, version: &str, source: Source, path: String) -> Fetched {
        Fetched {
            spec,
            version: version.to_string(),
            source,
            path,
            license_text: None,
            license: None,
            copyright: None,
        }
    }
}

/// `input`, in words, for the messages that refuse it.
pub(super) fn describe(input: &SpecInput) -> String {
    match input {
        SpecInput::Pinned => "the pinned spec (openapi/api.json)".to_string(),
        SpecInput::GoModule { version } => format!("{SPEC_PATH} of {MODULE}@{version}"),
        SpecInput::Url { url, .. } => format!("the spec from {url}"),
        SpecInput::File { path, .. } => format!("the spec in {}", path.display()),
    }
}

/// Fetches `input`; `previous` and `previous_spec` are what `openapi/` holds now.
pub(super) fn fetch(
    input: &SpecInput,
    previous: Option<&Provenance>,
    previous_spec: Option<&[u8]>,
) -> Result<Fetched> {
    match input {
        SpecInput::Pinned => {
            let previous =
                previous.ok_or("openapi/api.source.json is missing; give --version or --from")?;
            let spec =
                previous_spec.ok_or("openapi/api.json is missing; give --version or --from")?;
            Ok(Fetched::bare(
                spec.to_vec(),
                &previous.version,
                previous.source.clone(),
                previous.path.clone(),
            ))
        }
        SpecInput::GoModule { version } => from_go_module(version),
        SpecInput::Url { url, version } => from_url(url, version),
        SpecInput::File {
            path,
            version,
            source,
        } => from_file(path, version, source.as_deref(), previous),
    }
}

/// A local file. Its source is `origin` when given; else a file of the pinned version keeps the
/// recorded source (the same release, fetched by hand), and any other is recorded by file name.
fn from_file(
    path: &Path,
    version: &str,
    origin: Option<&str>,
    previous: Option<&Provenance>,
) -> Result<Fetched> {
    let spec = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let (source, spec_path) = match (origin, previous) {
        (Some(origin), _) => (Source::parse(origin), file_name),
        (None, Some(p)) if p.version == version => (p.source.clone(), p.path.clone()),
        (None, _) => (Source::File(format!("local file {file_name}")), file_name),
    };
    Ok(Fetched::bare(spec, version, source, spec_path))
}

/// The spec, license and copyright of `github.com/ory/hydra/v2@version`, through
/// `go mod download` (the module cache when it has it, else the Go module proxy).
pub(super) fn from_go_module(version: &str) -> Result<Fetched> {
    check_v2_release(version)?;
    let scratch = TempDir::new("hydra-rs-regen-go")?;
    let module_version = format!("{MODULE}@{version}");
    let mut command = Command::new("go");
    command
        .args(["mod", "download", "-json", &module_version])
        // Outside any module, and not in a go.work: nothing local may influence the download.
        .current_dir(scratch.path())
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off");
    let shown = format!("go mod download -json {module_version}");
    let output = run(&mut command, GO_TIMEOUT, &shown, || {
        format!(
            "`go` is not on PATH: it fetches the spec from the Go module proxy. Install Go, or \
             download {SPEC_PATH} yourself and pass --from FILE --version {version}"
        )
    })?;
    // On failure `go` still prints the JSON object, with an `Error` field.
    let info: Option<Value> = serde_json::from_slice(&output.stdout).ok();
    let field = |name: &str| {
        info.as_ref()
            .and_then(|i| i.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if let Some(error) = field("Error") {
        return Err(format!(
            "{shown} failed: {error}\n(is {version} a release of {MODULE}? Hydra v25 and later \
             are not on the module proxy; use --from with the release's spec)"
        )
        .into());
    }
    if !output.status.success() {
        return Err(failed(&shown, &output).into());
    }
    let read_in_module = |relative: &str| -> Result<Option<Vec<u8>>> {
        if let Some(dir) = field("Dir") {
            return read_optional(&Path::new(&dir).join(relative));
        }
        if let Some(zip) = field("Zip") {
            return unzip(&zip, &format!("{module_version}/{relative}"));
        }
        Err(format!("{shown} reported neither Dir nor Zip").into())
    };
    let spec =
        read_in_module(SPEC_PATH)?.ok_or_else(|| format!("{module_version} has no {SPEC_PATH}"))?;
    let license_text = read_in_module("LICENSE")?;
    // Hydra's Go files start with `// Copyright © 2022 Ory Corp` and an SPDX line; the spec's
    // own package is where its copyright is stated.
    let header = read_in_module("spec/api.go")?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let comment = |prefix: &str| {
        header
            .lines()
            .take(10)
            .find_map(|l| l.strip_prefix(prefix).map(|rest| rest.trim().to_string()))
    };
    Ok(Fetched {
        license_text,
        license: comment("// SPDX-License-Identifier:"),
        copyright: comment("// ").filter(|c| c.starts_with("Copyright")),
        ..Fetched::bare(
            spec,
            version,
            Source::GoModule(MODULE.into()),
            SPEC_PATH.into(),
        )
    })
}

/// Only v2.x.y releases are published under the Go module; `version` also reaches a command line.
fn check_v2_release(version: &str) -> Result {
    let valid = version.starts_with("v2.")
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    if !valid {
        return Err(format!(
            "--version {version:?}: the Go module {MODULE} has v2.x.y releases only. Hydra's \
             newer releases (v25 and later) are not published under it; download their \
             spec/api.json from the release (e.g. \
             https://raw.githubusercontent.com/ory/hydra/<tag>/spec/api.json) and pass \
             --from URL-or-FILE --version <tag>"
        )
        .into());
    }
    Ok(())
}

/// One file out of a module zip, with `unzip -p` (only when `go` reported no `Dir`).
fn unzip(zip: &str, member: &str) -> Result<Option<Vec<u8>>> {
    let mut command = Command::new("unzip");
    command.args(["-p", zip, member]);
    let shown = format!("unzip -p {zip} {member}");
    let output = run(&mut command, UNZIP_TIMEOUT, &shown, || {
        format!("`unzip` is not on PATH, and is needed to read {zip}")
    })?;
    // unzip exits 11 when the member is not in the archive.
    match output.status.code() {
        Some(0) => Ok(Some(output.stdout)),
        Some(11) => Ok(None),
        _ => Err(failed(&shown, &output).into()),
    }
}

/// The body of `url`, through curl (a bounded GET; xtask stays free of an HTTP stack).
fn from_url(url: &str, version: &str) -> Result<Fetched> {
    let scratch = TempDir::new("hydra-rs-regen-url")?;
    let out = scratch.path().join("api.json");
    let mut command = Command::new("curl");
    command
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--proto",
            "=http,https",
            // A spec served from loopback (a mirror, the tests' stand-in) never goes via a proxy.
            "--noproxy",
            "127.0.0.1,localhost,::1",
            "--max-time",
            CURL_MAX_SECONDS,
            "--connect-timeout",
            CURL_CONNECT_SECONDS,
            "--max-filesize",
            "67108864",
            "--output",
        ])
        .arg(&out)
        .arg(url);
    let output = run(&mut command, CURL_TIMEOUT, &format!("curl {url}"), || {
        format!(
            "`curl` is not on PATH: it downloads --from URL. Download {url} yourself and pass \
             --from FILE"
        )
    })?;
    if !output.status.success() {
        return Err(format!(
            "could not download {url} ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let spec = std::fs::read(&out).map_err(|e| format!("cannot read what curl wrote: {e}"))?;
    let path = url
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("api.json")
        .to_string();
    Ok(Fetched::bare(spec, version, Source::Url(url.into()), path))
}

/// Runs a fetching tool; `missing` says what to do when it is not installed.
fn run(
    command: &mut Command,
    timeout: Duration,
    shown: &str,
    missing: impl FnOnce() -> String,
) -> Result<Output> {
    output_within(command, timeout).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => missing().into(),
        _ => format!("{shown}: {e}").into(),
    })
}

fn failed(shown: &str, output: &Output) -> String {
    format!(
        "{shown} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned() -> Provenance {
        Provenance {
            version: "v1".into(),
            source: Source::Url("https://x.test/api.json".into()),
            path: "api.json".into(),
            sha256: String::new(),
            license: String::new(),
            copyright: String::new(),
        }
    }

    #[test]
    fn a_file_keeps_the_pinned_source_only_for_the_pinned_version() -> Result {
        let dir = TempDir::new("hydra-rs-regen-fetch-test")?;
        let file = dir.path().join("spec.json");
        std::fs::write(&file, b"{}")?;
        let same = from_file(&file, "v1", None, Some(&pinned()))?;
        assert_eq!(same.source, pinned().source);
        let other = from_file(&file, "v2", None, Some(&pinned()))?;
        assert_eq!(other.source, Source::File("local file spec.json".into()));
        assert_eq!(other.path, "spec.json");
        let named = from_file(&file, "v2", Some("https://y.test/a.json"), None)?;
        assert_eq!(named.source, Source::Url("https://y.test/a.json".into()));
        Ok(())
    }

    #[test]
    fn the_pinned_input_needs_a_pinned_spec() {
        let err = fetch(&SpecInput::Pinned, None, None)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("api.source.json is missing")));
        let fetched = fetch(&SpecInput::Pinned, Some(&pinned()), Some(b"{}")).ok();
        assert_eq!(
            fetched.map(|f| (f.version, f.spec)),
            Some(("v1".into(), b"{}".to_vec()))
        );
    }
}
