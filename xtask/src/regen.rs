//! `cargo xtask regen`: moves the SDK to a new Hydra spec in one command (fetch, generate, rewrite
//! `openapi/` and the surface snapshot, build) and says what changed. `--check` is CI's side: the
//! pinned spec is the one recorded, and the committed surface is the one it generates.
//!
//! Nothing is written unless the new spec parses, survives the fix-ups and the preflight, and
//! generates; then each file is written beside its target and renamed over it.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diff::SpecDiff;
use hydra_sdk_codegen::{fixups, Provenance};
use serde_json::Value;

use crate::Result;

/// The Go module whose `spec/api.json` is Hydra's spec (v2.x; v25+ are not published under it).
pub const MODULE: &str = "github.com/ory/hydra/v2";
/// The spec's path inside the module.
pub const SPEC_PATH: &str = "spec/api.json";
/// The surface snapshot, relative to the repository root.
pub const SNAPSHOT: &str = "hydra-sdk/tests/snapshots/surface__sdk_surface.snap";
/// What insta writes above a snapshot of `hydra-sdk/tests/surface.rs`, used when the snapshot
/// does not exist yet; an existing header is kept as it is.
const SNAPSHOT_HEADER: &str = "---\nsource: hydra-sdk/tests/surface.rs\nexpression: SURFACE\n---\n";

const GO_TIMEOUT: Duration = Duration::from_secs(300);
const CURL_MAX_SECONDS: &str = "120";
const CURL_CONNECT_SECONDS: &str = "15";

const USAGE: &str = "\
usage: cargo xtask regen --version vX.Y.Z              spec/api.json of github.com/ory/hydra/v2@vX.Y.Z
                                                       from the Go module proxy (needs `go`)
       cargo xtask regen --from URL --version V        a spec on the web (fetched with curl), e.g.
                                                       a Hydra v25+ release, which is not on the proxy
       cargo xtask regen --from FILE --version V [--source ORIGIN]
                                                       a local file; ORIGIN (e.g. the URL it came from)
                                                       is recorded as its source
       cargo xtask regen                               regenerate from the pinned spec (after a
                                                       fix-up change: refreshes the surface snapshot)
       cargo xtask regen --check                       the pinned spec matches its sha256 and the
                                                       committed surface is what it generates
options: --no-build    skip `cargo build --workspace` after writing
";

/// Where the new spec comes from.
#[derive(Debug, Clone)]
pub enum SpecInput {
    /// The spec already in `openapi/`, with its recorded provenance.
    Pinned,
    /// `spec/api.json` of `github.com/ory/hydra/v2@version`, from the Go module proxy.
    GoModule {
        /// A v2 release, e.g. `v2.3.0`.
        version: String,
    },
    /// A URL, fetched with curl.
    Url {
        /// `http://` or `https://`.
        url: String,
        /// The Hydra release the spec belongs to.
        version: String,
    },
    /// A local file.
    File {
        /// The file.
        path: PathBuf,
        /// The Hydra release the spec belongs to.
        version: String,
        /// Where the file came from, recorded as the spec's source. Without it, a file of the
        /// pinned version keeps the recorded source and any other is recorded by file name.
        source: Option<String>,
    },
}

/// How far `regen_into` goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run `cargo build --workspace` after writing.
    pub build: bool,
}

/// What a regeneration did.
#[derive(Debug)]
pub struct Report {
    /// The provenance before, if there was one.
    pub previous: Option<Provenance>,
    /// The provenance now recorded.
    pub provenance: Provenance,
    /// The raw upstream specs compared, before fix-ups.
    pub diff: SpecDiff,
    /// What each fix-up did to the new spec.
    pub fixups: Vec<fixups::Report>,
    /// Fix-ups that did something else to the previous spec (before, after): one that marks
    /// fewer secrets or rewrites fewer operations is as suspect as one that finds nothing.
    pub fixups_changed: Vec<(fixups::Report, fixups::Report)>,
    /// The surface snapshot's changed lines (one per operation), `- old` and `+ new`.
    pub surface: Vec<String>,
    /// Operations in the surface before and after.
    pub operation_count: (usize, usize),
    /// Files rewritten, relative to the repository root; unchanged files are not touched.
    pub written: Vec<String>,
    /// Things to look at by hand.
    pub notes: Vec<String>,
    /// `None` when the build was skipped.
    pub build: Option<std::result::Result<(), String>>,
}

impl Report {
    /// Fix-ups that found nothing to fix in the new spec.
    pub fn fixups_not_found(&self) -> Vec<&fixups::Report> {
        self.fixups
            .iter()
            .filter(|r| matches!(r.outcome, fixups::Outcome::NotFound(_)))
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let new = &self.provenance;
        match &self.previous {
            Some(old) if old.version != new.version => {
                writeln!(f, "Hydra spec {} -> {}", old.version, new.version)?
            }
            _ => writeln!(f, "Hydra spec {}", new.version)?,
        }
        writeln!(f, "  source  {}", source_text(new))?;
        match &self.previous {
            Some(old) if old.sha256 != new.sha256 => {
                writeln!(f, "  sha256  {} (was {})", new.sha256, old.sha256)?
            }
            _ => writeln!(f, "  sha256  {}", new.sha256)?,
        }

        writeln!(f, "\nAPI changes (the upstream specs, before fix-ups):")?;
        for line in self.diff.to_string().lines() {
            writeln!(f, "  {line}")?;
        }

        writeln!(
            f,
            "\nfix-ups (hydra-sdk/codegen/src/fixups.rs) on the new spec:"
        )?;
        for report in &self.fixups {
            writeln!(f, "  {report}")?;
        }
        if !self.fixups_changed.is_empty() {
            writeln!(f, "  changed from the previous spec:")?;
            for (before, after) in &self.fixups_changed {
                writeln!(f, "    {}", after.name)?;
                writeln!(f, "      was {}", outcome(&before.outcome))?;
                writeln!(f, "      now {}", outcome(&after.outcome))?;
            }
        }
        let not_found = self.fixups_not_found();
        if !not_found.is_empty() {
            writeln!(
                f,
                "  warning: {} fix-up(s) found nothing to fix: either Hydra repaired the defect \
                 (delete the fix-up) or the spec moved what it patches (update its match)",
                not_found.len()
            )?;
        }

        writeln!(f, "\nSDK surface ({SNAPSHOT}):")?;
        if self.surface.is_empty() {
            writeln!(f, "  unchanged ({} operations)", self.operation_count.1)?;
        }
        for line in &self.surface {
            writeln!(f, "  {line}")?;
        }

        writeln!(f, "\nfiles:")?;
        if self.written.is_empty() {
            writeln!(f, "  none changed")?;
        }
        for path in &self.written {
            writeln!(f, "  wrote {path}")?;
        }
        if !self.notes.is_empty() {
            writeln!(f, "\nto look at:")?;
            for note in &self.notes {
                writeln!(f, "  - {note}")?;
            }
        }
        match &self.build {
            None => writeln!(f, "\nbuild: skipped"),
            Some(Ok(())) => writeln!(f, "\nbuild: cargo build --workspace passed"),
            Some(Err(why)) => writeln!(f, "\nbuild: FAILED: {why}"),
        }
    }
}

fn outcome(outcome: &fixups::Outcome) -> String {
    match outcome {
        fixups::Outcome::Applied(what) => format!("applied: {what}"),
        fixups::Outcome::NotFound(what) => format!("NOT FOUND: {what}"),
    }
}

/// `cargo xtask regen [...]`.
pub fn run(args: &[String]) -> Result {
    let mut version = None;
    let mut from = None;
    let mut source = None;
    let mut check = false;
    let mut build = true;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--version" => version = Some(value()?),
            "--from" => from = Some(value()?),
            "--source" => source = Some(value()?),
            "--check" => check = true,
            "--no-build" => build = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unexpected argument {other:?}\n\n{USAGE}").into()),
        }
    }
    let root = hydra_launcher::workspace_root();
    if check {
        if version.is_some() || from.is_some() || source.is_some() {
            return Err(format!("--check takes no other option\n\n{USAGE}").into());
        }
        let summary = check_at(&root)?;
        println!("{summary}");
        return Ok(());
    }
    if source.is_some() && from.is_none() {
        return Err("--source describes a --from FILE; give --from too".into());
    }
    let input = match (from, version) {
        (None, None) => SpecInput::Pinned,
        (None, Some(version)) => SpecInput::GoModule { version },
        (Some(from), None) => {
            return Err(format!(
                "--from {from} needs --version: the Hydra release the spec belongs to, so that \
                 openapi/api.source.json records it (and the SDK sends it as `api-version`)"
            )
            .into())
        }
        (Some(from), Some(version)) if is_url(&from) => {
            if source.is_some() {
                return Err("--source is for a local file; a URL is its own source".into());
            }
            SpecInput::Url { url: from, version }
        }
        (Some(from), Some(version)) => SpecInput::File {
            path: PathBuf::from(from),
            version,
            source,
        },
    };
    let report = regen_into(&root, &input, &Options { build })?;
    print!("{report}");
    if let Some(Err(_)) = &report.build {
        return Err(format!(
            "the workspace does not build against the new spec; the files above are written \
             (so the errors can be fixed against them); `git checkout -- openapi {SNAPSHOT}` \
             goes back"
        )
        .into());
    }
    Ok(())
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// What was fetched, before anything is checked.
struct Fetched {
    spec: Vec<u8>,
    module: String,
    path: String,
    /// The upstream license text, when the source has one (a Go module does).
    license_text: Option<Vec<u8>>,
    license: Option<String>,
    copyright: Option<String>,
}

/// Regenerates the repository at `root` from `input`: everything `cargo xtask regen` does, with
/// the build optional, so tests can run it on a scratch copy.
pub fn regen_into(root: &Path, input: &SpecInput, options: &Options) -> Result<Report> {
    let openapi = root.join("openapi");
    let source_path = openapi.join("api.source.json");
    let previous = if source_path.exists() {
        Some(Provenance::read(&source_path)?)
    } else {
        None
    };
    let previous_spec = read_optional(&openapi.join("api.json"))?;

    let (fetched, version) = match input {
        SpecInput::Pinned => {
            let previous = previous
                .as_ref()
                .ok_or("openapi/api.source.json is missing; give --version or --from")?;
            let spec = previous_spec
                .clone()
                .ok_or("openapi/api.json is missing; give --version or --from")?;
            let fetched = Fetched {
                spec,
                module: previous.module.clone(),
                path: previous.path.clone(),
                license_text: None,
                license: None,
                copyright: None,
            };
            (fetched, previous.version.clone())
        }
        SpecInput::GoModule { version } => (from_go_module(version)?, version.clone()),
        SpecInput::Url { url, version } => (from_url(url)?, version.clone()),
        SpecInput::File {
            path,
            version,
            source,
        } => {
            let spec =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            let (module, spec_path) = match (source, &previous) {
                (Some(source), _) => (source.clone(), file_name),
                // The same release, fetched by hand: where it came from has not changed.
                (None, Some(p)) if &p.version == version => (p.module.clone(), p.path.clone()),
                (None, _) => (format!("local file {file_name}"), file_name),
            };
            let fetched = Fetched {
                spec,
                module,
                path: spec_path,
                license_text: None,
                license: None,
                copyright: None,
            };
            (fetched, version.clone())
        }
    };
    let described = match input {
        SpecInput::Pinned => "the pinned spec (openapi/api.json)".to_string(),
        SpecInput::GoModule { version } => format!("{SPEC_PATH} of {MODULE}@{version}"),
        SpecInput::Url { url, .. } => format!("the spec from {url}"),
        SpecInput::File { path, .. } => format!("the spec in {}", path.display()),
    };

    // Every check that can refuse the spec runs before anything is written.
    let new_raw = hydra_sdk_codegen::parse(&fetched.spec)
        .map_err(|e| format!("{described} is refused, openapi/ is unchanged: {e}"))?;
    let mut notes = Vec::new();
    let provenance = Provenance {
        version,
        module: fetched.module,
        path: fetched.path,
        sha256: hydra_sdk_codegen::sha256_hex(&fetched.spec),
        license: fetched
            .license
            .or_else(|| previous.as_ref().map(|p| p.license.clone()))
            .unwrap_or_else(|| "Apache-2.0".into()),
        copyright: fetched
            .copyright
            .or_else(|| previous.as_ref().map(|p| p.copyright.clone()))
            .unwrap_or_else(|| "Copyright © Ory Corp".into()),
    };
    let generated = hydra_sdk_codegen::generate(&fetched.spec, &provenance)
        .map_err(|e| format!("{described} cannot be generated, openapi/ is unchanged: {e}"))?;

    let old_raw = match &previous_spec {
        None => Value::Object(Default::default()),
        Some(bytes) => serde_json::from_slice(bytes).unwrap_or_else(|e| {
            notes.push(format!(
                "the previous openapi/api.json is not JSON ({e}); the diff treats it as empty"
            ));
            Value::Object(Default::default())
        }),
    };
    let diff = diff::diff(&old_raw, &new_raw);
    // The same fix-ups on the previous spec, with the new provenance so that only the specs
    // differ: a fix-up that now does less shows up even when it still "applies".
    let fixups_changed = match previous_spec.as_deref().map(hydra_sdk_codegen::parse) {
        Some(Ok(mut before)) => fixups::apply_all(&mut before, &provenance)
            .into_iter()
            .zip(&generated.fixups)
            .filter(|(before, after)| before != *after)
            .map(|(before, after)| (before, after.clone()))
            .collect(),
        _ => Vec::new(),
    };

    // The files, as they should be.
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("openapi/api.json".into(), fetched.spec.clone()),
        (
            "openapi/api.source.json".into(),
            (serde_json::to_string_pretty(&provenance)? + "\n").into_bytes(),
        ),
    ];
    match fetched.license_text {
        Some(text) => files.push(("openapi/LICENSE".into(), text)),
        None if matches!(input, SpecInput::Url { .. } | SpecInput::File { .. }) => {
            notes.push(format!(
                "openapi/LICENSE and the recorded license ({}, {}) are kept from the previous \
                 pin: a spec from {} carries no license file; check that upstream's license has \
                 not changed",
                provenance.license,
                provenance.copyright,
                if matches!(input, SpecInput::Url { .. }) {
                    "a URL"
                } else {
                    "a file"
                }
            ));
        }
        None => {}
    }
    let readme_path = openapi.join("README.md");
    match read_optional(&readme_path)? {
        Some(readme) => {
            let readme = String::from_utf8_lossy(&readme);
            let (updated, missing) = update_readme_table(&readme, &provenance);
            if !missing.is_empty() {
                notes.push(format!(
                    "openapi/README.md has no table row for {}; update it by hand",
                    missing.join(", ")
                ));
            }
            files.push(("openapi/README.md".into(), updated.into_bytes()));
        }
        None => notes.push("openapi/README.md is missing; not written".into()),
    }
    // Lessons of earlier bumps that only a running Hydra taught: listed on every report.
    if let Some(checks) = read_optional(&openapi.join("hand-checks.md"))? {
        let checks = String::from_utf8_lossy(&checks);
        for item in checks.lines().filter_map(|l| l.strip_prefix("- ")) {
            notes.push(format!(
                "checked by hand at an earlier bump (openapi/hand-checks.md): {item}"
            ));
        }
    }
    let snapshot_path = root.join(SNAPSHOT);
    let old_snapshot = read_optional(&snapshot_path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let (header, old_surface) = split_snapshot(&old_snapshot);
    let header = header.unwrap_or(SNAPSHOT_HEADER);
    files.push((
        SNAPSHOT.into(),
        format!("{header}{}", generated.surface).into_bytes(),
    ));

    let old_lines: Vec<&str> = old_surface.lines().collect();
    let new_lines: Vec<&str> = generated.surface.lines().collect();
    let surface = surface_diff(&old_lines, &new_lines);
    let operation_count = (old_lines.len(), new_lines.len());
    if operation_count.0 != operation_count.1 {
        notes.push(format!(
            "the SDK has {} operations, was {}: hydra-sdk/tests/surface.rs and README.md name \
             the count",
            operation_count.1, operation_count.0
        ));
    }
    if provenance.version != hydra_launcher::HYDRA_VERSION {
        notes.push(format!(
            "the launcher's default Hydra is {} (hydra_launcher::HYDRA_VERSION in \
             xtask/launcher/src/release.rs, where each release's source is pinned); the SDK now \
             follows {}",
            hydra_launcher::HYDRA_VERSION,
            provenance.version
        ));
    }

    let written = write_all(root, &files)?;

    let build = options.build.then(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!("==> cargo build --workspace");
        match Command::new(&cargo)
            .args(["build", "--workspace"])
            .current_dir(root)
            .status()
        {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("cargo build --workspace: {status}")),
            Err(e) => Err(format!("could not run cargo build: {e}")),
        }
    });

    Ok(Report {
        previous,
        provenance,
        diff,
        fixups: generated.fixups,
        fixups_changed,
        surface,
        operation_count,
        written,
        notes,
        build,
    })
}

/// The surface's changed lines, `- old` and `+ new`. A line starts with its operation id, so a
/// changed operation's two lines are listed together, in the new surface's order, after the
/// operations that are gone.
fn surface_diff(old: &[&str], new: &[&str]) -> Vec<String> {
    let id = |line: &str| line.split(' ').next().unwrap_or_default().to_string();
    let new_ids: Vec<String> = new.iter().map(|l| id(l)).collect();
    let mut out: Vec<String> = old
        .iter()
        .filter(|l| !new_ids.contains(&id(l)))
        .map(|l| format!("- {l}"))
        .collect();
    for line in new.iter().filter(|l| !old.contains(l)) {
        if let Some(before) = old.iter().find(|o| id(o) == id(line)) {
            out.push(format!("- {before}"));
        }
        out.push(format!("+ {line}"));
    }
    out
}

/// `--check`: the pinned spec is the one recorded, the committed surface snapshot is what it
/// generates, and `openapi/README.md` names the recorded version and sha256. Returns a one-line
/// summary.
pub fn check_at(root: &Path) -> Result<String> {
    let openapi = root.join("openapi");
    let provenance = Provenance::read(&openapi.join("api.source.json"))?;
    let spec_path = openapi.join("api.json");
    let spec = std::fs::read(&spec_path)
        .map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    // `generate` verifies the sha256 first; its message says how to recover.
    let generated = hydra_sdk_codegen::generate(&spec, &provenance)?;

    let snapshot = std::fs::read_to_string(root.join(SNAPSHOT))
        .map_err(|e| format!("cannot read {SNAPSHOT}: {e}"))?;
    let (_, committed) = split_snapshot(&snapshot);
    if committed.trim_end() != generated.surface.trim_end() {
        let committed: Vec<&str> = committed.lines().collect();
        let now: Vec<&str> = generated.surface.lines().collect();
        let mut lines = String::new();
        for line in surface_diff(&committed, &now) {
            lines.push_str(&format!("\n  {line}"));
        }
        if lines.is_empty() {
            lines.push_str("\n  (same lines, different order)");
        }
        return Err(format!(
            "{SNAPSHOT} is not the surface openapi/api.json generates \
             (committed -, generated +):{lines}\n\
             review the change, then `cargo xtask regen --no-build` rewrites the snapshot"
        )
        .into());
    }

    let readme = std::fs::read_to_string(openapi.join("README.md"))
        .map_err(|e| format!("cannot read openapi/README.md: {e}"))?;
    let (expected, _) = update_readme_table(&readme, &provenance);
    if expected != readme {
        return Err(format!(
            "openapi/README.md does not describe the pinned spec (api.source.json says {}, \
             sha256 {}); `cargo xtask regen --no-build` rewrites its table",
            provenance.version, provenance.sha256
        )
        .into());
    }
    if !openapi.join("LICENSE").is_file() {
        return Err("openapi/LICENSE is missing: the pinned spec is redistributed under it".into());
    }
    Ok(format!(
        "openapi/ is Hydra {} (sha256 {}), and the committed surface ({} operations) is what it \
         generates",
        provenance.version,
        provenance.sha256,
        generated.surface.lines().count()
    ))
}

/// Writes each file that differs from what is on disk: all to temporary files beside their
/// targets first, then renamed over them. Returns the paths written.
fn write_all(root: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<String>> {
    let mut pending = Vec::new();
    for (relative, bytes) in files {
        let target = root.join(relative);
        if read_optional(&target)?.as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = target.with_file_name(format!(".{name}.regen-tmp"));
        if let Err(e) = std::fs::write(&temporary, bytes) {
            let _ = std::fs::remove_file(&temporary);
            for (temporary, _, _) in &pending {
                let _ = std::fs::remove_file(temporary);
            }
            return Err(format!("cannot write {}: {e}", temporary.display()).into());
        }
        pending.push((temporary, target, relative.clone()));
    }
    let mut written = Vec::new();
    for (temporary, target, relative) in pending {
        std::fs::rename(&temporary, &target).map_err(|e| {
            format!(
                "cannot move {} to {}: {e} (already written: {written:?})",
                temporary.display(),
                target.display()
            )
        })?;
        written.push(relative);
    }
    Ok(written)
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display()).into()),
    }
}

/// An insta snapshot file's header (through the second `---` line) and its contents.
fn split_snapshot(text: &str) -> (Option<&str>, &str) {
    if let Some(rest) = text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            let split = 4 + end + 5;
            return (Some(&text[..split]), &text[split..]);
        }
    }
    (None, text)
}

/// Where the spec came from, in words, for the report and `openapi/README.md`.
fn source_text(p: &Provenance) -> String {
    if is_url(&p.module) {
        format!("`{}` (`cargo xtask regen --from`)", p.module)
    } else if p.module.starts_with("local file ") || p.module.contains(' ') {
        format!("{} (`cargo xtask regen --from`)", p.module)
    } else {
        format!(
            "`{path}` inside the Go module `{module}@{version}`, as the Go module proxy serves it \
             (`go mod download -json {module}@{version}`)",
            path = p.path,
            module = p.module,
            version = p.version
        )
    }
}

/// `openapi/README.md` with its table rows (version, source, sha256, license) describing
/// `provenance`; and the rows it could not find.
fn update_readme_table(readme: &str, provenance: &Provenance) -> (String, Vec<&'static str>) {
    let rows: [(&'static str, String); 4] = [
        ("version", provenance.version.clone()),
        ("source", source_text(provenance)),
        ("sha256", format!("`{}`", provenance.sha256)),
        (
            "license",
            format!(
                "{}, {}; the full text is in `LICENSE` beside this file",
                provenance.license, provenance.copyright
            ),
        ),
    ];
    let mut found = [false; 4];
    let mut out = String::with_capacity(readme.len());
    for line in readme.split_inclusive('\n') {
        let row = rows
            .iter()
            .position(|(key, _)| line.starts_with(&format!("| {key} |")));
        match row {
            Some(i) => {
                found[i] = true;
                let (key, value) = &rows[i];
                let newline = if line.ends_with('\n') { "\n" } else { "" };
                out.push_str(&format!("| {key} | {value} |{newline}"));
            }
            None => out.push_str(line),
        }
    }
    let missing = rows
        .iter()
        .zip(found)
        .filter(|(_, found)| !found)
        .map(|((key, _), _)| *key)
        .collect();
    (out, missing)
}

/// A scratch directory, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new empty directory under the system's temporary directory.
    pub fn new(what: &str) -> Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "hydra-rs-{what}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The spec, license and copyright of `github.com/ory/hydra/v2@version`, through
/// `go mod download` (the module cache when it has it, else the Go module proxy).
fn from_go_module(version: &str) -> Result<Fetched> {
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
    let scratch = Scratch::new("regen-go")?;
    let module_version = format!("{MODULE}@{version}");
    let mut command = Command::new("go");
    command
        .args(["mod", "download", "-json", &module_version])
        // Outside any module, and not in a go.work: nothing local may influence the download.
        .current_dir(scratch.path())
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off");
    let shown = format!("go mod download -json {module_version}");
    let output = run_bounded(command, GO_TIMEOUT).map_err(|e| match e {
        RunError::NotFound => format!(
            "`go` is not on PATH: it fetches the spec from the Go module proxy. Install Go, or \
             download {SPEC_PATH} yourself and pass --from FILE --version {version}"
        ),
        RunError::Other(why) => format!("{shown}: {why}"),
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
    if !output.success {
        return Err(format!(
            "{shown} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
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
        spec,
        module: MODULE.into(),
        path: SPEC_PATH.into(),
        license_text,
        license: comment("// SPDX-License-Identifier:"),
        copyright: comment("// ").filter(|c| c.starts_with("Copyright")),
    })
}

/// One file out of a module zip, with `unzip -p` (only when `go` reported no `Dir`).
fn unzip(zip: &str, member: &str) -> Result<Option<Vec<u8>>> {
    let mut command = Command::new("unzip");
    command.args(["-p", zip, member]);
    let output = run_bounded(command, Duration::from_secs(60)).map_err(|e| match e {
        RunError::NotFound => format!("`unzip` is not on PATH, and is needed to read {zip}"),
        RunError::Other(why) => format!("unzip -p {zip} {member}: {why}"),
    })?;
    // unzip exits 11 when the member is not in the archive.
    match output.status.code() {
        Some(0) => Ok(Some(output.stdout)),
        Some(11) => Ok(None),
        _ => Err(format!(
            "unzip -p {zip} {member} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into()),
    }
}

/// The body of `url`, through curl (a bounded GET; xtask stays free of an HTTP stack).
fn from_url(url: &str) -> Result<Fetched> {
    let scratch = Scratch::new("regen-url")?;
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
    let output = run_bounded(command, Duration::from_secs(150)).map_err(|e| match e {
        RunError::NotFound => format!(
            "`curl` is not on PATH: it downloads --from URL. Download {url} yourself and pass \
             --from FILE"
        ),
        RunError::Other(why) => format!("curl {url}: {why}"),
    })?;
    if !output.success {
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
    Ok(Fetched {
        spec,
        module: url.into(),
        path,
        license_text: None,
        license: None,
        copyright: None,
    })
}

struct Output {
    status: std::process::ExitStatus,
    success: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

enum RunError {
    NotFound,
    Other(String),
}

/// Runs `command` to completion, killing it after `timeout`.
fn run_bounded(mut command: Command, timeout: Duration) -> std::result::Result<Output, RunError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RunError::NotFound,
            _ => RunError::Other(format!("could not start: {e}")),
        })?;
    // Read both pipes while waiting, so a chatty child cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Other(format!(
                    "no answer after {timeout:?}; stopped it"
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(RunError::Other(format!("could not wait for it: {e}"))),
        }
    };
    Ok(Output {
        status,
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

mod diff;

#[cfg(test)]
mod tests;
