//! A real OpenSSH server (and `ssh-agent`) for testing SSH tunnels to the test server (feature
//! `sshd`).
//!
//! [`Sshd`] runs `/usr/sbin/sshd -D -e` on a free `127.0.0.1` port with a host key and a user
//! key made by `ssh-keygen` in a temporary directory, as the user running the tests (sshd
//! started by an unprivileged user can only log that user in). It is ready when sshd logs
//! `Server listening`, and it is killed on drop. [`SshdBuilder`] chooses what the server
//! allows (TCP and unix-socket forwarding) and whether every session command is recorded and
//! run with fake programs first on `PATH`; [`Agent`] is a real `ssh-agent`.
//!
//! OpenSSH is an outside program: a test first asks [`openssh_available`], which says what is
//! skipped when OpenSSH is not installed (and fails the test under CI).
//!
//! ```
//! use fleet_testserver::sshd::{openssh_available, Sshd};
//!
//! if !openssh_available("doc example") {
//!     return;
//! }
//! let sshd = Sshd::builder().allow_streamlocal(false).start().unwrap();
//! let known_hosts = sshd.known_hosts_file("known_hosts", true).unwrap();
//! // A tunnel to `sshd.host_port()` as `sshd.user()` with the key `sshd.user_key()` and this
//! // known-hosts file reaches the test server's TCP port (but not its unix socket).
//! assert!(sshd.host_port().starts_with("127.0.0.1:"));
//! assert!(std::fs::read_to_string(known_hosts).unwrap().contains(sshd.host_public()));
//! ```
//!
//! Everything here is for tests: it needs `/usr/sbin/sshd`, `ssh-keygen`, `ssh-agent` and
//! `ssh-add` (Debian: `apt-get install openssh-server openssh-client`), binds only `127.0.0.1`
//! and keeps every file in its temporary directory.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The longest wait for sshd's `Server listening` line (a bound on a hang, not a delay).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether OpenSSH (`/usr/sbin/sshd`, `ssh-keygen`, `ssh-agent`, `ssh-add` and `ssh`) is
/// installed. Without it, prints `skipping <test>: OpenSSH is not installed ...` and returns
/// `false`, so that the test can return early.
///
/// # Panics
///
/// When OpenSSH is missing and the environment variable `CI` is set: a CI run must not skip.
///
/// ```
/// if !fleet_testserver::sshd::openssh_available("my_tunnel_test") {
///     return;
/// }
/// ```
pub fn openssh_available(test: &str) -> bool {
    let found = Path::new("/usr/sbin/sshd").exists()
        && ["ssh-keygen", "ssh-agent", "ssh-add", "ssh"]
            .iter()
            .all(|p| {
                Command::new(p)
                    .arg("-?")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            });
    if !found {
        let msg = format!(
            "{test}: OpenSSH is not installed (apt-get install openssh-server openssh-client)"
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        // Straight to stderr: the test harness captures `eprintln!`, and a skip must show.
        let _ = writeln!(std::io::stderr(), "skipping {msg}");
    }
    found
}

/// The name of the user running this process (`id -un`): the only user an sshd started by it
/// can log in.
///
/// ```
/// let user = fleet_testserver::sshd::current_user().unwrap();
/// assert!(!user.is_empty());
/// ```
pub fn current_user() -> std::io::Result<String> {
    let out = Command::new("id").arg("-un").output()?;
    let user = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || user.is_empty() {
        return Err(std::io::Error::other(format!(
            "`id -un` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(user)
}

/// Makes an ed25519 key pair with `ssh-keygen`: the private key at `path`, the public key at
/// `path` with the extension `.pub`. An empty `passphrase` leaves the key unencrypted.
///
/// ```
/// # if !fleet_testserver::sshd::openssh_available("keygen doc example") { return; }
/// let dir = tempfile::tempdir().unwrap();
/// let key = dir.path().join("id_ed25519");
/// fleet_testserver::sshd::keygen(&key, "").unwrap();
/// assert!(key.with_extension("pub").exists());
/// ```
pub fn keygen(path: &Path, passphrase: &str) -> std::io::Result<()> {
    run_ok(
        Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                passphrase,
                "-C",
                "fleet-test",
                "-f",
            ])
            .arg(path),
        &format!("ssh-keygen for {}", path.display()),
    )
}

/// Runs a command to its end with no input; an error names it (`what`) and says what it wrote
/// to stderr when it fails.
fn run_ok(command: &mut Command, what: &str) -> std::io::Result<()> {
    let out = command.stdin(Stdio::null()).output().map_err(|e| {
        context(
            format!("running {what} (apt-get install openssh-client openssh-server)"),
            e,
        )
    })?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn context(what: impl std::fmt::Display, err: std::io::Error) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("{what}: {err}"))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Writes an executable (mode 755) script.
fn write_script(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).map_err(|e| context(path.display(), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| context(path.display(), e))
}

/// What the server allows and records; from [`Sshd::builder`].
#[derive(Clone, Debug)]
pub struct SshdBuilder {
    allow_streamlocal: bool,
    allow_tcp: bool,
    debug_log: bool,
    record_commands: bool,
}

impl SshdBuilder {
    /// Whether `direct-streamlocal@openssh.com` channels (to unix sockets) are allowed
    /// (`AllowStreamLocalForwarding`); default yes.
    pub fn allow_streamlocal(mut self, allow: bool) -> Self {
        self.allow_streamlocal = allow;
        self
    }

    /// Whether `direct-tcpip` channels are allowed (`AllowTcpForwarding`); default yes.
    pub fn allow_tcp_forwarding(mut self, allow: bool) -> Self {
        self.allow_tcp = allow;
        self
    }

    /// `LogLevel DEBUG1` instead of `VERBOSE`: [`Sshd::log`] then shows each channel opened
    /// (and remote commands get debug lines on their stderr). Default no.
    pub fn debug_log(mut self, debug: bool) -> Self {
        self.debug_log = debug;
        self
    }

    /// Sends every session through a `ForceCommand` recorder that appends the command line the
    /// client sent (`$SSH_ORIGINAL_COMMAND`, or `<shell>` for a session without one) to
    /// [`Sshd::commands`], puts [`Sshd::bin_dir`] first on `PATH` (see [`Sshd::install`]) and
    /// runs the command with `/bin/sh -c` (a shell session runs `/bin/sh`). Default no.
    pub fn record_commands(mut self, record: bool) -> Self {
        self.record_commands = record;
        self
    }

    /// Makes the keys, writes `sshd_config` and starts sshd on a free port, returning once it
    /// listens. Fails when OpenSSH is missing or sshd does not start (with its log).
    pub fn start(self) -> std::io::Result<Sshd> {
        let dir = tempfile::tempdir().map_err(|e| context("temporary directory", e))?;
        let d = dir.path();
        keygen(&d.join("host_key"), "")?;
        let home = d.join("home");
        let ssh_dir = home.join(".ssh");
        std::fs::create_dir_all(&ssh_dir).map_err(|e| context(ssh_dir.display(), e))?;
        let user_key = ssh_dir.join("id_ed25519");
        keygen(&user_key, "")?;
        std::fs::copy(user_key.with_extension("pub"), d.join("authorized_keys"))
            .map_err(|e| context("authorized_keys", e))?;
        let host_public = {
            let text = std::fs::read_to_string(d.join("host_key.pub"))
                .map_err(|e| context("host_key.pub", e))?;
            let mut parts = text.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some(algo), Some(key)) => format!("{algo} {key}"),
                _ => {
                    return Err(std::io::Error::other(format!(
                        "unexpected host_key.pub: {text:?}"
                    )))
                }
            }
        };
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).map_err(|e| context(bin.display(), e))?;
        if self.record_commands {
            let dd = d.display();
            write_script(
                &d.join("record.sh"),
                &format!(
                    "#!/bin/sh\n\
                     PATH={dd}/bin:$PATH\n\
                     export PATH\n\
                     if [ -z \"$SSH_ORIGINAL_COMMAND\" ]; then\n\
                     echo '<shell>' >> {dd}/commands.log\n\
                     exec /bin/sh\n\
                     fi\n\
                     printf '%s\\n' \"$SSH_ORIGINAL_COMMAND\" >> {dd}/commands.log\n\
                     exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n"
                ),
            )?;
        }
        let user = current_user()?;
        let log = Arc::new(Mutex::new(String::new()));
        let (child, port) = spawn(d, &self, &log)?;
        Ok(Sshd {
            child,
            port,
            user,
            dir,
            home,
            user_key,
            host_public,
            log,
        })
    }
}

/// Writes the config and starts sshd on a free port (a few attempts, in case another process
/// takes the port between choosing and binding it).
fn spawn(
    dir: &Path,
    options: &SshdBuilder,
    log: &Arc<Mutex<String>>,
) -> std::io::Result<(Child, u16)> {
    // sshd insists on its privilege-separation directory (creating it needs root; without
    // root it has to exist already).
    let _ = std::fs::create_dir_all("/run/sshd");
    let force_command = if options.record_commands {
        format!("ForceCommand {}\n", dir.join("record.sh").display())
    } else {
        String::new()
    };
    for _attempt in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1:{port}\n\
                 HostKey {host_key}\n\
                 PidFile none\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 PermitRootLogin prohibit-password\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 AuthorizedKeysFile {authorized}\n\
                 AllowTcpForwarding {tcp}\n\
                 AllowStreamLocalForwarding {streamlocal}\n\
                 DisableForwarding no\n\
                 {force_command}\
                 LogLevel {level}\n",
                host_key = dir.join("host_key").display(),
                authorized = dir.join("authorized_keys").display(),
                tcp = yes_no(options.allow_tcp),
                streamlocal = yes_no(options.allow_streamlocal),
                level = if options.debug_log {
                    "DEBUG1"
                } else {
                    "VERBOSE"
                },
            ),
        )
        .map_err(|e| context("sshd_config", e))?;
        let mut child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| context("running /usr/sbin/sshd (apt-get install openssh-server)", e))?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("sshd's stderr is not piped"));
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<bool>();
        let lines = log.clone();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                {
                    let mut log = lines.lock().unwrap_or_else(PoisonError::into_inner);
                    log.push_str(&line);
                    log.push('\n');
                }
                if line.contains("Server listening on") {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(true);
                    }
                }
            }
            if let Some(tx) = ready_tx.take() {
                let _ = tx.send(false);
            }
        });
        // The signal is sshd's own "Server listening" line; the timeout only bounds a hang.
        if let Ok(true) = ready_rx.recv_timeout(START_TIMEOUT) {
            return Ok((child, port));
        }
        let _ = child.kill();
        let _ = child.wait();
        let text = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if !text.contains("Address already in use") {
            return Err(std::io::Error::other(format!(
                "sshd did not start:\n{text}"
            )));
        }
    }
    Err(std::io::Error::other("sshd could not find a free port"))
}

/// A running `sshd` on `127.0.0.1`, killed (with its sessions) on drop.
///
/// Its temporary directory ([`Sshd::dir`]) holds `host_key`/`host_key.pub`, the user key
/// `home/.ssh/id_ed25519` ([`Sshd::user_key`]), `authorized_keys`, `sshd_config` and `bin/`.
#[derive(Debug)]
pub struct Sshd {
    child: Child,
    port: u16,
    user: String,
    dir: tempfile::TempDir,
    home: PathBuf,
    user_key: PathBuf,
    host_public: String,
    log: Arc<Mutex<String>>,
}

impl Sshd {
    /// A server with the defaults: TCP and unix-socket forwarding allowed, `LogLevel VERBOSE`,
    /// commands not recorded.
    pub fn builder() -> SshdBuilder {
        SshdBuilder {
            allow_streamlocal: true,
            allow_tcp: true,
            debug_log: false,
            record_commands: false,
        }
    }

    /// Starts a server with the defaults of [`Sshd::builder`].
    pub fn start() -> std::io::Result<Sshd> {
        Sshd::builder().start()
    }

    /// The port sshd listens on (at `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`: the host to tunnel through.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The user sshd lets in: the one running the tests ([`current_user`]).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The server's temporary directory (removed on drop): a place for a test's own files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A home directory whose `.ssh/id_ed25519` is the authorised [`Sshd::user_key`] (for
    /// programs that look for keys in `$HOME/.ssh`).
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The private key (ed25519, no passphrase) authorised to log in; its public half is next
    /// to it with the extension `.pub`.
    pub fn user_key(&self) -> &Path {
        &self.user_key
    }

    /// The host key's public half, `<algorithm> <base64>` (as in a known-hosts line).
    pub fn host_public(&self) -> &str {
        &self.host_public
    }

    /// The file holding the host key's public half (for `ssh-keygen -l -f`).
    pub fn host_key_pub(&self) -> PathBuf {
        self.dir.path().join("host_key.pub")
    }

    /// This server's known-hosts line, `[127.0.0.1]:<port> <algorithm> <base64>` and a newline.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_public)
    }

    /// Writes the known-hosts file `name` in [`Sshd::dir`], with this server's line when
    /// `trusted` and empty otherwise, and returns its path.
    pub fn known_hosts_file(&self, name: &str, trusted: bool) -> std::io::Result<PathBuf> {
        let path = self.dir.path().join(name);
        let mut f = std::fs::File::create(&path).map_err(|e| context(path.display(), e))?;
        if trusted {
            f.write_all(self.known_hosts_line().as_bytes())?;
        }
        Ok(path)
    }

    /// What sshd logged so far (its stderr).
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The directory first on the `PATH` of recorded sessions
    /// ([`SshdBuilder::record_commands`]).
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// Puts `program` (a symbolic link to it) on recorded sessions' `PATH` as `name`.
    pub fn install(&self, name: &str, program: &Path) -> std::io::Result<()> {
        std::os::unix::fs::symlink(program, self.bin_dir().join(name))
            .map_err(|e| context(format!("installing {name}"), e))
    }

    /// Puts an executable script with this text on recorded sessions' `PATH` as `name` (a
    /// fake remote command).
    pub fn install_script(&self, name: &str, text: &str) -> std::io::Result<()> {
        write_script(&self.bin_dir().join(name), text)
    }

    /// The command lines of the recorded sessions so far, in order (`<shell>` for a session
    /// without a command); empty unless [`SshdBuilder::record_commands`].
    pub fn commands(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("commands.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Kills every process sshd forked for a connection (the listener stays), which drops
    /// every session; returns how many processes were killed.
    pub fn kill_sessions(&self) -> usize {
        let mut killed = 0;
        for pid in descendants(self.child.id()) {
            let status = Command::new("kill")
                .arg("-9")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
            if status.is_ok_and(|s| s.success()) {
                killed += 1;
            }
        }
        killed
    }

    /// Starts an [`Agent`] holding [`Sshd::user_key`].
    pub fn start_agent(&self) -> std::io::Result<Agent> {
        let agent = Agent::start()?;
        agent.add(&self.user_key)?;
        Ok(agent)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_sessions();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// All processes below `root` in the process tree (from `/proc`).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may contain spaces; fields follow it.
        let Some((_, after)) = stat.rsplit_once(')') else {
            continue;
        };
        if let Some(ppid) = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
        {
            parent_of.push((pid, ppid));
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid) in &parent_of {
            if *ppid == p {
                out.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    out
}

/// A real `ssh-agent -D -a <socket>` in a temporary directory, killed on drop.
///
/// ```
/// # if !fleet_testserver::sshd::openssh_available("agent doc example") { return; }
/// let agent = fleet_testserver::sshd::Agent::start().unwrap();
/// assert!(agent.socket().exists());
/// // Point SSH_AUTH_SOCK at `agent.socket()`; `agent.add(key)` loads a key.
/// ```
#[derive(Debug)]
pub struct Agent {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// Starts an empty agent; returns once its socket is bound.
    pub fn start() -> std::io::Result<Agent> {
        let dir = tempfile::tempdir().map_err(|e| context("temporary directory", e))?;
        let socket = dir.path().join("agent.sock");
        let mut child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| context("running ssh-agent (apt-get install openssh-client)", e))?;
        // ssh-agent prints its environment lines once the socket is bound.
        let mut first = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut first);
        }
        let agent = Agent {
            child,
            socket,
            _dir: dir,
        };
        if !first.contains("SSH_AUTH_SOCK") {
            return Err(std::io::Error::other(format!(
                "ssh-agent did not start: it said {first:?}"
            )));
        }
        Ok(agent)
    }

    /// The agent's socket, for `SSH_AUTH_SOCK`.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Adds a private key with `ssh-add`.
    pub fn add(&self, key: &Path) -> std::io::Result<()> {
        run_ok(
            Command::new("ssh-add")
                .arg(key)
                .env("SSH_AUTH_SOCK", &self.socket),
            &format!("ssh-add {}", key.display()),
        )
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
