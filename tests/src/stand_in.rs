//! A scripted HTTP server on 127.0.0.1 for the faults a real Hydra cannot be made to produce: a
//! 503 with `Retry-After`, a stall, a truncated body, an endless body, a malformed token. Tests
//! that use it say `stand_in` in their name; everything else talks to a real Hydra.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the stand-in does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Writes these bytes (a whole HTTP/1.1 response, or part of one) and closes.
    Raw(String),
    /// Reads the request and then answers nothing, holding the connection open.
    Stall,
    /// Reads the request, waits, then writes these bytes and closes: a slow server.
    Late(Duration, String),
    /// Writes `head` (status line and headers, without the blank line), then a body that starts
    /// with `prefix` and goes on with `a`s, in 64 KiB pieces (chunked when the head says so),
    /// until `up_to` body bytes are written or the client hangs up. Bounded, so a client without
    /// a cap is hurt but the machine is not; [`StandIn::written`] says how far it got.
    Endless {
        /// Status line and headers.
        head: String,
        /// The body's first bytes, e.g. `{"access_token":"`.
        prefix: String,
        /// At most this many body bytes.
        up_to: u64,
    },
}

/// A valid token response (RFC 6749 §5.1) for a stand-in token endpoint to answer with.
pub const TOKEN: &str =
    r#"{"access_token":"stand-in-token","token_type":"bearer","expires_in":3600,"scope":"read"}"#;

impl Reply {
    /// A complete JSON response with `status` and extra header lines (`"retry-after: 1"`).
    pub fn json(status: &str, headers: &[&str], body: &str) -> Self {
        Self::with_type(status, "application/json", headers, body)
    }

    /// A `200 OK` token response with this JSON body, e.g. [`TOKEN`] or a malformed one.
    pub fn token(body: &str) -> Self {
        Self::json("200 OK", &[], body)
    }

    /// A complete response with `status`, `content-type` and extra header lines.
    pub fn with_type(status: &str, content_type: &str, headers: &[&str], body: &str) -> Self {
        let mut head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        Reply::Raw(format!("{head}\r\n{body}"))
    }

    /// A redirect with `status` (`"307 Temporary Redirect"`) to `location`, with no body.
    pub fn redirect(status: &str, location: &str) -> Self {
        Reply::Raw(format!(
            "HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\n\
             connection: close\r\n\r\n"
        ))
    }

    /// A `200 OK` JSON token response whose `access_token` never ends: [`Reply::Endless`] with
    /// `framing` as its one framing header (`"transfer-encoding: chunked"`, or a
    /// `content-length` it does not keep to), up to `up_to` body bytes.
    pub fn endless_token(framing: &str, up_to: u64) -> Self {
        Reply::Endless {
            head: format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{framing}\r\n"),
            prefix: r#"{"access_token":""#.into(),
            up_to,
        }
    }
}

const PIECE: usize = 64 * 1024;

/// Writes an [`Reply::Endless`] body; counts body bytes into `written`.
async fn write_endless(
    socket: &mut tokio::net::TcpStream,
    head: &str,
    prefix: &str,
    up_to: u64,
    written: &AtomicU64,
) -> std::io::Result<()> {
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(b"\r\n").await?;
    let filler = vec![b'a'; PIECE];
    let mut sent: u64 = 0;
    let mut first = true;
    while sent < up_to {
        let piece: &[u8] = if first { prefix.as_bytes() } else { &filler };
        first = false;
        if chunked {
            socket
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .await?;
            socket.write_all(piece).await?;
            socket.write_all(b"\r\n").await?;
        } else {
            socket.write_all(piece).await?;
        }
        sent = sent.saturating_add(piece.len() as u64);
        written.fetch_add(piece.len() as u64, Ordering::SeqCst);
    }
    // No final chunk: the body never ends properly.
    Ok(())
}

/// The server; stops when dropped. Request `n` (from 0) gets `script[n]`, or the last entry
/// once the script runs out.
pub struct StandIn {
    url: String,
    served: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    request_lines: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts serving `script`.
    pub async fn start(script: Vec<Reply>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let served = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let request_lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let counter = served.clone();
        let body_counter = written.clone();
        let lines = request_lines.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let reply = script
                    .get(n)
                    .or(script.last())
                    .cloned()
                    .unwrap_or(Reply::Stall);
                let body_counter = body_counter.clone();
                let lines = lines.clone();
                tokio::spawn(async move {
                    // Read the request head (enough for these clients' small requests).
                    let mut buf = [0u8; 16 * 1024];
                    let read =
                        tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await;
                    if let Ok(Ok(n)) = read {
                        let head = String::from_utf8_lossy(&buf[..n]);
                        let line = head.lines().next().unwrap_or("").to_string();
                        crate::lock(&lines).push(line);
                    }
                    match reply {
                        Reply::Raw(bytes) => {
                            let _ = socket.write_all(bytes.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        }
                        Reply::Endless {
                            head,
                            prefix,
                            up_to,
                        } => {
                            let _ =
                                write_endless(&mut socket, &head, &prefix, up_to, &body_counter)
                                    .await;
                            let _ = socket.shutdown().await;
                        }
                        Reply::Late(wait, bytes) => {
                            tokio::time::sleep(wait).await;
                            let _ = socket.write_all(bytes.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        }
                        Reply::Stall => {
                            // Bounded: the client's own timeout is what the test is about.
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                    }
                });
            }
        });
        Ok(StandIn {
            url,
            served,
            written,
            request_lines,
            task,
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many connections were accepted (each client request used its own here).
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// The request line (`DELETE /admin/clients/c1 HTTP/1.1`) of each request read, in order.
    pub fn request_lines(&self) -> Vec<String> {
        crate::lock(&self.request_lines).clone()
    }

    /// How many body bytes [`Reply::Endless`] replies got written before the client stopped
    /// reading (or the bound was reached).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

/// A keep-alive stand-in that answers every request with the response currently set, for the
/// fuzz test: thousands of requests over a few connections, each answer chosen by the test.
/// It frames requests by `content-length` only (what reqwest sends for these calls).
pub struct Responder {
    url: String,
    current: Arc<std::sync::Mutex<Answers>>,
    task: tokio::task::JoinHandle<()>,
}

/// What [`Responder`] answers: `all` unless the request's method has its own.
struct Answers {
    all: Arc<Vec<u8>>,
    by_method: Vec<(&'static str, Arc<Vec<u8>>)>,
}

impl Answers {
    fn for_head(&self, head: &str) -> Arc<Vec<u8>> {
        let method = head.split(' ').next().unwrap_or("");
        self.by_method
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(method))
            .map_or_else(|| self.all.clone(), |(_, r)| r.clone())
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Responder {
    /// Starts serving; until [`Responder::set`], every answer is a bare 500.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let current = Arc::new(std::sync::Mutex::new(Answers {
            all: Arc::new(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".to_vec(),
            ),
            by_method: Vec::new(),
        }));
        let shared = current.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer_all(socket, shared.clone()));
            }
        });
        Ok(Responder { url, current, task })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bytes (a whole HTTP/1.1 response) to answer with from now on, whatever the method.
    pub fn set(&self, response: Vec<u8>) {
        self.set_by_method(response, Vec::new());
    }

    /// Like [`Responder::set`], but requests with one of the methods in `by_method` (`"GET"`,
    /// ...) get that method's response instead.
    pub fn set_by_method(&self, response: Vec<u8>, by_method: Vec<(&'static str, Vec<u8>)>) {
        *crate::lock(&self.current) = Answers {
            all: Arc::new(response),
            by_method: by_method
                .into_iter()
                .map(|(m, r)| (m, Arc::new(r)))
                .collect(),
        };
    }
}

async fn answer_all(mut socket: tokio::net::TcpStream, current: Arc<std::sync::Mutex<Answers>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // One request: the head, then `content-length` bytes of body.
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buffer.len() > 64 * 1024 {
                return;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let response = crate::lock(&current).for_head(&head);
        let head = head.to_ascii_lowercase();
        let body_len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + body_len {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..head_end + body_len);
        if socket.write_all(&response).await.is_err() {
            return;
        }
    }
}
