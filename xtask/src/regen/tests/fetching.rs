//! Fetching a spec from a URL (through a stand-in server on loopback) and from the Go module
//! proxy, end to end through `regen_into`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use hydra_sdk_codegen::Source;

use super::super::fetch::from_go_module;
use super::*;

fn on_path(program: &str, version_arg: &str) -> bool {
    Command::new(program)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A one-request HTTP server on loopback answering `status` with `body`: the stand-in for a
/// release URL, which tests cannot reach.
fn stand_in_server(status: &'static str, body: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/ory/hydra/releases/api.json",
        listener.local_addr().expect("addr")
    );
    // Non-blocking with a deadline: a test whose client never connects must not hang.
    listener.set_nonblocking(true).expect("nonblocking");
    let server = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if std::time::Instant::now() > deadline {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => return,
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    });
    (url, server)
}

#[test]
fn a_url_is_fetched_through_a_stand_in_and_a_404_or_a_refused_connection_is_refused() {
    if !on_path("curl", "--version") {
        eprintln!("skipped: curl is not on PATH");
        return;
    }
    let repo = scratch_repo();
    let before = contents(repo.path());
    let url_input = |url: &str| SpecInput::Url {
        url: url.into(),
        version: "v2.3.0".into(),
    };

    let (url, server) = stand_in_server("404 Not Found", b"404 page not found".to_vec());
    let err = regen_into(repo.path(), &url_input(&url), &NO_BUILD)
        .expect_err("404")
        .to_string();
    server.join().expect("server");
    assert!(
        err.contains("could not download") && err.contains("404"),
        "{err}"
    );
    assert_eq!(contents(repo.path()), before);

    // A port nothing listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let err = regen_into(
        repo.path(),
        &url_input(&format!("http://127.0.0.1:{port}/api.json")),
        &NO_BUILD,
    )
    .expect_err("refused")
    .to_string();
    assert!(err.contains("could not download"), "{err}");
    assert_eq!(contents(repo.path()), before);

    let (url, server) = stand_in_server("200 OK", b"<html>not a spec</html>".to_vec());
    let err = regen_into(repo.path(), &url_input(&url), &NO_BUILD)
        .expect_err("HTML")
        .to_string();
    server.join().expect("server");
    assert!(err.contains("not JSON") && err.contains(&url), "{err}");
    assert_eq!(contents(repo.path()), before);

    let spec = std::fs::read(repo.path().join("openapi/api.json")).expect("spec");
    let (url, server) = stand_in_server("200 OK", spec);
    let report = regen_into(repo.path(), &url_input(&url), &NO_BUILD).expect("fetched");
    server.join().expect("server");
    assert!(report.diff.is_empty(), "{report}");
    // Same bytes, another source: only the provenance and the README's source row change.
    assert_eq!(
        report.written,
        ["openapi/api.source.json", "openapi/README.md"]
    );
    assert_eq!(pinned_provenance(repo.path()).source, Source::Url(url));
    check_at(repo.path()).expect("--check passes");
}

#[test]
fn a_release_beyond_v2_is_refused_before_any_download() {
    let err = from_go_module("v25.4.0")
        .err()
        .expect("v25 is not under /v2")
        .to_string();
    assert!(err.contains("--from"), "{err}");
    let err = from_go_module("v2.3.0; rm -rf /")
        .err()
        .expect("not a version")
        .to_string();
    assert!(err.contains("v2.x.y"), "{err}");
}

/// Against the real Go module proxy (or the module cache): the pinned v2.3.0 is exactly what the
/// proxy serves, and an unknown version is refused with go's own reason.
#[test]
fn the_go_module_proxy_serves_the_pinned_spec() {
    if !on_path("go", "version") {
        eprintln!("skipped: go is not on PATH");
        return;
    }
    let root = hydra_launcher::workspace_root();
    let recorded = pinned_provenance(&root);
    if recorded.source != Source::GoModule(MODULE.into()) {
        eprintln!("skipped: the pinned spec is not from {MODULE}");
        return;
    }
    let fetched = match from_go_module(&recorded.version) {
        Ok(fetched) => fetched,
        Err(e) => panic!("go mod download {MODULE}@{}: {e}", recorded.version),
    };
    assert_eq!(
        hydra_sdk_codegen::sha256_hex(&fetched.spec),
        recorded.sha256
    );
    assert_eq!(
        fetched.license_text.as_deref(),
        Some(
            std::fs::read(root.join("openapi/LICENSE"))
                .expect("LICENSE")
                .as_slice()
        )
    );
    assert_eq!(fetched.license.as_deref(), Some(recorded.license.as_str()));
    assert_eq!(
        fetched.copyright.as_deref(),
        Some(recorded.copyright.as_str())
    );

    let err = from_go_module("v2.999.0")
        .err()
        .expect("no such release")
        .to_string();
    assert!(
        err.contains("go mod download -json github.com/ory/hydra/v2@v2.999.0 failed"),
        "{err}"
    );
}
