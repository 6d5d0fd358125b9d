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

/// The default readiness check: `GET /health/ready` on the admin port must answer 200.
/// Plain HTTP/1.0 over a `TcpStream`, so the launcher needs no HTTP client.
pub fn http_ready_probe(urls: &Urls) -> Result<(), String> {
    let mut stream = connect_for_probe(urls.admin_port)?;
    health_ready_over(&mut stream)
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
/// answered 200; `Err` says what it saw instead.
pub fn health_ready_over(stream: &mut (impl Read + Write)) -> Result<(), String> {
    stream
        .write_all(b"GET /health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| format!("sending GET /health/ready: {e}"))?;
    // The status line is all we need: "HTTP/1.x NNN".
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 64];
    while head.len() < 12 {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("reading the answer to GET /health/ready: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let head = String::from_utf8_lossy(&head);
    let status = head.split_whitespace().nth(1).unwrap_or("no status line");
    if status == "200" {
        Ok(())
    } else {
        Err(format!(
            "GET /health/ready on the admin port answered {status}"
        ))
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
    fn only_a_200_status_line_is_ready() {
        let (ready, sent) = ask("HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ok\"}");
        assert_eq!(ready, Ok(()));
        assert!(sent.starts_with("GET /health/ready HTTP/1.0\r\n"), "{sent}");
        let (not_ready, _) = ask("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(
            not_ready,
            Err("GET /health/ready on the admin port answered 503".to_owned())
        );
        let (silent, _) = ask("");
        assert_eq!(
            silent,
            Err("GET /health/ready on the admin port answered no status line".to_owned())
        );
    }
}
