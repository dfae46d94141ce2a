//! A real OpenSSH server and ssh-agent for the tunnel tests: `sshd -D -e` on a free 127.0.0.1
//! port with host and user keys made by `ssh-keygen` in a temporary directory, killed on drop.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The user the tests run as: sshd (started by this user) can only log this user in.
pub fn user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Options for the generated `sshd_config`.
#[derive(Clone, Debug)]
pub struct SshdOptions {
    pub allow_streamlocal: bool,
    pub allow_tcp: bool,
    /// `LogLevel DEBUG1`, which logs each channel opened (and sends debug lines to the stderr
    /// of remote commands).
    pub debug_log: bool,
}

impl Default for SshdOptions {
    fn default() -> Self {
        SshdOptions {
            allow_streamlocal: true,
            allow_tcp: true,
            debug_log: false,
        }
    }
}

pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Private key authorised to log in.
    pub user_key: PathBuf,
    /// The host key's public half, `algo base64`.
    pub host_public: String,
    log: Arc<Mutex<String>>,
}

pub fn keygen(path: &Path, passphrase: &str) {
    let status = Command::new("ssh-keygen")
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
        .arg(path)
        .status()
        .expect("ssh-keygen runs (apt-get install openssh-client)");
    assert!(status.success(), "ssh-keygen failed");
}

fn public_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let mut parts = text.split_whitespace();
    format!("{} {}", parts.next().unwrap(), parts.next().unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sshd {
    pub fn start() -> Sshd {
        Sshd::start_with(SshdOptions::default())
    }

    pub fn start_with(options: SshdOptions) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let host_key = dir.path().join("host_key");
        let user_key = dir.path().join("user_key");
        keygen(&host_key, "");
        keygen(&user_key, "");
        std::fs::copy(
            user_key.with_extension("pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        let host_public = public_of(&host_key);
        let mut sshd = Sshd {
            child: Command::new("true").spawn().unwrap(),
            port: 0,
            dir,
            user_key,
            host_public,
            log: Arc::new(Mutex::new(String::new())),
        };
        sshd.child.wait().unwrap();
        sshd.spawn(&options);
        sshd
    }

    fn spawn(&mut self, options: &SshdOptions) {
        // sshd insists on its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd").ok();
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        for _attempt in 0..5 {
            let port = free_port();
            let config = self.dir.path().join("sshd_config");
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
                     AllowStreamLocalForwarding {local}\n\
                     DisableForwarding no\n\
                     LogLevel {level}\n",
                    host_key = self.dir.path().join("host_key").display(),
                    authorized = self.dir.path().join("authorized_keys").display(),
                    tcp = yes_no(options.allow_tcp),
                    local = yes_no(options.allow_streamlocal),
                    level = if options.debug_log {
                        "DEBUG1"
                    } else {
                        "VERBOSE"
                    },
                ),
            )
            .unwrap();
            let mut child = Command::new("/usr/sbin/sshd")
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("/usr/sbin/sshd runs (apt-get install openssh-server)");
            let stderr = child.stderr.take().unwrap();
            let (ready_tx, ready_rx) = std::sync::mpsc::channel::<bool>();
            let log = self.log.clone();
            std::thread::spawn(move || {
                let mut ready_tx = Some(ready_tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push_str(&line);
                    log.lock().unwrap().push('\n');
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
            match ready_rx.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(true) => {
                    self.child = child;
                    self.port = port;
                    return;
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = self.log.lock().unwrap().clone();
                    if !log.contains("Address already in use") {
                        panic!("sshd did not start:\n{log}");
                    }
                }
            }
        }
        panic!("sshd could not find a free port");
    }

    /// Stop sshd and start it again on a new port with the same keys.
    pub fn restart(&mut self, options: SshdOptions) {
        self.stop();
        self.spawn(&options);
    }

    pub fn stop(&mut self) {
        self.kill_sessions();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The tunnel string for the builder.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The known-hosts line for this server.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_public)
    }

    /// Kill every process sshd forked for a connection (the listener stays); returns how many.
    pub fn kill_sessions(&self) -> usize {
        let mut killed = 0;
        for pid in descendants(self.child.id()) {
            // SAFETY-free: plain kill(1) of our own children.
            let status = Command::new("kill")
                .arg("-9")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
            if status.map(|s| s.success()).unwrap_or(false) {
                killed += 1;
            }
        }
        killed
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// All processes below `root` in the process tree (from /proc).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may contain spaces; fields follow it.
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if let Some(ppid) = fields.get(1).and_then(|p| p.parse::<u32>().ok()) {
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

/// A real `ssh-agent -D -a <socket>`, killed on drop.
pub struct Agent {
    child: Child,
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    pub fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let mut child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent runs (apt-get install openssh-client)");
        // ssh-agent prints its environment lines once the socket is bound.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.contains("SSH_AUTH_SOCK"), "ssh-agent said {first:?}");
        Agent {
            child,
            socket,
            _dir: dir,
        }
    }

    pub fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
