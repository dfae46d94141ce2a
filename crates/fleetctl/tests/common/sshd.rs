//! A real OpenSSH server for the SSH tests: `sshd -D -e` on a free 127.0.0.1 port with host and
//! user keys made by `ssh-keygen` in a temporary directory, killed on drop.
//!
//! Every session command goes through a `ForceCommand` recorder that appends the exact command
//! line fleetctl sent (`$SSH_ORIGINAL_COMMAND`) to `commands.log`, puts fake `systemctl`,
//! `journalctl` and `sudo` first on `PATH`, and runs the command with `/bin/sh -c`. The fakes
//! print recognisable output and append their arguments, one per line, to `<name>.args`. A
//! session without a command (a shell) is logged as `<shell>` and runs `/bin/sh`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// Whether OpenSSH (`sshd`, `ssh-keygen`, `ssh-agent`, `ssh`) is installed. Without it a test
/// says what it skipped and passes, except under CI (`CI` set), where it fails.
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
        eprintln!("skipping {msg}");
    }
    found
}

pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// A home directory whose `~/.ssh/id_ed25519` is authorised to log in.
    pub home: PathBuf,
    /// The host key's public half, `algo base64`.
    pub host_public: String,
    log: Arc<Mutex<String>>,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "fleetctl-test", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("ssh-keygen runs (apt-get install openssh-client)");
    assert!(status.success(), "ssh-keygen failed");
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let status = Command::new("chmod").arg("755").arg(path).status().unwrap();
    assert!(status.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The user fleetctl logs in as (`--ssh-username`): whoever runs the tests.
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Sshd {
    /// Starts sshd; `debug_log` sets `LogLevel DEBUG1`, which logs each forwarded channel.
    pub fn start(debug_log: bool) -> Sshd {
        Sshd::start_with(debug_log, true)
    }

    /// [`Sshd::start`], choosing whether `direct-streamlocal` channels are allowed (without
    /// them, fleetctl falls back to running `fleetctl fd-forward` on the server).
    pub fn start_with(debug_log: bool, allow_streamlocal: bool) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        let home = d.join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        keygen(&home.join(".ssh").join("id_ed25519"));
        std::fs::copy(
            home.join(".ssh").join("id_ed25519.pub"),
            d.join("authorized_keys"),
        )
        .unwrap();
        let host_public = {
            let text = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
            let mut parts = text.split_whitespace();
            format!("{} {}", parts.next().unwrap(), parts.next().unwrap())
        };
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
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
        );
        // systemctl status exits 3 for a unit that is not running, as the real one does.
        write_script(
            &bin.join("systemctl"),
            &format!(
                "#!/bin/sh\n\
                 printf '%s\\n' \"$@\" >> {dd}/systemctl.args\n\
                 unit=\"$3\"\n\
                 [ -n \"$unit\" ] || unit=\"$2\"\n\
                 echo \"* $unit - fake systemctl $1\"\n\
                 echo \"   Active: active (running)\"\n\
                 case \"$unit\" in failing.service) exit 3;; esac\n\
                 exit 0\n"
            ),
        );
        write_script(
            &bin.join("journalctl"),
            &format!(
                "#!/bin/sh\n\
                 printf '%s\\n' \"$@\" >> {dd}/journalctl.args\n\
                 echo \"-- fake journal of $2 --\"\n\
                 i=1; while [ $i -le \"$5\" ]; do echo \"line $i\"; i=$((i+1)); done\n"
            ),
        );
        write_script(
            &bin.join("sudo"),
            &format!(
                "#!/bin/sh\n\
                 echo sudo >> {dd}/sudo.args\n\
                 exec \"$@\"\n"
            ),
        );
        let mut sshd = Sshd {
            child: Command::new("true").spawn().unwrap(),
            port: 0,
            dir,
            home,
            host_public,
            log: Arc::new(Mutex::new(String::new())),
        };
        sshd.child.wait().unwrap();
        sshd.spawn(debug_log, allow_streamlocal);
        sshd
    }

    /// Puts a program (such as the fleetctl binary) on the sessions' `PATH`.
    pub fn install(&self, name: &str, program: &Path) {
        std::os::unix::fs::symlink(program, self.dir.path().join("bin").join(name)).unwrap();
    }

    fn spawn(&mut self, debug_log: bool, allow_streamlocal: bool) {
        // sshd insists on its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd").ok();
        let d = self.dir.path().to_path_buf();
        for _attempt in 0..5 {
            let port = free_port();
            let config = d.join("sshd_config");
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
                     AllowTcpForwarding yes\n\
                     AllowStreamLocalForwarding {streamlocal}\n\
                     DisableForwarding no\n\
                     ForceCommand {record}\n\
                     LogLevel {level}\n",
                    host_key = d.join("host_key").display(),
                    authorized = d.join("authorized_keys").display(),
                    record = d.join("record.sh").display(),
                    streamlocal = if allow_streamlocal { "yes" } else { "no" },
                    level = if debug_log { "DEBUG1" } else { "VERBOSE" },
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
                    {
                        let mut log = log.lock().unwrap();
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

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `127.0.0.1:<port>`, for `--tunnel`.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A known-hosts file (in a fresh directory under the server's) holding this server's key.
    pub fn known_hosts(&self, name: &str, trusted: bool) -> PathBuf {
        let path = self.dir.path().join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        if trusted {
            writeln!(f, "[127.0.0.1]:{} {}", self.port, self.host_public).unwrap();
        }
        path
    }

    /// The command lines sshd was asked to run, one per session.
    pub fn commands(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("commands.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The arguments a fake command received (one per line, across calls).
    pub fn args_of(&self, fake: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join(format!("{fake}.args")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `ssh-agent -D -a <socket>` holding the server's user key, killed on drop.
pub struct Agent {
    child: Child,
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    pub fn start(sshd: &Sshd) -> Agent {
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
        let out = Command::new("ssh-add")
            .arg(sshd.home.join(".ssh").join("id_ed25519"))
            .env("SSH_AUTH_SOCK", &socket)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Agent {
            child,
            socket,
            _dir: dir,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
