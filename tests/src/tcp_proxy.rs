//! A round-robin TCP proxy on 127.0.0.1 that counts the connections each backend gets: the
//! load balancer in front of [`crate::ReplicaSet`], and the way a test sees whether a client
//! reuses its connections. It copies bytes and never parses them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::harness::Error;
use crate::lock;

/// How long the proxy waits for one backend to accept before it tries the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A round-robin TCP proxy on 127.0.0.1, running on the test's runtime until dropped.
pub struct TcpProxy {
    url: String,
    backends: Arc<Mutex<Vec<(SocketAddr, usize)>>>,
    task: JoinHandle<()>,
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TcpProxy {
    /// Listens on a free loopback port; with no backends yet, connections are closed.
    pub async fn bind() -> Result<TcpProxy, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Task(format!("binding the proxy: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Task(format!("the proxy's address: {e}")))?;
        let backends: Arc<Mutex<Vec<(SocketAddr, usize)>>> = Arc::default();
        let next = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let backends = backends.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(forward(client, backends.clone(), next.clone()));
                }
            }
        });
        Ok(TcpProxy {
            url: format!("http://{addr}"),
            backends,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, where clients connect.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The ports (on 127.0.0.1) to forward to, in turn; the counts start again at 0.
    pub fn set_backends(&self, ports: impl Iterator<Item = u16>) {
        let mut backends = lock(&self.backends);
        *backends = ports
            .map(|port| (SocketAddr::from(([127, 0, 0, 1], port)), 0))
            .collect();
    }

    /// How many connections each backend got, in the order [`TcpProxy::set_backends`] gave.
    pub fn counts(&self) -> Vec<usize> {
        let backends = lock(&self.backends);
        backends.iter().map(|(_, count)| *count).collect()
    }
}

/// Connects `client` to the next replica that accepts, trying each once, and copies bytes both
/// ways until either side closes. With none accepting, the client's connection is closed.
async fn forward(
    mut client: TcpStream,
    backends: Arc<Mutex<Vec<(SocketAddr, usize)>>>,
    next: Arc<AtomicUsize>,
) {
    let count = lock(&backends).len();
    let start = next.fetch_add(1, Ordering::Relaxed);
    for offset in 0..count {
        let index = start.wrapping_add(offset) % count;
        let Some(addr) = lock(&backends).get(index).map(|(addr, _)| *addr) else {
            return;
        };
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await;
        if let Ok(Ok(mut server)) = connected {
            if let Some((_, n)) = lock(&backends).get_mut(index) {
                *n += 1;
            }
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            return;
        }
    }
}
