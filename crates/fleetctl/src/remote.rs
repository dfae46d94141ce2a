//! SSH, as fleetctl 1.0 uses it: the `--tunnel` to fleet, and commands run on fleet machines
//! (`status`, `journal`, `ssh`) by their primary IP, through the tunnel host when `--tunnel` is
//! set (fleetctl's `runCommand`, `runRemoteCommand` and `ssh` package).
//!
//! Host keys follow fleetctl: with `--strict-host-key-checking` (the default) keys are checked
//! against `--known-hosts-file`, and an unknown host is shown with fleetctl's prompt
//! (`Are you sure you want to continue connecting (yes/no)?`, answered on stdin; no answer is a
//! no); with `--strict-host-key-checking=false` nothing is checked. Authentication uses the
//! ssh-agent (`SSH_AUTH_SOCK`), as fleetctl does, and then the default identity files
//! (`~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`); `~/.ssh/config` is honoured for the tunnel host.

use std::io::{BufRead as _, Write as _};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use fleet::transport::ssh::{HostKeyPolicy, SshTunnel, SshTunnelBuilder, UnknownHostKey};
use fleet::v1 as fleet;

use crate::api::Api;
use crate::cli::GlobalArgs;
use crate::output;

/// `--known-hosts-file` with a leading `~` replaced by `$HOME`.
pub fn known_hosts_path(flag: &str) -> PathBuf {
    match (flag.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            let mut p = PathBuf::from(home);
            p.push(rest.trim_start_matches('/'));
            p
        }
        _ => PathBuf::from(flag),
    }
}

/// fleetctl's name for a key algorithm in its prompts (`algoString`).
///
/// ```
/// # use fleetctl::remote::algo_string;
/// assert_eq!(algo_string("ssh-rsa"), "RSA");
/// assert_eq!(algo_string("ecdsa-sha2-nistp256"), "ECDSA");
/// assert_eq!(algo_string("ssh-ed25519"), "ssh-ed25519");
/// ```
pub fn algo_string(key_type: &str) -> &str {
    match key_type {
        "ssh-rsa" => "RSA",
        "ssh-dss" => "DSA",
        "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => "ECDSA",
        other => other,
    }
}

/// fleetctl's `askToTrustHost`: its prompt on stderr, one answer read from stdin; `yes` or `y`
/// (any case) trusts the key. Anything else, or no answer, prints
/// `Host key verification failed.` as fleetctl does.
fn ask_to_trust_host(key: &UnknownHostKey) -> bool {
    {
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "The authenticity of host '{}' can't be established.\n\
             {} key fingerprint is {}.\n\
             Are you sure you want to continue connecting (yes/no)? ",
            key.host,
            algo_string(&key.key_type),
            key.fingerprint
        );
        let _ = err.flush();
    }
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    // fmt.Scanf("%s\n") reads the first word.
    let answer = answer
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if answer == "yes" || answer == "y" {
        output::stderr(&format!(
            "Warning: Permanently added '{}' ({}) to the list of known hosts.",
            key.host,
            algo_string(&key.key_type)
        ));
        true
    } else {
        output::stderr("Host key verification failed.");
        false
    }
}

/// The host-key policy of the global flags.
fn policy(global: &GlobalArgs) -> HostKeyPolicy {
    if global.strict_host_key_checking {
        HostKeyPolicy::trust_on_first_use(ask_to_trust_host)
    } else {
        HostKeyPolicy::Off
    }
}

fn seconds(s: f64) -> Duration {
    Duration::from_millis((s * 1000.0) as u64)
}

/// Applies the global SSH flags (timeout, known-hosts file, host-key checking, and the user when
/// `--ssh-username` is given; otherwise the library's default `core`, the `User` of
/// `~/.ssh/config` for the host, or for a hop the tunnel's user).
fn configure(builder: SshTunnelBuilder, global: &GlobalArgs) -> SshTunnelBuilder {
    let builder = match global.ssh_username.as_deref().filter(|u| !u.is_empty()) {
        Some(user) => builder.username(user),
        None => builder,
    };
    builder
        .timeout(seconds(global.ssh_timeout))
        .known_hosts_file(known_hosts_path(&global.known_hosts_file))
        .host_key_policy(policy(global))
}

/// The tunnel of `--tunnel`, not yet connected; `None` without `--tunnel`. Without a port in
/// `--tunnel`, the port is 22 unless `~/.ssh/config` gives the host another.
pub fn tunnel(global: &GlobalArgs) -> fleet::Result<Option<SshTunnel>> {
    let Some(address) = global.tunnel.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    configure(SshTunnel::builder(address), global)
        .build()
        .map(Some)
}

/// Where to reach a machine over SSH: its primary IP and `--ssh-port` (fleetctl's
/// `findSSHPort`; an address that already names a port keeps it).
///
/// ```
/// # use fleetctl::remote::ssh_address;
/// assert_eq!(ssh_address("10.0.0.7", 22), ("10.0.0.7".to_string(), 22));
/// assert_eq!(ssh_address("10.0.0.7", 2222), ("10.0.0.7".to_string(), 2222));
/// assert_eq!(ssh_address("10.0.0.7:2200", 2222), ("10.0.0.7".to_string(), 2200));
/// assert_eq!(ssh_address("fd00::7", 2222), ("fd00::7".to_string(), 2222));
/// ```
pub fn ssh_address(ip: &str, port: u16) -> (String, u16) {
    if ip.parse::<IpAddr>().is_ok() {
        return (ip.to_string(), port);
    }
    if let Ok(addr) = ip.parse::<std::net::SocketAddr>() {
        return (addr.ip().to_string(), addr.port());
    }
    if let Some((host, p)) = ip.rsplit_once(':') {
        if let Ok(p) = p.parse::<u16>() {
            return (host.to_string(), p);
        }
    }
    (ip.to_string(), port)
}

/// Whether `host` (from [`ssh_address`]) can be handed to SSH: an IP address (IPv6 with or
/// without a `%zone`) or a host name (letters, digits, `-`, `.` and `_`, not starting with `-`). A machine's address comes from
/// the server; anything else (spaces, `$`, quotes, `%`) could be read as options or tokens by
/// OpenSSH (`ProxyCommand`'s `%h`), so it is refused rather than passed on.
///
/// ```
/// # use fleetctl::remote::valid_host;
/// assert!(valid_host("10.0.0.7") && valid_host("fd00::7") && valid_host("node-1.example.com"));
/// assert!(valid_host("fe80::1%eth0") && valid_host("node-1.example.com."));
/// assert!(!valid_host("$(reboot)") && !valid_host("-oProxyCommand=x") && !valid_host(""));
/// assert!(!valid_host("fe80::1%") && !valid_host("10.0.0.7%eth0"));
/// ```
pub fn valid_host(host: &str) -> bool {
    let name_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
    let scoped_ipv6 = host.split_once('%').is_some_and(|(addr, zone)| {
        addr.parse::<std::net::Ipv6Addr>().is_ok()
            && !zone.is_empty()
            && zone.bytes().all(name_char)
    });
    host.parse::<IpAddr>().is_ok()
        || scoped_ipv6
        || (!host.is_empty()
            && host.len() <= 253
            && !host.starts_with('-')
            && host.bytes().all(name_char))
}

/// An SSH connection to a machine, through the tunnel host when `--tunnel` is set; not yet
/// connected.
pub fn machine(api: &Api, global: &GlobalArgs, host: &str, port: u16) -> fleet::Result<SshTunnel> {
    let builder = match api.tunnel() {
        Some(tunnel) => configure(tunnel.connect_to(host, port), global),
        None if host.contains(':') => {
            configure(SshTunnel::builder(&format!("[{host}]")).port(port), global)
        }
        None => configure(SshTunnel::builder(host).port(port), global),
    };
    builder.build()
}

/// fleetctl's command line for a remote command: the command, then each argument quoted
/// with Go's `%q` (`systemctl "status" "-l" "foo.service"`).
///
/// ```
/// # use fleetctl::remote::command_line;
/// assert_eq!(command_line("systemctl", &["status", "-l", "a.service"]),
///            r#"systemctl "status" "-l" "a.service""#);
/// ```
pub fn command_line(cmd: &str, args: &[&str]) -> String {
    let mut line = cmd.to_string();
    for arg in args {
        line.push(' ');
        line.push_str(&output::table::go_quote(arg));
    }
    line
}

/// Runs `line` on `machine`, output copied to ours as it arrives; the remote exit status
/// (255 when the command died of a signal).
pub async fn execute(machine: &SshTunnel, line: &str) -> fleet::Result<i32> {
    let mut out = tokio::io::stdout();
    let mut err = tokio::io::stderr();
    let status = machine.exec_to(line, &mut out, &mut err).await?;
    Ok(status.map_or(255, |s| i32::try_from(s).unwrap_or(255)))
}

/// Quotes `s` for a POSIX shell (OpenSSH runs a `ProxyCommand` with the user's shell).
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Splits a `[user@]host:port` tunnel address (IPv6 hosts in brackets).
fn split_address(address: &str) -> (Option<&str>, &str, Option<&str>) {
    let (user, rest) = match address.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, address),
    };
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some((host, after)) = inner.split_once(']') {
            return (user, host, after.strip_prefix(':'));
        }
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (user, host, Some(port)),
        _ => (user, rest, None),
    }
}

/// The OpenSSH client options that carry fleetctl's global SSH flags: the user, the connect
/// timeout, and host-key checking (`--strict-host-key-checking` asks about unknown hosts and
/// records them in `--known-hosts-file`; without it nothing is checked).
fn openssh_options(global: &GlobalArgs, user: &str) -> Vec<String> {
    let mut opts = vec![
        "-l".to_string(),
        user.to_string(),
        "-o".into(),
        format!(
            "ConnectTimeout={}",
            global.ssh_timeout.ceil().max(1.0) as u64
        ),
    ];
    if global.strict_host_key_checking {
        opts.push("-o".into());
        opts.push("StrictHostKeyChecking=ask".into());
        opts.push("-o".into());
        opts.push(format!(
            "UserKnownHostsFile={}",
            known_hosts_path(&global.known_hosts_file).display()
        ));
    } else {
        opts.push("-o".into());
        opts.push("StrictHostKeyChecking=no".into());
        opts.push("-o".into());
        opts.push("UserKnownHostsFile=/dev/null".into());
        opts.push("-o".into());
        opts.push("LogLevel=ERROR".into());
    }
    opts
}

/// The OpenSSH client (`ssh` on `PATH`) set up to reach `host:port` as the library's tunnel
/// would — same user, timeout, known-hosts file and checking, and through the `--tunnel` host
/// (a `ProxyCommand` running `ssh -W`) — for what the library's SSH tunnel does not offer yet:
/// an interactive shell on a terminal, and agent forwarding. `command` may be empty (a shell).
///
/// ```
/// # use clap::Parser;
/// # use fleetctl::{cli::Cli, remote::openssh_command};
/// let cli = Cli::parse_from(["fleetctl", "--tunnel=bastion", "--known-hosts-file=/kh", "ssh", "x"]);
/// let cmd = openssh_command(&cli.global, "10.0.0.7", 22, true, &["uptime".to_string()]);
/// let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
/// assert_eq!(args.join(" "),
///     "-p 22 -l core -o ConnectTimeout=10 -o StrictHostKeyChecking=ask -o UserKnownHostsFile=/kh \
///      -A -o ProxyCommand=ssh -W %h:%p -l core -o ConnectTimeout=10 \
///      -o StrictHostKeyChecking=ask -o UserKnownHostsFile=/kh bastion -- 10.0.0.7 uptime");
/// ```
pub fn openssh_command(
    global: &GlobalArgs,
    host: &str,
    port: u16,
    forward_agent: bool,
    command: &[String],
) -> std::process::Command {
    let options = openssh_options(global, global.ssh_user());
    let mut cmd = std::process::Command::new("ssh");
    cmd.arg("-p").arg(port.to_string()).args(&options);
    if forward_agent {
        cmd.arg("-A");
    }
    if let Some(tunnel) = global.tunnel.as_deref().filter(|t| !t.is_empty()) {
        let (user, thost, tport) = split_address(tunnel);
        let mut proxy = vec!["ssh".to_string(), "-W".into(), "%h:%p".into()];
        if let Some(port) = tport {
            proxy.push("-p".into());
            proxy.push(shell_quote(port));
        }
        // An explicit user in --tunnel wins over --ssh-username, as in the library.
        let user = user.unwrap_or(global.ssh_user());
        proxy.extend(openssh_options(global, user).iter().map(|o| shell_quote(o)));
        proxy.push(shell_quote(thost));
        cmd.arg("-o")
            .arg(format!("ProxyCommand={}", proxy.join(" ")));
    }
    cmd.arg("--").arg(host).args(command);
    cmd
}

/// The machine id in `/etc/machine-id`, as fleet reads it (`readLocalMachineID`).
fn local_machine_id() -> Option<String> {
    let id = std::fs::read_to_string("/etc/machine-id").ok()?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// Runs a command locally, with our stdio; its exit code (255 on a signal, as Go's `-1`).
fn run_local_command(cmd: &str, args: &[&str]) -> Result<i32, std::io::Error> {
    let status = std::process::Command::new(cmd).args(args).status()?;
    Ok(status.code().unwrap_or(255))
}

/// fleetctl's `runCommand`: runs `cmd args...` on the machine `machine_id` — locally when it is
/// this machine (`/etc/machine-id`), otherwise over SSH to its primary IP (through the tunnel
/// host with `--tunnel`). Returns the command's exit code; problems are reported on stderr
/// with fleetctl's messages (exit 255 when SSH fails, as fleetctl's `-1`).
pub async fn run_command(
    api: &Api,
    global: &GlobalArgs,
    ssh_port: u16,
    machine_id: &str,
    cmd: &str,
    args: &[&str],
) -> i32 {
    if local_machine_id().as_deref() == Some(machine_id) {
        return match run_local_command(cmd, args) {
            Ok(code) => code,
            Err(e) => {
                output::stderr(&format!("Error running local command: {e}"));
                255
            }
        };
    }
    let machines = match api.machines().await {
        Ok(m) => m,
        Err(e) => {
            // fleetctl 1.0 reports this and exits 0 (its exit code is never set here).
            output::stderr(&format!("Error getting machine IP: {}", output::go_err(&e)));
            return 0;
        }
    };
    let Some(m) = machines.into_iter().find(|m| m.id == machine_id) else {
        // fleetctl prints Go's nil error here, and exits 0.
        output::stderr("Error getting machine IP: <nil>");
        return 0;
    };
    let (host, port) = ssh_address(&m.primary_ip, ssh_port);
    if !valid_host(&host) {
        output::stderr(&format!(
            "Unable to SSH to remote host: machine {} has the address {:?}, which is not an IP \
             address or host name",
            m.id, m.primary_ip
        ));
        return 255;
    }
    let line = command_line(cmd, args);
    tracing::debug!(%host, port, command = %line, "running remote command");
    let result = match machine(api, global, &host, port) {
        Ok(machine) => execute(&machine, &line).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            output::stderr(&format!("Unable to SSH to remote host: {e}"));
            255
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_tilde() {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(home) = home {
            assert_eq!(
                known_hosts_path("~/.fleetctl/known_hosts"),
                home.join(".fleetctl/known_hosts")
            );
        }
        assert_eq!(known_hosts_path("/x/kh"), PathBuf::from("/x/kh"));
        assert_eq!(known_hosts_path("~other/kh"), PathBuf::from("~other/kh"));
    }

    #[test]
    fn ipv6_machine_addresses_are_bracketed_for_the_builder() {
        let t = SshTunnel::builder("[fd00::7]")
            .port(2222)
            .without_ssh_config()
            .build()
            .unwrap();
        assert_eq!(t.destination(), "core@[fd00::7]:2222");
    }

    #[test]
    fn tunnel_addresses() {
        assert_eq!(split_address("h:22"), (None, "h", Some("22")));
        assert_eq!(split_address("u@h:2222"), (Some("u"), "h", Some("2222")));
        assert_eq!(split_address("[::1]:22"), (None, "::1", Some("22")));
        assert_eq!(split_address("h"), (None, "h", None));
        assert_eq!(shell_quote("/a b/kh"), "'/a b/kh'");
        assert_eq!(shell_quote("%h:%p"), "%h:%p");
    }

    #[test]
    fn go_quoted_arguments() {
        assert_eq!(
            command_line("journalctl", &["--unit", "a b\"c.service"]),
            r#"journalctl "--unit" "a b\"c.service""#
        );
        assert_eq!(command_line("true", &[]), "true");
    }
}
