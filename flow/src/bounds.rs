//! Bounds on configuration values, checked once in `ConfigBuilder::build`: a value from the
//! environment or a caller is never trusted to be short, printable or a file of sane size.

use std::time::Duration;

/// The bounds on what a setting may hold. Timeouts: from a millisecond (a smaller one rounds to
/// nothing and fails every request) to a day (so deadline arithmetic cannot overflow).
pub(crate) const MIN_TIMEOUT: Duration = Duration::from_millis(1);
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// Hydra keeps client ids and names in its database; these are far above any real one.
pub(crate) const MAX_CLIENT_ID: usize = 255;
pub(crate) const MAX_CLIENT_NAME: usize = 1024;
/// The whole space-separated list, and each audience.
pub(crate) const MAX_SCOPE: usize = 4096;
pub(crate) const MAX_AUDIENCE: usize = 1024;
pub(crate) const MAX_AUDIENCES: usize = 64;
/// A base URL (it is repeated in every error and retry's log line) and a client secret (as long
/// as a secret file may be).
pub(crate) const MAX_URL: usize = 2048;
pub(crate) const MAX_SECRET: usize = 4096;
/// A CA bundle is a few certificates; a bigger file is a mistake (or `/dev/zero`).
pub(crate) const MAX_CA_FILE: u64 = 1024 * 1024;

/// A value for an error message: quoted and escaped (a newline shows as `\n`), cut to 64
/// characters, so a message stays one readable line whatever the setting held.
pub(crate) fn shown(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    let more = if cut.len() < value.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

/// An error and the errors beneath it, on one line: reqwest's own message for a client it cannot
/// build is only "builder error".
pub(crate) fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Checks a text setting: no control characters (a newline in a scope is sent to Hydra, which
/// registers the client and then refuses every token request), at most `max` bytes.
pub(crate) fn check_text(value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("is longer than {max} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{} contains a control character", shown(value)));
    }
    Ok(())
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, separated by single spaces.
pub(crate) fn check_scope(scope: &str) -> Result<(), String> {
    check_text(scope, MAX_SCOPE)?;
    let token_char = |c: char| matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
    if scope
        .split(' ')
        .any(|s| s.is_empty() || !s.chars().all(token_char))
    {
        return Err(format!(
            "{} is not a space-separated list of scopes (RFC 6749 §3.3)",
            shown(scope)
        ));
    }
    Ok(())
}

/// Why [`open_regular_file`] refused a path.
pub(crate) enum NotOpened {
    /// The open or the `fstat` failed.
    Io(std::io::Error),
    /// A directory, a device, a FIFO, a socket.
    NotRegular,
}

/// Opens `path` for reading if it is a regular file; its length comes with it. The check is made
/// on the opened file, so a path swapped after a check is still refused; and on Unix the open
/// does not block (`O_NONBLOCK`), since opening a FIFO for reading otherwise waits for a writer,
/// before any check could run. (On a regular file the flag changes nothing.)
pub(crate) fn open_regular_file(path: &std::path::Path) -> Result<(std::fs::File, u64), NotOpened> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(NotOpened::Io)?;
    let metadata = file.metadata().map_err(NotOpened::Io)?;
    if !metadata.is_file() {
        return Err(NotOpened::NotRegular);
    }
    Ok((file, metadata.len()))
}

/// Reads a CA bundle: a regular file of at most [`MAX_CA_FILE`] bytes, read through a limit
/// (the file may grow between the check and the read), holding at least one PEM certificate.
pub(crate) fn read_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    use std::io::Read as _;
    let shown_path = shown(&path.display().to_string());
    let (file, _) = open_regular_file(path).map_err(|e| match e {
        NotOpened::Io(e) => format!("cannot read {shown_path}: {e}"),
        NotOpened::NotRegular => format!("{shown_path} is not a regular file"),
    })?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE + 1)
        .read_to_end(&mut pem)
        .map_err(|e| format!("cannot read {shown_path}: {e}"))?;
    if pem.len() as u64 > MAX_CA_FILE {
        return Err(format!(
            "{shown_path} is larger than {MAX_CA_FILE} bytes; a CA bundle is a few certificates"
        ));
    }
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{shown_path} is not PEM: {e}"))?;
    if certificates.is_empty() {
        return Err(format!("{shown_path} holds no certificate"));
    }
    // Each one as the HTTP client will take it: a PEM block that holds no certificate passes
    // the PEM reading and would fail only when the client is built, as "builder error".
    for (i, certificate) in certificates.iter().enumerate() {
        hydra_sdk::http_client_builder()
            .tls_certs_only([certificate.clone()])
            .build()
            .map_err(|e| {
                format!(
                    "certificate {} of {shown_path} cannot be used: {}",
                    i + 1,
                    with_sources(&e)
                )
            })?;
    }
    Ok(certificates)
}
