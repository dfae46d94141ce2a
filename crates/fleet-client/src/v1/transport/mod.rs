//! How bytes reach fleet: the [`Connect`] seam and its built-in implementations.
//!
//! The client asks a [`Connect`] for a new stream whenever its connection pool needs one. The
//! built-in connector dials TCP or a unix socket; an SSH tunnel (feature `ssh`) or any
//! caller-supplied connector can stand in its place ("bring your own transport"). TLS, for
//! `https://` endpoints, is layered by the client on top of whatever stream the connector returns.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

#[cfg(feature = "ssh")]
pub mod ssh;

/// A bidirectional byte stream to the fleet API server.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A boxed [`Io`] stream.
pub type BoxIo = Box<dyn Io>;

/// The future a [`Connect`] returns.
pub type ConnectFuture = Pin<Box<dyn Future<Output = std::io::Result<BoxIo>> + Send + 'static>>;

/// Where the fleet API server listens, as seen from the end of the transport.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// A TCP address (`host` may be a name or an IP address).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A unix socket path.
    Unix {
        /// The socket's path.
        path: PathBuf,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "{host}:{port}"),
            Target::Unix { path } => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Opens byte streams to fleet. The client calls it once per new pooled connection.
///
/// Implement it to hand the client a transport of your own (python-fleet's `http` and
/// `ssh_raw_transport` parameters):
///
/// ```no_run
/// use fleet::v1::transport::{BoxIo, Connect, ConnectFuture, Target};
///
/// #[derive(Debug)]
/// struct Loopback;
///
/// impl Connect for Loopback {
///     fn connect(&self, _target: &Target) -> ConnectFuture {
///         Box::pin(async {
///             let stream = tokio::net::TcpStream::connect("127.0.0.1:49153").await?;
///             Ok(Box::new(stream) as BoxIo)
///         })
///     }
/// }
/// ```
pub trait Connect: Send + Sync + fmt::Debug + 'static {
    /// Open a new stream to `target`.
    fn connect(&self, target: &Target) -> ConnectFuture;
}

pub(crate) mod connector;
pub(crate) mod tls;

/// The built-in [`Connect`]: dials TCP (`host:port`, trying each resolved address in turn) or a
/// unix socket directly. The client uses it unless another connector is configured.
///
/// The client applies its connect timeout around any connector, this one included.
///
/// ```no_run
/// use fleet::v1::transport::{Connect, Direct, Target};
///
/// # async fn run() -> std::io::Result<()> {
/// let stream = Direct.connect(&Target::Unix { path: "/var/run/fleet.sock".into() }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Direct;

impl Connect for Direct {
    fn connect(&self, target: &Target) -> ConnectFuture {
        let target = target.clone();
        Box::pin(async move {
            match target {
                Target::Tcp { host, port } => {
                    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
                    // Requests are small and latency-bound: do not wait to coalesce writes.
                    stream.set_nodelay(true)?;
                    Ok(Box::new(stream) as BoxIo)
                }
                #[cfg(unix)]
                Target::Unix { path } => {
                    let stream = tokio::net::UnixStream::connect(&path).await?;
                    Ok(Box::new(stream) as BoxIo)
                }
                #[cfg(not(unix))]
                Target::Unix { .. } => Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "unix sockets are not supported on this platform",
                )),
            }
        })
    }
}
