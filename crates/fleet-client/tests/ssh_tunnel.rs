//! The SSH tunnel against a real OpenSSH server (`sshd` and `ssh-agent` from openssh-server and
//! openssh-client). Run with `cargo test -p fleet-client --features ssh --test ssh_tunnel`.
#![cfg(feature = "ssh")]

mod ssh_support;

use fleet_testserver::sshd::openssh_available;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet::v1::transport::ssh::{HostKeyPolicy, Pty, SshTunnel, SshTunnelBuilder};
use fleet::v1::transport::{BoxIo, Connect, Target};
use fleet::v1::Error;
use fleet_testserver::sshd::{keygen, Agent};
use ssh_support::{key_file_builder, known_hosts, Sshd};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A minimal HTTP/1.1 server on TCP and on a unix socket that answers every request with
/// `<listener> <request line>`, so a test can tell which listener the tunnel reached.
struct Upstream {
    tcp_port: u16,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

async fn serve(mut io: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin, name: &str) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match io.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let body = format!("{name} {request_line}");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = io.write_all(response.as_bytes()).await;
    let _ = io.shutdown().await;
}

impl Upstream {
    async fn start() -> Upstream {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("fleet.sock");
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp_port = tcp.local_addr().unwrap().port();
        let unix = tokio::net::UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = tcp.accept().await {
                tokio::spawn(serve(s, "tcp"));
            }
        });
        tokio::spawn(async move {
            while let Ok((s, _)) = unix.accept().await {
                tokio::spawn(serve(s, "unix"));
            }
        });
        Upstream {
            tcp_port,
            socket,
            _dir: dir,
        }
    }

    fn tcp(&self) -> Target {
        Target::Tcp {
            host: "127.0.0.1".into(),
            port: self.tcp_port,
        }
    }

    fn unix(&self) -> Target {
        Target::Unix {
            path: self.socket.clone(),
        }
    }
}

async fn get(mut io: BoxIo, path: &str) -> String {
    io.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: fleet\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    io.read_to_string(&mut out).await.unwrap();
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
}

/// A builder that authenticates through `agent` only (no key files, no SSH config).
fn agent_builder(sshd: &Sshd, agent: &Agent) -> SshTunnelBuilder {
    SshTunnel::builder(&sshd.host_port())
        .username(sshd.user())
        .without_ssh_config()
        .agent_socket(agent.socket())
        .known_hosts_file(known_hosts(sshd))
}

/// The error of a connect that must fail (`expected` says why it must).
async fn connect_err(tunnel: &SshTunnel, target: &Target, expected: &str) -> std::io::Error {
    tunnel.connect(target).await.err().expect(expected)
}

fn ssh_message(err: &std::io::Error) -> String {
    match err.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
        Some(Error::Ssh { message }) => message.clone(),
        other => {
            panic!("expected fleet::v1::Error::Ssh inside the io::Error, got {other:?} ({err})")
        }
    }
}

fn accepted_logins(sshd: &Sshd) -> usize {
    sshd.log().matches("Accepted publickey").count()
}

#[tokio::test]
async fn key_file_auth_reaches_tcp_and_unix_targets_over_one_session() {
    if !openssh_available("key_file_auth_reaches_tcp_and_unix_targets_over_one_session") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let tunnel = key_file_builder(&sshd).build().unwrap();

    let tcp = get(
        tunnel.connect(&upstream.tcp()).await.unwrap(),
        "/fleet/v1/units",
    )
    .await;
    assert_eq!(tcp, "tcp GET /fleet/v1/units HTTP/1.1");
    let unix = get(
        tunnel.connect(&upstream.unix()).await.unwrap(),
        "/fleet/v1/machines",
    )
    .await;
    assert_eq!(unix, "unix GET /fleet/v1/machines HTTP/1.1");

    // Several streams at once share the session.
    let (a, b) = tokio::join!(
        tunnel.connect(&upstream.tcp()),
        tunnel.connect(&upstream.unix())
    );
    let (a, b) = tokio::join!(get(a.unwrap(), "/a"), get(b.unwrap(), "/b"));
    assert_eq!(
        (a.as_str(), b.as_str()),
        ("tcp GET /a HTTP/1.1", "unix GET /b HTTP/1.1")
    );
    assert_eq!(
        accepted_logins(&sshd),
        1,
        "one SSH session for all streams:\n{}",
        sshd.log()
    );
}

#[tokio::test]
async fn agent_auth_uses_the_agents_keys() {
    if !openssh_available("agent_auth_uses_the_agents_keys") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let agent = Agent::start().unwrap();

    // An empty agent: the error says what was tried.
    let empty = agent_builder(&sshd, &agent).build().unwrap();
    let err = connect_err(&empty, &upstream.tcp(), "no key, no login").await;
    let message = ssh_message(&err);
    assert!(
        message.contains(&format!("authentication to {}@127.0.0.1", sshd.user())),
        "{message}"
    );
    assert!(message.contains("with 0 keys"), "{message}");

    agent.add(sshd.user_key()).unwrap();
    let tunnel = agent_builder(&sshd, &agent).build().unwrap();
    let body = get(tunnel.connect(&upstream.tcp()).await.unwrap(), "/agent").await;
    assert_eq!(body, "tcp GET /agent HTTP/1.1");
    assert_eq!(accepted_logins(&sshd), 1);
}

#[tokio::test]
async fn failed_authentication_names_every_method_tried() {
    if !openssh_available("failed_authentication_names_every_method_tried") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let other = sshd.dir().join("other_key");
    keygen(&other, "").unwrap();
    let encrypted = sshd.dir().join("encrypted_key");
    keygen(&encrypted, "sekrit-passphrase").unwrap();
    let missing = sshd.dir().join("missing_key");
    let tunnel = SshTunnel::builder(&sshd.host_port())
        .username(sshd.user())
        .without_ssh_config()
        .agent_socket(sshd.dir().join("no-agent.sock"))
        .identity_file(&other)
        .identity_file(&encrypted)
        .identity_file(&missing)
        .known_hosts_file(known_hosts(&sshd))
        .build()
        .unwrap();
    let err = connect_err(&tunnel, &upstream.tcp(), "refused").await;
    let message = ssh_message(&err);
    assert!(
        message.contains("no-agent.sock (cannot connect"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{} (refused)", other.display())),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "{} (encrypted with a passphrase",
            encrypted.display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("{} (cannot load", missing.display())),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_host_is_refused_under_strict_checking_before_authenticating() {
    if !openssh_available("unknown_host_is_refused_under_strict_checking_before_authenticating") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let file = sshd.dir().join("empty_known_hosts");
    std::fs::write(&file, "# nothing here\n").unwrap();
    let tunnel = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .build()
        .unwrap();
    let err = connect_err(&tunnel, &upstream.tcp(), "unknown host").await;
    let message = ssh_message(&err);
    let fingerprint = fingerprint_of(&sshd.host_key_pub());
    assert!(
        message.contains(&format!("[127.0.0.1]:{}", sshd.port())),
        "{message}"
    );
    assert!(message.contains(&fingerprint), "{message} / {fingerprint}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("nothing was sent"), "{message}");
    assert_eq!(accepted_logins(&sshd), 0);
    assert!(
        !sshd.log().contains("Failed publickey"),
        "no key was offered:\n{}",
        sshd.log()
    );
    // The file was not touched.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# nothing here\n");
}

#[tokio::test]
async fn changed_host_key_is_a_loud_error() {
    if !openssh_available("changed_host_key_is_a_loud_error") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let impostor = sshd.dir().join("impostor");
    keygen(&impostor, "").unwrap();
    let impostor_public = std::fs::read_to_string(impostor.with_extension("pub")).unwrap();
    let file = sshd.dir().join("kh_changed");
    std::fs::write(
        &file,
        format!(
            "# first line\n[127.0.0.1]:{} {}",
            sshd.port(),
            impostor_public
        ),
    )
    .unwrap();
    let tunnel = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .build()
        .unwrap();
    let err = connect_err(&tunnel, &upstream.tcp(), "changed key").await;
    let message = ssh_message(&err);
    assert!(
        message.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{message}"
    );
    assert!(
        message.contains(&fingerprint_of(&sshd.host_key_pub())),
        "{message}"
    );
    assert!(
        message.contains(&format!("{}:2", file.display())),
        "{message}"
    );
    assert_eq!(accepted_logins(&sshd), 0);

    // Trust on first use does not cover a changed key: the callback is not even asked.
    let asked = Arc::new(Mutex::new(0));
    let asked2 = asked.clone();
    let tofu = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .host_key_policy(HostKeyPolicy::trust_on_first_use(move |_| {
            *asked2.lock().unwrap() += 1;
            true
        }))
        .build()
        .unwrap();
    let err = connect_err(&tofu, &upstream.tcp(), "changed key under TOFU").await;
    assert!(ssh_message(&err).contains("REMOTE HOST IDENTIFICATION HAS CHANGED"));
    assert_eq!(*asked.lock().unwrap(), 0);
    assert_eq!(accepted_logins(&sshd), 0);

    // With checking off (fleetctl --strict-host-key-checking=false) the connection goes ahead.
    let off = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .host_key_policy(HostKeyPolicy::Off)
        .build()
        .unwrap();
    let body = get(off.connect(&upstream.tcp()).await.unwrap(), "/off").await;
    assert_eq!(body, "tcp GET /off HTTP/1.1");
    // And the file is left alone.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# first line\n"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[tokio::test]
async fn trust_on_first_use_asks_and_appends_to_the_known_hosts_file() {
    if !openssh_available("trust_on_first_use_asks_and_appends_to_the_known_hosts_file") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join(".fleetctl").join("known_hosts");

    // Refused by the callback: nothing written.
    let refuse = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .host_key_policy(HostKeyPolicy::trust_on_first_use(|_| false))
        .build()
        .unwrap();
    let err = connect_err(&refuse, &upstream.tcp(), "refused by callback").await;
    assert!(ssh_message(&err).contains("was not accepted"), "{err}");
    assert!(!file.exists());

    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let tunnel = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .host_key_policy(HostKeyPolicy::trust_on_first_use(move |key| {
            seen2.lock().unwrap().push(key.clone());
            true
        }))
        .build()
        .unwrap();
    let body = get(tunnel.connect(&upstream.tcp()).await.unwrap(), "/tofu").await;
    assert_eq!(body, "tcp GET /tofu HTTP/1.1");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].host, format!("[127.0.0.1]:{}", sshd.port()));
    assert_eq!(seen[0].key_type, "ssh-ed25519");
    assert_eq!(seen[0].fingerprint, fingerprint_of(&sshd.host_key_pub()));
    assert_eq!(seen[0].known_hosts_file, file);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        sshd.known_hosts_line()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let dir_mode = std::fs::metadata(file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    // OpenSSH itself accepts the file we wrote.
    let out = std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[127.0.0.1]:{}", sshd.port()))
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen -F did not find the host");

    // Existing lines stay as they were when another host is added.
    let before = format!("# keep me\n{}", std::fs::read_to_string(&file).unwrap());
    std::fs::write(&file, &before).unwrap();
    let other = Sshd::start().unwrap();
    let tunnel = key_file_builder(&other)
        .known_hosts_file(&file)
        .host_key_policy(HostKeyPolicy::trust_on_first_use(|_| true))
        .build()
        .unwrap();
    tunnel.ensure_connected().await.unwrap();
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(after, format!("{before}{}", other.known_hosts_line()));

    // And strict checking now accepts both.
    let strict = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .build()
        .unwrap();
    strict.ensure_connected().await.unwrap();
}

#[tokio::test]
async fn ssh_config_supplies_host_port_user_and_identity() {
    if !openssh_available("ssh_config_supplies_host_port_user_and_identity") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let config = sshd.dir().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host fleet-*\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n\nHost *\n  User nobody-here\n",
            sshd.port(),
            sshd.user(),
            sshd.user_key().display()
        ),
    )
    .unwrap();
    let tunnel = SshTunnel::builder("fleet-box")
        .ssh_config(&config)
        .use_agent(false)
        .known_hosts_file(known_hosts(&sshd))
        .build()
        .unwrap();
    assert_eq!(
        tunnel.destination(),
        format!("{}@127.0.0.1:{}", sshd.user(), sshd.port())
    );
    let body = get(tunnel.connect(&upstream.unix()).await.unwrap(), "/config").await;
    assert_eq!(body, "unix GET /config HTTP/1.1");

    // An explicit username wins over the file (and is refused by this server).
    let explicit = SshTunnel::builder("fleet-box")
        .ssh_config(&config)
        .username("core")
        .use_agent(false)
        .known_hosts_file(known_hosts(&sshd))
        .build()
        .unwrap();
    let err = connect_err(&explicit, &upstream.unix(), "no such user").await;
    assert!(
        ssh_message(&err).contains("authentication to core@127.0.0.1"),
        "{err}"
    );
}

#[tokio::test]
async fn proxy_jump_through_the_same_server() {
    if !openssh_available("proxy_jump_through_the_same_server") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let config = sshd.dir().join("ssh_config_jump");
    std::fs::write(
        &config,
        format!(
            "Host jumphost\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {key}\n\
             Host inner\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {key}\n  ProxyJump jumphost,{user}@jumphost\n",
            user = sshd.user(),
            port = sshd.port(),
            key = sshd.user_key().display()
        ),
    )
    .unwrap();
    let tunnel = SshTunnel::builder("inner")
        .ssh_config(&config)
        .use_agent(false)
        .known_hosts_file(known_hosts(&sshd))
        .build()
        .unwrap();
    let body = get(tunnel.connect(&upstream.tcp()).await.unwrap(), "/jump").await;
    assert_eq!(body, "tcp GET /jump HTTP/1.1");
    // Two jump hops plus the target: three logins, the later ones from sshd's own forwarding.
    assert_eq!(accepted_logins(&sshd), 3, "{}", sshd.log());
}

#[tokio::test]
async fn a_dropped_session_is_reestablished_on_the_next_connect() {
    if !openssh_available("a_dropped_session_is_reestablished_on_the_next_connect") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let tunnel = key_file_builder(&sshd).build().unwrap();
    assert_eq!(
        get(tunnel.connect(&upstream.tcp()).await.unwrap(), "/1").await,
        "tcp GET /1 HTTP/1.1"
    );
    assert!(tunnel.is_connected().await);

    assert!(sshd.kill_sessions() > 0, "no sshd session process to kill");
    // Whether or not the client has noticed yet, the next connect works.
    assert_eq!(
        get(tunnel.connect(&upstream.unix()).await.unwrap(), "/2").await,
        "unix GET /2 HTTP/1.1"
    );
    assert_eq!(accepted_logins(&sshd), 2, "{}", sshd.log());

    // Once noticed, the closed session is reported as such.
    assert!(sshd.kill_sessions() > 0);
    let mut waited = 0;
    while tunnel.is_connected().await {
        // Polling a state flag, bounded; the connect below is the real assertion.
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 500, "the tunnel never noticed its session closed");
    }
    assert_eq!(
        get(tunnel.connect(&upstream.tcp()).await.unwrap(), "/3").await,
        "tcp GET /3 HTTP/1.1"
    );
    assert_eq!(accepted_logins(&sshd), 3);
}

/// A stand-in for `fleetctl fd-forward`: copies stdin to the socket and the socket to stdout.
fn fd_forward_script(dir: &Path) -> PathBuf {
    let script = dir.join("fd-forward");
    std::fs::write(
        &script,
        "#!/usr/bin/python3\n\
         import os, socket, sys, threading\n\
         s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n\
         def up():\n\
         \x20   while True:\n\
         \x20       b = os.read(0, 65536)\n\
         \x20       if not b: break\n\
         \x20       s.sendall(b)\n\
         \x20   s.shutdown(socket.SHUT_WR)\n\
         threading.Thread(target=up, daemon=True).start()\n\
         while True:\n\
         \x20   b = s.recv(65536)\n\
         \x20   if not b: break\n\
         \x20   os.write(1, b)\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[tokio::test]
async fn unix_socket_falls_back_to_fd_forward_when_streamlocal_is_refused() {
    if !openssh_available("unix_socket_falls_back_to_fd_forward_when_streamlocal_is_refused") {
        return;
    }
    let sshd = Sshd::builder()
        .allow_streamlocal(false)
        .debug_log(true)
        .start()
        .unwrap();
    let upstream = Upstream::start().await;
    let script = fd_forward_script(sshd.dir());

    // The stand-in script replaces `fleetctl fd-forward`, which this server does not have.
    let tunnel = key_file_builder(&sshd)
        .fd_forward_command(script.display().to_string())
        .build()
        .unwrap();
    let body = get(tunnel.connect(&upstream.unix()).await.unwrap(), "/fallback").await;
    assert_eq!(body, "unix GET /fallback HTTP/1.1");
    let body = get(tunnel.connect(&upstream.unix()).await.unwrap(), "/again").await;
    assert_eq!(body, "unix GET /again HTTP/1.1");
    let log = sshd.log();
    assert!(
        log.contains("ctype direct-streamlocal@openssh.com"),
        "direct-streamlocal was tried first:\n{log}"
    );
    assert!(
        !log.contains("confirm direct-streamlocal@openssh.com"),
        "and refused:\n{log}"
    );
    // Tried once: the second connection went straight to the fallback.
    assert_eq!(
        log.matches("ctype direct-streamlocal@openssh.com").count(),
        1,
        "{log}"
    );
    assert_eq!(log.matches("ctype session").count(), 2, "{log}");
}

/// An OpenSSH server that refuses direct-streamlocal channels, an upstream with a unix
/// socket, and a tunnel whose fd-forward fallback runs `command` (the socket's path appended);
/// `None` (the test is skipped) without OpenSSH.
async fn fd_forward_setup(test: &str, command: &str) -> Option<(Sshd, Upstream, SshTunnel)> {
    if !openssh_available(test) {
        return None;
    }
    let sshd = Sshd::builder().allow_streamlocal(false).start().unwrap();
    let upstream = Upstream::start().await;
    let tunnel = key_file_builder(&sshd)
        .fd_forward_command(command)
        .build()
        .unwrap();
    Some((sshd, upstream, tunnel))
}

#[tokio::test]
async fn a_failing_fd_forward_command_is_reported_with_its_message() {
    // As on a tunnel host without fleetctl: the shell cannot find the command.
    let Some((_sshd, upstream, tunnel)) = fd_forward_setup(
        "a_failing_fd_forward_command_is_reported_with_its_message",
        "/nonexistent/fleetctl fd-forward",
    )
    .await
    else {
        return;
    };
    let endpoint = format!("unix://{}", upstream.socket.display());
    let err = fleet::v1::Client::builder(&endpoint)
        .tunnel(tunnel)
        .build()
        .await
        .unwrap_err();
    match &err {
        Error::Ssh { message } => {
            let quoted = shell_quoted(&upstream.socket);
            assert!(
                message.starts_with(&format!(
                    "\"/nonexistent/fleetctl fd-forward {quoted}\" on the SSH tunnel host "
                )),
                "{message}"
            );
            // The shell's own words follow (`…: not found`, `…: No such file or directory`).
            assert!(
                message.contains("exited with status 127 before sending anything: "),
                "{message}"
            );
            assert!(message.contains("/nonexistent/fleetctl: "), "{message}");
        }
        other => panic!("expected the tunnel's error, got {other:?}"),
    }
}

#[tokio::test]
async fn fd_forward_output_flows_while_the_command_takes_no_input() {
    // A command that writes 8 MB and never reads its input, while the caller keeps writing: the
    // caller's bytes wait for an SSH window that never opens, the output must flow regardless.
    let Some((_sshd, upstream, tunnel)) = fd_forward_setup(
        "fd_forward_output_flows_while_the_command_takes_no_input",
        "sh -c 'head -c 8000000 /dev/zero' sh",
    )
    .await
    else {
        return;
    };
    let io = tunnel.connect(&upstream.unix()).await.unwrap();
    let (mut from, mut to) = tokio::io::split(io);
    let writer = tokio::spawn(async move {
        let chunk = vec![1u8; 64 * 1024];
        for _ in 0..200 {
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut total = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let read_all = async {
        loop {
            match from.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => total += n,
                Err(e) => break Err(e),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read_all)
        .await
        .expect("the output stalled")
        .unwrap();
    assert_eq!(total, 8_000_000);
    writer.abort();
    // The session is not stuck: another channel still opens and runs.
    let out = tokio::time::timeout(Duration::from_secs(20), tunnel.exec("true"))
        .await
        .expect("the session stalled")
        .unwrap();
    assert_eq!(out.status, Some(0));
}

#[tokio::test]
async fn an_fd_forward_command_killed_by_a_signal_is_reported() {
    let Some((_sshd, upstream, tunnel)) = fd_forward_setup(
        "an_fd_forward_command_killed_by_a_signal_is_reported",
        "sh -c 'kill -9 $$' sh",
    )
    .await
    else {
        return;
    };
    let mut io = tunnel.connect(&upstream.unix()).await.unwrap();
    let mut buf = [0u8; 16];
    let err = tokio::time::timeout(Duration::from_secs(20), io.read(&mut buf))
        .await
        .expect("the read ended")
        .unwrap_err();
    let message = ssh_message(&err);
    assert!(message.contains("was killed by signal"), "{message}");
    assert!(message.contains("before sending anything"), "{message}");
}

/// `path` as the tunnel quotes it for the remote shell (no special characters: as it is).
fn shell_quoted(path: &Path) -> String {
    let s = path.display().to_string();
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)),
        "{s}"
    );
    s
}

#[tokio::test]
async fn tcp_forwarding_refused_is_a_clear_error() {
    if !openssh_available("tcp_forwarding_refused_is_a_clear_error") {
        return;
    }
    let sshd = Sshd::builder().allow_tcp_forwarding(false).start().unwrap();
    let upstream = Upstream::start().await;
    let tunnel = key_file_builder(&sshd).build().unwrap();
    let err = connect_err(&tunnel, &upstream.tcp(), "forwarding off").await;
    let message = ssh_message(&err);
    assert!(
        message.contains("refused to open a channel to 127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("administratively prohibited"), "{message}");
}

#[tokio::test]
async fn exec_and_connect_to_another_machine_through_the_tunnel() {
    if !openssh_available("exec_and_connect_to_another_machine_through_the_tunnel") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let tunnel = key_file_builder(&sshd).build().unwrap();
    let out = tunnel.exec("echo out; echo err >&2; exit 3").await.unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status, Some(3));

    // fleetctl ssh/status/journal with --tunnel: a second session to a machine, reached over a
    // direct-tcpip channel of the tunnel's session.
    let machine = tunnel.connect_to("127.0.0.1", sshd.port()).build().unwrap();
    let out = machine.exec("echo from-machine").await.unwrap();
    assert_eq!(
        (out.status, out.stdout.as_slice()),
        (Some(0), &b"from-machine\n"[..])
    );
    assert_eq!(accepted_logins(&sshd), 2);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    if !openssh_available("a_silent_server_times_out") {
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let (_s, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let tunnel = SshTunnel::builder(&format!("127.0.0.1:{port}"))
        .without_ssh_config()
        .use_agent(false)
        .timeout(Duration::from_millis(300))
        .known_hosts_file("/nonexistent/known_hosts")
        .build()
        .unwrap();
    let err = tunnel
        .connect(&Target::Tcp {
            host: "127.0.0.1".into(),
            port: 1,
        })
        .await
        .err()
        .expect("timeout");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    match err.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
        Some(Error::Timeout { what, after }) => {
            assert!(what.contains(&format!("127.0.0.1:{port}")), "{what}");
            assert_eq!(*after, Duration::from_millis(300));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    hold.abort();
}

/// An SSH server (russh) that lets anyone in and takes every channel-open request without
/// ever answering it: the session stays alive, the channel never opens.
mod unanswering {
    use std::sync::{Arc, Mutex};

    use russh::server::{self, Auth, ChannelOpenHandle, Msg, Session, VerifiedPublicKey};
    use russh::Channel;

    pub struct Handler {
        /// Open requests held unanswered (dropping one would answer it with a failure).
        pub held: Arc<Mutex<Vec<ChannelOpenHandle>>>,
    }

    impl server::Handler for Handler {
        type Error = russh::Error;

        async fn auth_publickey(
            &mut self,
            _user: &str,
            _key: VerifiedPublicKey<'_>,
        ) -> Result<Auth, Self::Error> {
            Ok(Auth::Accept)
        }

        async fn channel_open_session(
            &mut self,
            _channel: Channel<Msg>,
            reply: ChannelOpenHandle,
            _session: &mut Session,
        ) -> Result<(), Self::Error> {
            self.held.lock().unwrap().push(reply);
            Ok(())
        }

        async fn channel_open_direct_tcpip(
            &mut self,
            _channel: Channel<Msg>,
            _host: &str,
            _port: u32,
            _originator_address: &str,
            _originator_port: u32,
            reply: ChannelOpenHandle,
            _session: &mut Session,
        ) -> Result<(), Self::Error> {
            self.held.lock().unwrap().push(reply);
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_server_that_never_opens_a_channel_times_out() {
    if !openssh_available("a_server_that_never_opens_a_channel_times_out") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    keygen(&key, "").unwrap();
    let config = Arc::new(russh::server::Config {
        keys: vec![russh::keys::load_secret_key(&key, None).unwrap()],
        ..Default::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let held = held.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = unanswering::Handler { held: held.clone() };
                let config = config.clone();
                tokio::spawn(async move {
                    if let Ok(session) = russh::server::run_stream(config, stream, handler).await {
                        let _ = session.await;
                    }
                });
            }
        })
    };
    let timeout = Duration::from_millis(500);
    let tunnel = SshTunnel::builder(&format!("127.0.0.1:{port}"))
        .without_ssh_config()
        .use_agent(false)
        .identity_file(&key)
        .known_hosts_file(dir.path().join("known_hosts"))
        .host_key_policy(HostKeyPolicy::Off)
        .timeout(timeout)
        .build()
        .unwrap();
    tunnel.ensure_connected().await.unwrap();
    let expect_timeout = |result: Result<(), Error>, what_says: &str| match result {
        Err(Error::Timeout { what, after }) => {
            assert!(what.contains(what_says), "{what}");
            assert!(what.contains(&format!("127.0.0.1:{port}")), "{what}");
            assert_eq!(after, timeout);
        }
        other => panic!("expected a timeout, got {other:?}"),
    };

    // Running a command: the session channel never opens.
    let exec = tokio::time::timeout(Duration::from_secs(20), tunnel.exec("true"))
        .await
        .expect("exec gave up by itself");
    expect_timeout(exec.map(drop), "starting \"true\"");

    // Forwarding: the direct-tcpip channel never opens.
    let open = tokio::time::timeout(Duration::from_secs(20), tunnel.open_tcp("127.0.0.1", 1))
        .await
        .expect("open_tcp gave up by itself");
    expect_timeout(open.map(drop), "opening a channel to 127.0.0.1:1");

    // Both requests reached the server, which held them.
    assert_eq!(held.lock().unwrap().len(), 2);
    assert!(tunnel.is_connected().await, "the session itself stayed up");
    server.abort();
}

fn fingerprint_of(public_key_file: &Path) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-l")
        .arg("-E")
        .arg("sha256")
        .arg("-f")
        .arg(public_key_file)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_string()
}

#[tokio::test]
async fn known_hosts_hashed_by_ssh_keygen_is_understood() {
    if !openssh_available("known_hosts_hashed_by_ssh_keygen_is_understood") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let upstream = Upstream::start().await;
    let file = sshd.dir().join("hashed_known_hosts");
    std::fs::write(
        &file,
        format!(
            "other.example {}\n{}",
            sshd.host_public(),
            sshd.known_hosts_line()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen -H failed");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.lines().all(|l| l.starts_with("|1|")),
        "names are hashed: {text}"
    );
    let tunnel = key_file_builder(&sshd)
        .known_hosts_file(&file)
        .build()
        .unwrap();
    let body = get(tunnel.connect(&upstream.tcp()).await.unwrap(), "/hashed").await;
    assert_eq!(body, "tcp GET /hashed HTTP/1.1");
}

#[tokio::test]
async fn interactive_commands_get_stdin_and_a_pty_on_request() {
    if !openssh_available("interactive_commands_get_stdin_and_a_pty_on_request") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let tunnel = key_file_builder(&sshd).build().unwrap();
    let mut input: &[u8] = b"line one\nline two\n";
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = tunnel
        .exec_interactive(
            Some("cat; echo done >&2"),
            None,
            &mut input,
            &mut out,
            &mut err,
        )
        .await
        .unwrap();
    assert_eq!(status, Some(0));
    assert_eq!(out, b"line one\nline two\n");
    assert_eq!(err, b"done\n");

    // With a pty the remote command sees a terminal of the requested size.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = tunnel
        .exec_interactive(
            Some("tty; stty size"),
            Some(&Pty::new("xterm", 100, 40)),
            &mut tokio::io::empty(),
            &mut out,
            &mut err,
        )
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&out);
    assert_eq!(status, Some(0), "{out}");
    assert!(out.starts_with("/dev/pts/"), "{out}");
    assert!(out.contains("40 100"), "{out}");

    // A login shell reading commands from stdin.
    let mut input: &[u8] = b"echo shell-$((40 + 2))\nexit 7\n";
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = tunnel
        .exec_interactive(None, None, &mut input, &mut out, &mut err)
        .await
        .unwrap();
    assert_eq!(status, Some(7));
    assert!(
        String::from_utf8_lossy(&out).contains("shell-42"),
        "{out:?}"
    );
}
