//! Readiness probes: how the launcher tells that a started Hydra answers.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::Urls;

/// Checks whether a started Hydra is ready; `Err` says what it saw instead.
///
/// The default is [`http_ready_probe`] for plain HTTP. With TLS, a caller that can speak TLS
/// should pass its own (this crate is std-only); without one, the launcher only checks that the
/// admin port accepts connections.
pub type Probe = Arc<dyn Fn(&Urls) -> Result<(), String> + Send + Sync>;

/// The default readiness check: `GET /health/ready` on the admin port, then on the public one,
/// must answer Hydra's 200 (see [`health_ready_over`]). Plain HTTP/1.0 over a `TcpStream`, so
/// the launcher needs no HTTP client.
///
/// Both ports, and Hydra's answer, not any 200: a port found free can be taken before Hydra binds
/// it (Hydra v2.3.0 runs its migrations first) by another listener, such as a test's stand-in
/// binding port 0. Hydra then exits, and its start is retried on new ports; but a probe that took
/// the stand-in's 200 for Hydra's, or checked only the port Hydra did bind, passed first, and a
/// test sent its requests to another test's stand-in (a CI rehearsal saw two tests fail so).
pub fn http_ready_probe(urls: &Urls) -> Result<(), String> {
    for port in [urls.admin_port, urls.public_port] {
        let mut stream = connect_for_probe(port)?;
        health_ready_over(&mut stream).map_err(|e| format!("port {port}: {e}"))?;
    }
    Ok(())
}

/// A loopback connection to `port` with the probes' time limits: 1 s to connect, 2 s for each
/// read and write. A probe that speaks TLS wraps it, then asks [`health_ready_over`].
pub fn connect_for_probe(port: u16) -> Result<TcpStream, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let io_timeout = Some(Duration::from_secs(2));
    stream
        .set_read_timeout(io_timeout)
        .and_then(|()| stream.set_write_timeout(io_timeout))
        .map_err(|e| format!("configuring the socket: {e}"))?;
    Ok(stream)
}

/// Sends `GET /health/ready` (HTTP/1.0) over `stream`, plain or TLS, and checks that Hydra
/// answered: 200 with its body, `{"status":"ok"}`. `Err` says what it saw instead.
pub fn health_ready_over(stream: &mut (impl Read + Write)) -> Result<(), String> {
    stream
        .write_all(b"GET /health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| format!("sending GET /health/ready: {e}"))?;
    // HTTP/1.0: the answer ends when the connection does. A few hundred bytes; 4 KiB at most.
    let mut answer = Vec::with_capacity(512);
    stream
        .take(4096)
        .read_to_end(&mut answer)
        .map_err(|e| format!("reading the answer to GET /health/ready: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split_whitespace().nth(1).unwrap_or("no status line");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    match status {
        "200" if body.replace(' ', "").contains("\"status\":\"ok\"") => Ok(()),
        "200" => Err("GET /health/ready answered 200, but not with Hydra's body".to_owned()),
        status => Err(format!("GET /health/ready answered {status}")),
    }
}

pub(crate) fn tcp_probe(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map(drop)
        .map_err(|e| format!("connecting to {addr}: {e}"))
}

#[cfg(test)]
mod tests {
    use std::io::{self, Cursor, Read, Write};

    use super::health_ready_over;

    /// A stream that answers with `answer` and keeps what was sent.
    struct Scripted {
        answer: Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.answer.read(buf)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.sent.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn ask(answer: &str) -> (Result<(), String>, String) {
        let mut stream = Scripted {
            answer: Cursor::new(answer.as_bytes().to_vec()),
            sent: Vec::new(),
        };
        let result = health_ready_over(&mut stream);
        (result, String::from_utf8_lossy(&stream.sent).into_owned())
    }

    #[test]
    fn only_hydra_s_200_is_ready() {
        let (ready, sent) = ask("HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ok\"}");
        assert_eq!(ready, Ok(()));
        assert!(sent.starts_with("GET /health/ready HTTP/1.0\r\n"), "{sent}");
        let (not_ready, _) = ask("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(not_ready, Err("GET /health/ready answered 503".to_owned()));
        let (silent, _) = ask("");
        assert_eq!(
            silent,
            Err("GET /health/ready answered no status line".to_owned())
        );
        // Another test's stand-in on a port Hydra was given: a 200, not Hydra's.
        let (stand_in, _) = ask("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
        assert_eq!(
            stand_in,
            Err("GET /health/ready answered 200, but not with Hydra's body".to_owned())
        );
    }
}
