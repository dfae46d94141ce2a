//! A tiny HTTP/1.1 server on a raw 127.0.0.1 listener for the transport tests: keep-alive,
//! a handler deciding per request whether to answer, close the connection or never answer,
//! and counters of accepted connections and requests.

#![allow(dead_code)]

#[path = "../support/listen.rs"]
mod listen;
use listen::Listen;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};

/// The discovery document fleet v1.0.0 serves (body of the recorded exchange).
pub fn discovery_body() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/fleet-v1/discovery.json"
    );
    let text = std::fs::read_to_string(path).expect("discovery fixture");
    let v: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    v["response"]["body"].as_str().expect("body").to_string()
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request.
pub enum Action {
    /// Answer with status, content type and body (with Content-Length; keep-alive).
    Respond(u16, &'static str, String),
    /// Close the connection without any response.
    Close,
    /// Never answer (keep the connection open until the server is dropped).
    Hang,
}

impl Action {
    /// Answer with `status` and the JSON `body`.
    pub fn json(status: u16, body: impl Into<String>) -> Action {
        Action::Respond(status, "application/json", body.into())
    }
}

/// A running server.
pub struct Server {
    pub addr: std::net::SocketAddr,
    pub socket: Option<std::path::PathBuf>,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Req>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Start serving on 127.0.0.1 with `handler` (discovery is answered by the caller's handler
    /// too; see [`with_discovery`]).
    pub async fn start<H>(handler: H) -> Server
    where
        H: Fn(&Req) -> Action + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        Server::serve(listener, addr, None, handler, |stream| async move {
            Some(stream)
        })
    }

    /// Serve on a unix socket at `path` instead.
    pub async fn start_unix<H>(path: std::path::PathBuf, handler: H) -> Server
    where
        H: Fn(&Req) -> Action + Send + Sync + 'static,
    {
        let listener = UnixListener::bind(&path).expect("bind unix");
        let addr = ([127, 0, 0, 1], 0).into();
        Server::serve(listener, addr, Some(path), handler, |stream| async move {
            Some(stream)
        })
    }

    /// Serve HTTPS on 127.0.0.1: each accepted connection goes through `acceptor` first.
    pub async fn start_tls<H>(acceptor: tokio_rustls::TlsAcceptor, handler: H) -> Server
    where
        H: Fn(&Req) -> Action + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        Server::serve(listener, addr, None, handler, move |stream| {
            let acceptor = acceptor.clone();
            async move { acceptor.accept(stream).await.ok() }
        })
    }

    /// Accept connections from `listener` until the server is dropped: count each, pass it
    /// through `wrap` (a TLS handshake, say; a connection it refuses is dropped) and serve it.
    fn serve<L, H, W, F, S>(
        listener: L,
        addr: std::net::SocketAddr,
        socket: Option<std::path::PathBuf>,
        handler: H,
        wrap: W,
    ) -> Server
    where
        L: Listen,
        H: Fn(&Req) -> Action + Send + Sync + 'static,
        W: Fn(L::Conn) -> F + Send + 'static,
        F: Future<Output = Option<S>> + Send + 'static,
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let (c, r) = (connections.clone(), requests.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok(stream) = listener.next().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (wrapped, handler, r) = (wrap(stream), handler.clone(), r.clone());
                tokio::spawn(async move {
                    if let Some(stream) = wrapped.await {
                        serve_conn(stream, handler, r).await;
                    }
                });
            }
        });
        Server {
            addr,
            socket,
            connections,
            requests,
            task,
        }
    }

    pub fn https_endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

/// A handler that answers discovery with fleet's document and everything else with `rest`.
pub fn with_discovery<H>(rest: H) -> impl Fn(&Req) -> Action + Send + Sync + 'static
where
    H: Fn(&Req) -> Action + Send + Sync + 'static,
{
    let doc = discovery_body();
    move |req: &Req| {
        if req.path() == "/fleet/v1/discovery" {
            Action::Respond(200, "application/json", doc.clone())
        } else {
            rest(req)
        }
    }
}

async fn serve_conn<S, H>(mut stream: S, handler: Arc<H>, log: Arc<Mutex<Vec<Req>>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Fn(&Req) -> Action + Send + Sync + 'static,
{
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Some(req) => req,
            None => return,
        };
        log.lock().unwrap().push(req.clone());
        match handler(&req) {
            Action::Respond(status, ctype, body) => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).await.is_err()
                    || stream.write_all(body.as_bytes()).await.is_err()
                {
                    return;
                }
            }
            Action::Close => return,
            Action::Hang => {
                // Keep the connection open, unanswered, until the server is dropped.
                std::future::pending::<()>().await;
            }
        }
    }
}

async fn read_request<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<Req> {
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Some(Req {
        method,
        target,
        headers,
        body,
    })
}

/// A page of `n` units named `u<first>.service` … as fleet would send it, with `next`.
pub fn units_page(first: usize, n: usize, next: Option<&str>) -> String {
    let units: Vec<String> = (first..first + n)
        .map(|i| {
            format!(
                r#"{{"currentState":"launched","desiredState":"launched","machineID":"113f16a7b4b64e9a8c1a3f0e5d2c7b01","name":"u{i:04}.service","options":[{{"name":"ExecStart","section":"Service","value":"/usr/bin/sleep 1d"}}]}}"#
            )
        })
        .collect();
    match next {
        Some(t) => format!(r#"{{"nextPageToken":"{t}","units":[{}]}}"#, units.join(",")),
        None => format!(r#"{{"units":[{}]}}"#, units.join(",")),
    }
}
