//! `cargo xtask bench-build`: how long `hydra-sdk` takes to build, side by side with the official
//! generated Rust SDK (`ory-hydra-client` 26.2.0 with rustls), in one run, plus the incremental
//! rebuild after a one-line change to the spec.
//!
//! Build time is this SDK's main cost to its users (it generates at build time), so it is
//! measured, not guessed. Each contender builds in a scratch copy with its own empty target
//! directory; rounds alternate the two so machine noise hits both alike. Downloads happen before
//! any timing (`cargo fetch`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Result;

const OFFICIAL: &str = "ory-hydra-client";
const OFFICIAL_VERSION: &str = "26.2.0";

pub fn run(args: &[String]) -> Result {
    let mut rounds = 1u32;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| (1..=5).contains(n))
                    .ok_or("--rounds takes a number from 1 to 5")?;
            }
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    let root = hydra_launcher::workspace_root();
    let scratch = hydra_launcher::run::TempDir::new("hydra-sdk-bench")?;
    bench(&root, scratch.path(), rounds)
}

fn bench(root: &Path, scratch: &Path, rounds: u32) -> Result {
    let ours = scratch.join("ours");
    copy_tracked_files(root, &ours)?;
    let official = scratch.join("official");
    write_official_crate(&official)?;

    eprintln!("fetching dependencies (not timed)…");
    cargo(&ours, &["fetch", "--locked"])?;
    cargo(&official, &["fetch"])?;

    let mut ours_times = Vec::new();
    let mut official_times = Vec::new();
    for round in 1..=rounds {
        for (name, dir, args, times) in [
            (
                "hydra-sdk",
                &ours,
                &["build", "--locked", "--package", "ory-hydra-sdk"][..],
                &mut ours_times,
            ),
            (OFFICIAL, &official, &["build"][..], &mut official_times),
        ] {
            let _ = std::fs::remove_dir_all(dir.join("target"));
            let took = timed(dir, args)?;
            eprintln!("round {round}: clean debug build of {name}: {took:.1?}");
            times.push(took);
        }
    }

    // One line of the spec changes (a description), as a spec bump that touches little would.
    let spec = ours.join("openapi/api.json");
    let text = std::fs::read_to_string(&spec)?;
    let changed = text.replacen(
        "\"description\": \"Documentation for all of Ory Hydra's APIs.\\n\",",
        "\"description\": \"Documentation for all of Ory Hydra's APIs (benchmark edit).\\n\",",
        1,
    );
    if changed == text {
        return Err("the benchmark's one-line spec edit found nothing to change".into());
    }
    std::fs::write(&spec, &changed)?;
    let source = ours.join("openapi/api.source.json");
    let recorded = std::fs::read_to_string(&source)?;
    let old_sha = hydra_sdk_codegen::sha256_hex(text.as_bytes());
    let new_sha = hydra_sdk_codegen::sha256_hex(changed.as_bytes());
    std::fs::write(&source, recorded.replace(&old_sha, &new_sha))?;
    let incremental = timed(&ours, &["build", "--locked", "--package", "ory-hydra-sdk"])?;

    let median = |times: &mut Vec<Duration>| {
        times.sort();
        let n = times.len();
        (times[(n - 1) / 2] + times[n / 2]) / 2
    };
    let ours_median = median(&mut ours_times);
    let official_median = median(&mut official_times);
    println!("clean debug build, median of {rounds} alternating round(s), same machine, same run:");
    println!("  hydra-sdk (this repo)              {ours_median:>8.1?}");
    println!("  {OFFICIAL} {OFFICIAL_VERSION} (rustls)   {official_median:>8.1?}");
    println!(
        "  ratio hydra-sdk / {OFFICIAL}        {:>8.2}",
        ours_median.as_secs_f64() / official_median.as_secs_f64()
    );
    println!("incremental rebuild of hydra-sdk after a one-line spec change: {incremental:.1?}");
    Ok(())
}

/// The files git tracks, copied (so the copy builds exactly what is committed plus local edits).
fn copy_tracked_files(root: &Path, to: &Path) -> Result {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()?;
    if !output.status.success() {
        return Err("git ls-files failed".into());
    }
    for path in output.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = PathBuf::from(String::from_utf8_lossy(path).into_owned());
        let from = root.join(&rel);
        let dest = to.join(&rel);
        // hydra-sdk/openapi links to openapi/: the copy keeps the link, so the benchmark's spec
        // edit reaches the build as it would in the repository.
        let is_link = std::fs::symlink_metadata(&from).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link && !from.is_file() {
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if is_link {
            copy_link(&from, &dest)?;
        } else {
            std::fs::copy(&from, &dest)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn copy_link(from: &Path, to: &Path) -> Result {
    Ok(std::os::unix::fs::symlink(std::fs::read_link(from)?, to)?)
}

#[cfg(not(unix))]
fn copy_link(from: &Path, _to: &Path) -> Result {
    Err(format!(
        "{} is a symlink; the benchmark copies symlinks on Unix only",
        from.display()
    )
    .into())
}

fn write_official_crate(dir: &Path) -> Result {
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"official-bench\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\n{OFFICIAL} = {{ version = \"={OFFICIAL_VERSION}\", \
             default-features = false, features = [\"rustls-tls\"] }}\n\n[workspace]\n\n\
             # The same debug-info settings as this workspace, so neither side is favoured.\n\
             [profile.dev]\ndebug = \"line-tables-only\"\n\n[profile.dev.package.\"*\"]\ndebug = false\n"
        ),
    )?;
    std::fs::write(
        dir.join("src/lib.rs"),
        format!("pub use {}::apis;\n", OFFICIAL.replace('-', "_")),
    )?;
    Ok(())
}

fn cargo(dir: &Path, args: &[&str]) -> Result {
    let status = cargo_command(dir, args).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed in {}", args.join(" "), dir.display()).into())
    }
}

fn timed(dir: &Path, args: &[&str]) -> Result<Duration> {
    let started = Instant::now();
    let output = cargo_command(dir, args).output()?;
    let took = started.elapsed();
    if !output.status.success() {
        return Err(format!(
            "cargo {} failed in {}:\n{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(took)
}

fn cargo_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(hydra_launcher::run::cargo());
    command
        .args(args)
        .current_dir(dir)
        // Each scratch crate builds into its own, initially empty, target directory.
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_TERM_COLOR", "never");
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scratch copy must build from its own spec: hydra-sdk/openapi stays a link to the
    /// copy's openapi/, so the benchmark's one-line spec edit reaches hydra-sdk's build script.
    #[test]
    fn the_copy_keeps_hydra_sdk_openapi_a_link_to_its_own_openapi() {
        let scratch = hydra_launcher::run::TempDir::new("xtask-bench-copy").expect("temp dir");
        let to = scratch.path().join("copy");
        let copied = copy_tracked_files(&hydra_launcher::workspace_root(), &to);
        let link = std::fs::symlink_metadata(to.join("hydra-sdk/openapi"));
        let same = std::fs::read(to.join("hydra-sdk/openapi/api.json"))
            .ok()
            .zip(std::fs::read(to.join("openapi/api.json")).ok());
        copied.expect("copy");
        assert!(link.expect("hydra-sdk/openapi").file_type().is_symlink());
        let (through_link, spec) = same.expect("both specs readable");
        assert_eq!(through_link, spec);
    }
}
