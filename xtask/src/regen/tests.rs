//! `regen_into` and `check_at` against a scratch copy of the files regen owns (`openapi/` and the
//! surface snapshot), never against the repository itself; the build is always skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use hydra_launcher::run::TempDir as Scratch;

use super::plan::SNAPSHOT_HEADER;
use super::*;

const OWNED: &[&str] = &[
    "openapi/api.json",
    "openapi/api.source.json",
    "openapi/README.md",
    "openapi/LICENSE",
    SNAPSHOT,
];

const NO_BUILD: Options = Options { build: false };

/// A scratch repository root holding copies of the files regen reads and writes.
fn scratch_repo() -> Scratch {
    let root = hydra_launcher::workspace_root();
    let scratch = Scratch::new("hydra-rs-regen-test").expect("scratch dir");
    for relative in OWNED {
        let to = scratch.path().join(relative);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(root.join(relative), &to).expect("copy");
    }
    scratch
}

/// Every file under the directories regen writes to, with its bytes: a stray temporary file
/// shows up as well as a changed one.
fn contents(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for dir in ["openapi", "hydra-sdk/tests/snapshots"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("read_dir") {
            let path = entry.expect("entry").path();
            out.insert(path.clone(), std::fs::read(&path).expect("read"));
        }
    }
    out
}

fn pinned_provenance(root: &Path) -> Provenance {
    Provenance::read(&root.join("openapi/api.source.json")).expect("provenance")
}

fn pinned_spec(root: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(root.join("openapi/api.json")).expect("spec"))
        .expect("JSON")
}

/// `bytes` as a file in a scratch directory of its own (not in the copy regen writes to).
fn input_file(bytes: &[u8]) -> (Scratch, PathBuf) {
    let dir = Scratch::new("hydra-rs-regen-input").expect("scratch dir");
    let path = dir.path().join("api.json");
    std::fs::write(&path, bytes).expect("write input");
    (dir, path)
}

fn from_file(path: &Path, version: &str, source: Option<&str>) -> SpecInput {
    SpecInput::File {
        path: path.to_path_buf(),
        version: version.into(),
        source: source.map(str::to_string),
    }
}

#[test]
fn regenerating_from_the_pinned_spec_as_a_file_changes_nothing() {
    let repo = scratch_repo();
    let before = contents(repo.path());
    let version = pinned_provenance(repo.path()).version;
    let (_dir, path) =
        input_file(&std::fs::read(repo.path().join("openapi/api.json")).expect("spec"));

    let report =
        regen_into(repo.path(), &from_file(&path, &version, None), &NO_BUILD).expect("regenerates");

    assert!(report.diff.is_empty(), "{}", report.diff);
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert!(report.surface.is_empty(), "{:?}", report.surface);
    assert!(report.fixups_not_found().is_empty(), "{report}");
    assert_eq!(report.provenance, pinned_provenance(repo.path()));
    assert_eq!(contents(repo.path()), before);
    assert!(report.to_string().contains("none changed"), "{report}");
}

#[test]
fn regenerating_from_the_pinned_spec_in_place_changes_nothing() {
    let repo = scratch_repo();
    let before = contents(repo.path());
    let report = regen_into(repo.path(), &SpecInput::Pinned, &NO_BUILD).expect("regenerates");
    assert!(
        report.diff.is_empty() && report.written.is_empty(),
        "{report}"
    );
    assert_eq!(contents(repo.path()), before);
    check_at(repo.path()).expect("the copy passes --check");
}

/// The pinned spec with one of each kind of change a Hydra release brings.
fn edited_spec(root: &Path) -> Vec<u8> {
    let mut spec = pinned_spec(root);
    super::test_edits::apply_release_edits(&mut spec);
    // Upstream names isReady's bodies: the fix-up that did so becomes obsolete.
    let ready = &mut spec["paths"]["/health/ready"]["get"]["responses"];
    ready["200"]["content"]["application/json"]["schema"] =
        json!({ "$ref": "#/components/schemas/healthStatus" });
    ready["503"]["content"]["application/json"]["schema"] =
        json!({ "$ref": "#/components/schemas/healthNotReadyStatus" });
    let mut bytes = serde_json::to_vec_pretty(&spec).expect("serialize");
    bytes.push(b'\n');
    bytes
}

#[test]
fn an_edited_spec_is_pinned_and_its_changes_reported() {
    let repo = scratch_repo();
    let license = std::fs::read(repo.path().join("openapi/LICENSE")).expect("LICENSE");
    let edited = edited_spec(repo.path());
    let (_dir, path) = input_file(&edited);

    let input = from_file(
        &path,
        "v2.3.1-test",
        Some("https://example.org/hydra/v2.3.1-test/api.json"),
    );
    let report = regen_into(repo.path(), &input, &NO_BUILD).expect("regenerates");

    assert_eq!(
        report.written,
        [
            "openapi/api.json",
            "openapi/api.source.json",
            "openapi/README.md",
            SNAPSHOT
        ]
    );
    assert_eq!(
        std::fs::read(repo.path().join("openapi/api.json")).expect("spec"),
        edited
    );
    assert_eq!(
        std::fs::read(repo.path().join("openapi/LICENSE")).expect("LICENSE"),
        license
    );
    let recorded = pinned_provenance(repo.path());
    assert_eq!(recorded.version, "v2.3.1-test");
    assert_eq!(recorded.sha256, hydra_sdk_codegen::sha256_hex(&edited));
    let readme = std::fs::read_to_string(repo.path().join("openapi/README.md")).expect("README");
    assert!(readme.contains("| version | v2.3.1-test |"), "{readme}");
    assert!(readme.contains(&recorded.sha256), "{readme}");
    let snapshot = std::fs::read_to_string(repo.path().join(SNAPSHOT)).expect("snapshot");
    assert!(snapshot.starts_with(SNAPSHOT_HEADER), "{snapshot}");
    assert!(snapshot.contains("rotateOAuth2ClientSecret rotate_oauth2_client_secret POST"));
    assert!(!snapshot.contains("getVersion"));
    // A fix-up that found nothing is in the report, and so is one that now does less or more.
    let shown = report.to_string();
    assert!(
        shown.contains("NOT FOUND name_is_ready_responses")
            && shown.contains("warning: 1 fix-up(s) found nothing to fix"),
        "{shown}"
    );
    let changed: Vec<&str> = report.fixups_changed.iter().map(|(_, a)| a.name).collect();
    assert_eq!(
        changed,
        [
            "error_default_responses_as_4xx_5xx",
            "name_is_ready_responses",
            // The added operation has one more path parameter to type, and is one more `OAuth2`
            // id to rename.
            "path_parameters_as_path_segment",
            "oauth2_in_method_names"
        ]
    );
    // What was written is consistent: CI's check passes on it.
    check_at(repo.path()).expect("--check passes after regen");
    // And doing it again is a no-op.
    let again = regen_into(repo.path(), &input, &NO_BUILD).expect("regenerates");
    assert!(again.written.is_empty() && again.diff.is_empty(), "{again}");

    // The digests change with every pin; the report's shape is what the snapshot is for.
    let shown = report
        .to_string()
        .replace(&recorded.sha256, "[edited sha256]")
        .replace(
            &report.previous.as_ref().expect("a previous pin").sha256,
            "[pinned sha256]",
        );
    insta::assert_snapshot!("edited_spec_report", shown);
}

#[test]
fn broken_inputs_are_refused_and_leave_openapi_untouched() {
    let repo = scratch_repo();
    let before = contents(repo.path());
    let pinned = std::fs::read(repo.path().join("openapi/api.json")).expect("spec");

    let mut swagger = pinned_spec(repo.path());
    let object = swagger.as_object_mut().expect("object");
    object.remove("openapi");
    object.insert("swagger".into(), json!("2.0"));
    let mut openapi_3_1 = pinned_spec(repo.path());
    openapi_3_1["openapi"] = json!("3.1.0");
    // progenitor allows one success body per operation; two different ones survive the fix-ups.
    let mut two_bodies = pinned_spec(repo.path());
    two_bodies["paths"]["/admin/clients"]["post"]["responses"]["202"] = json!({
        "description": "",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/jsonWebKey" } } }
    });

    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated", pinned[..pinned.len() / 2].to_vec(), "not JSON"),
        ("empty", Vec::new(), "not JSON"),
        (
            "swagger 2.0",
            serde_json::to_vec(&swagger).expect("serialize"),
            "Swagger 2.0",
        ),
        (
            "openapi 3.1",
            serde_json::to_vec(&openapi_3_1).expect("serialize"),
            "only 3.0.x",
        ),
        (
            "two success bodies",
            serde_json::to_vec(&two_bodies).expect("serialize"),
            "createOAuth2Client (POST /admin/clients): 2 different success bodies",
        ),
    ];
    for (name, bytes, expect) in cases {
        let (_dir, path) = input_file(&bytes);
        let err = regen_into(repo.path(), &from_file(&path, "v9.9.9", None), &NO_BUILD)
            .expect_err(name)
            .to_string();
        assert!(err.contains(expect), "{name}: {err}");
        assert!(err.contains("openapi/ is unchanged"), "{name}: {err}");
        assert_eq!(contents(repo.path()), before, "{name}");
    }

    let missing = repo.path().join("no-such-file.json");
    let err = regen_into(repo.path(), &from_file(&missing, "v9.9.9", None), &NO_BUILD)
        .expect_err("missing file")
        .to_string();
    assert!(err.contains("no-such-file.json"), "{err}");
    assert_eq!(contents(repo.path()), before);
}

#[test]
fn check_refuses_an_edited_spec_a_stale_snapshot_and_a_stale_readme() {
    let repo = scratch_repo();
    let summary = check_at(repo.path()).expect("the pinned copy passes");
    assert!(summary.contains("50 operations"), "{summary}");

    let spec_path = repo.path().join("openapi/api.json");
    let spec = std::fs::read(&spec_path).expect("spec");
    let mut edited = spec.clone();
    edited.push(b'\n');
    std::fs::write(&spec_path, &edited).expect("write");
    let err = check_at(repo.path()).expect_err("edited spec").to_string();
    assert!(err.contains("does not match its recorded sha256"), "{err}");
    std::fs::write(&spec_path, &spec).expect("restore");

    let snapshot_path = repo.path().join(SNAPSHOT);
    let snapshot = std::fs::read_to_string(&snapshot_path).expect("snapshot");
    let stale = snapshot.replace(
        "ok=OAuth2Client err=ErrorOAuth2\n",
        "ok=() err=ErrorOAuth2\n",
    );
    assert_ne!(stale, snapshot);
    std::fs::write(&snapshot_path, &stale).expect("write");
    let err = check_at(repo.path())
        .expect_err("stale snapshot")
        .to_string();
    assert!(
        err.contains("is not the surface openapi/api.json generates"),
        "{err}"
    );
    assert!(
        err.contains("+ createOAuth2Client create_oauth2_client POST /admin/clients"),
        "{err}"
    );
    std::fs::write(&snapshot_path, &snapshot).expect("restore");

    let readme_path = repo.path().join("openapi/README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README");
    let version = pinned_provenance(repo.path()).version;
    std::fs::write(
        &readme_path,
        readme.replace(&format!("| version | {version} |"), "| version | v0.0.1 |"),
    )
    .expect("write");
    let err = check_at(repo.path()).expect_err("stale README").to_string();
    assert!(err.contains("openapi/README.md does not describe"), "{err}");
    std::fs::write(&readme_path, &readme).expect("restore");

    check_at(repo.path()).expect("restored");
}

#[test]
fn a_file_input_needs_a_version_and_source_needs_a_file() {
    let err = run(&["--from".into(), "api.json".into()])
        .expect_err("no version")
        .to_string();
    assert!(err.contains("needs --version"), "{err}");
    let err = run(&[
        "--source".into(),
        "x".into(),
        "--version".into(),
        "v2.3.0".into(),
    ])
    .expect_err("source without from")
    .to_string();
    assert!(err.contains("--from"), "{err}");
    let err = run(&["--check".into(), "--version".into(), "v2.3.0".into()])
        .expect_err("check with a version")
        .to_string();
    assert!(err.contains("--check takes no other option"), "{err}");
}

mod fetching;
