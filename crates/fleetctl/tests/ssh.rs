//! fleetctl's SSH features against a real OpenSSH server (see `common::sshd`) and
//! fleet-testserver: the API through `--tunnel` over TCP and over fleet's unix socket, `status`,
//! `journal` and `ssh` on a machine whose primary IP is 127.0.0.1 (reached on sshd's port with
//! fleetctl's `--ssh-port`), host-key checking, authentication, and `fd-forward`.
#![cfg(feature = "ssh")]

mod common;

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::sshd::args_of;
use common::{Run, TestServer};
use fleet::v1 as fleet;
use fleet_testserver::sshd::{openssh_available, Sshd};

const MACHINE: &str = "5e1f0c2a9b7d4e6f8a1b2c3d4e5f6a7b";

fn server() -> TestServer {
    let server = TestServer::builder()
        .machines(vec![fleet::Machine {
            id: MACHINE.into(),
            primary_ip: "127.0.0.1".into(),
            ..Default::default()
        }])
        .start()
        .expect("test server starts");
    let service = |text: &str| vec![fleet::UnitOption::new("Service", "ExecStart", text)];
    server.put_unit_raw("hello.service", service("/bin/true"), "launched");
    server.put_unit_raw("failing.service", service("/bin/false"), "launched");
    server.put_unit_raw("idle.service", service("/bin/true"), "inactive");
    server.put_unit_raw(
        "everywhere.service",
        vec![
            fleet::UnitOption::new("Service", "ExecStart", "/bin/true"),
            fleet::UnitOption::new("X-Fleet", "Global", "true"),
        ],
        "launched",
    );
    assert!(server.wait_settled(Duration::from_secs(10)));
    server
}

/// Runs fleetctl as a user whose `~/.ssh/id_ed25519` sshd accepts (no ssh-agent, no
/// `FLEETCTL_*`), with `stdin` as its input.
fn fleetctl(sshd: &Sshd, args: &[&str], stdin: &str) -> Run {
    fleetctl_with(sshd, args, stdin, &[])
}

/// [`fleetctl`] with more environment variables (such as `HOME` and `SSH_AUTH_SOCK`).
fn fleetctl_with(sshd: &Sshd, args: &[&str], stdin: &str, env: &[(&str, &OsStr)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetctl"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FLEETCTL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("SSH_AUTH_SOCK")
        .env("HOME", sshd.home())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run fleetctl");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// The global flags for `sshd` with this known-hosts file.
fn ssh_flags(sshd: &Sshd, known_hosts: &Path) -> Vec<String> {
    vec![
        format!("--ssh-username={}", sshd.user()),
        format!("--known-hosts-file={}", known_hosts.display()),
    ]
}

fn args<'a>(flags: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    flags
        .iter()
        .map(String::as_str)
        .chain(rest.iter().copied())
        .collect()
}

/// A test's sshd (see `common::sshd`) and fleet ([`server`]), and fleetctl's flags for them.
struct Setup {
    sshd: Sshd,
    server: TestServer,
    /// A known-hosts file that trusts sshd.
    kh: PathBuf,
    /// `--ssh-username` and `--known-hosts-file` ([`ssh_flags`]) for `kh`.
    flags: Vec<String>,
    /// `--endpoint=` fleet's TCP endpoint.
    ep: String,
    /// `--ssh-port=` sshd's port, to reach the machine at 127.0.0.1 through sshd.
    port: String,
    /// `--tunnel=` sshd.
    tunnel: String,
}

/// [`Setup`] with sshd's log at `LogLevel DEBUG1` or not and `direct-streamlocal` channels
/// allowed or not; `None` (the test is skipped) without OpenSSH.
fn setup_with(test: &str, debug_log: bool, allow_streamlocal: bool) -> Option<Setup> {
    if !openssh_available(test) {
        return None;
    }
    let sshd = common::sshd::start(debug_log, allow_streamlocal);
    let server = server();
    let kh = sshd
        .known_hosts_file("known_hosts", true)
        .expect("known-hosts file");
    Some(Setup {
        flags: ssh_flags(&sshd, &kh),
        ep: format!("--endpoint={}", server.http_endpoint()),
        port: format!("--ssh-port={}", sshd.port()),
        tunnel: format!("--tunnel={}", sshd.host_port()),
        kh,
        sshd,
        server,
    })
}

impl Setup {
    /// Runs [`fleetctl`] with [`Setup::flags`] and then `rest`, no input.
    fn run(&self, rest: &[&str]) -> Run {
        fleetctl(&self.sshd, &args(&self.flags, rest), "")
    }

    /// [`fleetctl_with`] the setup's flags and then `rest`.
    fn run_with(&self, rest: &[&str], stdin: &str, env: &[(&str, &OsStr)]) -> Run {
        fleetctl_with(&self.sshd, &args(&self.flags, rest), stdin, env)
    }
}

/// [`setup_with`] the usual sshd: `LogLevel VERBOSE`, streamlocal allowed.
fn setup(test: &str) -> Option<Setup> {
    setup_with(test, false, true)
}

#[test]
fn api_through_the_tunnel_over_tcp_and_the_unix_socket() {
    let Some(t) = setup_with(
        "api_through_the_tunnel_over_tcp_and_the_unix_socket",
        true,
        true,
    ) else {
        return;
    };
    let Setup {
        sshd,
        server,
        kh,
        tunnel,
        ..
    } = &t;
    let mut flags = t.flags.clone();
    flags.push(tunnel.clone());

    let tcp = server.http_endpoint();
    let port = server.tcp_addr().unwrap().port();
    let ep = format!("--endpoint={tcp}");
    let run = fleetctl(sshd, &args(&flags, &[&ep, "list-machines", "-l"]), "");
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!("MACHINE\t\t\t\t\tIP\t\tMETADATA\n{MACHINE}\t127.0.0.1\t-\n")
    );
    assert!(
        sshd.log()
            .contains(&format!("target 127.0.0.1 port {port}")),
        "no direct-tcpip channel to fleet in the sshd log:\n{}",
        sshd.log()
    );

    let socket = server.socket_path().unwrap().to_path_buf();
    let ep = format!("--endpoint=unix://{}", socket.display());
    let run = fleetctl(
        sshd,
        &args(&flags, &[&ep, "list-unit-files", "--fields=unit,dstate"]),
        "",
    );
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "UNIT\t\t\tDSTATE\neverywhere.service\tlaunched\nfailing.service\t\tlaunched\n\
         hello.service\t\tlaunched\nidle.service\t\tinactive\n"
    );
    assert!(
        sshd.log().contains(&format!("{}", socket.display())),
        "no streamlocal channel to fleet's socket in the sshd log:\n{}",
        sshd.log()
    );
    // No command was run: both went through forwarded channels, not fd-forward.
    assert!(sshd.commands().is_empty(), "{:?}", sshd.commands());

    // The same through FLEETCTL_TUNNEL and friends.
    let host_port = sshd.host_port();
    let run = fleetctl_with(
        sshd,
        &["list-units", "--no-legend", "--fields=unit"],
        "",
        &[
            ("FLEETCTL_TUNNEL", host_port.as_ref()),
            ("FLEETCTL_SSH_USERNAME", sshd.user().as_ref()),
            ("FLEETCTL_KNOWN_HOSTS_FILE", kh.as_os_str()),
            ("FLEETCTL_SSH_TIMEOUT", "5".as_ref()),
            ("FLEETCTL_ENDPOINT", tcp.as_ref()),
        ],
    );
    assert_eq!(
        run.stdout, "everywhere.service\nfailing.service\nhello.service\n",
        "{}",
        run.stderr
    );
}

#[test]
fn unix_socket_through_fd_forward_when_streamlocal_is_refused() {
    let Some(t) = setup_with(
        "unix_socket_through_fd_forward_when_streamlocal_is_refused",
        false,
        false,
    ) else {
        return;
    };
    let Setup {
        sshd,
        server,
        tunnel,
        ..
    } = &t;
    let mut flags = t.flags.clone();
    // As fleetctl does: the tunnel host runs `fleetctl fd-forward <socket>` (this fleetctl).
    sshd.install("fleetctl", Path::new(env!("CARGO_BIN_EXE_fleetctl")))
        .unwrap();
    flags.push(tunnel.clone());
    let socket = server.socket_path().unwrap().to_path_buf();
    let ep = format!("--endpoint=unix://{}", socket.display());
    let run = fleetctl(
        sshd,
        &args(&flags, &[&ep, "list-units", "--fields=unit,active"]),
        "",
    );
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "UNIT\t\t\tACTIVE\neverywhere.service\tactive\nfailing.service\t\tactive\n\
         hello.service\t\tactive\n"
    );
    let commands = sshd.commands();
    assert!(!commands.is_empty());
    for c in &commands {
        assert_eq!(c, &format!("fleetctl fd-forward {}", socket.display()));
    }
}

#[test]
fn the_tunnel_host_from_the_ssh_config() {
    let Some(t) = setup("the_tunnel_host_from_the_ssh_config") else {
        return;
    };
    let Setup {
        sshd, server, kh, ..
    } = &t;
    // `--tunnel fleet-bastion` with HostName, Port and User from ~/.ssh/config (no
    // --ssh-username: the config's User wins over the default `core`).
    std::fs::write(
        sshd.home().join(".ssh").join("config"),
        format!(
            "Host fleet-bastion\n  HostName 127.0.0.1\n  Port {}\n  User {}\n",
            sshd.port(),
            sshd.user()
        ),
    )
    .unwrap();
    let run = fleetctl(
        sshd,
        &[
            &format!("--known-hosts-file={}", kh.display()),
            "--tunnel=fleet-bastion",
            &format!("--endpoint={}", server.http_endpoint()),
            "list-machines",
            "--no-legend",
            "--fields=ip",
        ],
        "",
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "127.0.0.1\n"),
        "{}",
        run.transcript()
    );
    // An explicit --ssh-username wins over the file (and this one is not allowed in).
    let run = fleetctl(
        sshd,
        &[
            &format!("--known-hosts-file={}", kh.display()),
            "--tunnel=fleet-bastion",
            "--ssh-username=nobody-here",
            &format!("--endpoint={}", server.http_endpoint()),
            "list-machines",
        ],
        "",
    );
    run.assert_code(1);
    assert!(run.stderr.contains("nobody-here"), "{}", run.stderr);
}

#[test]
fn status_runs_systemctl_on_the_units_machine() {
    let Some(t) = setup("status_runs_systemctl_on_the_units_machine") else {
        return;
    };
    let Setup {
        sshd,
        ep,
        port,
        tunnel,
        ..
    } = &t;

    let run = t.run(&[ep, "status", port, "hello"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "* hello.service - fake systemctl status\n   Active: active (running)\n"
    );
    assert_eq!(run.stderr, "");
    assert_eq!(
        sshd.commands(),
        [r#"systemctl "status" "-l" "hello.service""#]
    );
    assert_eq!(
        args_of(sshd, "systemctl"),
        ["status", "-l", "hello.service"]
    );

    // Through the tunnel: the hop to the machine goes through the tunnel's session. Two units
    // are separated by an empty line, and systemctl's exit code (3) is fleetctl's.
    let run = t.run(&[
        ep,
        tunnel,
        "status",
        port,
        "hello.service",
        "failing.service",
    ]);
    run.assert_code(3);
    assert_eq!(
        run.stdout,
        "* hello.service - fake systemctl status\n   Active: active (running)\n\n\
         * failing.service - fake systemctl status\n   Active: active (running)\n"
    );
    assert_eq!(
        sshd.commands()[1..],
        [
            r#"systemctl "status" "-l" "hello.service""#,
            r#"systemctl "status" "-l" "failing.service""#
        ]
    );

    // fleetctl's messages for units it will not ask about.
    let run = t.run(&[ep, "status", port, "nope"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "Unit nope.service does not exist.\n")
    );
    let run = t.run(&[ep, "status", port, "idle"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "Unit idle.service does not appear to be loaded.\n")
    );
    // A global unit has no machine in fleet's API, so fleetctl 1.0 runs nothing for it.
    let run = t.run(&[ep, "status", port, "everywhere"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(sshd.commands().len(), 3);
}

#[test]
fn journal_runs_journalctl_as_fleetctl_builds_it() {
    let Some(t) = setup("journal_runs_journalctl_as_fleetctl_builds_it") else {
        return;
    };
    let Setup {
        sshd,
        ep,
        port,
        tunnel,
        ..
    } = &t;

    let run = t.run(&[ep, "journal", port, "-n", "5", "hello"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "-- fake journal of hello.service --\nline 1\nline 2\nline 3\nline 4\nline 5\n"
    );
    assert_eq!(
        sshd.commands(),
        [r#"journalctl "--unit" "hello.service" "--no-pager" "-n" "5" "--output" "short""#]
    );

    let run = t.run(&[
        ep,
        tunnel,
        "journal",
        port,
        "--lines=2",
        "--sudo",
        "-f",
        "--output=json",
        "hello.service",
    ]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "-- fake journal of hello.service --\nline 1\nline 2\n"
    );
    assert_eq!(
        sshd.commands()[1],
        r#"sudo "journalctl" "--unit" "hello.service" "--no-pager" "-n" "2" "--output" "json" "-f""#
    );
    assert_eq!(args_of(sshd, "sudo"), ["sudo"]);

    for (unit, message) in [
        (
            "everywhere",
            "Unable to retrieve journal of global unit everywhere.service.\n",
        ),
        ("idle", "Unit idle.service does not appear to be running.\n"),
        ("nope", "Unit nope.service does not exist.\n"),
    ] {
        let run = t.run(&[ep, "journal", port, unit]);
        assert_eq!((run.code, run.stderr.as_str()), (1, message), "{unit}");
    }
    let run = t.run(&[ep, "journal", "a", "b"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "One unit file must be provided.\n")
    );
    assert_eq!(sshd.commands().len(), 2);
}

#[test]
fn ssh_runs_a_command_on_a_machine_or_a_units_machine() {
    let Some(t) = setup("ssh_runs_a_command_on_a_machine_or_a_units_machine") else {
        return;
    };
    let Setup {
        sshd,
        ep,
        port,
        tunnel,
        ..
    } = &t;

    // A machine id prefix, then the command; its exit code is fleetctl's.
    let run = t.run(&[ep, "ssh", port, "5e1f0c", "echo", "on", "$0;", "exit", "7"]);
    run.assert_code(7);
    assert_eq!(run.stdout, "on /bin/sh\n");
    assert_eq!(sshd.commands(), ["echo on $0; exit 7"]);

    // --unit, through the tunnel, and `--` before the command.
    let run = t.run(&[
        ep,
        tunnel,
        "ssh",
        port,
        "--unit",
        "hello",
        "--",
        "systemctl",
        "is-active",
        "x",
    ]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "* x - fake systemctl is-active\n   Active: active (running)\n"
    );
    assert_eq!(sshd.commands()[1], "systemctl is-active x");

    // A unit name as the first argument, and --machine.
    let run = t.run(&[ep, "ssh", port, "hello.service", "true"]);
    run.assert_code(0);
    let run = t.run(&[ep, "ssh", port, &format!("--machine={MACHINE}"), "true"]);
    run.assert_code(0);
    assert_eq!(sshd.commands()[2..], ["true", "true"]);

    // fleetctl's refusals.
    for (rest, message) in [
        (
            vec!["--machine=5e", "--unit=hello"],
            "Both machine and unit flags provided, please specify only one.\n",
        ),
        (
            vec!["nothing-here", "true"],
            "Unable to proceed: could not find matching unit or machine\n",
        ),
        (
            vec!["--machine=ffff", "true"],
            "Unable to proceed: machine does not exist\n",
        ),
        (
            vec!["--unit=nope", "true"],
            "Unable to proceed: unit does not exist\n",
        ),
        (
            vec!["--unit=everywhere", "true"],
            "Unable to proceed: global units unsupported\n",
        ),
        (
            vec![],
            "Unable to proceed: one machine or unit must be provided\n",
        ),
    ] {
        let mut a = vec![ep.as_str(), "ssh"];
        a.extend(rest.iter().copied());
        let run = t.run(&a);
        assert_eq!((run.code, run.stderr.as_str()), (1, message), "{rest:?}");
    }
    assert_eq!(sshd.commands().len(), 4);
}

#[test]
fn host_keys_unknown_refused_accepted_or_unchecked() {
    let Some(t) = setup("host_keys_unknown_refused_accepted_or_unchecked") else {
        return;
    };
    let Setup {
        sshd,
        ep,
        port,
        tunnel,
        ..
    } = &t;
    let kh = sshd.known_hosts_file("empty_known_hosts", false).unwrap();
    let flags = ssh_flags(sshd, &kh);
    let fingerprint = {
        let out = Command::new("ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(sshd.host_key_pub())
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    let prompt = format!(
        "The authenticity of host '[127.0.0.1]:{}' can't be established.\n\
         ssh-ed25519 key fingerprint is {fingerprint}.\n\
         Are you sure you want to continue connecting (yes/no)? ",
        sshd.port()
    );

    // Strict checking (the default) and no answer: refused, nothing run, nothing written.
    let run = fleetctl(sshd, &args(&flags, &[ep, tunnel, "list-units"]), "");
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(&format!(
            "{prompt}Host key verification failed.\n\
             Unable to initialize client: failed initializing SSH client: "
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
    let run = fleetctl(sshd, &args(&flags, &[ep, "status", port, "hello"]), "no\n");
    run.assert_code(255);
    assert!(
        run.stderr.starts_with(&format!(
            "{prompt}Host key verification failed.\nUnable to SSH to remote host: "
        )),
        "{}",
        run.stderr
    );
    assert!(sshd.commands().is_empty());
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), "");

    // Answering yes trusts the key and records it; the next run asks nothing.
    let run = fleetctl(sshd, &args(&flags, &[ep, "status", port, "hello"]), "yes\n");
    run.assert_code(0);
    assert_eq!(
        run.stderr,
        format!(
            "{prompt}Warning: Permanently added '[127.0.0.1]:{}' (ssh-ed25519) to the list of known hosts.\n",
            sshd.port()
        )
    );
    assert!(std::fs::read_to_string(&kh)
        .unwrap()
        .contains(sshd.host_public()));
    let run = fleetctl(
        sshd,
        &args(&flags, &[ep, tunnel, "status", port, "hello"]),
        "",
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, ""),
        "{}",
        run.transcript()
    );

    // A changed key is refused loudly, with no prompt, and the file is left alone.
    let changed = sshd.known_hosts_file("changed_known_hosts", false).unwrap();
    let other_key = sshd.dir().join("other_host_key");
    fleet_testserver::sshd::keygen(&other_key, "").unwrap();
    let other_public = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    let line = format!("[127.0.0.1]:{} {}", sshd.port(), other_public.trim());
    std::fs::write(&changed, format!("{line}\n")).unwrap();
    let flags_changed = ssh_flags(sshd, &changed);
    let run = fleetctl(
        sshd,
        &args(&flags_changed, &[ep, tunnel, "list-units"]),
        "yes\n",
    );
    run.assert_code(1);
    assert!(
        run.stderr
            .starts_with("Unable to initialize client: failed initializing SSH client: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            && run.stderr.contains(&fingerprint),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Are you sure"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&changed).unwrap(),
        format!("{line}\n")
    );

    // --strict-host-key-checking=false checks nothing and asks nothing.
    let other = sshd.known_hosts_file("other_known_hosts", false).unwrap();
    let flags = ssh_flags(sshd, &other);
    let run = fleetctl(
        sshd,
        &args(
            &flags,
            &[
                ep,
                tunnel,
                "--strict-host-key-checking=false",
                "journal",
                port,
                "-n",
                "1",
                "hello",
            ],
        ),
        "",
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, ""),
        "{}",
        run.transcript()
    );
    // ... also as FLEETCTL_STRICT_HOST_KEY_CHECKING, even with a changed key on file.
    let run = fleetctl_with(
        sshd,
        &args(
            &flags_changed,
            &[ep, tunnel, "list-units", "--no-legend", "--fields=unit"],
        ),
        "",
        &[("FLEETCTL_STRICT_HOST_KEY_CHECKING", OsStr::new("false"))],
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, ""),
        "{}",
        run.transcript()
    );
    assert!(run.stdout.contains("hello.service"));
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "");
}

#[test]
fn fd_forward_copies_stdin_and_stdout_to_a_unix_socket() {
    let server = TestServer::start().unwrap();
    let socket = server.socket_path().unwrap().to_path_buf();
    let bin = env!("CARGO_BIN_EXE_fleetctl");
    let mut child = Command::new(bin)
        .arg("fd-forward")
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stdin stays open: fleet closing the connection after its answer ends fd-forward.
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"GET /fleet/v1/machines HTTP/1.1\r\nHost: domain-sock\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{stdout}");
    assert!(
        stdout.contains("\"id\":\"113f16a7b4b64e9a8c1a3f0e5d2c7b01\""),
        "{stdout}"
    );

    // The end of stdin ends it too, as in fleetctl.
    // fd-forward with these arguments and no input.
    let fd_forward = |args: &[&OsStr]| {
        Command::new(bin)
            .arg("fd-forward")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = fd_forward(&[socket.as_os_str()]);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));

    let missing = socket.with_file_name("missing.sock");
    let out = fd_forward(&[missing.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "fleetctl 1.0 exits 0 when the dial fails"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Failed dialing remote address: dial unix {}: connect: no such file or directory\n",
            missing.display()
        )
    );
    let out = fd_forward(&["a".as_ref(), "b".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Provide a single argument\n"
    );
}

#[test]
fn ssh_shell_and_agent_forwarding_use_the_openssh_client() {
    let Some(t) = setup("ssh_shell_and_agent_forwarding_use_the_openssh_client") else {
        return;
    };
    let Setup {
        sshd,
        ep,
        port,
        tunnel,
        ..
    } = &t;
    let agent = sshd.start_agent().expect("ssh-agent with the user key");
    let sock = [("SSH_AUTH_SOCK", agent.socket().as_os_str())];

    // No command: a shell (fed from stdin here, as there is no terminal).
    let run = t.run_with(
        &[ep, "ssh", port, "5e1f"],
        "echo shell-$((6*7))\nexit 5\n",
        &sock,
    );
    run.assert_code(5);
    assert_eq!(run.stdout, "shell-42\n");
    // The same through the tunnel host (a ProxyCommand), to a unit's machine.
    let run = t.run_with(
        &[ep, tunnel, "ssh", port, "-u", "hello"],
        "echo via-tunnel\n",
        &sock,
    );
    run.assert_code(0);
    assert_eq!(run.stdout, "via-tunnel\n");
    assert_eq!(sshd.commands(), ["<shell>", "<shell>"]);

    // -A forwards the agent: the remote side sees a socket.
    let run = t.run_with(
        &[
            ep,
            "ssh",
            port,
            "-A",
            "5e1f",
            r#"test -S "$SSH_AUTH_SOCK" && echo forwarded"#,
        ],
        "",
        &sock,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "forwarded\n"),
        "{}",
        run.transcript()
    );
    // Without -A it does not.
    let run = t.run_with(
        &[
            ep,
            "ssh",
            port,
            "5e1f",
            r#"test -S "$SSH_AUTH_SOCK" || echo none"#,
        ],
        "",
        &sock,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "none\n"),
        "{}",
        run.transcript()
    );
}

#[test]
fn authentication_through_the_agent_or_a_clear_error() {
    let Some(t) = setup("authentication_through_the_agent_or_a_clear_error") else {
        return;
    };
    let Setup {
        sshd,
        ep,
        port,
        tunnel,
        ..
    } = &t;
    let agent = sshd.start_agent().expect("ssh-agent with the user key");
    // A home without keys: only the agent can authenticate (fleetctl's own way).
    let empty_home = tempfile::tempdir().unwrap();
    let home = ("HOME", empty_home.path().as_os_str());
    let sock = ("SSH_AUTH_SOCK", agent.socket().as_os_str());

    let run = t.run_with(&[ep, tunnel, "status", port, "hello"], "", &[home, sock]);
    run.assert_code(0);
    assert!(run.stdout.starts_with("* hello.service"), "{}", run.stdout);

    // No agent and no keys: a clear error naming what was tried.
    let run = t.run_with(&[ep, tunnel, "list-units"], "", &[home]);
    run.assert_code(1);
    assert!(
        run.stderr
            .starts_with("Unable to initialize client: failed initializing SSH client: "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("SSH_AUTH_SOCK"), "{}", run.stderr);
    let run = t.run_with(&[ep, "ssh", port, "5e1f", "true"], "", &[home]);
    run.assert_code(1);
    assert!(
        run.stderr.starts_with("Failed building SSH client: "),
        "{}",
        run.stderr
    );
    assert_eq!(
        sshd.commands(),
        [r#"systemctl "status" "-l" "hello.service""#]
    );
}

#[test]
fn commands_for_this_machine_run_locally() {
    // fleetctl runs status/journal itself, not over SSH, when the unit's machine is this one
    // (/etc/machine-id). The machine's IP is one nothing answers at (TEST-NET-1).
    let id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let id = id.trim();
    if id.is_empty() {
        // Straight to stderr: the test harness captures `eprintln!`, and a skip must show.
        let _ = writeln!(
            std::io::stderr(),
            "skipping commands_for_this_machine_run_locally: no /etc/machine-id"
        );
        return;
    }
    let server = TestServer::builder()
        .machines(vec![fleet::Machine {
            id: id.into(),
            primary_ip: "192.0.2.1".into(),
            ..Default::default()
        }])
        .start()
        .unwrap();
    server.put_unit_raw(
        "hello.service",
        vec![fleet::UnitOption::new("Service", "ExecStart", "/bin/true")],
        "launched",
    );
    assert!(server.wait_settled(Duration::from_secs(10)));
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for fake in ["systemctl", "journalctl"] {
        let path = bin.join(fake);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}/{fake}.args\necho local {fake}\nexit 3\n",
                dir.path().display()
            ),
        )
        .unwrap();
        assert!(Command::new("chmod")
            .arg("755")
            .arg(&path)
            .status()
            .unwrap()
            .success());
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ep = server.http_endpoint();
    let env = [("PATH", path.as_str())];
    let run = common::fleetctl_env(Some(&ep), dir.path(), &["status", "hello"], &env);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (3, "local systemctl\n", "")
    );
    let run = common::fleetctl_env(
        Some(&ep),
        dir.path(),
        &["journal", "-n", "2", "hello"],
        &env,
    );
    assert_eq!((run.code, run.stdout.as_str()), (3, "local journalctl\n"));
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert_eq!(read("systemctl.args"), "status\n-l\nhello.service\n");
    assert_eq!(
        read("journalctl.args"),
        "--unit\nhello.service\n--no-pager\n-n\n2\n--output\nshort\n"
    );
}
