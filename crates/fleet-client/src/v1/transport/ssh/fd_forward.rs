//! The stream of the fd-forward fallback: a session channel running `fleetctl fd-forward
//! <socket>` on the tunnel host, whose standard input and output carry the connection.
//!
//! A forwarded channel either opens or is refused, but a command can start and then fail (not
//! installed, socket missing, permission denied). What it writes to standard error and its exit
//! status are kept; a connection that ends before the command sent a single byte then fails
//! with [`Error::Ssh`] naming the command, the status and its message, instead of looking like
//! fleet closing the connection.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use russh::client::Msg;
use russh::{Channel, ChannelMsg};
use tokio::io::{
    AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream, ReadBuf,
};

use super::{into_io_error, ssh_error};
use crate::v1::transport::BoxIo;

/// How much of the command's standard error is kept for the error message.
const STDERR_KEPT: usize = 1024;

/// The connection over `channel`, on which `command` was started on `destination`.
pub(super) fn stream(channel: Channel<Msg>, command: String, destination: String) -> BoxIo {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let failure = Arc::new(Mutex::new(None));
    tokio::spawn(pump(
        channel,
        theirs,
        failure.clone(),
        Describe {
            command,
            destination,
        },
    ));
    Box::new(FdForwardIo {
        inner: ours,
        failure,
    })
}

struct Describe {
    command: String,
    destination: String,
}

/// Copies between the channel and the connection until the channel closes; records why the
/// command failed if it sent nothing.
async fn pump(
    channel: Channel<Msg>,
    theirs: DuplexStream,
    failure: Arc<Mutex<Option<String>>>,
    describe: Describe,
) {
    let (mut read, write) = channel.split();
    let (mut from_client, mut to_client) = tokio::io::split(theirs);
    let mut buf = vec![0u8; 32 * 1024];
    let mut client_open = true;
    let mut sent_any = false;
    let mut stderr = Vec::new();
    let mut status = None;
    loop {
        tokio::select! {
            n = from_client.read(&mut buf), if client_open => match n {
                Ok(0) | Err(_) => {
                    client_open = false;
                    let _ = write.eof().await;
                }
                Ok(n) => {
                    if write.data(buf.get(..n).unwrap_or_default()).await.is_err() {
                        client_open = false;
                    }
                }
            },
            msg = read.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    sent_any = true;
                    if to_client.write_all(&data).await.is_err() {
                        break;
                    }
                }
                Some(ChannelMsg::ExtendedData { data, .. }) => {
                    let room = STDERR_KEPT.saturating_sub(stderr.len());
                    stderr.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
        }
    }
    let failed = !sent_any && (status.is_some_and(|s| s != 0) || !stderr.is_empty());
    if failed {
        let how = match status {
            Some(s) => format!("exited with status {s}"),
            None => "ended".to_string(),
        };
        let said = String::from_utf8_lossy(&stderr);
        let said = said.trim();
        let message = if said.is_empty() {
            format!(
                "{:?} on the SSH tunnel host {} {how} before sending anything",
                describe.command, describe.destination
            )
        } else {
            format!(
                "{:?} on the SSH tunnel host {} {how} before sending anything: {said}",
                describe.command, describe.destination
            )
        };
        // Recorded before the connection sees its end below, so that the reader finds it.
        *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
    }
    let _ = to_client.shutdown().await;
    let _ = write.close().await;
}

/// The caller's end of the connection: the end of the stream is an error when the command
/// failed.
struct FdForwardIo {
    inner: DuplexStream,
    failure: Arc<Mutex<Option<String>>>,
}

impl AsyncRead for FdForwardIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                let failure = self
                    .failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                match failure {
                    Some(message) => Poll::Ready(Err(into_io_error(ssh_error(message)))),
                    None => Poll::Ready(Ok(())),
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for FdForwardIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
