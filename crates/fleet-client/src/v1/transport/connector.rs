//! The tower `Service<Uri>` that hyper-util's pooled client calls for each new connection.
//!
//! It ignores the URI: every connection goes to the endpoint's [`Target`] through the configured
//! [`Connect`], within the connect timeout, with TLS layered on top for `https://` endpoints.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;

use super::tls::TlsSetup;
use super::{BoxIo, Connect, Target};

/// Why a new connection could not be opened. Travels through hyper-util's error as its source
/// so that the client can turn it back into a precise [`crate::v1::Error`].
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The connector did not finish within the connect timeout.
    Timeout { target: Target, after: Duration },
    /// The connector failed.
    Io {
        target: Target,
        source: std::io::Error,
    },
    /// The TLS handshake failed (certificate refused, protocol error).
    Tls {
        target: Target,
        source: std::io::Error,
    },
    /// A connection started while the pool was racing for one, no longer needed: the request
    /// got the connection that became idle. Only ever seen by hyper-util's background connect.
    NotNeeded,
}

/// How long a new connection waits for a busy one to come back to the pool (see [`Reuse`]).
const HANDOFF_WAIT: Duration = Duration::from_millis(200);

/// Bookkeeping that makes keep-alive reuse deterministic.
///
/// hyper-util's pool races a new connection against the checkout of an idle one. A connection
/// returns to the pool from a spawned task just after its response body was read, so on a
/// multi-threaded runtime the next request often finds the pool empty for a moment and opens a
/// second connection. To avoid that, a new connection is only dialed when there are more
/// requests in flight than open connections; otherwise it waits (at most [`HANDOFF_WAIT`]) for
/// the open one to come back, and gives up once the request that asked for it was served.
#[derive(Debug, Default)]
pub(crate) struct Reuse {
    live: AtomicUsize,
    in_flight: AtomicUsize,
    changed: tokio::sync::Notify,
}

tokio::task_local! {
    /// Set by the client around each request: becomes true once the request no longer needs a
    /// new connection (its response arrived, or it ended).
    pub(crate) static SERVED: Arc<AtomicBool>;
}

impl Reuse {
    /// Count a request in flight until the returned guard is dropped.
    pub(crate) fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        InFlight {
            reuse: self.clone(),
            served: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// A request in flight (see [`Reuse`]).
pub(crate) struct InFlight {
    reuse: Arc<Reuse>,
    served: Arc<AtomicBool>,
}

impl InFlight {
    /// The flag to put in [`SERVED`] while the request runs.
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        self.served.clone()
    }

    /// The response head arrived: the request has its connection.
    pub(crate) fn served(&self) {
        self.served.store(true, Ordering::SeqCst);
        self.reuse.changed.notify_waiters();
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.served.store(true, Ordering::SeqCst);
        self.reuse.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.reuse.changed.notify_waiters();
    }
}

/// Counts an open connection (see [`Reuse`]).
struct Live(Arc<Reuse>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Timeout { target, after } => {
                write!(f, "connecting to {target} timed out after {after:?}")
            }
            ConnectError::Io { target, source } => {
                write!(f, "cannot connect to {target}: {source}")
            }
            ConnectError::Tls { target, source } => {
                write!(f, "TLS handshake with {target} failed: {source}")
            }
            ConnectError::NotNeeded => f.write_str("connection not needed: an idle one was reused"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Timeout { .. } | ConnectError::NotNeeded => None,
            ConnectError::Io { source, .. } | ConnectError::Tls { source, .. } => Some(source),
        }
    }
}

/// The connector handed to hyper-util's pooled client.
#[derive(Clone)]
pub(crate) struct Connector {
    pub(crate) connect: Arc<dyn Connect>,
    pub(crate) target: Target,
    pub(crate) tls: Option<TlsSetup>,
    pub(crate) connect_timeout: Duration,
    pub(crate) reuse: Arc<Reuse>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("connect", &self.connect)
            .field("target", &self.target)
            .field("tls", &self.tls.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl Connector {
    /// Wait until a new connection is really needed (see [`Reuse`]).
    async fn wait_for_need(&self, served: &AtomicBool) -> Result<(), ConnectError> {
        let deadline = tokio::time::Instant::now() + HANDOFF_WAIT;
        loop {
            let notified = self.reuse.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if served.load(Ordering::SeqCst) {
                return Err(ConnectError::NotNeeded);
            }
            let live = self.reuse.live.load(Ordering::SeqCst);
            if live < self.reuse.in_flight.load(Ordering::SeqCst) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(());
            }
        }
    }

    async fn dial(self, served: Option<Arc<AtomicBool>>) -> Result<Conn, ConnectError> {
        if let Some(served) = served {
            self.wait_for_need(&served).await?;
        }
        let target = self.target.clone();
        let timeout = self.connect_timeout;
        let attempt = async {
            let io = self
                .connect
                .connect(&target)
                .await
                .map_err(|source| ConnectError::Io {
                    target: target.clone(),
                    source,
                })?;
            match &self.tls {
                None => Ok(io),
                Some(tls) => {
                    let stream = tls
                        .connector
                        .connect(tls.server_name.clone(), io)
                        .await
                        .map_err(|source| ConnectError::Tls {
                            target: target.clone(),
                            source,
                        })?;
                    Ok(Box::new(stream) as BoxIo)
                }
            }
        };
        let io = match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(ConnectError::Timeout {
                    target,
                    after: timeout,
                })
            }
        };
        tracing::debug!(%target, "opened connection to fleet");
        self.reuse.live.fetch_add(1, Ordering::SeqCst);
        self.reuse.changed.notify_waiters();
        Ok(Conn {
            io: TokioIo::new(io),
            _live: Live(self.reuse.clone()),
        })
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        // Called from the requesting task, inside the client's `SERVED` scope.
        let served = SERVED.try_with(|s| s.clone()).ok();
        Box::pin(self.clone().dial(served))
    }
}

/// One connection to fleet, as hyper sees it.
pub(crate) struct Conn {
    io: TokioIo<BoxIo>,
    _live: Live,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}
