//! [`ClientBuilder`]: timeouts, TLS, user agent and transport of a [`Client`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Client;
use crate::v1::transport::Connect;
use crate::v1::Result;

/// The default per-request timeout: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default connect timeout: 5 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default limit on one response body: 64 MiB. fleet's largest answers are pages of 100
/// units with their unit files, far below this; the limit is there so that a misbehaving peer
/// cannot make the client buffer without end.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// The default poll interval of [`Client::wait_for_unit_state`]: 250 ms, as fleetctl v1.0.0
/// polls while it waits for units (`waitForState`).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Configures and builds a [`Client`]. Made by [`Client::builder`].
///
/// | setting | default |
/// |---|---|
/// | [`timeout`](Self::timeout) (each request, from sending to the last byte of the body) | 10 s ([`DEFAULT_TIMEOUT`]); fleetctl's `--request-timeout` defaults to 3 s |
/// | [`connect_timeout`](Self::connect_timeout) (opening a connection, TLS handshake included) | 5 s ([`DEFAULT_CONNECT_TIMEOUT`]) |
/// | [`ca_file`](Self::ca_file) (`https://` only) | the system trust store (`SSL_CERT_FILE`, `SSL_CERT_DIR` or the platform's certificates); the Mozilla roots of `webpki-roots` if it is empty |
/// | [`client_cert`](Self::client_cert) (`https://` only) | none |
/// | [`user_agent`](Self::user_agent) | `fleet-rs/<crate version>` |
/// | [`connector`](Self::connector) | [`transport::Direct`](crate::v1::transport::Direct): TCP or unix socket |
/// | [`poll_interval`](Self::poll_interval) of [`Client::wait_for_unit_state`] | 250 ms ([`DEFAULT_POLL_INTERVAL`]) |
/// | [`max_response_bytes`](Self::max_response_bytes) (one response body) | 64 MiB ([`DEFAULT_MAX_RESPONSE_BYTES`]) |
///
/// TLS settings are ignored for `http://` and unix-socket endpoints.
///
/// ```no_run
/// use std::time::Duration;
/// use fleet::v1 as fleet;
///
/// # async fn run() -> fleet::Result<()> {
/// let client = fleet::Client::builder("https://fleet.example.com:2379")
///     .timeout(Duration::from_secs(3))
///     .connect_timeout(Duration::from_secs(2))
///     .ca_file("/etc/fleet/ca.pem")
///     .client_cert("/etc/fleet/client.pem", "/etc/fleet/client-key.pem")
///     .user_agent("deployer/1.0")
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .build() is awaited"]
pub struct ClientBuilder {
    pub(crate) endpoint: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
    pub(crate) user_agent: String,
    /// The transport. `None` means [`transport::Direct`](crate::v1::transport::Direct).
    /// SSH tunnels (feature `ssh`) set it too.
    pub(crate) connector: Option<Arc<dyn Connect>>,
    pub(crate) poll_interval: Duration,
    pub(crate) max_response_bytes: usize,
    /// Set by the blocking client: the runtime its connections live on.
    pub(crate) blocking_runtime: Option<Arc<crate::v1::blocking::Runtime>>,
}

impl ClientBuilder {
    pub(crate) fn new(endpoint: &str) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.to_string(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ca_file: None,
            client_cert: None,
            user_agent: format!("fleet-rs/{}", env!("CARGO_PKG_VERSION")),
            connector: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            blocking_runtime: None,
        }
    }

    /// The time one request may take, from sending it to the end of the response body
    /// (default 10 s). Past it the call fails with [`Error::Timeout`](crate::v1::Error::Timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time opening a connection may take, TLS handshake included (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trust the CA certificates of this PEM file (instead of the system trust store) for
    /// `https://` endpoints.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Present this client certificate (PEM, chain allowed) with its private key (PEM:
    /// PKCS#8, PKCS#1 or SEC1) to `https://` endpoints.
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// The `User-Agent` header (default `fleet-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Open connections through this [`Connect`] instead of dialing directly ("bring your own
    /// transport"). The connect timeout and TLS (for `https://`) still apply on top.
    ///
    /// ```no_run
    /// use fleet::v1::transport::Direct;
    /// # async fn run() -> fleet::v1::Result<()> {
    /// let client = fleet::v1::Client::builder("http://127.0.0.1:49153").connector(Direct).build().await?;
    /// # Ok(()) }
    /// ```
    pub fn connector(mut self, connector: impl Connect) -> Self {
        self.connector = Some(Arc::new(connector));
        self
    }

    /// Reach fleet through an SSH tunnel (feature `ssh`): every connection becomes a channel of
    /// the tunnel's one SSH session. This sets the [`connector`](Self::connector), and raises the
    /// connect timeout to at least the tunnel's session timeout plus 5 s, since a connection may
    /// have to (re)open the session. To ask a trust-on-first-use question outside any timeout,
    /// call [`SshTunnel::ensure_connected`](crate::v1::transport::ssh::SshTunnel::ensure_connected)
    /// before building the client.
    ///
    /// ```no_run
    /// use fleet::v1::transport::ssh::SshTunnel;
    /// # async fn run() -> fleet::v1::Result<()> {
    /// let tunnel = SshTunnel::builder("bastion.example.com").username("core").build()?;
    /// let client = fleet::v1::Client::builder("unix:///var/run/fleet.sock")
    ///     .tunnel(tunnel)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "ssh")]
    pub fn tunnel(mut self, tunnel: crate::v1::transport::ssh::SshTunnel) -> Self {
        self.connect_timeout = self
            .connect_timeout
            .max(tunnel.timeout() + Duration::from_secs(5));
        self.connector = Some(Arc::new(tunnel));
        self
    }

    /// Like [`connector`](Self::connector), for a connector already in an `Arc`.
    pub fn connector_arc(mut self, connector: Arc<dyn Connect>) -> Self {
        self.connector = Some(connector);
        self
    }

    /// How often [`Client::wait_for_unit_state`] polls (default 250 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The largest response body the client reads (default 64 MiB,
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]). A longer body ends the call with
    /// [`Error::UnexpectedResponse`](crate::v1::Error::UnexpectedResponse) naming the request
    /// and the limit, and the connection is not reused.
    ///
    /// ```
    /// # use fleet::v1 as fleet;
    /// let builder = fleet::Client::builder("unix:///var/run/fleet.sock").max_response_bytes(1 << 20);
    /// # drop(builder);
    /// ```
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Build the client: parse the endpoint, set up TLS, fetch and check the discovery
    /// document. See [`Client::new`] for the errors.
    pub async fn build(self) -> Result<Client> {
        Client::from_builder(self).await
    }
}
