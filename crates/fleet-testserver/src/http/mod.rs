//! The HTTP face: fleet's `api.NewServeMux` and `api.NewServer`, quirks included.
//!
//! Routing follows Go's `http.ServeMux` as fleet wires it: the same API under `/fleet/v1` and
//! `/v1-alpha`; the path is percent-decoded before matching (so `%40` is `@` and `%2F` a path
//! separator); a path that is not clean (`..`, `//`) is answered with a 301 to the cleaned path;
//! `GET /` is 405 and any other unknown path 404, both with an empty message; a server that is not
//! ready answers everything with 503.

mod body;
mod decode;
mod routes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, LOCATION, SERVER};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::cluster::Cluster;
use crate::faults::{FaultKind, Faults};
use crate::json;

pub(crate) use body::RespBody;

/// The value of the `Server` header (fleet sends `fleetd/<version>`).
pub(crate) const SERVER_HEADER: &str = "fleetd/v1.0.0 (fleet-testserver)";

/// fleet's message when it is not (yet) able to talk to etcd.
pub(crate) const UNAVAILABLE_MESSAGE: &str = "fleet server unable to communicate with etcd";

/// Everything a request handler needs.
pub(crate) struct Shared {
    pub(crate) cluster: Arc<Cluster>,
    pub(crate) faults: Faults,
    pub(crate) ready: AtomicBool,
    pub(crate) etcd_down: AtomicBool,
    pub(crate) page_size: u16,
    /// Page bounds without fleet's `uint16` wrap-around ([`crate::Builder::wide_paging`]).
    pub(crate) wide_paging: bool,
    /// The last units page served, with the registry version it was made from: a page asked
    /// for again before anything changed is sent without serializing it again.
    pub(crate) units_page_cache: std::sync::Mutex<Option<(u64, crate::paging::PageToken, Bytes)>>,
    /// Where the last units page ended, so that the next page starts there.
    pub(crate) units_cursor: std::sync::Mutex<Option<routes::UnitsCursor>>,
}

impl Shared {
    pub(crate) fn etcd_down(&self) -> bool {
        self.etcd_down.load(Ordering::SeqCst)
    }
}

/// The service's error: close the connection without answering (what Go's `net/http` does
/// when a handler panics).
#[derive(Debug)]
pub(crate) struct Abort;

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed without a response (as fleet's handler panic does)")
    }
}

impl std::error::Error for Abort {}

pub(crate) type Reply = Result<Response<RespBody>, Abort>;

/// Handle one request.
pub(crate) async fn serve(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let fault = shared.faults.take(&method, &raw_path);
    match fault {
        Some(FaultKind::Status(code)) => {
            let message = if code == 503 { UNAVAILABLE_MESSAGE } else { "" };
            return Ok(error(code, message));
        }
        Some(FaultKind::CloseConnection) => return Err(Abort),
        Some(FaultKind::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::InvalidJson) => {
            return Ok(json_response(
                200,
                br#"{"units":[{"name":"broken.service","options":[{"#.to_vec(),
            ))
        }
        Some(FaultKind::LargeBody(n)) => {
            let n = n.max(16);
            let mut body = Vec::with_capacity(n);
            body.extend_from_slice(br#"{"padding":""#);
            body.resize(n - 2, b'x');
            body.extend_from_slice(b"\"}");
            let mut resp = Response::new(RespBody::Chunked(Some(Bytes::from(body))));
            set_json(&mut resp);
            return Ok(finish(resp));
        }
        Some(FaultKind::TruncatedBody) => {
            let resp = route(&shared, req).await?;
            return Ok(truncate(resp).await);
        }
        _ => {}
    }
    route(&shared, req).await
}

async fn truncate(resp: Response<RespBody>) -> Response<RespBody> {
    let (mut parts, body) = resp.into_parts();
    let full = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let half = full.slice(..full.len() / 2);
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        HeaderValue::from(full.len().max(1)),
    );
    Response::from_parts(parts, RespBody::Truncated(Some(half), None))
}

async fn route(shared: &Arc<Shared>, req: Request<Incoming>) -> Reply {
    if !shared.ready.load(Ordering::SeqCst) {
        return Ok(error(503, UNAVAILABLE_MESSAGE));
    }
    let raw_path = req.uri().path();
    let Some(path) = percent_decode(raw_path) else {
        return Ok(bad_request());
    };
    let query = req.uri().query().map(str::to_string);
    let method = req.method().clone();
    let cleaned = clean_path(&path);
    if cleaned != path && method != http::Method::CONNECT {
        return Ok(redirect(&cleaned, query.as_deref(), &method));
    }
    let ctype: Vec<String> = req
        .headers()
        .get_all(CONTENT_TYPE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let body = if method == http::Method::PUT || method == http::Method::PATCH {
        match req.into_body().collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => return Err(Abort),
        }
    } else {
        Bytes::new()
    };
    let ctx = routes::Ctx {
        shared,
        method: method.as_str(),
        query: query.as_deref().unwrap_or(""),
        content_types: &ctype,
    };
    for prefix in ["/fleet/v1", "/v1-alpha"] {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        match rest {
            "" => return Ok(error(405, "")),
            "/discovery" => return Ok(routes::discovery(&ctx)),
            "/machines" => return routes::machines(&ctx, &body),
            _ => {}
        }
        if let Some(sub) = rest.strip_prefix("/state") {
            if sub.is_empty() || sub.starts_with('/') {
                return routes::state(&ctx, sub);
            }
        }
        if let Some(sub) = rest.strip_prefix("/units") {
            if sub.is_empty() || sub.starts_with('/') {
                return routes::units(&ctx, sub, &body);
            }
        }
    }
    if path == "/metrics" {
        let mut resp = Response::new(RespBody::like_go(
            b"# fleet-testserver keeps no metrics\n".to_vec(),
        ));
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return Ok(finish(resp));
    }
    // fleet's baseHandler.
    Ok(error(if path == "/" { 405 } else { 404 }, ""))
}

/// Add the headers every fleet response has.
pub(crate) fn finish(mut resp: Response<RespBody>) -> Response<RespBody> {
    resp.headers_mut()
        .insert(SERVER, HeaderValue::from_static(SERVER_HEADER));
    resp
}

fn set_json(resp: &mut Response<RespBody>) {
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
}

/// fleet's `sendResponse`: JSON with `Content-Type: application/json`.
pub(crate) fn json_response(code: u16, body: impl Into<Bytes>) -> Response<RespBody> {
    let mut resp = Response::new(RespBody::like_go(body));
    *resp.status_mut() = status(code);
    set_json(&mut resp);
    finish(resp)
}

/// fleet's `sendError`.
pub(crate) fn error(code: u16, message: &str) -> Response<RespBody> {
    json_response(code, json::error_body(code, message))
}

/// A bodiless answer: 201 carries `Content-Length: 0`, 204 no length at all; neither a type.
pub(crate) fn empty(code: u16) -> Response<RespBody> {
    let mut resp = Response::new(RespBody::empty());
    *resp.status_mut() = status(code);
    finish(resp)
}

/// 204 from `sendResponse(rw, 204, nil)`: `Content-Type: application/json` and no body.
pub(crate) fn empty_json_204() -> Response<RespBody> {
    let mut resp = empty(204);
    set_json(&mut resp);
    resp
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// What Go's server sends for a request URI it cannot parse (a bad `%` escape).
fn bad_request() -> Response<RespBody> {
    let mut resp = Response::new(RespBody::like_go(b"400 Bad Request".to_vec()));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Go's `http.Redirect` with 301, as `ServeMux` uses it for unclean paths.
fn redirect(cleaned: &str, query: Option<&str>, method: &http::Method) -> Response<RespBody> {
    let mut location = percent_encode_path(cleaned);
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        location.push('?');
        location.push_str(q);
    }
    let is_get = method == http::Method::GET;
    let body = if is_get {
        format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            html_escape(&location)
        )
        .into_bytes()
    } else {
        Vec::new()
    };
    let mut resp = Response::new(RespBody::like_go(body));
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    if is_get || method == http::Method::HEAD {
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    finish(resp)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.PathUnescape` of the request path; `None` for a malformed escape.
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
            let (hi, lo) = (hex(i + 1)?, hex(i + 2)?);
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `url.URL.EscapedPath` for a plain path (escape what is not allowed in a path segment).
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'/'
                    | b'$'
                    | b'&'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'!'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
            );
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `cleanPath` in `net/http`: `path.Clean`, keeping a trailing slash.
pub(crate) fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let p = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    let mut np = go_path_clean(&p);
    if p.ends_with('/') && np != "/" {
        if p.len() == np.len() + 1 && p.starts_with(&np) {
            np = p;
        } else {
            np.push('/');
        }
    }
    np
}

/// Go's `path.Clean` for a rooted path.
fn go_path_clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Go's `url.ParseQuery` for one key: every decoded value, in order (pairs containing `;` or
/// with a malformed escape are skipped, as Go 1.17+ does).
pub(crate) fn query_values(query: &str, key: &str) -> Vec<String> {
    let unescape = |s: &str| -> Option<String> {
        let s = s.replace('+', " ");
        percent_decode(&s)
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = unescape(k)?;
            let v = unescape(v)?;
            (k == key).then_some(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths_like_go() {
        assert_eq!(
            clean_path("/fleet/v1/units/../machines"),
            "/fleet/v1/machines"
        );
        assert_eq!(clean_path("/fleet/v1/"), "/fleet/v1/");
        assert_eq!(clean_path("//fleet//v1"), "/fleet/v1");
        assert_eq!(clean_path("/a/./b/"), "/a/b/");
        assert_eq!(clean_path("/.."), "/");
    }

    #[test]
    fn queries_like_go() {
        assert_eq!(
            query_values("nextPageToken=ZAACAA==&x=1", "nextPageToken"),
            vec!["ZAACAA=="]
        );
        assert_eq!(query_values("a=1&a=2", "a"), vec!["1", "2"]);
        assert_eq!(query_values("a=x+y%21", "a"), vec!["x y!"]);
        assert!(query_values("a=1;b=2", "a").is_empty());
    }
}
