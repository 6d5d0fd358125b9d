//! Log tailing: the end of a server's log, for error messages and failing tests.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

use crate::Error;

/// Sends `command`'s stdout and stderr to the file at `path`, appended to or created afresh.
pub(crate) fn log_to(command: &mut Command, path: &Path, append: bool) -> Result<(), Error> {
    let log = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| Error::io(format!("duplicating {}", path.display()), e))?;
    command.stdout(log).stderr(log_err);
    Ok(())
}

/// The last `lines` lines of the file at `path`, read from at most its last 64 KiB.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::TempDir;

    #[test]
    fn tail_keeps_the_last_lines() -> Result<(), Error> {
        let dir = TempDir::new("hydra-launcher-test")?;
        let path = dir.path().join("log");
        std::fs::write(&path, "one\ntwo\nthree\n").map_err(|e| Error::io("writing the log", e))?;
        assert_eq!(tail(&path, 2), "two\nthree");
        Ok(())
    }
}
