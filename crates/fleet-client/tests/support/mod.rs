//! Shared helpers for the integration tests: the recorded fleet fixtures and a replay server
//! that answers with them byte for byte.
//!
//! The replay server is deliberately not built on hyper: it reads raw HTTP/1.1 off a TCP or unix
//! socket, records each request exactly as it arrived (method, raw path with its
//! percent-encoding, raw query, headers, body) and answers with the next scripted response,
//! writing the status line and the headers fleet sent (content-type, content-length or chunked
//! transfer-encoding, location) and the body exactly as recorded.
#![allow(dead_code)]

mod listen;
use listen::Listen;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;

/// Where the recorded fleet exchanges live: `shared/` is a sibling of the repository.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/fleet-v1"
    ))
}

/// The names (without `.json`) of every fixture file, sorted.
pub fn fixture_names() -> Vec<String> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read fixture directory {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One recorded exchange.
#[derive(Clone, Debug, Deserialize)]
pub struct Fixture {
    #[serde(skip)]
    pub name: String,
    pub transport: String,
    pub request: RecordedRequest,
    pub response: Option<RecordedResponse>,
    #[serde(default)]
    pub client_error: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: RequestHeaders,
    pub body: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RequestHeaders {
    #[serde(rename = "content-type")]
    pub content_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: ResponseHeaders,
    pub body: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ResponseHeaders {
    #[serde(rename = "content-type")]
    pub content_type: Option<String>,
    #[serde(rename = "content-length")]
    pub content_length: Option<String>,
    #[serde(rename = "transfer-encoding", default)]
    pub transfer_encoding: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

impl Fixture {
    /// Load `<name>.json` from the fixture directory.
    pub fn load(name: &str) -> Fixture {
        let path = fixtures_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
        let mut fixture: Fixture = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("cannot parse fixture {}: {e}", path.display()));
        fixture.name = name.to_string();
        fixture
    }

    /// The fixture's response as a replay reply (`Reply::Close` when fleet sent none).
    pub fn reply(&self) -> Reply {
        match &self.response {
            Some(r) => Reply::Recorded(r.clone()),
            None => Reply::Close,
        }
    }

    /// The recorded response body parsed as JSON.
    pub fn body_json(&self) -> serde_json::Value {
        let body = &self.response.as_ref().expect("fixture has a response").body;
        serde_json::from_str(body).expect("fixture response body is JSON")
    }

    pub fn is_unix(&self) -> bool {
        self.transport == "unix"
    }

    /// Assert that `got` is the request this fixture recorded: method, raw path (with its
    /// percent-encoding), raw query, content type and the body (equal as JSON).
    pub fn assert_request(&self, got: &RawRequest) {
        let want = &self.request;
        assert_eq!(got.method, want.method, "{}: method", self.name);
        // Byte for byte: the client sends `@` and `:` raw and encodes what fleet's clients
        // encode, so its paths match the recorded ones exactly.
        assert_eq!(got.path, want.path, "{}: raw path", self.name);
        assert_eq!(
            got.query.as_deref(),
            want.query.as_deref(),
            "{}: raw query",
            self.name
        );
        assert_eq!(
            got.header("content-type"),
            want.headers.content_type.as_deref(),
            "{}: content-type",
            self.name
        );
        match want.body.as_deref() {
            None | Some("") => assert!(
                got.body.is_empty(),
                "{}: expected no request body, got {:?}",
                self.name,
                String::from_utf8_lossy(&got.body)
            ),
            Some(body) => {
                let want_json: serde_json::Value =
                    serde_json::from_str(body).expect("fixture request body is JSON");
                let got_json: serde_json::Value =
                    serde_json::from_slice(&got.body).unwrap_or_else(|e| {
                        panic!(
                            "{}: request body is not JSON ({e}): {:?}",
                            self.name,
                            String::from_utf8_lossy(&got.body)
                        )
                    });
                assert_eq!(got_json, want_json, "{}: request body", self.name);
            }
        }
    }
}

/// What the replay server answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A recorded response, written exactly as recorded.
    Recorded(RecordedResponse),
    /// Close the connection without answering (fleet's `GET /fleet/v1/state/<unknown>`).
    Close,
    /// Write these bytes exactly, then close the connection.
    RawThenClose(Vec<u8>),
}

impl Reply {
    /// A `200 application/json` reply with a content-length.
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        let body = body.into();
        Reply::Recorded(RecordedResponse {
            status,
            headers: ResponseHeaders {
                content_type: Some("application/json".into()),
                content_length: Some(body.len().to_string()),
                ..Default::default()
            },
            body,
        })
    }

    /// A reply with an arbitrary content type.
    pub fn with_type(status: u16, content_type: &str, body: impl Into<String>) -> Reply {
        let body = body.into();
        Reply::Recorded(RecordedResponse {
            status,
            headers: ResponseHeaders {
                content_type: Some(content_type.into()),
                content_length: Some(body.len().to_string()),
                ..Default::default()
            },
            body,
        })
    }

    /// fleet's discovery document, as recorded (chunked).
    pub fn discovery() -> Reply {
        Fixture::load("discovery").reply()
    }
}

/// One request as it arrived on the wire.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    /// The path exactly as sent (percent-encoding preserved), without the query.
    pub path: String,
    /// The raw query string, if the target had a `?`.
    pub query: Option<String>,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Which connection (0-based, in accept order) carried the request.
    pub connection: usize,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD path[?query]`.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{}", self.method, self.path, q),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<RawRequest>>,
    connections: AtomicUsize,
    request_seen: Notify,
}

/// A server that answers requests with a script of replies, in order, across connections, and
/// records every request. Requests past the end of the script get a 500 saying so.
#[derive(Debug)]
pub struct ReplayServer {
    shared: Arc<Shared>,
    kind: Listening,
    task: tokio::task::JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Debug, Clone)]
enum Listening {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayServer {
    /// Listen on `127.0.0.1:0`.
    pub async fn tcp(script: Vec<Reply>) -> ReplayServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        ReplayServer::serve(listener, script, Listening::Tcp(addr), None)
    }

    /// Listen on a unix socket in a fresh temporary directory.
    pub async fn unix(script: Vec<Reply>) -> ReplayServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fleet.sock");
        let listener = UnixListener::bind(&path).expect("bind unix socket");
        ReplayServer::serve(listener, script, Listening::Unix(path), Some(dir))
    }

    /// Answer `script` on the connections accepted from `listener` until the server is dropped.
    fn serve<L: Listen>(
        listener: L,
        script: Vec<Reply>,
        kind: Listening,
        dir: Option<tempfile::TempDir>,
    ) -> ReplayServer {
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            ..Default::default()
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok(stream) = listener.next().await else {
                    return;
                };
                let n = s.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(stream, n, s.clone()));
            }
        });
        ReplayServer {
            shared,
            kind,
            task,
            _dir: dir,
        }
    }

    /// Start on the transport a fixture was recorded over.
    pub async fn for_fixture(fixture: &Fixture, script: Vec<Reply>) -> ReplayServer {
        if fixture.is_unix() {
            ReplayServer::unix(script).await
        } else {
            ReplayServer::tcp(script).await
        }
    }

    /// `http://127.0.0.1:port`, or `unix:///path` for a unix server.
    pub fn endpoint(&self) -> String {
        match &self.kind {
            Listening::Tcp(addr) => format!("http://{addr}"),
            Listening::Unix(path) => format!("unix://{}", path.display()),
        }
    }

    /// python-fleet's form of a unix endpoint: `http+unix://%2Fpath%2Fto%2Ffleet.sock`.
    pub fn http_unix_endpoint(&self) -> String {
        match &self.kind {
            Listening::Tcp(_) => panic!("not a unix server"),
            Listening::Unix(path) => format!(
                "http+unix://{}",
                path.display().to_string().replace('/', "%2F")
            ),
        }
    }

    pub fn socket_path(&self) -> Option<&Path> {
        match &self.kind {
            Listening::Unix(p) => Some(p),
            Listening::Tcp(_) => None,
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Replies not yet used.
    pub fn remaining(&self) -> usize {
        self.shared.script.lock().unwrap().len()
    }

    /// Wait until at least `n` requests have arrived (no sleeping: woken by the server).
    pub async fn wait_for_requests(&self, n: usize) {
        loop {
            let notified = self.shared.request_seen.notified();
            if self.shared.requests.lock().unwrap().len() >= n {
                return;
            }
            notified.await;
        }
    }
}

async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    connection: usize,
    shared: Arc<Shared>,
) {
    let mut buf = Vec::new();
    loop {
        let request = match read_request(&mut stream, &mut buf, connection).await {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => return,
        };
        let line = request.line();
        shared.requests.lock().unwrap().push(request);
        shared.request_seen.notify_waiters();
        let reply = shared.script.lock().unwrap().pop_front();
        let reply = reply.unwrap_or_else(|| {
            Reply::json(
                500,
                format!(
                    "{{\"error\":{{\"code\":500,\"message\":\"replay script exhausted at {}\"}}}}",
                    line.replace('"', "'")
                ),
            )
        });
        match reply {
            Reply::Close => return,
            Reply::RawThenClose(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                return;
            }
            Reply::Recorded(response) => {
                if stream.write_all(&encode_response(&response)).await.is_err() {
                    return;
                }
                let _ = stream.flush().await;
            }
        }
    }
}

/// The bytes of a response as fleet (Go's net/http) would write them.
pub fn encode_response(r: &RecordedResponse) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    if let Some(ct) = &r.headers.content_type {
        out.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if let Some(loc) = &r.headers.location {
        out.push_str(&format!("Location: {loc}\r\n"));
    }
    out.push_str("Server: fleetd/v1.0.0-15-g45224983\r\n");
    let chunked = r.headers.transfer_encoding.as_deref() == Some("chunked");
    if chunked {
        out.push_str("Transfer-Encoding: chunked\r\n");
    } else if let Some(len) = &r.headers.content_length {
        out.push_str(&format!("Content-Length: {len}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if chunked {
        // Go's chunked writer: split large bodies into several chunks.
        for chunk in r.body.as_bytes().chunks(4096) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(r.body.as_bytes());
    }
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Read one HTTP/1.1 request; `Ok(None)` on a clean end of stream between requests.
async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    connection: usize,
) -> std::io::Result<Option<RawRequest>> {
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target, None),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let line_end = fill_until(stream, buf, b"\r\n").await?;
            let size_line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            buf.drain(..line_end + 2);
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("0").trim(), 16)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            fill_len(stream, buf, size + 2).await?;
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
            if size == 0 {
                break;
            }
        }
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        fill_len(stream, buf, len).await?;
        body.extend_from_slice(&buf[..len]);
        buf.drain(..len);
    }
    Ok(Some(RawRequest {
        method,
        path,
        query,
        headers,
        body,
        connection,
    }))
}

async fn fill_until<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    needle: &[u8],
) -> std::io::Result<usize> {
    loop {
        if let Some(pos) = find(buf, needle) {
            return Ok(pos);
        }
        read_more(stream, buf).await?;
    }
}

async fn fill_len<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    len: usize,
) -> std::io::Result<()> {
    while buf.len() < len {
        read_more(stream, buf).await?;
    }
    Ok(())
}

async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A unix socket path in a temp dir that nothing listens on, plus the dir keeping it alive.
pub fn dead_unix_socket() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nobody-home.sock");
    (dir, path)
}

/// A TCP endpoint on 127.0.0.1 where nothing listens (bound, then closed).
pub fn dead_tcp_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// Run every call of the client that takes a unit name (create, set desired state, get,
/// destroy, get state, the `unitName` filter of the state list, wait) with `name`, and assert
/// that each fails with `Error::InvalidUnitName { name, message }`.
pub async fn assert_every_named_call_refused(
    client: &fleet::v1::Client,
    name: &str,
    message: &str,
    context: &str,
) {
    use fleet::v1 as fleet;
    use futures::StreamExt;
    let mut unit = fleet::Unit::new();
    unit.add_option("Service", "ExecStart", "/bin/true");
    let results: Vec<(&str, fleet::Result<()>)> = vec![
        (
            "create_unit",
            client.create_unit(name, &unit).await.map(drop),
        ),
        (
            "set_unit_desired_state",
            client
                .set_unit_desired_state(name, fleet::DesiredState::Loaded)
                .await
                .map(drop),
        ),
        ("get_unit", client.get_unit(name).await.map(drop)),
        ("destroy_unit", client.destroy_unit(name).await),
        (
            "get_unit_state",
            client.get_unit_state(name).await.map(drop),
        ),
        (
            "list_unit_states",
            client
                .list_unit_states(None, Some(name))
                .next()
                .await
                .expect("the stream yields the error")
                .map(drop),
        ),
        (
            "wait_for_unit_state",
            client
                .wait_for_unit_state(
                    name,
                    fleet::DesiredState::Launched,
                    std::time::Duration::from_secs(30),
                )
                .await
                .map(drop),
        ),
    ];
    for (call, result) in results {
        match result {
            Err(fleet::Error::InvalidUnitName {
                name: n,
                message: m,
            }) => {
                assert_eq!(n, name, "{context}: {call}");
                assert_eq!(m, message, "{context}: {call}");
            }
            other => panic!("{context}: {call}: expected InvalidUnitName, got {other:?}"),
        }
    }
}
