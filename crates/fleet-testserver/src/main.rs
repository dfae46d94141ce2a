//! `fleet-testserver`: the fleet API stand-in as a process, for clients in other languages.
//!
//! ```text
//! fleet-testserver --listen 127.0.0.1:49153 --unix /tmp/fleet.sock \
//!     --machine m1,10.0.0.1,role=web --page-size 100 --state-delay 200
//! ```
//!
//! `--wide-paging` departs from fleet: page bounds without `uint16` wrap-around, so lists can
//! be longer than 65,500 items with pages of 100 (see `Builder::wide_paging`).
//!
//! Prints its endpoints, one per line (the first line is `fleet-testserver ready`), and runs
//! until SIGINT or SIGTERM, then exits 0.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fleet_testserver::{default_machines, parse_machine, TestServer};

/// An in-process stand-in for fleet's API v1 server, for tests. Not fleet.
#[derive(Parser, Debug)]
#[command(name = "fleet-testserver", version)]
struct Args {
    /// TCP address to listen on (default 127.0.0.1:0, a free port, when no --unix is given).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Unix socket to listen on (created; must not exist).
    #[arg(long, value_name = "PATH")]
    unix: Option<PathBuf>,
    /// A machine: ID,IP[,key=value...]; repeatable. Default: the three fixture machines.
    #[arg(long = "machine", value_name = "ID,IP[,key=value...]")]
    machines: Vec<String>,
    /// Page size of lists (fleetd's token_limit).
    #[arg(long, default_value_t = 100)]
    page_size: u16,
    /// Departure from fleet: compute page bounds without uint16 wrap-around, so lists longer
    /// than 65,500 items (with pages of 100) can be paged through (fleet closes the connection
    /// instead).
    #[arg(long)]
    wide_paging: bool,
    /// Milliseconds agents take to publish unit states.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    state_delay: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let machines = if args.machines.is_empty() {
        default_machines()
    } else {
        match args
            .machines
            .iter()
            .map(|m| parse_machine(m))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(m) => m,
            Err(e) => {
                eprintln!("fleet-testserver: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let mut builder = TestServer::builder()
        .machines(machines)
        .page_size(args.page_size)
        .wide_paging(args.wide_paging)
        .state_delay(Duration::from_millis(args.state_delay));
    builder = match (&args.listen, &args.unix) {
        (Some(addr), _) => builder.tcp_addr(*addr),
        (None, Some(_)) => builder.tcp(false),
        (None, None) => builder,
    };
    builder = match &args.unix {
        Some(path) => builder.unix_path(path),
        None if args.listen.is_some() => builder.unix(false),
        None => builder,
    };
    let server = match builder.start() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fleet-testserver: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Install the signal handlers before announcing readiness, so that a SIGINT or SIGTERM sent
    // as soon as the endpoints are printed is never lost (nor left to an inherited disposition).
    let result = wait_for_signals(|| {
        // Written without `println!`, which panics when stdout is gone: a parent that reads
        // the first endpoints and closes the pipe must not take the server down.
        let mut announce = String::from("fleet-testserver ready\n");
        if !server.http_endpoint().is_empty() {
            announce.push_str(&server.http_endpoint());
            announce.push('\n');
        }
        for endpoint in [server.unix_endpoint(), server.http_unix_endpoint()]
            .into_iter()
            .flatten()
        {
            announce.push_str(&endpoint);
            announce.push('\n');
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(announce.as_bytes());
        let _ = stdout.flush();
    });
    server.stop();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet-testserver: waiting for signals: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Registers SIGTERM and SIGINT handlers, calls `ready`, then blocks until either signal arrives.
fn wait_for_signals(ready: impl FnOnce()) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        ready();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    })
}
