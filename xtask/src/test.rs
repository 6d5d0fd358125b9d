//! `cargo xtask test`: every check CI runs, in order, stopping at the first failure. `.ci/run`
//! calls this, so a developer who runs it sees what CI will see.
//!
//! The integration suite runs once per Hydra release (v26.2.0, then v2.3.0), then the
//! PostgreSQL replica tests against v26.2.0; each is a phase with its own time. Outside CI a leg
//! whose source archive or PostgreSQL is missing is skipped with the reason; with `CI=true` it
//! fails the run.

use std::env;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Result;

pub fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("test takes no arguments, got {arg:?}").into());
    }
    let cargo = hydra_launcher::run::cargo();
    let cargo = |args: &[&str]| {
        let mut command = Command::new(&cargo);
        command.args(args);
        command
    };
    let mut timings = Vec::new();
    let result = run_phases(&cargo, &mut timings);
    eprintln!(
        "==> {}",
        if result.is_ok() {
            "all checks passed"
        } else {
            "checks failed"
        }
    );
    for (name, took) in &timings {
        eprintln!("    {name:<20} {took:>8.1?}");
    }
    result
}

/// Builds a `cargo` command with these arguments.
type Cargo<'a> = &'a dyn Fn(&[&str]) -> Command;

/// What each phase took, in order, for the summary.
type Timings = Vec<(String, Duration)>;

fn run_phases(cargo: Cargo<'_>, timings: &mut Timings) -> Result {
    checks(cargo, timings)?;
    let ci = env::var("CI").is_ok_and(|v| v == "true");
    if env::var_os("HYDRA_BIN").is_some() {
        // One binary cannot be both releases; each leg sets HYDRA_BIN to its own.
        eprintln!("note: ignoring HYDRA_BIN; cargo xtask test finds each release's binary itself");
        env::remove_var("HYDRA_BIN");
    }
    suite_per_release(cargo, timings, ci)?;
    replicas_on_postgres(cargo, timings, ci)?;
    doc_and_package(cargo, timings)
}

/// The checks that need no Hydra: formatting, lints, and the pinned spec and surface.
fn checks(cargo: Cargo<'_>, timings: &mut Timings) -> Result {
    phase(
        timings,
        "fmt".to_owned(),
        cargo(&["fmt", "--all", "--check"]),
    )?;
    phase(
        timings,
        "clippy".to_owned(),
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;

    // In process, not through cargo: xtask is already built. The pinned spec is the one
    // recorded, and the committed surface snapshot is what it generates.
    let started = Instant::now();
    eprintln!("==> regen: cargo xtask regen --check");
    let checked = crate::regen::check_at(&hydra_launcher::workspace_root())
        .map_err(|e| format!("regen --check failed: {e}"))?;
    timings.push(("regen".to_owned(), started.elapsed()));
    eprintln!("<== regen passed: {checked}");
    Ok(())
}

/// The suite once per Hydra release, the SDK's own (v26.2.0) first. Each release's binary is
/// found or built here, so a cold Go build is a phase of its own with its time.
fn suite_per_release(cargo: Cargo<'_>, timings: &mut Timings, ci: bool) -> Result {
    for release in hydra_launcher::RELEASES {
        let version = release.version;
        let started = Instant::now();
        eprintln!("==> hydra {version}: find or build Ory Hydra {version}");
        let hydra = match crate::hydra::available(&release) {
            Ok(()) => crate::hydra::find_or_build(&release)?,
            Err(reason) => {
                skip_or_fail(ci, &format!("the suite against Hydra {version}"), &reason)?;
                continue;
            }
        };
        timings.push((format!("hydra {version}"), started.elapsed()));
        // The other releases skip the doctests (compiled, never run against Hydra). Still the
        // whole workspace: selecting packages would change feature unification and rebuild
        // half the dependency tree.
        let mut test = if release == hydra_launcher::V26_2_0 {
            cargo(&["test", "--workspace", "--locked"])
        } else {
            cargo(&["test", "--workspace", "--locked", "--tests"])
        };
        test.env("INSTA_UPDATE", "no")
            .env("HYDRA_VERSION", version)
            .env("HYDRA_BIN", &hydra.path);
        phase(timings, format!("test {version}"), test)?;
    }
    Ok(())
}

fn replicas_on_postgres(cargo: Cargo<'_>, timings: &mut Timings, ci: bool) -> Result {
    // Two v26.2.0 replicas on one PostgreSQL: tests/tests/it/postgres_replicas.rs, #[ignore]d in a
    // plain `cargo test` because they need PostgreSQL, run here with --ignored and selected by
    // their module path (the `it` binary has other ignored tests).
    let release = hydra_launcher::V26_2_0;
    let postgres = hydra_launcher::postgres_bin_dir()
        .map_err(|e| e.to_string())
        .and_then(|_| crate::hydra::available(&release));
    match postgres {
        Ok(()) => {
            let hydra = hydra_launcher::find_or_build(&release)?;
            // --workspace, like the legs above, so the test binary is the one already built.
            let mut test = cargo(&[
                "test",
                "--workspace",
                "--locked",
                "--test",
                "it",
                "--",
                "--ignored",
                "postgres_replicas::",
            ]);
            test.env("INSTA_UPDATE", "no")
                .env("HYDRA_VERSION", release.version)
                .env("HYDRA_BIN", &hydra.path);
            phase(timings, "postgres v26.2.0 x2".to_owned(), test)?;
        }
        Err(reason) => skip_or_fail(ci, "the PostgreSQL replica tests", &reason)?,
    }
    Ok(())
}

/// The docs without warnings, then what crates.io would get.
fn doc_and_package(cargo: Cargo<'_>, timings: &mut Timings) -> Result {
    let mut doc = cargo(&["doc", "--workspace", "--no-deps", "--locked"]);
    doc.env("RUSTDOCFLAGS", "-Dwarnings");
    phase(timings, "doc".to_owned(), doc)?;

    // What crates.io would get: each published crate packaged and built from its package alone.
    // xtask, tests/ and the launcher are publish = false and bound to this repository; cargo
    // cannot package them (they need the unpublished launcher). A developer's uncommitted edits
    // are what they want checked, hence --allow-dirty.
    forget_packaged_builds()?;
    // --all-features: hydra-token needs the `cli` feature, and `metrics` is verified too.
    let mut package = cargo(&[
        "package",
        "--workspace",
        "--locked",
        "--allow-dirty",
        "--all-features",
    ]);
    package.env("CARGO_TARGET_DIR", package_target_dir());
    for repo_only in ["xtask", "hydra-tests", "hydra-launcher", "flow-bench"] {
        package.args(["--exclude", repo_only]);
    }
    phase(timings, "package".to_owned(), package)
}

/// The packages `cargo package --workspace` builds for crates.io.
const PUBLISHED: [&str; 3] = ["ory-hydra-sdk-codegen", "ory-hydra-sdk", "ory-hydra-token"];

/// Where the package phase builds: a target directory of its own, kept between runs.
fn package_target_dir() -> PathBuf {
    hydra_launcher::target_dir().join("package-verify")
}

/// `cargo package --workspace` verifies each crate against a temporary local registry, unpacked
/// into `$CARGO_HOME/registry/src/-<hash>/<name>-<version>/`, and cargo skips the unpacking when
/// that directory exists; it also reuses what it built from a registry package of the same
/// version, since registry packages never change. Our versions stay the same from run to run, so
/// a second run would verify the first run's sources (seen: flow verified against an SDK
/// without issue 9's errors). So both go first, and only ours: the unpacked sources in
/// local-registry folders (named `-…`), and the fingerprints in the package phase's own target
/// directory, so our three crates are rebuilt and nothing else is.
fn forget_packaged_builds() -> Result {
    let ours = |name: &str| {
        PUBLISHED.iter().any(|package| {
            name.strip_prefix(package)
                .is_some_and(|rest| rest.starts_with('-'))
        })
    };
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let mut stale = Vec::new();
    if let Some(Ok(registries)) = home.map(|home| std::fs::read_dir(home.join("registry/src"))) {
        for registry in registries.flatten() {
            if registry.file_name().to_string_lossy().starts_with('-') {
                stale.push(registry.path());
            }
        }
    }
    if let Ok(profiles) = std::fs::read_dir(package_target_dir()) {
        stale.extend(profiles.flatten().map(|p| p.path().join(".fingerprint")));
    }
    for dir in stale {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if ours(&entry.file_name().to_string_lossy()) {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
    }
    Ok(())
}

/// In CI (`CI=true`) a leg that cannot run fails the run; elsewhere it is skipped, loudly.
fn skip_or_fail(ci: bool, leg: &str, reason: &str) -> Result {
    if ci {
        return Err(format!("{leg} cannot run in CI: {reason}").into());
    }
    eprintln!(
        "\n!!! SKIPPED: {leg}: {reason}\n!!! To run it: put Hydra v26.2.0's source archive at \
         ../shared/hydra-v26.2.0/ (or set HYDRA_SOURCE), and install PostgreSQL \
         (apt-get install -y postgresql, or set PG_BIN_DIR). CI=true makes this a failure.\n"
    );
    Ok(())
}

fn phase(timings: &mut Timings, name: String, mut command: Command) -> Result {
    eprintln!("==> {name}: {}", shown(&command));
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| format!("{name}: could not run {}: {e}", shown(&command)))?;
    let took = started.elapsed();
    timings.push((name.clone(), took));
    if !status.success() {
        return Err(format!(
            "{name} failed ({status}) after {took:.1?}: {}",
            shown(&command)
        )
        .into());
    }
    eprintln!("<== {name} passed in {took:.1?}");
    Ok(())
}

fn shown(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leg_that_cannot_run_fails_in_ci_and_is_skipped_elsewhere() {
        let failed = skip_or_fail(true, "the PostgreSQL replica tests", "no initdb");
        let message = failed.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("cannot run in CI: no initdb"), "{message}");
        assert!(skip_or_fail(false, "the PostgreSQL replica tests", "no initdb").is_ok());
    }
}
