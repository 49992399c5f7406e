//! A minimal HTTP/1.1 server on loopback that serves a federation's [`MemoryFetcher`], so
//! tests and the demo exercise the real HTTP fetcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::fetch::{FetchKind, FetchRequest, FetchResponse, Fetcher, MemoryFetcher};

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 256 * 1024;

/// Serves a federation on `127.0.0.1`; stops when dropped.
#[derive(Debug)]
pub struct LoopbackServer {
    base: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl LoopbackServer {
    pub(crate) fn start(listener: TcpListener, routes: MemoryFetcher) -> Self {
        let base = listener
            .local_addr()
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        Self::start_as(listener, routes, base)
    }

    /// Serves `routes` as if at `base` (a name that resolves to the listener's address).
    pub(crate) fn start_as(listener: TcpListener, routes: MemoryFetcher, base: String) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let (b, r) = (base.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                r.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, b.clone(), routes.clone()));
            }
        });
        Self {
            base,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Connections accepted so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(mut stream: TcpStream, base: String, routes: MemoryFetcher) {
    let Some((method, target, body)) = read_request(&mut stream).await else {
        return;
    };
    let response = match url::Url::parse(&format!("{base}{target}")) {
        Ok(url) => {
            let req = if method == "POST" {
                let form = url::form_urlencoded::parse(&body).into_owned().collect();
                FetchRequest::post(url, form, FetchKind::Other)
            } else {
                FetchRequest::get(url, FetchKind::Other)
            };
            routes
                .fetch(req)
                .await
                .unwrap_or_else(|_| FetchResponse::error(404, "not_found", "no such document"))
        }
        Err(_) => FetchResponse::error(400, "invalid_request", "bad request target"),
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        response.status,
        if response.status == 200 {
            "OK"
        } else {
            "Error"
        },
        response
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream"),
        response.body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_ok() {
        let _ = stream.write_all(&response.body).await;
    }
    let _ = stream.shutdown().await;
}

/// Reads the request line, headers and a Content-Length body, all bounded.
async fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let len = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buf.get(end + 4..).unwrap_or_default().to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Some((method, target, body))
}
