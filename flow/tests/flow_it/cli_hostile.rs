//! `hydra-token` against a hostile token endpoint (a stand-in; registration on a real Hydra):
//! it exits 1 with a one-line reason, or prints a sane token, and never panics (exit 101) or
//! aborts (exit 134).

use std::process::{Command, Output};

use hydra_tests::stand_in::{Reply, StandIn};
use hydra_tests::TestHydra;

const BIN: &str = env!("CARGO_BIN_EXE_hydra-token");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `hydra-token --json` against the real Hydra's admin API and `public`, on a blocking
/// thread so the stand-in keeps serving.
async fn hydra_token(hydra: &TestHydra, public: &StandIn) -> std::io::Result<Output> {
    let mut command = Command::new(BIN);
    command
        .args(["--client-id", "cli-hostile", "--no-authorize", "--json"])
        .env_clear()
        .env("HYDRA_ADMIN_URL", hydra.admin_url())
        .env("HYDRA_PUBLIC_URL", public.url())
        // Several runs share the client id: with a shared secret, as the ownership rules ask,
        // since a run that does not know the secret another run just set is refused.
        .env("HYDRA_CLIENT_SECRET", "cli-hostile-secret")
        .env("HYDRA_DEADLINE", "5");
    tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(std::io::Error::other)?
}

#[tokio::test]
async fn stand_in_expires_in_at_the_top_of_its_range_prints_a_token_with_a_day(
) -> Result<(), Box<dyn std::error::Error>> {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![Reply::token(
        r#"{"access_token":"huge-expiry","token_type":"bearer","expires_in":9223372036854775807}"#,
    )])
    .await?;
    let out = hydra_token(&hydra, &public).await?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(json["access_token"], "huge-expiry");
    assert_eq!(json["expires_in"], 86_400);
    Ok(())
}

#[tokio::test]
async fn stand_in_bad_tokens_exit_1_with_a_reason() -> Result<(), Box<dyn std::error::Error>> {
    let hydra = TestHydra::start().await?;
    // A token of megabytes was accepted and sent on every request; a scope of megabytes was
    // logged whole with the token's `Debug`.
    let huge_token = format!(
        r#"{{"access_token":"{}","token_type":"bearer","expires_in":60}}"#,
        "t".repeat(64 * 1024 + 1)
    );
    let huge_scope = format!(
        r#"{{"access_token":"ok","token_type":"bearer","expires_in":60,"scope":"{}"}}"#,
        "s".repeat(4097)
    );
    for (body, reason) in [
        (
            huge_token.as_str(),
            "access_token is longer than 65536 bytes",
        ),
        (huge_scope.as_str(), "scope is longer than 4096 bytes"),
        (
            r#"{"access_token":"","token_type":"bearer","expires_in":60}"#,
            "access_token is empty",
        ),
        (
            r#"{"access_token":"a\r\nb","token_type":"bearer","expires_in":60}"#,
            "RFC 6750",
        ),
        (
            r#"{"access_token":"mac","token_type":"mac","expires_in":60}"#,
            "not Bearer",
        ),
    ] {
        let public = StandIn::start(vec![Reply::token(body)]).await?;
        let out = hydra_token(&hydra, &public).await?;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{body}: {stderr}");
        assert!(out.stdout.is_empty(), "{body}: printed a token");
        assert!(stderr.contains(reason), "{body}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    Ok(())
}

/// Log lines on stderr carry no colour codes when stderr is not a terminal (a pipe, a file, a
/// log collector): they showed up there as `ESC[33m WARN` (only NO_COLOR turned them off).
#[tokio::test]
async fn stand_in_503_log_lines_to_a_pipe_have_no_colour_codes(
) -> Result<(), Box<dyn std::error::Error>> {
    let hydra = TestHydra::start().await?;
    let public = StandIn::start(vec![
        Reply::json(
            "503 Service Unavailable",
            &[],
            r#"{"error":"temporarily_unavailable"}"#,
        ),
        Reply::token(hydra_tests::stand_in::TOKEN),
    ])
    .await?;
    let out = hydra_token(&hydra, &public).await?;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("WARN"), "no log line to look at: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    Ok(())
}
