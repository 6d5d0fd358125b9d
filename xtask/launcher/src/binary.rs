//! Finds the Hydra binary of a release, building it on first use.
//!
//! Order: `HYDRA_BIN`, else a `hydra` on `PATH` that reports the release, else the build cached
//! under `<target>/hydra/<version>/hydra`, else a build into that cache: `go build` of the wrapper
//! module in `hydra/` for v2.x (Go module proxy), of the checked source archive for v26.2.0.

use std::env;
use std::ffi::OsStr;
use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::release::{BuildFrom, Release};
use crate::run::{output_within, status_within};
use crate::Error;

/// `DSN=memory` is SQLite in memory, so the binary needs cgo and the sqlite tag.
const GO_BUILD_TAGS: &str = "sqlite,sqlite_omit_load_extension";
/// A cold build takes about three minutes on two cores; this only stops a build that hangs.
const GO_BUILD_TIMEOUT: Duration = Duration::from_secs(40 * 60);
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);
/// Beside a binary built from an archive: the archive's sha256, so a build from another archive
/// (`HYDRA_SOURCE`) is not mistaken for the pinned one.
const SOURCE_STAMP: &str = "hydra.source-sha256";

/// Where a Hydra binary was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The `HYDRA_BIN` environment variable, taken as is.
    Env,
    /// A `hydra` on `PATH` whose `hydra version` reports the release.
    Path,
    /// An earlier build in the target directory.
    Cache,
    /// Built just now with `go build`.
    Built,
}

impl Source {
    /// A few words for messages: `HYDRA_BIN`, `PATH`, `cached build`, `new build`.
    pub fn describe(self) -> &'static str {
        match self {
            Source::Env => "HYDRA_BIN",
            Source::Path => "PATH",
            Source::Cache => "cached build",
            Source::Built => "new build",
        }
    }
}

/// A Hydra binary and where it came from.
#[derive(Clone, Debug)]
pub struct HydraBin {
    /// Absolute path of the executable.
    pub path: PathBuf,
    /// Where it was found.
    pub source: Source,
}

/// The workspace root, the directory holding the top-level `Cargo.toml`.
pub fn workspace_root() -> PathBuf {
    // This crate lives at <root>/xtask/launcher.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    fs::canonicalize(&root).unwrap_or(root)
}

/// The Go wrapper module that builds Hydra (`<root>/hydra`).
pub fn go_module_dir() -> PathBuf {
    workspace_root().join("hydra")
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace root when relative),
/// else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// Where the built binary is cached: `<target>/hydra/<version>/hydra`.
pub fn cached_bin_path(release: &Release) -> PathBuf {
    target_dir()
        .join("hydra")
        .join(release.version)
        .join("hydra")
}

/// Finds Hydra `release` without building it; `Ok(None)` when only a build would produce one.
/// `HYDRA_BIN` is taken as is, whatever it reports: it is how a user runs their own build.
pub fn find(release: &Release) -> Result<Option<HydraBin>, Error> {
    if let Some(path) = env::var_os("HYDRA_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(Error::Binary(format!(
                "HYDRA_BIN is set to {}, which is not a file",
                path.display()
            )));
        }
        return Ok(Some(HydraBin {
            path: absolute(&path)?,
            source: Source::Env,
        }));
    }
    if let Some(path) = on_path("hydra") {
        // A different release would make the tests fail in confusing ways, so a stray hydra on
        // PATH is only used when it is the release asked for.
        match version_of(&path) {
            Ok(version) if version == release.version => {
                return Ok(Some(HydraBin {
                    path,
                    source: Source::Path,
                }))
            }
            Ok(version) => eprintln!(
                "note: ignoring {} (it reports {version}, not {})",
                path.display(),
                release.version
            ),
            Err(e) => eprintln!("note: ignoring {}: {e}", path.display()),
        }
    }
    let cached = cached_bin_path(release);
    let stamp_matches = match release.source_archive() {
        Some((_, sha256)) => fs::read_to_string(cached.with_file_name(SOURCE_STAMP))
            .is_ok_and(|stamp| stamp.trim() == sha256),
        None => true,
    };
    if cached.is_file() && stamp_matches {
        return Ok(Some(HydraBin {
            path: absolute(&cached)?,
            source: Source::Cache,
        }));
    }
    Ok(None)
}

/// Finds Hydra `release` (see [`find`]), building and caching it when there is none.
pub fn find_or_build(release: &Release) -> Result<HydraBin, Error> {
    if let Some(found) = find(release)? {
        return Ok(found);
    }
    let dest = cached_bin_path(release);
    build(release, &dest)?;
    Ok(HydraBin {
        path: absolute(&dest)?,
        source: Source::Built,
    })
}

/// Runs `hydra version` and returns the version it reports, e.g. `v2.3.0`.
pub fn version_of(bin: &Path) -> Result<String, Error> {
    let mut command = Command::new(bin);
    command.arg("version");
    let output = output_within(&mut command, VERSION_TIMEOUT)
        .and_then(|output| match output.status.success() {
            true => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
            false => Err(io::Error::other(format!("exited with {}", output.status))),
        })
        .map_err(|e| Error::io(format!("running {} version", bin.display()), e))?;
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix("Version:"))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| {
            Error::Binary(format!(
                "`{} version` printed no \"Version:\" line",
                bin.display()
            ))
        })
}

/// Builds Hydra `release` into `dest`. The build writes a temporary file that is renamed into
/// place only after it reports the right version, so an interrupted build never leaves a binary
/// behind. A lock file serializes concurrent builders (two test binaries, or two developers'
/// cargo runs sharing a target directory); whoever waits finds the finished binary and skips
/// its build.
fn build(release: &Release, dest: &Path) -> Result<(), Error> {
    let version = release.version;
    let dir = dest
        .parent()
        .ok_or_else(|| Error::Binary(format!("{} has no parent directory", dest.display())))?;
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let lock_path = dir.join(".build.lock");
    let lock = File::create(&lock_path)
        .map_err(|e| Error::io(format!("creating {}", lock_path.display()), e))?;
    lock_within(&lock, &lock_path, GO_BUILD_TIMEOUT)?;
    if find(release)?.is_some_and(|bin| bin.source == crate::Source::Cache) {
        return Ok(()); // Someone else built it while we waited for the lock.
    }

    // The module to build: the wrapper in hydra/, or the archive unpacked beside the cache.
    let (module, unpacked, stamp) = match release.from {
        BuildFrom::GoModule => {
            eprintln!(
                "building Ory Hydra {version} from the Go module proxy (first run only, takes a few minutes)"
            );
            (go_module_dir(), None, None)
        }
        BuildFrom::SourceArchive { .. } => {
            let (archive, sha256) = release
                .source_archive()
                .ok_or_else(|| Error::Binary(format!("Hydra {version} has no source archive")))?;
            crate::source::check_sha256(&archive, &sha256, version)?;
            let src = dir.join(format!("src.tmp-{}", std::process::id()));
            eprintln!(
                "building Ory Hydra {version} from {} (sha256 checked; first run only, takes a few minutes)",
                archive.display()
            );
            crate::source::unpack(&archive, &src)?;
            (src.clone(), Some(src), Some(sha256))
        }
    };
    let result = go_build(release, &module, dir);
    if let Some(src) = unpacked {
        let _ = fs::remove_dir_all(src);
    }
    let (tmp, took) = result?;
    fs::rename(&tmp, dest).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", tmp.display(), dest.display()),
            e,
        )
    })?;
    if let Some(sha256) = stamp {
        let stamp_path = dest.with_file_name(SOURCE_STAMP);
        fs::write(&stamp_path, format!("{sha256}\n"))
            .map_err(|e| Error::io(format!("writing {}", stamp_path.display()), e))?;
    }
    eprintln!(
        "built Ory Hydra {version} in {took:.0?}: {}",
        dest.display()
    );
    Ok(())
}

/// `go build` of `module` into a temporary file in `dir`, checked with `hydra version`; returns
/// the file and how long the build took.
fn go_build(release: &Release, module: &Path, dir: &Path) -> Result<(PathBuf, Duration), Error> {
    let version = release.version;
    let tmp = dir.join(format!("hydra.tmp-{}", std::process::id()));
    let started = Instant::now();
    let config = "github.com/ory/hydra/v2/driver/config";
    let mut ldflags = vec![
        "-s -w".to_owned(),
        format!("-X {config}.Version={version}"),
        format!("-X {config}.Commit={}", release.commit),
    ];
    if let Some(date) = release.date {
        ldflags.push(format!("-X {config}.Date={date}"));
    }
    let ldflags = ldflags.join(" ");
    let mut command = Command::new("go");
    command
        .current_dir(module)
        .env("CGO_ENABLED", "1")
        .args(["build", "-mod=readonly", "-trimpath", "-buildvcs=false"])
        .args(["-tags", GO_BUILD_TAGS, "-ldflags", &ldflags, "-o"])
        .arg(&tmp)
        .arg(".")
        // Progress goes to stderr, so `cargo xtask hydra-bin` prints only the path on stdout.
        .stdout(Stdio::from(io::stderr()))
        .stderr(Stdio::inherit());
    let status = match status_within(&mut command, GO_BUILD_TIMEOUT) {
        Ok(status) => status,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Binary(format!(
                "Hydra {version} is not built yet and `go` is not on PATH: install Go \
                 (1.26 or later) and a C compiler, or set HYDRA_BIN to a Hydra {version} binary"
            )))
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(
                format!("running go build in {}", module.display()),
                e,
            ));
        }
    };
    if !status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Binary(format!(
            "go build of Hydra {version} in {} failed ({status}); its output is above",
            module.display()
        )));
    }
    let reported = version_of(&tmp);
    if reported.as_deref().ok() != Some(version) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Binary(format!(
            "the freshly built Hydra reports {reported:?}, expected {version}"
        )));
    }
    Ok((tmp, started.elapsed()))
}

/// Takes an exclusive lock on `file`, polling so the wait is bounded. The lock is released when
/// the file is closed.
fn lock_within(file: &File, path: &Path, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {
                if !told {
                    eprintln!(
                        "waiting for another build of Hydra to finish (lock {})",
                        path.display()
                    );
                    told = true;
                }
                if Instant::now() >= deadline {
                    return Err(Error::Binary(format!(
                        "gave up after {timeout:?} waiting for the build lock {}",
                        path.display()
                    )));
                }
                thread::sleep(Duration::from_millis(500));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking {}", path.display()), e))
            }
        }
    }
}

/// The first executable called `name` in `PATH`.
fn on_path(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let paths = env::var_os("PATH")?;
    env::split_paths(&paths)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name.as_ref()))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    fs::canonicalize(path).map_err(|e| Error::io(format!("resolving {}", path.display()), e))
}
