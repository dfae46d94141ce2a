//! SSH tunnels (feature `ssh`): reach fleet through an SSH server, as `fleetctl --tunnel` and
//! python-fleet's `ssh_tunnel` do.
//!
//! An [`SshTunnel`] is a [`Connect`]: hand it to the client and every connection the client
//! opens becomes a channel of one SSH session to the tunnel host — `direct-tcpip` for a TCP
//! endpoint, `direct-streamlocal@openssh.com` for a unix-socket endpoint (falling back, when the
//! server refuses that channel, to running `fleetctl fd-forward <socket>` on the tunnel host, as
//! fleetctl does). A session that drops is re-established on the next connection.
//!
//! Defaults follow python-fleet and fleetctl: user `core`, port 22, a 10 s connect timeout,
//! host keys checked strictly against `~/.fleetctl/known_hosts`, authentication through the
//! ssh-agent (`SSH_AUTH_SOCK`) and then identity files. `~/.ssh/config` is honoured for the tunnel
//! host (`HostName`, `Port`, `User`, `IdentityFile`, `ProxyJump`); options set on the builder win
//! over the file.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use fleet::v1::transport::ssh::{HostKeyPolicy, SshTunnel};
//! use fleet::v1::transport::{Connect, Target};
//!
//! let tunnel = SshTunnel::builder("bastion.example.com:2222")
//!     .username("core")
//!     .timeout(Duration::from_secs(5))
//!     .host_key_policy(HostKeyPolicy::trust_on_first_use(|key| {
//!         eprintln!("trusting {} ({})", key.host, key.fingerprint);
//!         true
//!     }))
//!     .build()?;
//! // The client does this for each pooled connection:
//! let stream = tunnel
//!     .connect(&Target::Unix { path: "/var/run/fleet.sock".into() })
//!     .await?;
//! # drop(stream);
//! # Ok(())
//! # }
//! ```

mod config;
mod fd_forward;
mod known_hosts;
mod session;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::{BoxIo, Connect, ConnectFuture, Target};
use crate::v1::error::{Error, Result};

use session::Session;

/// The default SSH user, as python-fleet and fleetctl have it.
pub const DEFAULT_USERNAME: &str = "core";
/// The default time allowed to open the SSH session (TCP connect, handshake and authentication).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default remote command that forwards a unix socket when `direct-streamlocal` is refused.
pub const DEFAULT_FD_FORWARD_COMMAND: &str = "fleetctl fd-forward";

/// A host key that is not in the known-hosts file, as shown to a
/// [`HostKeyPolicy::TrustOnFirstUse`] callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownHostKey {
    /// The host as written to the known-hosts file: `host`, or `[host]:port` off port 22.
    pub host: String,
    /// The key algorithm, such as `ssh-ed25519`.
    pub key_type: String,
    /// The SHA-256 fingerprint as OpenSSH prints it (`SHA256:…`).
    pub fingerprint: String,
    /// The known-hosts file the key will be added to when accepted.
    pub known_hosts_file: PathBuf,
}

/// The callback of [`HostKeyPolicy::TrustOnFirstUse`]: `true` accepts (and records) the key.
pub type TrustCallback = Arc<dyn Fn(&UnknownHostKey) -> bool + Send + Sync>;

/// How the tunnel host's key is checked against the known-hosts file.
///
/// Whatever the policy, a key that differs from the one recorded for the host is refused (except
/// with [`HostKeyPolicy::Off`]), and a key marked `@revoked` is always refused.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum HostKeyPolicy {
    /// Only keys already in the file are accepted (fleetctl's `--strict-host-key-checking=true`).
    #[default]
    Strict,
    /// An unknown key is shown to the callback; when it returns `true` the key is appended to the
    /// file and the connection goes on. The callback runs on a blocking thread, so it may prompt.
    TrustOnFirstUse(TrustCallback),
    /// No checking at all (fleetctl's `--strict-host-key-checking=false`). Unsafe.
    Off,
}

impl HostKeyPolicy {
    /// [`HostKeyPolicy::TrustOnFirstUse`] from a closure.
    ///
    /// ```
    /// use fleet::v1::transport::ssh::HostKeyPolicy;
    /// let policy = HostKeyPolicy::trust_on_first_use(|key| key.key_type == "ssh-ed25519");
    /// assert!(matches!(policy, HostKeyPolicy::TrustOnFirstUse(_)));
    /// ```
    pub fn trust_on_first_use(
        callback: impl Fn(&UnknownHostKey) -> bool + Send + Sync + 'static,
    ) -> HostKeyPolicy {
        HostKeyPolicy::TrustOnFirstUse(Arc::new(callback))
    }
}

impl fmt::Debug for HostKeyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostKeyPolicy::Strict => f.write_str("Strict"),
            HostKeyPolicy::TrustOnFirstUse(_) => f.write_str("TrustOnFirstUse(..)"),
            HostKeyPolicy::Off => f.write_str("Off"),
        }
    }
}

#[derive(Debug, Clone)]
enum ConfigSource {
    /// `~/.ssh/config` when it exists.
    Default,
    /// This file, which must exist.
    File(PathBuf),
    Disabled,
}

/// Builds an [`SshTunnel`]; made by [`SshTunnel::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SshTunnelBuilder {
    host_port: String,
    username: Option<String>,
    port: Option<u16>,
    timeout: Duration,
    known_hosts_file: Option<PathBuf>,
    policy: HostKeyPolicy,
    identity_files: Vec<PathBuf>,
    use_agent: bool,
    agent_socket: Option<PathBuf>,
    ssh_config: ConfigSource,
    fd_forward_command: String,
    via: Option<SshTunnel>,
}

impl SshTunnelBuilder {
    /// The SSH user (default `core`, or `User` from the SSH config).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The SSH port (default: the port in the tunnel string, `Port` from the SSH config, or 22).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Time allowed to open the session: TCP connect, handshake, host-key check (not counting a
    /// trust-on-first-use prompt) and authentication, through every `ProxyJump` hop.
    /// Default 10 s. The same time is allowed, separately, for opening each channel on the
    /// session and for the server to start a command ([`SshTunnel::exec`] and the like): a
    /// server that never answers is [`Error::Timeout`], not a hang.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The known-hosts file (default `~/.fleetctl/known_hosts`, as fleetctl).
    pub fn known_hosts_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.known_hosts_file = Some(path.into());
        self
    }

    /// How host keys are checked (default [`HostKeyPolicy::Strict`]).
    pub fn host_key_policy(mut self, policy: HostKeyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Add an identity (private key) file to try; may be called several times. Keys must not be
    /// passphrase-protected (put those in the ssh-agent). When no identity file is given here or
    /// in the SSH config, `~/.ssh/id_ed25519`, `~/.ssh/id_ecdsa` and `~/.ssh/id_rsa` are tried.
    pub fn identity_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.identity_files.push(path.into());
        self
    }

    /// Whether to authenticate with the keys of the ssh-agent (default `true`; the agent is
    /// found through `SSH_AUTH_SOCK` unless [`agent_socket`](Self::agent_socket) is set).
    pub fn use_agent(mut self, use_agent: bool) -> Self {
        self.use_agent = use_agent;
        self
    }

    /// The ssh-agent's socket, instead of `SSH_AUTH_SOCK`.
    pub fn agent_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.agent_socket = Some(path.into());
        self
    }

    /// Read this SSH client configuration file instead of `~/.ssh/config`; it must exist.
    pub fn ssh_config(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssh_config = ConfigSource::File(path.into());
        self
    }

    /// Do not read any SSH client configuration file.
    pub fn without_ssh_config(mut self) -> Self {
        self.ssh_config = ConfigSource::Disabled;
        self
    }

    /// The remote command (a socket path is appended) used to reach a unix socket when the
    /// server refuses `direct-streamlocal@openssh.com` channels. Default `fleetctl fd-forward`.
    pub fn fd_forward_command(mut self, command: impl Into<String>) -> Self {
        self.fd_forward_command = command.into();
        self
    }

    /// Reach the SSH server through an existing tunnel: the TCP connection to it becomes a
    /// `direct-tcpip` channel of `parent`'s session. See [`SshTunnel::connect_to`].
    pub fn via(mut self, parent: SshTunnel) -> Self {
        self.via = Some(parent);
        self
    }

    /// Check the options and read the SSH config. No connection is made until the first
    /// [`Connect::connect`] (or [`SshTunnel::exec`], or [`SshTunnel::ensure_connected`]).
    ///
    /// Errors: a tunnel string that is not `host[:port]`, an unreadable explicit SSH config file,
    /// or a bad value in the file ([`Error::Ssh`] naming the file and line).
    pub fn build(self) -> Result<SshTunnel> {
        let settings = session::Settings::resolve(self)?;
        Ok(SshTunnel {
            inner: Arc::new(Inner {
                settings,
                session: tokio::sync::Mutex::new(None),
                streamlocal_refused: AtomicBool::new(false),
            }),
        })
    }
}

struct Inner {
    settings: session::Settings,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
    /// Set once the server refused a `direct-streamlocal` channel: go straight to fd-forward.
    streamlocal_refused: AtomicBool,
}

/// An SSH tunnel to fleet. Cheap to clone: clones share the one SSH session.
///
/// ```no_run
/// # async fn run() -> fleet::v1::Result<()> {
/// use fleet::v1::transport::ssh::SshTunnel;
///
/// let tunnel = SshTunnel::builder("10.0.0.5").identity_file("/home/me/.ssh/fleet").build()?;
/// let out = tunnel.exec("systemctl is-active fleet").await?;
/// println!("{}", String::from_utf8_lossy(&out.stdout));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SshTunnel {
    inner: Arc<Inner>,
}

impl fmt::Debug for SshTunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshTunnel")
            .field("destination", &self.inner.settings.describe())
            .finish_non_exhaustive()
    }
}

/// A pseudo-terminal for [`SshTunnel::exec_interactive`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pty {
    /// The terminal type (`TERM`), such as `xterm-256color`.
    pub term: String,
    /// Width in characters.
    pub cols: u32,
    /// Height in rows.
    pub rows: u32,
}

impl Pty {
    /// A terminal of this type and size.
    ///
    /// ```
    /// let pty = fleet::v1::transport::ssh::Pty::new("xterm", 80, 24);
    /// assert_eq!((pty.cols, pty.rows), (80, 24));
    /// ```
    pub fn new(term: impl Into<String>, cols: u32, rows: u32) -> Pty {
        Pty {
            term: term.into(),
            cols,
            rows,
        }
    }
}

/// What a remote command printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOutput {
    /// The exit status, when the server reported one (`None` when it died of a signal).
    pub status: Option<u32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl SshTunnel {
    /// Start building a tunnel to `host_port`: `host`, `host:port`, `[v6addr]:port`, or
    /// `user@host:port`. `host` may be an alias from the SSH config.
    ///
    /// ```
    /// use fleet::v1::transport::ssh::SshTunnel;
    /// let tunnel = SshTunnel::builder("core@127.0.0.1:2222").without_ssh_config().build()?;
    /// assert_eq!(tunnel.destination(), "core@127.0.0.1:2222");
    /// # Ok::<(), fleet::v1::Error>(())
    /// ```
    pub fn builder(host_port: &str) -> SshTunnelBuilder {
        SshTunnelBuilder {
            host_port: host_port.to_string(),
            username: None,
            port: None,
            timeout: DEFAULT_TIMEOUT,
            known_hosts_file: None,
            policy: HostKeyPolicy::Strict,
            identity_files: Vec::new(),
            use_agent: true,
            agent_socket: None,
            ssh_config: ConfigSource::Default,
            fd_forward_command: DEFAULT_FD_FORWARD_COMMAND.to_string(),
            via: None,
        }
    }

    /// `user@host:port` of the tunnel host after applying the SSH config (`host` is the
    /// `HostName`).
    pub fn destination(&self) -> String {
        self.inner.settings.describe()
    }

    /// The time allowed to open the SSH session (see [`SshTunnelBuilder::timeout`]).
    pub fn timeout(&self) -> Duration {
        self.inner.settings.timeout
    }

    /// Open the SSH session now if it is not open (connections otherwise open it lazily).
    /// Useful to report authentication or host-key problems early.
    pub async fn ensure_connected(&self) -> Result<()> {
        self.session().await.map(drop)
    }

    /// Whether a session is currently open.
    pub async fn is_connected(&self) -> bool {
        match &*self.inner.session.lock().await {
            Some(session) => !session.is_closed(),
            None => false,
        }
    }

    /// A builder for a tunnel to another machine (`host:port`, usually a fleet machine's primary
    /// IP and port 22), reached through this tunnel's session — fleetctl's `ssh`, `status` and
    /// `journal` do this with `--tunnel`. It starts with this tunnel's user, timeout,
    /// known-hosts file, host-key policy, identity files, agent and fd-forward settings, and does
    /// not read the SSH config; every option can still be changed.
    ///
    /// ```no_run
    /// # async fn run(tunnel: fleet::v1::transport::ssh::SshTunnel) -> fleet::v1::Result<()> {
    /// let machine = tunnel.connect_to("10.0.0.7", 22).build()?;
    /// let out = machine.exec("journalctl --lines 10 --unit hello.service --no-pager").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_to(&self, host: &str, port: u16) -> SshTunnelBuilder {
        let s = &self.inner.settings;
        let host_port = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        SshTunnelBuilder {
            host_port,
            username: Some(s.user().to_string()),
            port: Some(port),
            timeout: s.timeout,
            known_hosts_file: Some(s.known_hosts_file.clone()),
            policy: s.policy.clone(),
            identity_files: s.explicit_identity_files.clone(),
            use_agent: s.use_agent,
            agent_socket: s.agent_socket.clone(),
            ssh_config: ConfigSource::Disabled,
            fd_forward_command: s.fd_forward_command.clone(),
            via: Some(self.clone()),
        }
    }

    /// Run `command` on the tunnel host and collect its output.
    ///
    /// ```no_run
    /// # async fn run(tunnel: fleet::v1::transport::ssh::SshTunnel) -> fleet::v1::Result<()> {
    /// let out = tunnel.exec("hostname").await?;
    /// assert_eq!(out.status, Some(0));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exec(&self, command: &str) -> Result<ExecOutput> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let status = self.exec_to(command, &mut stdout, &mut stderr).await?;
        Ok(ExecOutput {
            status,
            stdout,
            stderr,
        })
    }

    /// Run `command` on the tunnel host, copying its output to `stdout` and `stderr` as it
    /// arrives (for `journal -f`); returns the exit status.
    ///
    /// ```no_run
    /// # async fn run(tunnel: fleet::v1::transport::ssh::SshTunnel) -> fleet::v1::Result<()> {
    /// // Any AsyncWrite will do, such as tokio's stdout (feature `io-std`) for `journal -f`.
    /// let (mut out, mut err) = (Vec::new(), Vec::new());
    /// let status = tunnel
    ///     .exec_to("journalctl -f -u hello.service", &mut out, &mut err)
    ///     .await?;
    /// println!("exit status {status:?}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exec_to<O, E>(
        &self,
        command: &str,
        stdout: &mut O,
        stderr: &mut E,
    ) -> Result<Option<u32>>
    where
        O: AsyncWrite + Unpin + ?Sized,
        E: AsyncWrite + Unpin + ?Sized,
    {
        self.exec_interactive(Some(command), None, &mut tokio::io::empty(), stdout, stderr)
            .await
    }

    /// Run `command` (or, with `None`, the user's login shell) on the tunnel host with its
    /// standard input fed from `stdin`, optionally on a pseudo-terminal; returns the exit status.
    /// This is what `fleetctl ssh <machine> [command]` needs: the caller puts its own terminal
    /// in raw mode when it passes a [`Pty`]. End of `stdin` is passed on as end of input.
    ///
    /// ```no_run
    /// # async fn run(tunnel: fleet::v1::transport::ssh::SshTunnel) -> fleet::v1::Result<()> {
    /// use fleet::v1::transport::ssh::Pty;
    /// let mut input: &[u8] = b"uptime\nexit\n";
    /// let (mut out, mut err) = (Vec::new(), Vec::new());
    /// let status = tunnel
    ///     .exec_interactive(None, Some(&Pty::new("xterm", 80, 24)), &mut input, &mut out, &mut err)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exec_interactive<I, O, E>(
        &self,
        command: Option<&str>,
        pty: Option<&Pty>,
        stdin: &mut I,
        stdout: &mut O,
        stderr: &mut E,
    ) -> Result<Option<u32>>
    where
        I: AsyncRead + Unpin + ?Sized,
        O: AsyncWrite + Unpin + ?Sized,
        E: AsyncWrite + Unpin + ?Sized,
    {
        let what = command.unwrap_or("a login shell").to_string();
        let session = self.session().await?;
        // Opening the channel and starting the command, within the tunnel's timeout; the
        // command itself may then run as long as it likes.
        let start = async {
            let channel = session.open_session_channel().await.map_err(|e| {
                ssh_error(format!(
                    "cannot open a session channel on {}: {e}",
                    self.destination()
                ))
            })?;
            let failed = |e: russh::Error| ssh_error(format!("cannot run {what:?}: {e}"));
            if let Some(pty) = pty {
                channel
                    .request_pty(false, &pty.term, pty.cols, pty.rows, 0, 0, &[])
                    .await
                    .map_err(failed)?;
            }
            match command {
                Some(command) => channel.exec(true, command).await.map_err(failed)?,
                None => channel.request_shell(true).await.map_err(failed)?,
            }
            Ok::<_, Error>(channel)
        };
        let channel = self
            .within_timeout(start, || {
                format!("starting {what:?} on {}", self.destination())
            })
            .await??;
        let (mut read, write) = channel.split();
        let write_err = |e: std::io::Error| Error::Io {
            path: PathBuf::from("<output of remote command>"),
            source: e,
        };
        let mut buf = vec![0u8; 16 * 1024];
        let mut stdin_open = true;
        let mut status = None;
        loop {
            tokio::select! {
                n = stdin.read(&mut buf), if stdin_open => match n {
                    Ok(0) | Err(_) => {
                        stdin_open = false;
                        // The remote side may already be gone; its exit is reported below.
                        let _ = write.eof().await;
                    }
                    Ok(n) => {
                        let chunk = buf.get(..n).unwrap_or_default();
                        if write.data(chunk).await.is_err() {
                            stdin_open = false;
                        }
                    }
                },
                msg = read.wait() => match msg {
                    Some(russh::ChannelMsg::Data { data }) => {
                        stdout.write_all(&data).await.map_err(write_err)?;
                        stdout.flush().await.map_err(write_err)?;
                    }
                    Some(russh::ChannelMsg::ExtendedData { data, .. }) => {
                        stderr.write_all(&data).await.map_err(write_err)?;
                        stderr.flush().await.map_err(write_err)?;
                    }
                    Some(russh::ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
                    Some(russh::ChannelMsg::Failure) => {
                        return Err(ssh_error(format!(
                            "the SSH server {} refused to run {what:?}",
                            self.destination()
                        )))
                    }
                    Some(russh::ChannelMsg::Close) | None => break,
                    Some(_) => {}
                },
            }
        }
        Ok(status)
    }

    /// Open a raw `direct-tcpip` stream to `host:port` as seen from the tunnel host.
    pub async fn open_tcp(&self, host: &str, port: u16) -> Result<BoxIo> {
        self.open(&Target::Tcp {
            host: host.to_string(),
            port,
        })
        .await
    }

    /// The current session, or a new one when there is none or it has closed.
    async fn session(&self) -> Result<Arc<Session>> {
        let mut guard = self.inner.session.lock().await;
        if let Some(session) = guard.as_ref() {
            if !session.is_closed() {
                return Ok(session.clone());
            }
            tracing::debug!(tunnel = %self.destination(), "SSH session closed; reconnecting");
        }
        *guard = None;
        let session = Arc::new(Session::establish(&self.inner.settings).await?);
        *guard = Some(session.clone());
        Ok(session)
    }

    /// Forget `session` if it is still the current one.
    async fn invalidate(&self, session: &Arc<Session>) {
        let mut guard = self.inner.session.lock().await;
        if guard.as_ref().is_some_and(|s| Arc::ptr_eq(s, session)) {
            *guard = None;
        }
    }

    /// `work`, or [`Error::Timeout`] for `what()` when it takes longer than the tunnel's timeout.
    async fn within_timeout<T>(
        &self,
        work: impl std::future::Future<Output = T>,
        what: impl FnOnce() -> String,
    ) -> Result<T> {
        let after = self.inner.settings.timeout;
        tokio::time::timeout(after, work)
            .await
            .map_err(|_| Error::Timeout {
                what: what(),
                after,
            })
    }

    async fn open(&self, target: &Target) -> Result<BoxIo> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let session = self.session().await?;
            let opened = self
                .within_timeout(self.open_on(&session, target), || {
                    format!(
                        "opening a channel to {target} through the SSH tunnel {}",
                        self.destination()
                    )
                })
                .await?;
            match opened {
                Ok(io) => return Ok(io),
                Err(OpenError::Refused(message)) => return Err(ssh_error(message)),
                Err(OpenError::SessionLost(message)) => {
                    self.invalidate(&session).await;
                    if attempt >= 2 {
                        return Err(ssh_error(format!(
                            "the SSH session to {} failed while opening a channel to {target}: {message}",
                            self.destination()
                        )));
                    }
                    tracing::debug!(%message, "SSH session lost; reconnecting");
                }
            }
        }
    }

    async fn open_on(
        &self,
        session: &Session,
        target: &Target,
    ) -> std::result::Result<BoxIo, OpenError> {
        match target {
            Target::Tcp { host, port } => {
                let channel = session
                    .handle()
                    .channel_open_direct_tcpip(host.clone(), u32::from(*port), "127.0.0.1", 0)
                    .await
                    .map_err(|e| OpenError::classify(e, target, &self.destination()))?;
                Ok(Box::new(channel.into_stream()))
            }
            Target::Unix { path } => {
                let path_str = path.to_str().ok_or_else(|| {
                    OpenError::Refused(format!("socket path {} is not valid UTF-8", path.display()))
                })?;
                if !self.inner.streamlocal_refused.load(Ordering::Relaxed) {
                    match session
                        .handle()
                        .channel_open_direct_streamlocal(path_str)
                        .await
                    {
                        Ok(channel) => return Ok(Box::new(channel.into_stream())),
                        Err(russh::Error::ChannelOpenFailure(reason)) => {
                            tracing::debug!(
                                ?reason,
                                "direct-streamlocal refused; falling back to fd-forward"
                            );
                            self.inner
                                .streamlocal_refused
                                .store(true, Ordering::Relaxed);
                        }
                        Err(e) => return Err(OpenError::classify(e, target, &self.destination())),
                    }
                }
                self.fd_forward(session, path).await
            }
        }
    }

    async fn fd_forward(
        &self,
        session: &Session,
        path: &Path,
    ) -> std::result::Result<BoxIo, OpenError> {
        let target = Target::Unix {
            path: path.to_path_buf(),
        };
        let mut channel = session
            .open_session_channel()
            .await
            .map_err(|e| OpenError::classify(e, &target, &self.destination()))?;
        let command = format!(
            "{} {}",
            self.inner.settings.fd_forward_command,
            shell_quote(&path.to_string_lossy())
        );
        channel
            .exec(true, command.as_str())
            .await
            .map_err(|e| OpenError::classify(e, &target, &self.destination()))?;
        // Wait for the server's answer to the exec request before handing out the stream.
        loop {
            match channel.wait().await {
                Some(russh::ChannelMsg::Success) => break,
                Some(russh::ChannelMsg::Failure) => {
                    return Err(OpenError::Refused(format!(
                        "the SSH server refused direct-streamlocal channels and refused to run {command:?}"
                    )))
                }
                Some(russh::ChannelMsg::WindowAdjusted { .. }) => {}
                Some(other) => {
                    tracing::debug!(?other, "unexpected message before exec reply");
                }
                None => {
                    return Err(OpenError::Refused(format!(
                        "the channel running {command:?} closed before it started"
                    )))
                }
            }
        }
        Ok(fd_forward::stream(channel, command, self.destination()))
    }
}

impl Connect for SshTunnel {
    fn connect(&self, target: &Target) -> ConnectFuture {
        let this = self.clone();
        let target = target.clone();
        Box::pin(async move { this.open(&target).await.map_err(into_io_error) })
    }
}

enum OpenError {
    /// The server answered but would not open the channel: retrying will not help.
    Refused(String),
    /// The session is gone: a new one may do.
    SessionLost(String),
}

impl OpenError {
    fn classify(e: russh::Error, target: &Target, destination: &str) -> OpenError {
        match e {
            russh::Error::ChannelOpenFailure(reason) => OpenError::Refused(format!(
                "the SSH server {destination} refused to open a channel to {target}: {}",
                describe_open_failure(&reason)
            )),
            other => OpenError::SessionLost(other.to_string()),
        }
    }
}

fn describe_open_failure(reason: &russh::ChannelOpenFailure) -> String {
    match reason {
        russh::ChannelOpenFailure::AdministrativelyProhibited => {
            "administratively prohibited (is forwarding allowed in sshd_config?)".into()
        }
        russh::ChannelOpenFailure::ConnectFailed => {
            "connect failed (is fleet listening there?)".into()
        }
        russh::ChannelOpenFailure::UnknownChannelType => "unknown channel type".into(),
        russh::ChannelOpenFailure::ResourceShortage => "resource shortage".into(),
        russh::ChannelOpenFailure::Other { code, reason } => format!("{reason} (code {code})"),
    }
}

fn ssh_error(message: impl Into<String>) -> Error {
    Error::Ssh {
        message: message.into(),
    }
}

/// [`Connect`] speaks `std::io::Error`; the library error travels inside it, so that the client
/// can recover it with `io_error.get_ref()` and `downcast_ref::<fleet::v1::Error>()`.
fn into_io_error(e: Error) -> std::io::Error {
    let kind = match &e {
        Error::Timeout { .. } => std::io::ErrorKind::TimedOut,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, e)
}

/// Quote `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/var/run/fleet.sock"), "/var/run/fleet.sock");
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn builder_defaults_follow_python_fleet() {
        let t = SshTunnel::builder("example.com")
            .without_ssh_config()
            .build()
            .unwrap();
        assert_eq!(t.destination(), "core@example.com:22");
        let s = &t.inner.settings;
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert!(s.known_hosts_file.ends_with(".fleetctl/known_hosts"));
        assert!(matches!(s.policy, HostKeyPolicy::Strict));
        assert!(s.use_agent);
    }

    #[test]
    fn bad_tunnel_strings_are_errors() {
        for bad in ["", "host:notaport", "host:0", "@host", "[::1"] {
            let err = SshTunnel::builder(bad)
                .without_ssh_config()
                .build()
                .unwrap_err();
            assert!(
                matches!(&err, Error::Ssh { message } if message.contains("tunnel")),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn explicit_options_win_over_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        std::fs::write(
            &cfg,
            "Host fleet-box\n  HostName 10.9.8.7\n  User admin\n  Port 2200\n",
        )
        .unwrap();
        let from_file = SshTunnel::builder("fleet-box")
            .ssh_config(&cfg)
            .build()
            .unwrap();
        assert_eq!(from_file.destination(), "admin@10.9.8.7:2200");
        let explicit = SshTunnel::builder("fleet-box:2300")
            .ssh_config(&cfg)
            .username("core")
            .build()
            .unwrap();
        assert_eq!(explicit.destination(), "core@10.9.8.7:2300");
        let missing = SshTunnel::builder("x")
            .ssh_config(dir.path().join("nope"))
            .build()
            .unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}
