//! Opening an SSH session: options resolved against the SSH config, `ProxyJump` hops, the
//! host-key check and authentication.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{AuthResult, Handle, Msg};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::Channel;
use tokio::time::Instant;

use super::config::{self, JumpHost, SshConfig};
use super::known_hosts::{self, HostKey, KnownHosts, Verdict};
use super::{ConfigSource, HostKeyPolicy, SshTunnel, SshTunnelBuilder, UnknownHostKey};
use crate::v1::error::{Error, Result};
use crate::v1::transport::{BoxIo, Connect as _, Target};

/// One SSH server on the way: a `ProxyJump` hop or the tunnel host itself.
#[derive(Debug, Clone)]
pub(super) struct Hop {
    /// The address dialled (after `HostName`).
    host: String,
    port: u16,
    user: String,
    identity_files: Vec<PathBuf>,
    /// The identity files are OpenSSH's defaults: missing ones are skipped silently.
    default_identity_files: bool,
    identities_only: bool,
}

impl Hop {
    fn describe(&self) -> String {
        if self.host.contains(':') {
            format!("{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// Everything needed to open the session, resolved once by [`SshTunnelBuilder::build`].
#[derive(Debug)]
pub(super) struct Settings {
    /// `ProxyJump` hops first, the tunnel host last (never empty).
    hops: Vec<Hop>,
    target: Hop,
    pub(super) timeout: Duration,
    pub(super) known_hosts_file: PathBuf,
    pub(super) policy: HostKeyPolicy,
    pub(super) explicit_identity_files: Vec<PathBuf>,
    pub(super) use_agent: bool,
    pub(super) agent_socket: Option<PathBuf>,
    pub(super) fd_forward_command: String,
    via: Option<SshTunnel>,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

fn ssh_error(message: impl Into<String>) -> Error {
    Error::Ssh {
        message: message.into(),
    }
}

impl Settings {
    pub(super) fn resolve(b: SshTunnelBuilder) -> Result<Settings> {
        let spec = config::parse_user_host_port(b.host_port.trim())
            .map_err(|m| ssh_error(format!("invalid tunnel {:?}: {m}", b.host_port)))?;
        let home = home();
        let ssh_config = match &b.ssh_config {
            ConfigSource::Disabled => None,
            ConfigSource::File(path) => Some(SshConfig::read(path).map_err(ssh_error)?),
            ConfigSource::Default => match home.as_ref().map(|h| h.join(".ssh").join("config")) {
                Some(path) if path.is_file() => Some(SshConfig::read(&path).map_err(ssh_error)?),
                _ => None,
            },
        };
        let lookup = |alias: &str| -> Result<config::HostConfig> {
            match &ssh_config {
                Some(c) => c.lookup(alias).map_err(ssh_error),
                None => Ok(config::HostConfig::default()),
            }
        };

        let cfg = lookup(&spec.host)?;
        let user = b
            .username
            .clone()
            .or(spec.user.clone())
            .or(cfg.user.clone())
            .unwrap_or_else(|| super::DEFAULT_USERNAME.to_string());
        let target = make_hop(
            &spec.host,
            b.port.or(spec.port),
            user.clone(),
            &cfg,
            &b.identity_files,
            home.as_deref(),
        )?;

        let mut hops = Vec::new();
        if b.via.is_none() {
            for jump in cfg.proxy_jump.clone().unwrap_or_default() {
                let JumpHost {
                    user: jump_user,
                    host,
                    port,
                } = jump;
                let jcfg = lookup(&host)?;
                let jump_user = jump_user
                    .or(jcfg.user.clone())
                    .unwrap_or_else(|| user.clone());
                hops.push(make_hop(
                    &host,
                    port,
                    jump_user,
                    &jcfg,
                    &b.identity_files,
                    home.as_deref(),
                )?);
            }
        }

        let known_hosts_file = match (b.known_hosts_file, &home) {
            (Some(path), _) => path,
            (None, Some(home)) => home.join(".fleetctl").join("known_hosts"),
            (None, None) => {
                return Err(ssh_error(
                    "HOME is not set, so the default known-hosts file ~/.fleetctl/known_hosts \
                     cannot be found; set one with known_hosts_file()",
                ))
            }
        };

        Ok(Settings {
            hops,
            target,
            timeout: b.timeout,
            known_hosts_file,
            policy: b.policy,
            explicit_identity_files: b.identity_files,
            use_agent: b.use_agent,
            agent_socket: b.agent_socket,
            fd_forward_command: b.fd_forward_command,
            via: b.via,
        })
    }

    pub(super) fn describe(&self) -> String {
        self.target.describe()
    }

    pub(super) fn user(&self) -> &str {
        &self.target.user
    }
}

fn make_hop(
    alias: &str,
    port: Option<u16>,
    user: String,
    cfg: &config::HostConfig,
    explicit_files: &[PathBuf],
    home: Option<&std::path::Path>,
) -> Result<Hop> {
    let host = match &cfg.host_name {
        // `%h` in HostName stands for the name as given.
        Some(name) => name.replace("%h", alias),
        None => alias.to_string(),
    };
    let port = port.or(cfg.port).unwrap_or(22);
    let mut identity_files = explicit_files.to_vec();
    for raw in &cfg.identity_files {
        identity_files.push(config::expand_path(raw, home, &host, &user).map_err(ssh_error)?);
    }
    let default_identity_files = identity_files.is_empty();
    if default_identity_files {
        if let Some(home) = home {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                identity_files.push(home.join(".ssh").join(name));
            }
        }
    }
    Ok(Hop {
        host,
        port,
        user,
        identity_files,
        default_identity_files,
        identities_only: cfg.identities_only.unwrap_or(false),
    })
}

/// An open, authenticated SSH session (with the sessions of its `ProxyJump` hops, which must
/// stay open as long as it is).
pub(super) struct Session {
    target: Handle<Client>,
    jumps: Vec<Handle<Client>>,
}

impl Session {
    pub(super) fn handle(&self) -> &Handle<Client> {
        &self.target
    }

    pub(super) fn is_closed(&self) -> bool {
        self.target.is_closed() || self.jumps.iter().any(Handle::is_closed)
    }

    pub(super) async fn open_session_channel(&self) -> Result<Channel<Msg>, russh::Error> {
        self.target.channel_open_session().await
    }

    /// Open a new session through every hop, within the timeout (a trust-on-first-use prompt
    /// does not count against it).
    pub(super) async fn establish(settings: &Settings) -> Result<Session> {
        let clock = PromptClock::default();
        let work = Self::establish_untimed(settings, clock.clone());
        tokio::pin!(work);
        let mut deadline = Instant::now() + settings.timeout;
        loop {
            tokio::select! {
                result = &mut work => return result,
                () = tokio::time::sleep_until(deadline) => {
                    match clock.extension() {
                        Some(extra) => deadline += extra,
                        None => {
                            return Err(Error::Timeout {
                                what: format!("opening the SSH session to {}", settings.describe()),
                                after: settings.timeout,
                            })
                        }
                    }
                }
            }
        }
    }

    async fn establish_untimed(settings: &Settings, clock: PromptClock) -> Result<Session> {
        let mut opened: Vec<Handle<Client>> = Vec::new();
        for hop in settings
            .hops
            .iter()
            .chain(std::iter::once(&settings.target))
        {
            let stream: BoxIo = match (opened.last(), &settings.via) {
                (Some(previous), _) => {
                    let channel = previous
                        .channel_open_direct_tcpip(
                            hop.host.clone(),
                            u32::from(hop.port),
                            "127.0.0.1",
                            0,
                        )
                        .await
                        .map_err(|e| {
                            ssh_error(format!(
                                "cannot reach {} through the ProxyJump hop: {e}",
                                hop.describe()
                            ))
                        })?;
                    Box::new(channel.into_stream())
                }
                (None, Some(parent)) => parent
                    .connect(&Target::Tcp {
                        host: hop.host.clone(),
                        port: hop.port,
                    })
                    .await
                    .map_err(
                        |e| match e.into_inner().map(|inner| inner.downcast::<Error>()) {
                            Some(Ok(inner)) => *inner,
                            Some(Err(other)) => ssh_error(format!(
                                "cannot reach {} through {}: {other}",
                                hop.describe(),
                                parent.destination()
                            )),
                            None => ssh_error(format!(
                                "cannot reach {} through {}",
                                hop.describe(),
                                parent.destination()
                            )),
                        },
                    )?,
                (None, None) => {
                    let tcp = tokio::net::TcpStream::connect((hop.host.as_str(), hop.port))
                        .await
                        .map_err(|e| {
                            ssh_error(format!("cannot connect to {}: {e}", hop.describe()))
                        })?;
                    // Small HTTP requests should not wait for Nagle.
                    let _ = tcp.set_nodelay(true);
                    Box::new(tcp)
                }
            };
            let handle = handshake(settings, hop, stream, clock.clone()).await?;
            opened.push(handle);
        }
        let target = opened
            .pop()
            .ok_or_else(|| ssh_error("no SSH host to connect to"))?;
        Ok(Session {
            target,
            jumps: opened,
        })
    }
}

/// Tracks time spent in trust-on-first-use prompts so the connect timeout can leave it out.
#[derive(Clone, Default)]
struct PromptClock(Arc<Mutex<PromptState>>);

#[derive(Default)]
struct PromptState {
    prompting_since: Option<Instant>,
    /// Prompt time not yet added to the deadline.
    owed: Duration,
}

impl PromptClock {
    fn start(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.prompting_since = Some(Instant::now());
        }
    }

    fn stop(&self) {
        if let Ok(mut s) = self.0.lock() {
            if let Some(since) = s.prompting_since.take() {
                s.owed += since.elapsed();
            }
        }
    }

    /// How much to push the deadline back, or `None` when the time is really up.
    fn extension(&self) -> Option<Duration> {
        let mut s = self.0.lock().ok()?;
        if s.prompting_since.is_some() {
            return Some(Duration::from_millis(200));
        }
        let owed = std::mem::take(&mut s.owed);
        (!owed.is_zero()).then_some(owed)
    }
}

async fn handshake(
    settings: &Settings,
    hop: &Hop,
    stream: BoxIo,
    clock: PromptClock,
) -> Result<Handle<Client>> {
    let config = Arc::new(russh::client::Config {
        // A session whose server stops answering is closed after three missed keepalives, so
        // the next connection opens a new one instead of waiting on a dead one.
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        ..russh::client::Config::default()
    });
    let handler = Client {
        host_id: known_hosts::host_id(&hop.host, hop.port),
        known_hosts_file: settings.known_hosts_file.clone(),
        policy: settings.policy.clone(),
        clock,
    };
    let mut handle = russh::client::connect_stream(config, stream, handler)
        .await
        .map_err(|e| match e {
            HandlerError::HostKey(message) => ssh_error(message),
            HandlerError::Ssh(e) => {
                ssh_error(format!("SSH handshake with {} failed: {e}", hop.describe()))
            }
        })?;
    authenticate(&mut handle, settings, hop).await?;
    Ok(handle)
}

async fn authenticate(handle: &mut Handle<Client>, settings: &Settings, hop: &Hop) -> Result<()> {
    let user = hop.user.as_str();
    let mut tried: Vec<String> = Vec::new();
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();

    if settings.use_agent && !hop.identities_only {
        let socket = settings
            .agent_socket
            .clone()
            .or_else(|| std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from));
        match socket {
            None => tried.push("ssh-agent (SSH_AUTH_SOCK is not set)".into()),
            Some(socket) => match AgentClient::connect_uds(&socket).await {
                Err(e) => tried.push(format!(
                    "ssh-agent at {} (cannot connect: {e})",
                    socket.display()
                )),
                Ok(mut agent) => match agent.request_identities().await {
                    Err(e) => tried.push(format!(
                        "ssh-agent at {} (cannot list keys: {e})",
                        socket.display()
                    )),
                    Ok(identities) => {
                        let keys: Vec<PublicKey> = identities
                            .into_iter()
                            .filter_map(|id| match id {
                                AgentIdentity::PublicKey { key, .. } => Some(key),
                                _ => None,
                            })
                            .collect();
                        for key in &keys {
                            let hash = if key.algorithm().is_rsa() {
                                rsa_hash
                            } else {
                                None
                            };
                            match handle
                                .authenticate_publickey_with(user, key.clone(), hash, &mut agent)
                                .await
                            {
                                Ok(AuthResult::Success) => return Ok(()),
                                Ok(AuthResult::Failure { .. }) => {}
                                Err(e) => tracing::debug!(%e, "agent signature failed"),
                            }
                        }
                        tried.push(format!(
                            "ssh-agent at {} with {} key{} (none accepted)",
                            socket.display(),
                            keys.len(),
                            if keys.len() == 1 { "" } else { "s" }
                        ));
                    }
                },
            },
        }
    }

    for path in &hop.identity_files {
        if hop.default_identity_files && !path.exists() {
            continue;
        }
        match russh::keys::load_secret_key(path, None) {
            Err(russh::keys::Error::KeyIsEncrypted) => tried.push(format!(
                "identity file {} (encrypted with a passphrase, which is not supported: add it \
                 to the ssh-agent instead)",
                path.display()
            )),
            Err(e) => tried.push(format!(
                "identity file {} (cannot load: {e})",
                path.display()
            )),
            Ok(key) => {
                let hash = if key.algorithm().is_rsa() {
                    rsa_hash
                } else {
                    None
                };
                let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
                match handle.authenticate_publickey(user, key).await {
                    Ok(AuthResult::Success) => return Ok(()),
                    Ok(AuthResult::Failure { .. }) => {
                        tried.push(format!("identity file {} (refused)", path.display()))
                    }
                    Err(e) => tried.push(format!("identity file {} (error: {e})", path.display())),
                }
            }
        }
    }

    let tried = if tried.is_empty() {
        "nothing: no ssh-agent and no identity files".to_string()
    } else {
        tried.join("; ")
    };
    Err(ssh_error(format!(
        "authentication to {} failed; tried {tried}",
        hop.describe()
    )))
}

/// The russh handler: checks the host key.
pub(super) struct Client {
    host_id: String,
    known_hosts_file: PathBuf,
    policy: HostKeyPolicy,
    clock: PromptClock,
}

#[derive(Debug)]
pub(super) enum HandlerError {
    HostKey(String),
    Ssh(russh::Error),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Ssh(e)
    }
}

fn changed_key_message(host: &str, key: &HostKey, file: &std::path::Path, line: usize) -> String {
    format!(
        "host key verification failed for {host}; nothing was sent.\n\
         @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
         @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
         @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
         IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n\
         Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n\
         It is also possible that a host key has just been changed.\n\
         The fingerprint for the {} key sent by the remote host is\n\
         {}.\n\
         Offending key for {host} in {}:{line}",
        key.algorithm,
        key.fingerprint(),
        file.display()
    )
}

impl russh::client::Handler for Client {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, HandlerError> {
        if matches!(self.policy, HostKeyPolicy::Off) {
            return Ok(true);
        }
        let public = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => {
                PublicKey::new(cert.public_key().clone(), "")
            }
        };
        let key = HostKey::from_public_key(&public).ok_or_else(|| {
            HandlerError::HostKey(format!("cannot encode the host key of {}", self.host_id))
        })?;
        let file = self.known_hosts_file.clone();
        let known = KnownHosts::read(&file).map_err(|e| {
            HandlerError::HostKey(format!(
                "cannot read the known-hosts file {}: {e}",
                file.display()
            ))
        })?;
        match known.check(&self.host_id, &key) {
            Verdict::Known { .. } => Ok(true),
            Verdict::Revoked { line } => Err(HandlerError::HostKey(format!(
                "the {} host key of {} ({}) is marked @revoked in {}:{line}; nothing was sent",
                key.algorithm,
                self.host_id,
                key.fingerprint(),
                file.display()
            ))),
            Verdict::Changed { line } => Err(HandlerError::HostKey(changed_key_message(
                &self.host_id,
                &key,
                &file,
                line,
            ))),
            Verdict::Unknown => match &self.policy {
                HostKeyPolicy::TrustOnFirstUse(callback) => {
                    let prompt = UnknownHostKey {
                        host: self.host_id.clone(),
                        key_type: key.algorithm.clone(),
                        fingerprint: key.fingerprint(),
                        known_hosts_file: file.clone(),
                    };
                    let callback = callback.clone();
                    self.clock.start();
                    let accepted = tokio::task::spawn_blocking(move || callback(&prompt)).await;
                    self.clock.stop();
                    match accepted {
                        Ok(true) => {
                            known_hosts::append(&file, &self.host_id, &key).map_err(|e| {
                                HandlerError::HostKey(format!(
                                    "cannot add the host key of {} to {}: {e}",
                                    self.host_id,
                                    file.display()
                                ))
                            })?;
                            Ok(true)
                        }
                        Ok(false) => Err(HandlerError::HostKey(format!(
                            "the {} host key of {} ({}) was not accepted; nothing was sent",
                            key.algorithm,
                            self.host_id,
                            key.fingerprint()
                        ))),
                        Err(e) => Err(HandlerError::HostKey(format!(
                            "the host-key callback for {} failed: {e}",
                            self.host_id
                        ))),
                    }
                }
                _ => Err(HandlerError::HostKey(format!(
                    "host {} is not in the known-hosts file {}: its {} key has fingerprint {}; \
                     nothing was sent (check the fingerprint, then add the key to the file or \
                     connect once trusting it on first use)",
                    self.host_id,
                    file.display(),
                    key.algorithm,
                    key.fingerprint()
                ))),
            },
        }
    }
}
