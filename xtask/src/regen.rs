//! `cargo xtask regen`: moves the SDK to a new Hydra spec in one command and says what changed.
//! `--check` is CI's side: the pinned spec is the one recorded, and the committed surface is the
//! one it generates.
//!
//! One module per stage: [`fetch`] the spec, [`plan`] the files (every check that can refuse the
//! spec runs there, so nothing is written unless the new spec parses, survives the fix-ups and
//! the preflight, and generates), [`write`](mod@write) them, [`report`] what happened. A new source of specs
//! is a [`SpecInput`] variant and its arm in `fetch`.

use std::path::{Path, PathBuf};
use std::process::Command;

use hydra_sdk_codegen::{Provenance, Source};

pub use check::check_at;
pub use report::Report;

use crate::Result;

/// The Go module whose `spec/api.json` is Hydra's spec (v2.x; v25+ are not published under it).
pub const MODULE: &str = "github.com/ory/hydra/v2";
/// The spec's path inside the module.
pub const SPEC_PATH: &str = "spec/api.json";
/// The surface snapshot, relative to the repository root.
pub const SNAPSHOT: &str = "hydra-sdk/tests/snapshots/surface__sdk_surface.snap";

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
        (Some(from), Some(version)) if matches!(Source::parse(&from), Source::Url(_)) => {
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

/// Regenerates the repository at `root` from `input`: everything `cargo xtask regen` does, with
/// the build optional, so tests can run it on a scratch copy.
pub fn regen_into(root: &Path, input: &SpecInput, options: &Options) -> Result<Report> {
    let openapi = root.join("openapi");
    let source_path = openapi.join("api.source.json");
    let pinned = plan::Pinned {
        provenance: match source_path.exists() {
            true => Some(Provenance::read(&source_path)?),
            false => None,
        },
        spec: write::read_optional(&openapi.join("api.json"))?,
    };
    let fetched = fetch::fetch(input, pinned.provenance.as_ref(), pinned.spec.as_deref())?;
    let plan::Plan { files, mut report } = plan::plan(root, input, fetched, &pinned)?;
    report.written = write::write_all(root, &files)?;
    report.build = options.build.then(|| build(root));
    Ok(report)
}

/// `cargo build --workspace` at `root`, its output on the terminal.
fn build(root: &Path) -> std::result::Result<(), String> {
    eprintln!("==> cargo build --workspace");
    match Command::new(hydra_launcher::run::cargo())
        .args(["build", "--workspace"])
        .current_dir(root)
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("cargo build --workspace: {status}")),
        Err(e) => Err(format!("could not run cargo build: {e}")),
    }
}

mod check;
mod diff;
mod fetch;
mod plan;
mod report;
mod write;

#[cfg(test)]
mod test_edits;
#[cfg(test)]
mod tests;
