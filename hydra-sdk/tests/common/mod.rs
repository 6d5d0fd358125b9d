//! A one-shot HTTP listener on 127.0.0.1 that records the request the generated client sends
//! and answers with a canned response. It stands in for Hydra only where the test is about the
//! bytes on the wire or a fault Hydra cannot produce; everything else runs against real Hydra.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the client put on the wire.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub target: String,
    pub content_type: Option<String>,
    pub body: String,
}

/// Starts a listener that accepts one connection, records its request and answers with
/// `response` (a complete HTTP/1.1 response). Returns the base URL and the recorded request.
pub async fn capture_one(
    response: &'static str,
) -> (String, tokio::task::JoinHandle<Option<Captured>>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let task = tokio::spawn(async move {
        let accept = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        let (mut socket, _) = accept.ok()?.ok()?;
        let captured = tokio::time::timeout(Duration::from_secs(10), read_request(&mut socket))
            .await
            .ok()??;
        socket.write_all(response.as_bytes()).await.ok()?;
        socket.shutdown().await.ok()?;
        Some(captured)
    });
    (url, task)
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Captured> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Captured {
        method,
        target,
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string(),
    })
}

/// An empty 204: ends the call without a body to decode.
pub const NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";
