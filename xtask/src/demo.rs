//! `cargo xtask demo`: the main job, end to end, on a fresh machine. Builds (or reuses) Ory
//! Hydra, starts it on loopback, and runs the flow crate's demo against it: register ->
//! authorize -> token, each step printed, the token redacted, its expiry and JWT claims shown.
//!
//! The flow itself runs in `cargo run -p ory-hydra-token --example demo` rather than in xtask, so
//! xtask stays cheap to compile (no tokio, no reqwest). `HYDRA_CLIENT_SECRET`, `RUST_LOG` and the
//! other `HYDRA_*` settings pass through; the Hydra URLs are this run's.

use std::process::Command;
use std::time::Duration;

use crate::Result;

pub fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("demo takes no arguments, got {arg:?}").into());
    }
    let mut release = hydra_launcher::Release::selected()?;
    // A fresh machine with only Go and Rust has no v26.2.0 archive; the demo still runs, on the
    // release the Go module proxy serves, and says so. A release asked for by name is not swapped.
    if std::env::var_os("HYDRA_VERSION").is_none() {
        if let Err(reason) = crate::hydra::available(&release) {
            eprintln!(
                "note: {reason}; the demo uses Hydra {} from the Go module proxy instead \
                 (set HYDRA_SOURCE or HYDRA_BIN for {})",
                hydra_launcher::V2_3_0.version,
                release.version
            );
            release = hydra_launcher::V2_3_0;
        }
    }
    let bin = crate::hydra::find_or_build(&release)?;
    let mut hydra = hydra_launcher::Config::new(&bin.path).start()?;
    let urls = hydra.urls().clone();
    // What the server itself reports, so HYDRA_BIN pointing elsewhere shows up here.
    let reported =
        hydra_launcher::version_of(&bin.path).unwrap_or_else(|e| format!("unknown ({e})"));
    println!(
        "Started Ory Hydra {reported} ({}: {}) on loopback, DSN=memory (admin {}, public {}).",
        bin.source.describe(),
        bin.path.display(),
        urls.admin,
        urls.public
    );

    let mut demo = Command::new(hydra_launcher::run::cargo());
    demo.args(["run", "-q", "-p", "ory-hydra-token", "--example", "demo"])
        .env("HYDRA_ADMIN_URL", &urls.admin)
        .env("HYDRA_PUBLIC_URL", &urls.public);
    // Defaults that show the whole story; each can be overridden from the environment.
    for (key, value) in [
        ("HYDRA_CLIENT_ID", "bss"),
        ("HYDRA_CLIENT_NAME", "bss"),
        ("HYDRA_SCOPE", "read"),
        ("HYDRA_ACCESS_TOKEN_STRATEGY", "jwt"),
    ] {
        if std::env::var_os(key).is_none() {
            demo.env(key, value);
        }
    }
    let status = demo.status();

    let stopped = hydra.stop(Duration::from_secs(10));
    let status = status.map_err(|e| format!("cannot run the demo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "the demo failed ({status}); Hydra's log ends with:\n{}",
            hydra.log_tail(20)
        )
        .into());
    }
    stopped?;
    println!("\nStopped Hydra.");
    Ok(())
}
