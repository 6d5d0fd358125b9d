//! `HYDRA_CLIENT_SECRET_FILE`: the client secret from a file, as containers mount secrets.

use std::path::Path;

use hydra_sdk::Secret;
use zeroize::Zeroizing;

use crate::bounds::{open_regular_file, NotOpened};
use crate::Error;

/// The largest secret file read: a secret is tens of bytes, so anything bigger is a mistake
/// (a wrong path to a log or a device) and is not read into memory.
const MAX_SECRET_FILE: u64 = 4096;

/// Reads a secret the container way (a mounted Kubernetes or Docker secret): a small regular
/// file, its trailing newline trimmed. The error names the path, never the content.
pub(super) fn read_secret_file(name: &'static str, path: &Path) -> Result<Secret, Error> {
    use std::io::Read as _;
    let shown = path.display();
    let (file, len) = open_regular_file(path).map_err(|e| match e {
        NotOpened::Io(e) => Error::config(name, format!("cannot open {shown}: {e}")),
        NotOpened::NotRegular => Error::config(name, format!("{shown} is not a regular file")),
    })?;
    #[cfg(unix)]
    check_only_the_owner_writes(name, &file, &shown.to_string())?;
    if len > MAX_SECRET_FILE {
        return Err(Error::config(
            name,
            format!("{shown} is larger than {MAX_SECRET_FILE} bytes"),
        ));
    }
    // Room for the whole file up front, so reading never moves the bytes and leaves a copy
    // behind; zeroed when dropped, as the `Secret` made of them is.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET_FILE as usize + 1));
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::config(name, format!("cannot read {shown}: {e}")))?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_SECRET_FILE) {
        return Err(Error::config(
            name,
            format!("{shown} is larger than {MAX_SECRET_FILE} bytes"),
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::config(name, format!("{shown} is not UTF-8 text")))?;
    let secret = text.strip_suffix('\n').unwrap_or(text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.trim().is_empty() {
        return Err(Error::config(name, format!("{shown} is empty")));
    }
    // What `ConfigBuilder::build` refuses in any secret, named here by the file's setting.
    if secret.chars().any(char::is_control) {
        return Err(Error::config(
            name,
            format!(
                "{shown} holds a control character (a line break, say) besides a trailing newline"
            ),
        ));
    }
    Ok(Secret::from(secret))
}

/// Whoever can write the secret file chooses the client's secret (the flow sets a configured
/// secret on its client when Hydra rejects it), so, as ssh does with a key, the file must be
/// this process's user's or root's, and writable by no one else. Checked on the opened file.
#[cfg(unix)]
fn check_only_the_owner_writes(
    name: &'static str,
    file: &std::fs::File,
    shown: &str,
) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = file
        .metadata()
        .map_err(|e| Error::config(name, format!("cannot read {shown}: {e}")))?;
    if metadata.mode() & 0o022 != 0 {
        return Err(Error::config(
            name,
            format!(
                "{shown} is writable by its group or by others (mode {:o}), who could choose \
                 the client's secret; chmod go-w it",
                metadata.mode() & 0o777
            ),
        ));
    }
    let owner = metadata.uid();
    let me = rustix::process::geteuid().as_raw();
    if owner != me && owner != 0 {
        return Err(Error::config(
            name,
            format!(
                "{shown} belongs to user {owner}, not to this process's ({me}) or root, and its \
                 owner could choose the client's secret"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hydra_sdk::ExposeSecret as _;

    use crate::config::tests::env;
    use crate::{Config, Error};

    #[test]
    fn the_client_secret_is_read_from_a_small_regular_file_without_its_newline() {
        let dir = std::env::temp_dir().join(format!("flow-secret-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let file = dir.join("secret");
        let path = file.to_string_lossy().into_owned();
        let urls = [
            ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445"),
            ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
        ];
        let with = |extra: &[(&'static str, &str)]| {
            let mut all: Vec<(&str, &str)> = urls.to_vec();
            all.extend_from_slice(extra);
            Config::from_env_with(env(&all))
        };

        std::fs::write(&file, "s3cret-from-a-file\n").unwrap_or_else(|e| panic!("{e}"));
        let config = with(&[("HYDRA_CLIENT_SECRET_FILE", &path)]).unwrap_or_else(|e| panic!("{e}"));
        let secret = config
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_string());
        assert_eq!(secret.as_deref(), Some("s3cret-from-a-file"));

        // Not both; not a directory; not a large file; not an empty one; never the content.
        let both = with(&[
            ("HYDRA_CLIENT_SECRET", "x"),
            ("HYDRA_CLIENT_SECRET_FILE", &path),
        ]);
        assert!(matches!(
            both,
            Err(Error::Config {
                name: "HYDRA_CLIENT_SECRET_FILE",
                ..
            })
        ));
        let refused = |path: &str, why: &str| {
            let err = with(&[("HYDRA_CLIENT_SECRET_FILE", path)])
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains(why) && !e.contains("xxxx")),
                "{err:?}"
            );
        };
        refused(&dir.to_string_lossy(), "not a regular file");
        std::fs::write(&file, "x".repeat(5000)).unwrap_or_else(|e| panic!("{e}"));
        refused(&path, "larger than");
        std::fs::write(&file, "\n").unwrap_or_else(|e| panic!("{e}"));
        refused(&path, "is empty");
        refused(&dir.join("absent").to_string_lossy(), "cannot open");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Whoever can write the file chooses the client's secret: the flow sets a configured secret
    /// on its client when Hydra rejects it, so a file another user could write handed them the
    /// service's identity. Refused, as ssh refuses such a key.
    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("flow-secret-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let file = dir.join("secret");
        std::fs::write(&file, "s3cret\n").unwrap_or_else(|e| panic!("{e}"));
        let path = file.to_string_lossy().into_owned();
        let read = |mode: u32| {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("{e}"));
            Config::from_env_with(env(&[
                ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445"),
                ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
                ("HYDRA_CLIENT_SECRET_FILE", &path),
            ]))
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        for mode in [0o600, 0o640, 0o644, 0o400] {
            assert_eq!(read(mode), Ok(()), "{mode:o}");
        }
        for mode in [0o666, 0o620, 0o602] {
            let err = read(mode).expect_err("writable by others");
            assert!(
                err.contains("writable") && err.contains("chmod go-w"),
                "{mode:o}: {err}"
            );
        }
        // Another user's file (only root can make one here).
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&file, Some(65_534), None).unwrap_or_else(|e| panic!("{e}"));
            let err = read(0o644).expect_err("another user's");
            assert!(err.contains("belongs to user 65534"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
