//! The fix-ups against the pinned spec: each finds its defect once, and only once.

use hydra_sdk_codegen::fixups::{self, Outcome};
use hydra_sdk_codegen::{generate, parse, verify, Error, Provenance};

const SPEC: &[u8] = include_bytes!("../../../openapi/api.json");
const SOURCE: &str = include_str!("../../../openapi/api.source.json");

fn provenance() -> Provenance {
    serde_json::from_str(SOURCE).expect("api.source.json")
}

#[test]
fn the_pinned_spec_matches_its_recorded_sha256() {
    verify(SPEC, &provenance()).expect("pinned spec");
}

#[test]
fn a_changed_spec_is_refused_with_a_message_that_says_so() {
    let mut changed = SPEC.to_vec();
    changed.push(b'\n');
    let err = generate(&changed, &provenance()).expect_err("one byte more");
    assert!(matches!(err, Error::Sha256Mismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("does not match its recorded sha256"),
        "{err}"
    );
}

#[test]
fn every_fixup_applies_to_the_pinned_spec_and_is_idempotent() {
    let mut spec = parse(SPEC).expect("OpenAPI 3.0");
    let first = fixups::apply_all(&mut spec, &provenance());
    assert_eq!(first.len(), fixups::ALL.len());
    for report in &first {
        assert!(matches!(report.outcome, Outcome::Applied(_)), "{report}");
    }
    // Run again on the fixed spec: nothing is left to fix, and each fix-up says so.
    let second = fixups::apply_all(&mut spec, &provenance());
    for report in &second {
        assert!(matches!(report.outcome, Outcome::NotFound(_)), "{report}");
    }
    assert!(fixups::preflight(&spec).is_empty());
}

#[test]
fn without_fixups_preflight_names_the_operations_progenitor_would_panic_on() {
    let spec = parse(SPEC).expect("OpenAPI 3.0");
    let problems = fixups::preflight(&spec);
    // 44 operations of v26.2.0 pair a success body with a `default` error body.
    assert_eq!(
        problems
            .iter()
            .filter(|p| p.contains("different success bodies"))
            .count(),
        44,
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("createOAuth2Client (POST /admin/clients)")),
        "{problems:#?}"
    );
    // And its 20 path parameters, which `encode_path` lets lead a request elsewhere as `String`s.
    let path_parameters = problems
        .iter()
        .filter(|p| p.contains("is not a `HydraSdkPathSegment`"))
        .count();
    assert_eq!(path_parameters, 20, "{problems:#?}");
}

#[test]
fn a_path_parameter_the_fixup_cannot_reach_is_named_by_the_preflight() {
    let mut spec = parse(SPEC).expect("OpenAPI 3.0");
    fixups::apply_all(&mut spec, &provenance());
    // Declared on the path, and through a `$ref`: a later spec may do either.
    let parameter = serde_json::json!({
        "name": "subject", "in": "path", "required": true, "schema": { "type": "string" }
    });
    spec["components"]["parameters"]["subject"] = parameter.clone();
    spec["paths"]["/admin/subjects/{subject}"] = serde_json::json!({
        "parameters": [parameter],
        "delete": {
            "operationId": "deleteSubject",
            "parameters": [{ "$ref": "#/components/parameters/subject" }],
            "responses": { "204": { "description": "gone" } }
        }
    });
    let problems = fixups::preflight(&spec);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems
            .iter()
            .all(|p| p.contains("path parameter `subject` is not a `HydraSdkPathSegment`")),
        "{problems:#?}"
    );
}

#[test]
fn the_pinned_spec_generates_50_operations() {
    let generated = generate(SPEC, &provenance()).expect("generates");
    assert_eq!(generated.surface.lines().count(), 50);
    assert!(generated.code.contains("pub struct Client"));
}

#[test]
fn non_openapi_3_0_inputs_are_refused() {
    for (input, expect) in [
        (&b"{\"openapi\": \"3.0.3\", \"paths\": {"[..], "not JSON"),
        (&b"{\"swagger\": \"2.0\"}"[..], "Swagger 2.0"),
        (&b"{\"openapi\": \"3.1.0\"}"[..], "only 3.0.x"),
    ] {
        let err = parse(input).expect_err("refused");
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[test]
fn error_body_fixups_follow_shared_response_refs() {
    // Other operations already point `default` at the shared `errorOAuth2Default` response; if
    // Hydra does the same for these, the fix-ups must still find and rewrite them, and leave the
    // shared response alone.
    let mut spec = parse(SPEC).expect("OpenAPI 3.0");
    let shared = serde_json::json!({ "$ref": "#/components/responses/errorOAuth2Default" });
    for (path, method) in [
        ("/admin/oauth2/auth/requests/login", "get"),
        ("/admin/oauth2/auth/requests/consent", "get"),
        ("/admin/oauth2/auth/requests/logout", "get"),
        ("/credentials", "post"),
    ] {
        let responses = spec["paths"][path][method]["responses"]
            .as_object_mut()
            .expect("responses");
        responses.insert("default".into(), shared.clone());
    }
    let before = spec["components"]["responses"]["errorOAuth2Default"].clone();
    let reports = fixups::apply_all(&mut spec, &provenance());
    for name in [
        "gone_requests_share_error_body",
        "credential_errors_as_priming_response",
    ] {
        let report = reports.iter().find(|r| r.name == name).expect(name);
        assert!(matches!(report.outcome, Outcome::Applied(_)), "{report}");
    }
    assert_eq!(
        spec["components"]["responses"]["errorOAuth2Default"],
        before
    );
    assert!(
        fixups::preflight(&spec).is_empty(),
        "{:?}",
        fixups::preflight(&spec)
    );
}
