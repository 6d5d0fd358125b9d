//! Configuration a hostile or careless environment can produce: every value bounded and checked
//! before anything is sent, and no credential from a URL echoed in an error.

use std::time::Duration;

use flow::{Config, Error};

use crate::config::env;

fn from_env(extra: &[(&str, &str)]) -> Result<Config, Error> {
    let mut pairs = vec![
        ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445"),
        ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
    ];
    pairs.extend_from_slice(extra);
    // Later entries win, as a variable set twice would.
    Config::from_env_with(env(&pairs))
}

/// The variable or setting named, and the reason, of a configuration error.
fn refused(result: Result<Config, Error>) -> (&'static str, String) {
    match result {
        Err(Error::Config { name, reason }) => (name, reason),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn a_url_with_a_password_that_does_not_parse_is_not_echoed() {
    for url in [
        "http://admin:hunter2-SECRET@127.0.0.1:99999",
        "http://admin:hunter2-SECRET@[::1",
        "https://admin:hunter2-SECRET@exa mple.com/",
    ] {
        let (name, reason) = refused(from_env(&[("HYDRA_ADMIN_URL", url)]));
        assert_eq!(name, "HYDRA_ADMIN_URL");
        assert!(!reason.contains("SECRET"), "{reason}");
        assert!(!reason.contains("hunter2"), "{reason}");
        let (_, reason) = refused(Config::builder("http://127.0.0.1:4445", url).build());
        assert!(!reason.contains("hunter2"), "{reason}");
    }
}

#[test]
fn a_ca_file_that_is_not_a_regular_file_is_refused_without_reading_it() {
    // `/dev/zero` never ends; before, it was read until the OOM killer stopped the process.
    for path in ["/dev/zero", "/dev/urandom", "/"] {
        let (name, reason) = refused(from_env(&[("HYDRA_CA_FILE", path)]));
        assert_eq!(name, "HYDRA_CA_FILE");
        assert!(reason.contains("not a regular file"), "{path}: {reason}");
    }
}

/// A FIFO for either file: opening one for reading waits for a writer, so a check made after
/// the open never ran and the configuration never returned (a wrong mount, or a path someone
/// else controls).
#[cfg(unix)]
#[test]
fn a_fifo_as_the_ca_or_secret_file_is_refused_without_waiting_for_a_writer(
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("flow-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success(), "mkfifo");
    let path = fifo.to_string_lossy().into_owned();
    let mut outcomes = Vec::new();
    for variable in ["HYDRA_CA_FILE", "HYDRA_CLIENT_SECRET_FILE"] {
        let (sent, received) = std::sync::mpsc::channel();
        let path = path.clone();
        // On a thread of its own: before the fix it never returned, and this test must end.
        std::thread::spawn(move || {
            let _ = sent.send(refused(from_env(&[(variable, path.as_str())])));
        });
        outcomes.push((variable, received.recv_timeout(Duration::from_secs(5))));
    }
    std::fs::remove_dir_all(&dir)?;
    for (variable, outcome) in outcomes {
        let (name, reason) =
            outcome.map_err(|_| format!("{variable}: still opening the FIFO after 5 s"))?;
        assert_eq!(name, variable);
        assert!(
            reason.contains("not a regular file"),
            "{variable}: {reason}"
        );
    }
    Ok(())
}

#[test]
fn a_ca_file_over_a_mebibyte_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("flow-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let big = dir.join("big.pem");
    std::fs::write(&big, vec![b'#'; 1024 * 1024 + 1])?;
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "# no certificate here\n")?;
    let big_reason = refused(
        Config::builder("http://127.0.0.1:1", "http://127.0.0.1:2")
            .ca_file(&big)
            .build(),
    );
    let empty_reason = refused(
        Config::builder("http://127.0.0.1:1", "http://127.0.0.1:2")
            .ca_file(&empty)
            .build(),
    );
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(big_reason.0, "ca_file");
    assert!(
        big_reason.1.contains("larger than 1048576 bytes"),
        "{}",
        big_reason.1
    );
    assert!(
        empty_reason.1.contains("no certificate"),
        "{}",
        empty_reason.1
    );
    Ok(())
}

#[test]
fn control_characters_in_scope_audience_client_id_and_name_are_refused() {
    for (variable, value) in [
        ("HYDRA_SCOPE", "read\nwrite"),
        ("HYDRA_SCOPE", "read\r"),
        ("HYDRA_SCOPE", "read\u{0}"),
        ("HYDRA_AUDIENCE", "smd\u{7}"),
        ("HYDRA_CLIENT_ID", "bss\ttab"),
        ("HYDRA_CLIENT_NAME", "Boot\u{1b}[31m service"),
        ("HYDRA_REDIRECT_URI", "http://127.0.0.1/cb\n"),
    ] {
        let (name, reason) = refused(from_env(&[(variable, value)]));
        assert_eq!(name, variable, "{value:?}: {reason}");
        // The message stays one line: the value is shown escaped.
        assert!(
            !reason.contains(['\n', '\r', '\u{0}', '\u{1b}']),
            "{reason:?}"
        );
    }
}

#[test]
fn overlong_settings_are_refused() {
    let long_id = "a".repeat(256);
    let long_name = "n".repeat(1025);
    let long_scope = "s".repeat(4097);
    let long_audience = "a".repeat(1025);
    // A secret file holds at most 4 KiB; the variable held any length (a 100 KB one was sent).
    let long_secret = "x".repeat(4097);
    // Every retry's log line and the error repeated a URL whole (5,000 characters).
    let long_url = format!("http://{}.example.org", "h".repeat(2048));
    for (variable, value) in [
        ("HYDRA_CLIENT_ID", long_id.as_str()),
        ("HYDRA_CLIENT_NAME", long_name.as_str()),
        ("HYDRA_SCOPE", long_scope.as_str()),
        ("HYDRA_AUDIENCE", long_audience.as_str()),
        ("HYDRA_CLIENT_SECRET", long_secret.as_str()),
        ("HYDRA_ADMIN_URL", long_url.as_str()),
        ("HYDRA_PUBLIC_URL", long_url.as_str()),
    ] {
        let (name, reason) = refused(from_env(&[(variable, value)]));
        assert_eq!(name, variable, "{reason}");
        assert!(reason.contains("longer than"), "{reason}");
        assert!(reason.len() < 200, "{reason}");
    }
    // The limits are not in the way of real values.
    let id = "c".repeat(255);
    from_env(&[
        ("HYDRA_CLIENT_ID", id.as_str()),
        ("HYDRA_SCOPE", "openid email profile read"),
    ])
    .expect("ordinary values");
}

#[test]
fn timeouts_that_round_to_zero_or_overflow_are_refused() {
    for (variable, value) in [
        ("HYDRA_REQUEST_TIMEOUT", "0.0000001"),
        ("HYDRA_CONNECT_TIMEOUT", "1e-9"),
        ("HYDRA_DEADLINE", "0.0004s"),
    ] {
        let (name, _) = refused(from_env(&[(variable, value)]));
        assert_eq!(name, variable);
    }
    let builder = || Config::builder("http://127.0.0.1:1", "http://127.0.0.1:2");
    let (name, _) = refused(builder().request_timeout(Duration::from_nanos(1)).build());
    assert_eq!(name, "request_timeout");
    let (name, _) = refused(builder().connect_timeout(Duration::ZERO).build());
    assert_eq!(name, "connect_timeout");
    let (name, _) = refused(builder().deadline(Duration::MAX).build());
    assert_eq!(name, "deadline");
    builder()
        .request_timeout(Duration::from_millis(1))
        .deadline(Duration::from_secs(86_400))
        .build()
        .expect("the bounds themselves are allowed");
}

/// A client id the URL would resolve to another path of the admin API is refused: `.` or `..` is
/// a dot segment in `/admin/clients/{id}` (the look-up went to `/admin/clients/` or `/admin/`:
/// the client was made, and every later run failed and could not delete it), and `\` is a `/`
/// to an http URL (`x\..\victim` read, patched and could re-secret the client `victim`, which
/// another deployment owned). Both found by outside audits against a real Hydra.
#[test]
fn a_client_id_the_url_would_resolve_to_another_path_is_refused() {
    for id in [".", "..", "x\\..\\victim", "a\\b", "\\"] {
        let (name, reason) = refused(from_env(&[("HYDRA_CLIENT_ID", id)]));
        assert_eq!(name, "HYDRA_CLIENT_ID", "{id}");
        assert!(reason.contains("not a usable client id"), "{id}: {reason}");
        let (name, _) = refused(
            Config::builder("http://127.0.0.1:4445", "http://127.0.0.1:4444")
                .client_id(id)
                .build(),
        );
        assert_eq!(name, "client_id", "{id}");
    }
    // Dots inside an id are an id like any other.
    for id in ["...", "a..b", ".hidden", "bss."] {
        assert!(from_env(&[("HYDRA_CLIENT_ID", id)]).is_ok(), "{id}");
    }
}

/// A PEM block whose contents are not a certificate is refused under the CA file's name, with
/// the reason, when the file is read (it was refused only when the HTTP client was built, as
/// `http_client cannot build: builder error`).
#[test]
fn a_ca_file_with_a_block_that_is_no_certificate_is_refused_under_its_name(
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("flow-ca-block-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("ca.pem");
    std::fs::write(
        &path,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )?;
    let result = from_env(&[("HYDRA_CA_FILE", path.to_str().ok_or("utf-8 path")?)]);
    let _ = std::fs::remove_dir_all(&dir);
    let (name, reason) = refused(result);
    assert_eq!(name, "HYDRA_CA_FILE");
    // Which certificate, and why (rustls's reason), not only reqwest's "builder error".
    assert!(reason.contains("certificate 1"), "{reason}");
    assert!(reason.contains("BadEncoding"), "{reason}");
    Ok(())
}
