//! A release's source archive: its sha256 checked before anything is built from it, then
//! unpacked with `tar` for `go build`.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::Error;

/// Fails unless the file at `archive` exists and has the lower-case hex sha256 `expected`.
pub(crate) fn check_sha256(archive: &Path, expected: &str, version: &str) -> Result<(), Error> {
    let mut file = File::open(archive).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Error::Binary(format!(
                "the source archive of Hydra {version} is not at {}: set HYDRA_SOURCE to a \
                 `git archive --format=tar.gz {version}` of github.com/ory/hydra, or HYDRA_BIN \
                 to a Hydra {version} binary",
                archive.display()
            ))
        } else {
            Error::io(format!("opening {}", archive.display()), e)
        }
    })?;
    let actual =
        sha256_of(&mut file).map_err(|e| Error::io(format!("reading {}", archive.display()), e))?;
    if actual != expected {
        return Err(Error::Binary(format!(
            "{} has sha256 {actual}, expected {expected}; if this is the archive you mean to \
             build, set HYDRA_SOURCE_SHA256={actual}",
            archive.display()
        )));
    }
    Ok(())
}

fn sha256_of(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Unpacks the gzipped tar `archive` into `dest`, which must not exist yet.
pub(crate) fn unpack(archive: &Path, dest: &Path) -> Result<(), Error> {
    let _ = fs::remove_dir_all(dest); // A leftover of an interrupted build with our pid.
    fs::create_dir_all(dest).map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(dest)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| Error::io(format!("running tar -xzf {}", archive.display()), e))?;
    if !status.success() {
        let _ = fs::remove_dir_all(dest);
        return Err(Error::Binary(format!(
            "tar -xzf {} failed ({status})",
            archive.display()
        )));
    }
    // `git archive` puts the module at the top; a GitHub release tarball nests it one level.
    if !dest.join("go.mod").is_file() {
        let _ = fs::remove_dir_all(dest);
        return Err(Error::Binary(format!(
            "{} has no go.mod at its top level; make it with `git archive --format=tar.gz <tag>`",
            archive.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_180_test_vector() -> io::Result<()> {
        assert_eq!(
            sha256_of(&mut &b"abc"[..])?,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        Ok(())
    }

    #[test]
    fn a_missing_or_different_archive_is_refused_with_what_to_do() -> Result<(), Error> {
        let missing = check_sha256(Path::new("/nonexistent/hydra.tar.gz"), "00", "v26.2.0");
        let message = missing.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("HYDRA_SOURCE"), "{message}");

        let dir = crate::run::TempDir::new("hydra-source-test")?;
        let file = dir.path().join("archive.tar.gz");
        fs::write(&file, b"abc").map_err(|e| Error::io("writing", e))?;
        let wrong = check_sha256(&file, &"0".repeat(64), "v26.2.0");
        let message = wrong.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("HYDRA_SOURCE_SHA256=ba7816bf"),
            "{message}"
        );
        assert!(check_sha256(
            &file,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "v26.2.0"
        )
        .is_ok());
        Ok(())
    }
}
