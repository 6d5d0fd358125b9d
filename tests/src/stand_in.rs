//! A scripted HTTP server on 127.0.0.1 for the faults a real Hydra cannot be made to produce: a
//! 503 with `Retry-After`, a stall, a truncated body. Tests that use it say `stand_in` in their
//! name; everything else talks to a real Hydra.

use std::sync::atomic::{AtomicUsize, Ordering};
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
}

impl Reply {
    /// A complete JSON response with `status` and extra header lines (`"retry-after: 1"`).
    pub fn json(status: &str, headers: &[&str], body: &str) -> Self {
        let mut head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        Reply::Raw(format!("{head}\r\n{body}"))
    }
}

/// The server; stops when dropped. Request `n` (from 0) gets `script[n]`, or the last entry
/// once the script runs out.
pub struct StandIn {
    url: String,
    served: Arc<AtomicUsize>,
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
        let counter = served.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let reply = script
                    .get(n)
                    .or(script.last())
                    .cloned()
                    .unwrap_or(Reply::Stall);
                tokio::spawn(async move {
                    // Read the request head (enough for these clients' small requests).
                    let mut buf = [0u8; 16 * 1024];
                    let _ =
                        tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await;
                    match reply {
                        Reply::Raw(bytes) => {
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
        Ok(StandIn { url, served, task })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many connections were accepted (each client request used its own here).
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}
