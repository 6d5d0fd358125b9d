//! `cargo xtask test`: every check CI runs, in order, stopping at the first failure. `.ci/run`
//! calls this, so a developer who runs it sees what CI will see.

use std::env;
use std::ffi::OsString;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Result;

pub fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("test takes no arguments, got {arg:?}").into());
    }
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
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
        eprintln!("    {name:<7} {took:>8.1?}");
    }
    result
}

fn run_phases(
    cargo: &dyn Fn(&[&str]) -> Command,
    timings: &mut Vec<(&'static str, Duration)>,
) -> Result {
    phase(timings, "fmt", cargo(&["fmt", "--all", "--check"]))?;
    phase(
        timings,
        "clippy",
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
    timings.push(("regen", started.elapsed()));
    eprintln!("<== regen passed: {checked}");

    // Built (or found) here rather than inside the tests, so a cold Go build shows its progress
    // and its time as a phase of its own, and every test binary gets the same binary.
    let started = Instant::now();
    eprintln!(
        "==> hydra: find or build Ory Hydra {}",
        hydra_launcher::HYDRA_VERSION
    );
    let hydra = crate::hydra::find_or_build()?;
    timings.push(("hydra", started.elapsed()));

    let mut test = cargo(&["test", "--workspace", "--locked"]);
    test.env("INSTA_UPDATE", "no").env("HYDRA_BIN", &hydra.path);
    phase(timings, "test", test)?;

    let mut doc = cargo(&["doc", "--workspace", "--no-deps", "--locked"]);
    doc.env("RUSTDOCFLAGS", "-Dwarnings");
    phase(timings, "doc", doc)?;

    // What crates.io would get: each published crate packaged and built from its package alone.
    // xtask, tests/ and the launcher are publish = false and bound to this repository; cargo
    // cannot package them (they need the unpublished launcher). A developer's uncommitted edits
    // are what they want checked, hence --allow-dirty.
    let mut package = cargo(&["package", "--workspace", "--locked", "--allow-dirty"]);
    for repo_only in ["xtask", "hydra-tests", "hydra-launcher"] {
        package.args(["--exclude", repo_only]);
    }
    phase(timings, "package", package)
}

fn phase(
    timings: &mut Vec<(&'static str, Duration)>,
    name: &'static str,
    mut command: Command,
) -> Result {
    eprintln!("==> {name}: {}", shown(&command));
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| format!("{name}: could not run {}: {e}", shown(&command)))?;
    let took = started.elapsed();
    timings.push((name, took));
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
