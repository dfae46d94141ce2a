//! The tower `Service<Uri>` that hyper-util's pooled client calls for each new connection.
//!
//! It ignores the URI: every connection goes to the endpoint's [`Target`] through the configured
//! [`Connect`], within the connect timeout, with TLS layered on top for `https://` endpoints.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
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
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Timeout { .. } => None,
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
    async fn dial(self) -> Result<Conn, ConnectError> {
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
        Ok(Conn {
            io: TokioIo::new(io),
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
        Box::pin(self.clone().dial())
    }
}

/// One connection to fleet, as hyper sees it.
pub(crate) struct Conn {
    io: TokioIo<BoxIo>,
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
