//! The Rust side of `scripts/compare-python-fleet.sh`: the same workloads as
//! `scripts/compare-python-fleet.py` runs with python-fleet, measured the same way.
//!
//! ```sh
//! cargo run --release --example workload -- --endpoint http://127.0.0.1:49153 --workload list --rounds 20
//! cargo run --release --example workload -- --endpoint http://127.0.0.1:49153 --workload create --count 300 --prefix rs
//! ```
//!
//! * `list`: list every unit in the cluster `--rounds` times (following `nextPageToken`);
//! * `list-options`: the same, reading the value of every option of every unit (counts
//!   options);
//! * `create`: create `--count` units `<prefix>-NNNNN.service` (PUT, then GET, as `create_unit`
//!   does in both libraries), desired state `inactive`.
//!
//! Prints one JSON object with the client's own CPU time: user + system time of this process
//! from `getrusage(RUSAGE_SELF)` around the workload (the server is another process).

use std::time::{Duration, Instant};

use fleet::v1 as fleet;
use futures::TryStreamExt;

const UNIT_TEXT: &str =
    "[Unit]\nDescription=compare {n}\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n";

/// `struct rusage` from `<sys/resource.h>` on Linux: two `timeval`s then fourteen longs.
#[repr(C)]
struct RUsage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

extern "C" {
    fn getrusage(who: i32, usage: *mut RUsage) -> i32;
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let mut usage = RUsage {
        utime: [0; 2],
        stime: [0; 2],
        rest: [0; 14],
    };
    // SAFETY: `usage` is a valid, writable `struct rusage`; RUSAGE_SELF is 0.
    let rc = unsafe { getrusage(0, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: [i64; 2]| Duration::from_secs(t[0] as u64) + Duration::from_micros(t[1] as u64);
    tv(usage.utime) + tv(usage.stime)
}

struct Args {
    endpoint: String,
    workload: String,
    rounds: usize,
    count: usize,
    prefix: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoint: String::new(),
        workload: String::new(),
        rounds: 1,
        count: 100,
        prefix: "rs".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--endpoint" => args.endpoint = value()?,
            "--workload" => args.workload = value()?,
            "--rounds" => args.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--prefix" => args.prefix = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.endpoint.is_empty()
        || !matches!(args.workload.as_str(), "list" | "list-options" | "create")
    {
        return Err(
            "usage: workload --endpoint URL --workload list|list-options|create [--rounds N] [--count N] [--prefix P]"
                .into(),
        );
    }
    Ok(args)
}

async fn run(args: Args) -> Result<(), fleet::Error> {
    let client = fleet::Client::new(&args.endpoint).await?;
    let cpu0 = cpu_time();
    let wall0 = Instant::now();
    let items = match args.workload.as_str() {
        "list" => {
            let mut n = 0;
            for _ in 0..args.rounds {
                let mut units = std::pin::pin!(client.list_units());
                while let Some(_unit) = units.try_next().await? {
                    n += 1;
                }
            }
            n
        }
        "list-options" => {
            let mut n = 0;
            for _ in 0..args.rounds {
                let mut units = std::pin::pin!(client.list_units());
                while let Some(unit) = units.try_next().await? {
                    for option in unit.options() {
                        std::hint::black_box(&option.value);
                        n += 1;
                    }
                }
            }
            n
        }
        _ => {
            for i in 0..args.count {
                let unit = fleet::Unit::from_string(&UNIT_TEXT.replace("{n}", &i.to_string()))?
                    .with_desired_state(fleet::DesiredState::Inactive);
                client
                    .create_unit(&format!("{}-{i:05}.service", args.prefix), &unit)
                    .await?;
            }
            args.count
        }
    };
    let cpu = cpu_time() - cpu0;
    let wall = wall0.elapsed();
    println!(
        "{{\"client\": \"fleet-client\", \"workload\": \"{}\", \"items\": {items}, \"cpu_s\": {:.6}, \"wall_s\": {:.6}}}",
        args.workload,
        cpu.as_secs_f64(),
        wall.as_secs_f64()
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workload failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
