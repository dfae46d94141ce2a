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
///
/// The two directions are separate futures: waiting for the SSH window to send the caller's
/// bytes must never stop the channel's incoming messages from being read (russh's session
/// would stall, and with it every channel of the tunnel).
async fn pump(
    channel: Channel<Msg>,
    theirs: DuplexStream,
    failure: Arc<Mutex<Option<String>>>,
    describe: Describe,
) {
    let (mut read, write) = channel.split();
    let (mut from_client, mut to_client) = tokio::io::split(theirs);
    // Caller → command, until the caller closes its side (then end of input for the command).
    let upstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match from_client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if write.data(buf.get(..n).unwrap_or_default()).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = write.eof().await;
    };
    // Command → caller, until the channel closes; what the command said and how it ended.
    let downstream = async {
        let mut outcome = Outcome::default();
        while let Some(msg) = read.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    outcome.sent_any = true;
                    if to_client.write_all(&data).await.is_err() {
                        break;
                    }
                }
                ChannelMsg::ExtendedData { data, .. } => {
                    let room = STDERR_KEPT.saturating_sub(outcome.stderr.len());
                    let kept = data.get(..room.min(data.len())).unwrap_or_default();
                    outcome.stderr.extend_from_slice(kept);
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    outcome.ended = Some(format!("exited with status {exit_status}"));
                    outcome.failed |= exit_status != 0;
                }
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    outcome.ended = Some(format!("was killed by signal {signal_name:?}"));
                    outcome.failed = true;
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        outcome
    };
    // The channel's end ends everything; the caller's end only ends its direction.
    let outcome = {
        tokio::pin!(downstream);
        tokio::select! {
            outcome = &mut downstream => outcome,
            () = upstream => downstream.await,
        }
    };
    if let Some(message) = outcome.failure(&describe) {
        // Recorded before the connection sees its end below, so that the reader finds it.
        *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
    }
    let _ = to_client.shutdown().await;
    let _ = write.close().await;
}

/// How the command's channel went.
#[derive(Default)]
struct Outcome {
    /// The command sent at least one byte of output.
    sent_any: bool,
    /// A non-zero exit status or a signal.
    failed: bool,
    /// How it ended, when the server said.
    ended: Option<String>,
    /// The start of its standard error.
    stderr: Vec<u8>,
}

impl Outcome {
    /// The error message, when the command failed (or complained) before sending anything.
    fn failure(&self, describe: &Describe) -> Option<String> {
        let complained = self.failed || !self.stderr.is_empty();
        if self.sent_any || !complained {
            return None;
        }
        let how = self.ended.as_deref().unwrap_or("ended");
        let said = String::from_utf8_lossy(&self.stderr);
        let said = said.trim();
        let mut message = format!(
            "{:?} on the SSH tunnel host {} {how} before sending anything",
            describe.command, describe.destination
        );
        if !said.is_empty() {
            message.push_str(": ");
            message.push_str(said);
        }
        Some(message)
    }
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
