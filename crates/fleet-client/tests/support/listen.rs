//! The listeners the raw test servers (`rawserver`, `support`'s replay server) accept from.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

/// A listener a test server accepts connections from.
pub trait Listen: Send + 'static {
    type Conn: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn next(&self) -> impl Future<Output = std::io::Result<Self::Conn>> + Send;
}

impl Listen for TcpListener {
    type Conn = tokio::net::TcpStream;
    async fn next(&self) -> std::io::Result<Self::Conn> {
        Ok(self.accept().await?.0)
    }
}

impl Listen for UnixListener {
    type Conn = tokio::net::UnixStream;
    async fn next(&self) -> std::io::Result<Self::Conn> {
        Ok(self.accept().await?.0)
    }
}
