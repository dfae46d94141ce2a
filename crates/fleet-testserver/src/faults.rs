//! Fault injection: make the next requests fail the ways a real fleet (or the network) can.
//!
//! ```
//! use fleet_testserver::{Fault, FaultKind, TestServer};
//! let server = TestServer::start().unwrap();
//! // The next two GETs under /fleet/v1/units answer 503 with fleet's error body.
//! server.inject(Fault::new(FaultKind::Status(503)).times(2).matching("GET", "/fleet/v1/units"));
//! ```

use std::sync::Mutex;
use std::time::Duration;

/// What an injected fault does to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this status (500 or 503 are fleet's) and fleet's error body for it:
    /// `{"error":{"code":500,"message":""}}`, or for 503 the message fleet sends when it cannot
    /// reach etcd.
    Status(u16),
    /// Close the connection without sending any response.
    CloseConnection,
    /// Answer normally, after this delay.
    Delay(Duration),
    /// Answer normally, but send only the first half of the body (the `Content-Length` promises
    /// all of it), then close the connection.
    TruncatedBody,
    /// Answer 200 with `Content-Type: application/json` and a body that is not valid JSON.
    InvalidJson,
    /// Answer 200 with `Content-Type: application/json` and a valid JSON object of exactly this
    /// many bytes (at least 16), sent chunked.
    LargeBody(usize),
}

/// A fault for the next `times` requests, optionally only those matching a method and path
/// prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub(crate) kind: FaultKind,
    pub(crate) remaining: usize,
    pub(crate) method: Option<String>,
    pub(crate) path_prefix: Option<String>,
}

impl Fault {
    /// A fault for the next request (any method, any path).
    ///
    /// ```
    /// use std::time::Duration;
    /// use fleet_testserver::{Fault, FaultKind};
    /// let slow = Fault::new(FaultKind::Delay(Duration::from_secs(2))).times(5).path("/fleet/v1/state");
    /// let flaky = Fault::new(FaultKind::Status(500)).matching("put", "/fleet/v1/units/");
    /// # let _ = (slow, flaky);
    /// ```
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            kind,
            remaining: 1,
            method: None,
            path_prefix: None,
        }
    }

    /// Apply to the next `n` matching requests instead of one.
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = n;
        self
    }

    /// Apply only to requests with this method whose raw path starts with `path_prefix`.
    pub fn matching(mut self, method: &str, path_prefix: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self.path_prefix = Some(path_prefix.to_string());
        self
    }

    /// Apply only to requests whose raw path starts with `path_prefix` (any method).
    pub fn path(mut self, path_prefix: &str) -> Self {
        self.path_prefix = Some(path_prefix.to_string());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// The queue of injected faults; the first matching one applies.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    queue: Mutex<Vec<Fault>>,
}

impl Faults {
    pub(crate) fn push(&self, fault: Fault) {
        if fault.remaining > 0 {
            self.lock().push(fault);
        }
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault for this request, if any (counting it down).
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut queue = self.lock();
        if queue.is_empty() {
            return None;
        }
        let pos = queue.iter().position(|f| f.matches(method, path))?;
        let fault = queue.get_mut(pos)?;
        fault.remaining -= 1;
        let kind = fault.kind.clone();
        if fault.remaining == 0 {
            queue.remove(pos);
        }
        Some(kind)
    }

    pub(crate) fn pending(&self) -> usize {
        self.lock().iter().map(|f| f.remaining).sum()
    }
}
