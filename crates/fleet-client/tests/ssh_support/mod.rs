//! What the SSH tests and the tunnel bench share: a real OpenSSH server from fleet-testserver
//! (feature `sshd`, see `fleet_testserver::sshd`) and a tunnel that logs in to it with its user
//! key.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use fleet::v1::transport::ssh::{SshTunnel, SshTunnelBuilder};
pub use fleet_testserver::sshd::Sshd;

/// Writes a known-hosts file trusting `sshd` (`known_hosts` in its directory).
pub fn known_hosts(sshd: &Sshd) -> PathBuf {
    sshd.known_hosts_file("known_hosts", true)
        .expect("known-hosts file written")
}

/// A builder that uses the server's user key file only (no agent, no SSH config) and trusts
/// the server's host key.
pub fn key_file_builder(sshd: &Sshd) -> SshTunnelBuilder {
    SshTunnel::builder(&sshd.host_port())
        .username(sshd.user())
        .without_ssh_config()
        .use_agent(false)
        .identity_file(sshd.user_key())
        .known_hosts_file(known_hosts(sshd))
        .timeout(Duration::from_secs(20))
}

/// A client for `endpoint` (TCP or unix socket, as seen from the SSH server) through a
/// [`key_file_builder`] tunnel to `sshd`.
pub async fn client_through(sshd: &Sshd, endpoint: &str) -> fleet::v1::Client {
    fleet::v1::Client::builder(endpoint)
        .tunnel(key_file_builder(sshd).build().unwrap())
        .build()
        .await
        .unwrap()
}
