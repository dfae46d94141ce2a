//! Whole-process benchmarks of the fleetctl binary: `fleetctl --version` (startup) and
//! `fleetctl list-unit-files` against a test server holding 1,000 units.
//!
//! Besides criterion's wall-clock numbers, the CPU time of the children (user + system, from
//! `getrusage(RUSAGE_CHILDREN)`) is printed per run, since the targets are stated in CPU time.

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn fleetctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fleetctl"))
}

fn run_ok(cmd: &mut Command) {
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn fleetctl");
    assert!(status.success(), "fleetctl failed: {status}");
}

/// User + system CPU time of all waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc_rusage::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc_rusage::getrusage(libc_rusage::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc_rusage::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Minimal bindings to getrusage(2) (Linux, 64-bit), to avoid a libc dependency.
#[allow(non_camel_case_types)]
mod libc_rusage {
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct timeval {
        pub tv_sec: i64,
        pub tv_usec: i64,
    }
    #[repr(C)]
    pub struct rusage {
        pub ru_utime: timeval,
        pub ru_stime: timeval,
        pub rest: [i64; 14],
    }
    pub const RUSAGE_CHILDREN: i32 = -1;
    extern "C" {
        pub fn getrusage(who: i32, usage: *mut rusage) -> i32;
    }
}

fn cpu_per_run(label: &str, runs: u32, mut f: impl FnMut()) {
    let before = children_cpu();
    for _ in 0..runs {
        f();
    }
    let per = (children_cpu() - before) / runs;
    eprintln!(
        "{label}: {:.2} ms CPU (user+sys) per run over {runs} runs",
        per.as_secs_f64() * 1e3
    );
}

fn bench_version(c: &mut Criterion) {
    cpu_per_run("fleetctl --version", 200, || {
        run_ok(fleetctl().arg("--version"))
    });
    c.bench_function("fleetctl --version", |b| {
        b.iter(|| run_ok(fleetctl().arg("--version")))
    });
}

/// A test server holding 1,000 units (a quarter of them scheduled), as `list-unit-files` sees
/// a busy cluster.
fn server_with_units(n: usize) -> fleet_testserver::TestServer {
    use fleet::v1::UnitOption;
    let server = fleet_testserver::TestServer::start().expect("start test server");
    for i in 0..n {
        let options = vec![
            UnitOption::new("Unit", "Description", format!("Unit number {i}")),
            UnitOption::new("Service", "ExecStart", format!("/usr/bin/sleep {i}")),
        ];
        let state = if i % 4 == 0 { "launched" } else { "inactive" };
        server.put_unit_raw(&format!("unit-{i:04}.service"), options, state);
    }
    assert!(
        server.wait_settled(Duration::from_secs(30)),
        "cluster did not settle"
    );
    server
}

fn bench_list_unit_files(c: &mut Criterion) {
    let server = server_with_units(1000);
    let endpoint = format!("--endpoint={}", server.http_endpoint());
    let unix = format!(
        "--endpoint={}",
        server.unix_endpoint().expect("unix endpoint")
    );
    // Sanity: the listing has a legend and 1,000 rows.
    let out = fleetctl()
        .args([endpoint.as_str(), "list-unit-files"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1001);

    cpu_per_run("fleetctl list-unit-files (1,000 units, TCP)", 50, || {
        run_ok(fleetctl().args([endpoint.as_str(), "list-unit-files"]))
    });
    cpu_per_run(
        "fleetctl list-unit-files (1,000 units, unix socket)",
        50,
        || run_ok(fleetctl().args([unix.as_str(), "list-unit-files"])),
    );
    let mut group = c.benchmark_group("list-unit-files 1000 units");
    group.sample_size(30);
    group.bench_function("tcp", |b| {
        b.iter(|| run_ok(fleetctl().args([endpoint.as_str(), "list-unit-files"])))
    });
    group.bench_function("unix", |b| {
        b.iter(|| run_ok(fleetctl().args([unix.as_str(), "list-unit-files"])))
    });
    group.finish();
}

criterion_group!(benches, bench_version, bench_list_unit_files);
criterion_main!(benches);
