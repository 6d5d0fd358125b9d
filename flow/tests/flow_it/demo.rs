//! The demo that `cargo xtask demo` runs (examples/demo.rs), against a real Hydra: it shows every
//! step, and at `RUST_LOG=trace` its output holds neither the configured client secret nor the
//! token.

use std::path::PathBuf;
use std::process::Command;

use hydra_tests::TestHydra;

/// `cargo test` builds a package's examples beside its test binaries: target/debug/examples/.
fn demo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    debug
        .join("examples")
        .join(format!("demo{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test]
async fn the_demo_shows_each_step_and_never_a_secret() -> Result<(), Box<dyn std::error::Error>> {
    let demo = demo_binary();
    assert!(demo.exists(), "{} was not built", demo.display());
    let hydra = TestHydra::start().await?;
    let secret = "demo-secret-that-must-never-print";
    let out = Command::new(&demo)
        .env_clear()
        .env("HYDRA_ADMIN_URL", hydra.admin_url())
        .env("HYDRA_PUBLIC_URL", hydra.public_url())
        .env("HYDRA_CLIENT_ID", "bss")
        .env("HYDRA_CLIENT_SECRET", secret)
        .env("HYDRA_SCOPE", "read")
        .env("HYDRA_ACCESS_TOKEN_STRATEGY", "jwt")
        .env("RUST_LOG", "trace")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for step in [
        "1. register",
        "client bss (created), secret [redacted]",
        "2. authorize",
        "accepted",
        "3. token",
        "token [redacted,",
        "expires in",
        "JWT claims",
        "\"client_id\": \"bss\"",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    // TRACE really was on (hyper's lines are there), and neither the secret nor any JWT (its
    // base64url header always starts `eyJ`) appears anywhere.
    assert!(stderr.contains("TRACE"), "{stderr}");
    for text in [&stdout, &stderr] {
        assert_eq!(text.matches(secret).count(), 0);
        assert_eq!(text.matches("eyJ").count(), 0);
    }
    Ok(())
}
