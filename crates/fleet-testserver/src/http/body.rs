//! Response bodies: with a length (small), chunked (large, as Go sends them), or faulty.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// Go's `net/http` buffers 2048 bytes before it commits to chunked encoding: a body the handler
/// writes in one go is sent with `Content-Length` up to that size, chunked above it.
pub(crate) const CHUNKING_THRESHOLD: usize = 2048;

/// The error of a body that breaks off on purpose (fault injection).
#[derive(Debug)]
pub(crate) struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("body broken off by an injected fault")
    }
}

impl std::error::Error for Broken {}

/// A response body.
#[derive(Debug)]
pub(crate) enum RespBody {
    /// Sent with `Content-Length` (possibly 0).
    Sized(Option<Bytes>),
    /// Sent chunked (no length known up front).
    Chunked(Option<Bytes>),
    /// Sends these bytes, then (after a moment, so they are flushed) fails, so the connection is
    /// closed mid-body.
    Truncated(Option<Bytes>, Option<Pin<Box<tokio::time::Sleep>>>),
}

impl RespBody {
    pub(crate) fn empty() -> Self {
        RespBody::Sized(None)
    }

    /// Sized or chunked, the way Go would send a body of this length.
    pub(crate) fn like_go(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.len() > CHUNKING_THRESHOLD {
            RespBody::Chunked(Some(bytes))
        } else {
            RespBody::Sized(Some(bytes))
        }
    }
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = Broken;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Broken>>> {
        let this = self.get_mut();
        match this {
            RespBody::Sized(b) | RespBody::Chunked(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            RespBody::Truncated(b, pause) => {
                if let Some(b) = b.take() {
                    *pause = Some(Box::pin(tokio::time::sleep(
                        std::time::Duration::from_millis(50),
                    )));
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                match pause {
                    Some(p) => match p.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Some(Err(Broken))),
                        Poll::Pending => Poll::Pending,
                    },
                    None => Poll::Ready(Some(Err(Broken))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RespBody::Sized(b) => b.as_ref().is_none_or(|b| b.is_empty()),
            RespBody::Chunked(b) => b.is_none(),
            RespBody::Truncated(..) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RespBody::Sized(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            _ => SizeHint::default(),
        }
    }
}
