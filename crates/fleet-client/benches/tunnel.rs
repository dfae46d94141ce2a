//! The cost of the SSH tunnel: listing 1,000 units (10 pages of 100, fleet's page size) from
//! fleet-testserver directly over TCP, through an SSH tunnel to its TCP port (`direct-tcpip`),
//! and through the tunnel to its unix socket (`direct-streamlocal@openssh.com`).
//!
//! Needs a real OpenSSH server (`apt-get install openssh-server openssh-client`); the bench
//! starts `/usr/sbin/sshd` on a free 127.0.0.1 port with keys made in a temporary directory.
//!
//! ```sh
//! cargo bench -p fleet-client --features ssh --bench tunnel
//! ```
//!
//! Each client is built once, so the SSH session and the pooled connection are already open
//! when timing starts: the numbers are the steady-state per-listing cost (the one-off session
//! set-up is measured separately as `tunnel/open_session`).

#[path = "../tests/ssh_support/mod.rs"]
mod ssh_support;

use std::time::Duration;

use criterion::Criterion;
use fleet::transport::ssh::SshTunnel;
use fleet::v1 as fleet;
use fleet_testserver::TestServer;
use futures::TryStreamExt as _;

const UNITS: usize = 1_000;

fn tunnel(sshd: &ssh_support::Sshd) -> SshTunnel {
    ssh_support::key_file_builder(sshd).build().unwrap()
}

async fn list(client: &fleet::Client) -> usize {
    let units: Vec<fleet::Unit> = client.list_units().try_collect().await.unwrap();
    assert_eq!(units.len(), UNITS);
    units.len()
}

fn main() {
    let server = TestServer::start().unwrap();
    for i in 0..UNITS {
        server.put_unit_raw(
            &format!("bench-{i:04}.service"),
            vec![fleet::UnitOption::new(
                "Service",
                "ExecStart",
                "/usr/bin/sleep 1d",
            )],
            "inactive",
        );
    }
    let sshd = ssh_support::Sshd::start().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let (direct, via_tcp, via_unix) = rt.block_on(async {
        let direct = fleet::Client::new(&server.http_endpoint()).await.unwrap();
        let via_tcp = ssh_support::client_through(&sshd, &server.http_endpoint()).await;
        let via_unix = ssh_support::client_through(&sshd, &server.unix_endpoint().unwrap()).await;
        (direct, via_tcp, via_unix)
    });

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    let mut group = c.benchmark_group("list_1000_units");
    group.bench_function("direct_tcp", |b| b.to_async(&rt).iter(|| list(&direct)));
    group.bench_function("tunnel_direct_tcpip", |b| {
        b.to_async(&rt).iter(|| list(&via_tcp))
    });
    group.bench_function("tunnel_streamlocal", |b| {
        b.to_async(&rt).iter(|| list(&via_unix))
    });
    group.finish();

    let mut group = c.benchmark_group("tunnel");
    group.sample_size(10);
    group.bench_function("open_session", |b| {
        b.to_async(&rt).iter(|| async {
            let t = tunnel(&sshd);
            t.ensure_connected().await.unwrap();
        })
    });
    group.finish();
    c.final_summary();
}
