//! Write: the planned files onto disk, all or nothing as far as a filesystem allows. Each file is
//! written beside its target first and renamed over it only when every one was written.

use std::path::Path;

use crate::Result;

/// Writes each file that differs from what is on disk: all to temporary files beside their
/// targets first, then renamed over them. Returns the paths written.
pub(super) fn write_all(root: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<String>> {
    let mut pending = Vec::new();
    for (relative, bytes) in files {
        let target = root.join(relative);
        if read_optional(&target)?.as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = target.with_file_name(format!(".{name}.regen-tmp"));
        if let Err(e) = write_new(&temporary, bytes) {
            let _ = std::fs::remove_file(&temporary);
            for (temporary, _, _) in &pending {
                let _ = std::fs::remove_file(temporary);
            }
            return Err(format!("cannot write {}: {e}", temporary.display()).into());
        }
        pending.push((temporary, target, relative.clone()));
    }
    let mut written = Vec::new();
    for (temporary, target, relative) in pending {
        std::fs::rename(&temporary, &target).map_err(|e| {
            format!(
                "cannot move {} to {}: {e} (already written: {written:?})",
                temporary.display(),
                target.display()
            )
        })?;
        written.push(relative);
    }
    Ok(written)
}

/// Writes `bytes` to a file made anew at `path`, synced to disk. Whatever was at `path` (a
/// temporary file a crashed run left, or a symlink to somewhere else) is removed first, not
/// written through, and the file is created with `create_new`, which follows no symlink.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The file's bytes, or `None` when there is no such file.
pub(super) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display()).into()),
    }
}

#[cfg(test)]
mod tests {
    use hydra_launcher::run::TempDir;

    use super::*;

    #[test]
    fn only_changed_files_are_written_and_no_temporary_file_is_left() -> Result {
        let dir = TempDir::new("hydra-rs-regen-write-test")?;
        std::fs::write(dir.path().join("same"), b"same")?;
        std::fs::write(dir.path().join("old"), b"old")?;
        let files = [
            ("same".to_string(), b"same".to_vec()),
            ("old".to_string(), b"new".to_vec()),
            ("fresh".to_string(), b"fresh".to_vec()),
        ];
        assert_eq!(write_all(dir.path(), &files)?, ["old", "fresh"]);
        assert_eq!(
            read_optional(&dir.path().join("old"))?,
            Some(b"new".to_vec())
        );
        assert_eq!(read_optional(&dir.path().join("missing"))?, None);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()?;
        names.sort();
        assert_eq!(names, ["fresh", "old", "same"]);
        Ok(())
    }

    #[test]
    fn a_file_that_cannot_be_written_leaves_the_others_untouched() -> Result {
        let dir = TempDir::new("hydra-rs-regen-write-test")?;
        std::fs::write(dir.path().join("a"), b"a")?;
        let files = [
            ("a".to_string(), b"changed".to_vec()),
            ("no-such-dir/b".to_string(), b"b".to_vec()),
        ];
        assert!(write_all(dir.path(), &files).is_err());
        assert_eq!(read_optional(&dir.path().join("a"))?, Some(b"a".to_vec()));
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }

    /// A temporary file's name is known in advance: a symlink left there (by a crashed run, or
    /// planted) was followed, so the write went to wherever it pointed, and the rename then put
    /// the link itself in the target's place.
    #[cfg(unix)]
    #[test]
    fn a_symlink_where_the_temporary_file_goes_is_not_followed() -> Result {
        let dir = TempDir::new("hydra-rs-regen-write-test")?;
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"not yours")?;
        std::os::unix::fs::symlink(&elsewhere, dir.path().join(".a.regen-tmp"))?;
        write_all(dir.path(), &[("a".to_string(), b"new".to_vec())])?;
        assert_eq!(read_optional(&elsewhere)?, Some(b"not yours".to_vec()));
        let a = dir.path().join("a");
        assert!(!std::fs::symlink_metadata(&a)?.file_type().is_symlink());
        assert_eq!(read_optional(&a)?, Some(b"new".to_vec()));
        Ok(())
    }
}
