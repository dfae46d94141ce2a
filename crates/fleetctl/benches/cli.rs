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

criterion_group!(benches, bench_version);
criterion_main!(benches);
