//! The real client through an SSH tunnel (a real OpenSSH server) to fleet-testserver, over TCP
//! and over its unix socket. Run with
//! `cargo test -p fleet-client --features ssh --test ssh_client`.
#![cfg(feature = "ssh")]

mod ssh_support;

use fleet_testserver::sshd::openssh_available;
use std::time::Duration;

use fleet::transport::ssh::SshTunnel;
use fleet::v1 as fleet;
use fleet_testserver::TestServer;
use futures::TryStreamExt as _;
use ssh_support::{client_through, key_file_builder, Sshd};

fn tunnel(sshd: &Sshd) -> SshTunnel {
    key_file_builder(sshd).build().unwrap()
}

async fn roundtrip(client: &fleet::Client, name: &str) {
    let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
    assert_eq!(machines.len(), 3);
    let unit = fleet::Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n")
        .unwrap()
        .with_desired_state(fleet::DesiredState::Loaded);
    client.create_unit(name, &unit).await.unwrap();
    let units: Vec<fleet::Unit> = client.list_units().try_collect().await.unwrap();
    assert!(
        units.iter().any(|u| u.name() == Some(name)),
        "{name} not listed"
    );
}

#[tokio::test]
async fn client_over_tunnel_to_tcp_endpoint() {
    if !openssh_available("client_over_tunnel_to_tcp_endpoint") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let server = TestServer::start().unwrap();
    let client = client_through(&sshd, &server.http_endpoint()).await;
    roundtrip(&client, "tcp.service").await;
    assert!(server.unit("tcp.service").is_some());
    assert_eq!(sshd.log().matches("Accepted publickey").count(), 1);
}

#[tokio::test]
async fn client_over_tunnel_to_unix_socket_endpoint() {
    if !openssh_available("client_over_tunnel_to_unix_socket_endpoint") {
        return;
    }
    let sshd = Sshd::builder().debug_log(true).start().unwrap();
    let server = TestServer::start().unwrap();
    let client = client_through(&sshd, &server.unix_endpoint().unwrap()).await;
    roundtrip(&client, "unix.service").await;
    assert!(server.unit("unix.service").is_some());
    // Through sshd's direct-streamlocal, not fd-forward.
    let log = sshd.log();
    assert!(
        log.contains("server_input_channel_open: confirm direct-streamlocal@openssh.com"),
        "{log}"
    );
    assert!(
        !log.contains("ctype session"),
        "no exec fallback expected:\n{log}"
    );
}

#[tokio::test]
async fn client_survives_a_session_dropped_between_two_requests() {
    if !openssh_available("client_survives_a_session_dropped_between_two_requests") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let server = TestServer::start().unwrap();
    let tunnel = tunnel(&sshd);
    let client = fleet::Client::builder(&server.http_endpoint())
        .tunnel(tunnel.clone())
        .build()
        .await
        .unwrap();
    roundtrip(&client, "before.service").await;

    assert!(sshd.kill_sessions() > 0);
    let mut polls = 0;
    while tunnel.is_connected().await {
        // Bounded poll of the session state: the session is dropped "between two requests".
        tokio::time::sleep(Duration::from_millis(20)).await;
        polls += 1;
        assert!(polls < 500, "the tunnel never noticed its session closed");
    }

    roundtrip(&client, "after.service").await;
    assert!(server.unit("after.service").is_some());
    assert_eq!(sshd.log().matches("Accepted publickey").count(), 2);
}

#[tokio::test]
async fn ssh_errors_reach_the_caller_of_the_client() {
    if !openssh_available("ssh_errors_reach_the_caller_of_the_client") {
        return;
    }
    let sshd = Sshd::start().unwrap();
    let server = TestServer::start().unwrap();
    let known_hosts = sshd.dir().join("empty_known_hosts");
    let tunnel = key_file_builder(&sshd)
        .known_hosts_file(&known_hosts)
        .build()
        .unwrap();
    let err = fleet::Client::builder(&server.http_endpoint())
        .tunnel(tunnel)
        .build()
        .await
        .expect_err("unknown host key");
    let text = err.to_string();
    assert!(text.contains("not in the known-hosts file"), "{text}");
    assert!(text.contains("SHA256:"), "{text}");
}

#[tokio::test]
async fn https_through_the_tunnel() {
    if !openssh_available("https_through_the_tunnel") {
        return;
    }
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let sshd = Sshd::start().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let server = TestServer::builder()
        .unix(false)
        .tls(cert.pem(), key.serialize_pem(), None)
        .start()
        .unwrap();
    let ca_file = sshd.dir().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    // TLS is end to end: the client's handshake runs inside the SSH channel.
    let client = fleet::Client::builder(&server.https_endpoint())
        .ca_file(&ca_file)
        .tunnel(tunnel(&sshd))
        .build()
        .await
        .unwrap();
    roundtrip(&client, "tls.service").await;
    assert!(server.unit("tls.service").is_some());
}
