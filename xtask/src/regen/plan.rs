//! Plan: from a fetched spec to the files `openapi/` and the surface snapshot should hold, with
//! what changed and what to look at by hand. Every check that can refuse the spec runs here,
//! before anything is written.

use std::path::Path;

use hydra_sdk_codegen::{fixups, Generated, Provenance};
use serde_json::Value;

use super::diff;
use super::fetch::{describe, Fetched};
use super::report::{source_text, Report};
use super::write::read_optional;
use super::{SpecInput, SNAPSHOT};
use crate::Result;

/// What insta writes above a snapshot of `hydra-sdk/tests/surface.rs`, used when the snapshot
/// does not exist yet; an existing header is kept as it is.
pub(super) const SNAPSHOT_HEADER: &str =
    "---\nsource: hydra-sdk/tests/surface.rs\nexpression: SURFACE\n---\n";

/// What `openapi/` holds before the regeneration.
pub(super) struct Pinned {
    pub provenance: Option<Provenance>,
    pub spec: Option<Vec<u8>>,
}

/// Everything a regeneration will write and report, decided before anything is written.
pub(super) struct Plan {
    /// The files as they should be, relative to the repository root.
    pub files: Vec<(String, Vec<u8>)>,
    /// The report, but for what only writing and building can tell (`written`, `build`).
    pub report: Report,
}

/// Checks and generates the `fetched` spec, and plans the files of the repository at `root`.
pub(super) fn plan(
    root: &Path,
    input: &SpecInput,
    fetched: Fetched,
    pinned: &Pinned,
) -> Result<Plan> {
    let described = describe(input);
    let new_raw = hydra_sdk_codegen::parse(&fetched.spec)
        .map_err(|e| format!("{described} is refused, openapi/ is unchanged: {e}"))?;
    let provenance = provenance_of(&fetched, pinned.provenance.as_ref());
    let generated = hydra_sdk_codegen::generate(&fetched.spec, &provenance)
        .map_err(|e| format!("{described} cannot be generated, openapi/ is unchanged: {e}"))?;

    let mut notes = Vec::new();
    let old_raw = match &pinned.spec {
        None => Value::Object(Default::default()),
        Some(bytes) => serde_json::from_slice(bytes).unwrap_or_else(|e| {
            notes.push(format!(
                "the previous openapi/api.json is not JSON ({e}); the diff treats it as empty"
            ));
            Value::Object(Default::default())
        }),
    };
    let diff = diff::diff(&old_raw, &new_raw);
    let fixups_changed = fixups_changed(pinned.spec.as_deref(), &provenance, &generated);

    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("openapi/api.json".into(), fetched.spec),
        (
            "openapi/api.source.json".into(),
            (serde_json::to_string_pretty(&provenance)? + "\n").into_bytes(),
        ),
    ];
    match fetched.license_text {
        Some(text) => files.push(("openapi/LICENSE".into(), text)),
        None if matches!(input, SpecInput::Url { .. } | SpecInput::File { .. }) => {
            notes.push(license_kept_note(input, &provenance))
        }
        None => {}
    }
    files.extend(openapi_notes(
        &root.join("openapi"),
        &provenance,
        &mut notes,
    )?);
    let (snapshot, surface, operation_count) = surface_file(root, &generated)?;
    files.push(snapshot);
    notes.extend(count_and_version_notes(operation_count, &provenance));

    let report = Report {
        previous: pinned.provenance.clone(),
        provenance,
        diff,
        fixups: generated.fixups,
        fixups_changed,
        surface,
        operation_count,
        written: Vec::new(),
        notes,
        build: None,
    };
    Ok(Plan { files, report })
}

/// The provenance to record: what was fetched, with the license and copyright of the previous
/// pin where the source does not state them.
fn provenance_of(fetched: &Fetched, previous: Option<&Provenance>) -> Provenance {
    Provenance {
        version: fetched.version.clone(),
        source: fetched.source.clone(),
        path: fetched.path.clone(),
        sha256: hydra_sdk_codegen::sha256_hex(&fetched.spec),
        license: fetched
            .license
            .clone()
            .or_else(|| previous.map(|p| p.license.clone()))
            .unwrap_or_else(|| "Apache-2.0".into()),
        copyright: fetched
            .copyright
            .clone()
            .or_else(|| previous.map(|p| p.copyright.clone()))
            .unwrap_or_else(|| "Copyright © Ory Corp".into()),
    }
}

/// The same fix-ups on the previous spec, with the new provenance so that only the specs
/// differ: a fix-up that now does less shows up even when it still "applies".
fn fixups_changed(
    previous_spec: Option<&[u8]>,
    provenance: &Provenance,
    generated: &Generated,
) -> Vec<(fixups::Report, fixups::Report)> {
    match previous_spec.map(hydra_sdk_codegen::parse) {
        Some(Ok(mut before)) => fixups::apply_all(&mut before, provenance)
            .into_iter()
            .zip(&generated.fixups)
            .filter(|(before, after)| before != *after)
            .map(|(before, after)| (before, after.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

fn license_kept_note(input: &SpecInput, provenance: &Provenance) -> String {
    format!(
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
    )
}

/// `openapi/README.md` with its table updated, and the hand checks of earlier bumps as notes.
fn openapi_notes(
    openapi: &Path,
    provenance: &Provenance,
    notes: &mut Vec<String>,
) -> Result<Option<(String, Vec<u8>)>> {
    let readme = match read_optional(&openapi.join("README.md"))? {
        Some(readme) => {
            let readme = String::from_utf8_lossy(&readme);
            let (updated, missing) = update_readme_table(&readme, provenance);
            if !missing.is_empty() {
                notes.push(format!(
                    "openapi/README.md has no table row for {}; update it by hand",
                    missing.join(", ")
                ));
            }
            Some(("openapi/README.md".into(), updated.into_bytes()))
        }
        None => {
            notes.push("openapi/README.md is missing; not written".into());
            None
        }
    };
    // Lessons of earlier bumps that only a running Hydra taught: listed on every report.
    if let Some(checks) = read_optional(&openapi.join("hand-checks.md"))? {
        let checks = String::from_utf8_lossy(&checks);
        for item in checks.lines().filter_map(|l| l.strip_prefix("- ")) {
            notes.push(format!(
                "checked by hand at an earlier bump (openapi/hand-checks.md): {item}"
            ));
        }
    }
    Ok(readme)
}

type SurfacePlan = ((String, Vec<u8>), Vec<String>, (usize, usize));

/// The surface snapshot as it should be (keeping its header), its changed lines, and the
/// operation counts before and after.
fn surface_file(root: &Path, generated: &Generated) -> Result<SurfacePlan> {
    let old_snapshot = read_optional(&root.join(SNAPSHOT))?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let (header, old_surface) = split_snapshot(&old_snapshot);
    let header = header.unwrap_or(SNAPSHOT_HEADER);
    let file = (
        SNAPSHOT.to_string(),
        format!("{header}{}", generated.surface).into_bytes(),
    );
    let old_lines: Vec<&str> = old_surface.lines().collect();
    let new_lines: Vec<&str> = generated.surface.lines().collect();
    let surface = surface_diff(&old_lines, &new_lines);
    Ok((file, surface, (old_lines.len(), new_lines.len())))
}

fn count_and_version_notes(count: (usize, usize), provenance: &Provenance) -> Vec<String> {
    let mut notes = Vec::new();
    if count.0 != count.1 {
        notes.push(format!(
            "the SDK has {} operations, was {}: hydra-sdk/tests/surface.rs and README.md name \
             the count",
            count.1, count.0
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
    notes
}

/// The surface's changed lines, `- old` and `+ new`. A line starts with its operation id, so a
/// changed operation's two lines are listed together, in the new surface's order, after the
/// operations that are gone.
pub(super) fn surface_diff(old: &[&str], new: &[&str]) -> Vec<String> {
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

/// An insta snapshot file's header (through the second `---` line) and its contents.
pub(super) fn split_snapshot(text: &str) -> (Option<&str>, &str) {
    if let Some(rest) = text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            let split = 4 + end + 5;
            return (text.get(..split), text.get(split..).unwrap_or_default());
        }
    }
    (None, text)
}

/// `openapi/README.md` with its table rows (version, source, sha256, license) describing
/// `provenance`; and the rows it could not find.
pub(super) fn update_readme_table(
    readme: &str,
    provenance: &Provenance,
) -> (String, Vec<&'static str>) {
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
            .zip(found.iter_mut())
            .find(|((key, _), _)| line.starts_with(&format!("| {key} |")));
        match row {
            Some(((key, value), found)) => {
                *found = true;
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

#[cfg(test)]
mod tests {
    use hydra_sdk_codegen::Source;

    use super::*;

    #[test]
    fn a_changed_operation_shows_its_old_and_new_lines_together() {
        let old = ["a x GET /a", "b x GET /b", "gone x GET /g"];
        let new = ["a x GET /a", "b y GET /b", "new x GET /n"];
        assert_eq!(
            surface_diff(&old, &new),
            [
                "- gone x GET /g",
                "- b x GET /b",
                "+ b y GET /b",
                "+ new x GET /n"
            ]
        );
    }

    #[test]
    fn a_snapshot_header_is_split_off_and_kept() {
        assert_eq!(
            split_snapshot("---\nsource: x\n---\nbody\n"),
            (Some("---\nsource: x\n---\n"), "body\n")
        );
        assert_eq!(split_snapshot("body\n"), (None, "body\n"));
    }

    #[test]
    fn the_readme_table_is_rewritten_and_missing_rows_named() {
        let provenance = Provenance {
            version: "v9".into(),
            source: Source::Url("https://x.test/a.json".into()),
            path: "a.json".into(),
            sha256: "ff".into(),
            license: "Apache-2.0".into(),
            copyright: "C".into(),
        };
        let readme = "# spec\n| version | v1 |\n| sha256 | `00` |\ntext\n";
        let (updated, missing) = update_readme_table(readme, &provenance);
        assert_eq!(
            updated,
            "# spec\n| version | v9 |\n| sha256 | `ff` |\ntext\n"
        );
        assert_eq!(missing, ["source", "license"]);
    }
}
