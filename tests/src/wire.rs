//! A recording proxy on 127.0.0.1 in front of a real Hydra: it forwards every HTTP/1.1 request
//! unchanged (but for `Connection: close`) and keeps a copy, so tests can snapshot what a client
//! puts on the wire and count requests, while Hydra itself answers. It can also do what a slow or
//! misconfigured proxy would: hold the first `POST`, or answer one request with a redirect; and
//! hold the first request of a method until the test lets it go, to lose a race on purpose.
//!
//! One request per connection: the proxy asks Hydra to close after each answer, so a response
//! ends where Hydra's stream ends and the proxy never has to parse it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long the proxy waits on either side before giving up on a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request the proxy accepts.
const MAX_REQUEST: usize = 1 << 20;

/// One request as the client sent it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where the proxy holds the first `POST` it sees, for [`WireRecorder::start_holding_first_post`]:
/// a stall a real Hydra cannot be made to produce on demand.
#[derive(Debug, Clone, Copy)]
pub enum Hold {
    /// Before forwarding it: Hydra sees the request only after the hold.
    Request(Duration),
    /// After Hydra answered it: Hydra acts at once, the client hears back only after the hold.
    Response(Duration),
}

/// A request the proxy answers itself with a redirect instead of forwarding it, for
/// [`WireRecorder::start_redirecting`]: a misconfigured or hostile proxy in front of Hydra.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The method to redirect, e.g. `DELETE`.
    pub method: &'static str,
    /// The path to redirect, e.g. `/admin/clients/mine`.
    pub path: String,
    /// The status line's code and reason, e.g. `307 Temporary Redirect`.
    pub status: &'static str,
    /// The `Location` to send.
    pub location: String,
}

/// The first request of one method, held until the test lets it go, for
/// [`WireRecorder::start_gating_first`]: a race a real Hydra cannot be made to lose on demand
/// (someone else acting between two of the client's requests).
#[derive(Debug, Clone)]
pub struct Gate {
    method: &'static str,
    taken: Arc<std::sync::atomic::AtomicBool>,
    arrived: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl Gate {
    /// Returns once the first request of the method has reached the proxy (and is held there).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Forwards the held request.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

/// What the proxy does besides forwarding.
#[derive(Debug, Clone, Default)]
struct Interpose {
    hold: Option<Hold>,
    redirect: Option<Redirect>,
    gate: Option<Gate>,
}

/// The proxy; stops when dropped.
pub struct WireRecorder {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WireRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WireRecorder {
    /// Starts a proxy for `upstream`, a plain `http://127.0.0.1:PORT` base URL.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        Self::start_with(upstream, Interpose::default()).await
    }

    /// [`WireRecorder::start`], holding the first `POST` as `hold` says (the request is forwarded
    /// even if the client gave up meanwhile, as a slow network would).
    pub async fn start_holding_first_post(upstream: &str, hold: Hold) -> std::io::Result<Self> {
        let hold = Some(hold);
        Self::start_with(
            upstream,
            Interpose {
                hold,
                ..Interpose::default()
            },
        )
        .await
    }

    /// [`WireRecorder::start`], answering every request that `redirect` names with that redirect
    /// itself (recorded, not forwarded).
    pub async fn start_redirecting(upstream: &str, redirect: Redirect) -> std::io::Result<Self> {
        let redirect = Some(redirect);
        Self::start_with(
            upstream,
            Interpose {
                redirect,
                ..Interpose::default()
            },
        )
        .await
    }

    /// [`WireRecorder::start`], holding the first request with `method` until
    /// [`Gate::release`]; the [`Gate`] says when it arrived.
    pub async fn start_gating_first(
        upstream: &str,
        method: &'static str,
    ) -> std::io::Result<(Self, Gate)> {
        let gate = Gate {
            method,
            taken: Arc::default(),
            arrived: Arc::default(),
            release: Arc::default(),
        };
        let recorder = Self::start_with(
            upstream,
            Interpose {
                gate: Some(gate.clone()),
                ..Interpose::default()
            },
        )
        .await?;
        Ok((recorder, gate))
    }

    async fn start_with(upstream: &str, interpose: Interpose) -> std::io::Result<Self> {
        let held = Arc::new(std::sync::atomic::AtomicBool::new(interpose.hold.is_none()));
        let upstream = upstream
            .strip_prefix("http://")
            .ok_or_else(|| std::io::Error::other("the recorder forwards plain http only"))?
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let recorded = recorded.clone();
                let held = held.clone();
                let interpose = interpose.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        IO_TIMEOUT,
                        forward_one(client, &upstream, &recorded, &interpose, &held),
                    )
                    .await;
                });
            }
        });
        Ok(WireRecorder {
            url,
            requests,
            task,
        })
    }

    /// The proxy's base URL: give it to the client under test instead of Hydra's.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        crate::lock(&self.requests).clone()
    }

    /// How many requests had this method and path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path() == path)
            .count()
    }
}

async fn forward_one(
    mut client: TcpStream,
    upstream: &str,
    recorded: &Mutex<Vec<Recorded>>,
    interpose: &Interpose,
    held: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    let Some((request, raw)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let redirect = interpose
        .redirect
        .as_ref()
        .filter(|r| request.method == r.method && request.path() == r.path);
    // Only the first POST is held: the flag flips once.
    let hold = (request.method == "POST" && !held.swap(true, std::sync::atomic::Ordering::SeqCst))
        .then_some(interpose.hold)
        .flatten();
    let gate = interpose.gate.as_ref().filter(|g| {
        request.method == g.method && !g.taken.swap(true, std::sync::atomic::Ordering::SeqCst)
    });
    crate::lock(recorded).push(request);
    if let Some(r) = redirect {
        let answer = format!(
            "HTTP/1.1 {}\r\nlocation: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            r.status, r.location
        );
        client.write_all(answer.as_bytes()).await?;
        return client.shutdown().await;
    }
    if let Some(Hold::Request(delay)) = hold {
        tokio::time::sleep(delay).await;
    }
    if let Some(gate) = gate {
        // `notify_one` keeps the wake-up for a test that starts waiting later.
        gate.arrived.notify_one();
        gate.release.notified().await;
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&raw).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    if let Some(Hold::Response(delay)) = hold {
        tokio::time::sleep(delay).await;
    }
    // The client may have given up during a hold; Hydra has acted either way.
    client.write_all(&response).await?;
    client.shutdown().await
}

/// Reads one request; returns it parsed and re-encoded with `Connection: close`.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<(Recorded, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_REQUEST {
            return Err(std::io::Error::other("request head too large"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| {
            let (k, v) = line.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST {
        return Err(std::io::Error::other("request body too large"));
    }
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("request body cut short"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + length].to_vec();

    let mut raw = format!("{request_line}\r\n").into_bytes();
    for (k, v) in headers.iter().filter(|(k, _)| k != "connection") {
        raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"connection: close\r\n\r\n");
    raw.extend_from_slice(&body);
    Ok(Some((
        Recorded {
            method,
            target,
            headers,
            body,
        },
        raw,
    )))
}
