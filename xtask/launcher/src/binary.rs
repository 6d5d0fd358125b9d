//! Finds the Hydra binary, building it from the Go module proxy on first use.
//!
//! Order: `HYDRA_BIN`, else a `hydra` on `PATH` that reports v2.3.0, else the build cached under
//! `<target>/hydra/v2.3.0/hydra`, else `go build` of the wrapper module in `hydra/` into that cache.

use std::env;
use std::ffi::OsStr;
use std::fs::{self, File, TryLockError};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Error, HYDRA_VERSION};

/// Hydra v2.3.0's tag commit and date (from the Go module proxy's `.info`), stamped into the binary
/// like Ory's own release builds do, so `hydra version` and `GET /version` say v2.3.0.
const HYDRA_COMMIT: &str = "ee8c339ddada3a42529c0416897abc32bad03bbb";
const HYDRA_DATE: &str = "2025-01-17T08:06:39Z";
/// `DSN=memory` is SQLite in memory, so the binary needs cgo and the sqlite tag.
const GO_BUILD_TAGS: &str = "sqlite,sqlite_omit_load_extension";
/// A cold build takes about three minutes on two cores; this only stops a build that hangs.
const GO_BUILD_TIMEOUT: Duration = Duration::from_secs(40 * 60);
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a Hydra binary was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The `HYDRA_BIN` environment variable, taken as is.
    Env,
    /// A `hydra` on `PATH` whose `hydra version` reports v2.3.0.
    Path,
    /// An earlier build in the target directory.
    Cache,
    /// Built just now with `go build`.
    Built,
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

/// Where the built binary is cached: `<target>/hydra/v2.3.0/hydra`.
pub fn cached_bin_path() -> PathBuf {
    target_dir().join("hydra").join(HYDRA_VERSION).join("hydra")
}

/// Finds Hydra without building it; `Ok(None)` when only a build would produce one.
pub fn find() -> Result<Option<HydraBin>, Error> {
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
        // A different release would make the SDK tests fail in confusing ways, so a stray hydra
        // on PATH is only used when it is the version the SDK was generated from.
        match version_of(&path) {
            Ok(version) if version == HYDRA_VERSION => {
                return Ok(Some(HydraBin {
                    path,
                    source: Source::Path,
                }))
            }
            Ok(version) => eprintln!(
                "note: ignoring {} (it reports {version}, this project needs {HYDRA_VERSION})",
                path.display()
            ),
            Err(e) => eprintln!("note: ignoring {}: {e}", path.display()),
        }
    }
    let cached = cached_bin_path();
    if cached.is_file() {
        return Ok(Some(HydraBin {
            path: absolute(&cached)?,
            source: Source::Cache,
        }));
    }
    Ok(None)
}

/// Finds Hydra (see [`find`]), building and caching it when there is none.
pub fn find_or_build() -> Result<HydraBin, Error> {
    if let Some(found) = find()? {
        return Ok(found);
    }
    let dest = cached_bin_path();
    build(&dest)?;
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

/// Builds Hydra into `dest`. The build writes a temporary file that is renamed into place only
/// after it reports the right version, so an interrupted build never leaves a binary behind.
/// A lock file serializes concurrent builders (two test binaries, or two developers' cargo runs
/// sharing a target directory); whoever waits finds the finished binary and skips its build.
fn build(dest: &Path) -> Result<(), Error> {
    let dir = dest
        .parent()
        .ok_or_else(|| Error::Binary(format!("{} has no parent directory", dest.display())))?;
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let lock_path = dir.join(".build.lock");
    let lock = File::create(&lock_path)
        .map_err(|e| Error::io(format!("creating {}", lock_path.display()), e))?;
    lock_within(&lock, &lock_path, GO_BUILD_TIMEOUT)?;
    if dest.is_file() {
        return Ok(()); // Someone else built it while we waited for the lock.
    }

    let module = go_module_dir();
    let tmp = dir.join(format!("hydra.tmp-{}", std::process::id()));
    eprintln!(
        "building Ory Hydra {HYDRA_VERSION} from the Go module proxy (first run only, takes a few minutes)"
    );
    let started = Instant::now();
    let ldflags = [
        "-s -w".to_owned(),
        format!("-X github.com/ory/hydra/v2/driver/config.Version={HYDRA_VERSION}"),
        format!("-X github.com/ory/hydra/v2/driver/config.Commit={HYDRA_COMMIT}"),
        format!("-X github.com/ory/hydra/v2/driver/config.Date={HYDRA_DATE}"),
    ]
    .join(" ");
    let mut command = Command::new("go");
    command
        .current_dir(&module)
        .env("CGO_ENABLED", "1")
        .args(["build", "-mod=readonly", "-trimpath", "-buildvcs=false"])
        .args(["-tags", GO_BUILD_TAGS, "-ldflags", &ldflags, "-o"])
        .arg(&tmp)
        .arg(".")
        // Progress goes to stderr, so `cargo xtask hydra-bin` prints only the path on stdout.
        .stdout(Stdio::from(io::stderr()))
        .stderr(Stdio::inherit());
    let result = run_within(&mut command, GO_BUILD_TIMEOUT);
    let status = match result {
        Ok(status) => status,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Binary(format!(
                "Hydra {HYDRA_VERSION} is not built yet and `go` is not on PATH: install Go \
                 (1.22 or later) and a C compiler, or set HYDRA_BIN to a Hydra {HYDRA_VERSION} binary"
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
            "go build of Hydra {HYDRA_VERSION} in {} failed ({status}); its output is above",
            module.display()
        )));
    }
    let version = version_of(&tmp);
    if version.as_deref().ok() != Some(HYDRA_VERSION) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Binary(format!(
            "the freshly built Hydra reports {version:?}, expected {HYDRA_VERSION}"
        )));
    }
    fs::rename(&tmp, dest).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", tmp.display(), dest.display()),
            e,
        )
    })?;
    eprintln!(
        "built Ory Hydra {HYDRA_VERSION} in {:.0?}: {}",
        started.elapsed(),
        dest.display()
    );
    Ok(())
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

/// Runs `command` to completion, killing it after `timeout`.
fn run_within(command: &mut Command, timeout: Duration) -> io::Result<std::process::ExitStatus> {
    let mut child = command.spawn()?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("still running after {timeout:?}, killed"),
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `command` and returns its stdout, killing it after `timeout`.
fn output_within(command: &mut Command, timeout: Duration) -> io::Result<String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("child has no stdout pipe"))?;
    // Read on a thread so a chatty child cannot block on a full pipe while we wait for it.
    let reader = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("still running after {timeout:?}, killed"),
            ));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let text = reader
        .join()
        .map_err(|_| io::Error::other("stdout reader panicked"))??;
    if !status.success() {
        return Err(io::Error::other(format!("exited with {status}")));
    }
    Ok(text)
}
