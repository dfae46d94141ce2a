//! Unit-file parsing throughput: a realistic ~1 KB unit and a ~1 MB unit, each timed
//! **including** freeing the result (the honest figure), plus the 1 MB unit without the free,
//! and serializing and hashing the 1 KB unit.
//!
//! With `UNIT_FILE_PARSE_COUNT=<1k|1m>:<n>[,...]` in the environment the binary skips
//! criterion and just parses and drops that unit `n` times (several sizes in turn), for
//! instruction counts under `valgrind --tool=callgrind` (see docs/PERFORMANCE.md).

use criterion::{black_box, criterion_group, Criterion, Throughput};
use fleet::v1::unit_file::{parse, serialize};
use fleet::v1::UnitHash;

/// A realistic unit of about 1 KB: comments, several sections, a continued ExecStart,
/// X-Fleet requirements.
fn unit_1k() -> String {
    let text = "\
# web frontend, one per machine with role=web
[Unit]
Description=Web frontend %i
Documentation=https://example.com/docs/web
After=docker.service etcd2.service
Requires=docker.service
Wants=etcd2.service

[Service]
TimeoutStartSec=0
Restart=always
RestartSec=10s
EnvironmentFile=/etc/environment
Environment=\"IMAGE=registry.example.com/web:1.4.2\" \"PORT=8080\"
ExecStartPre=-/usr/bin/docker kill web-%i
ExecStartPre=-/usr/bin/docker rm web-%i
ExecStartPre=/usr/bin/docker pull ${IMAGE}
ExecStart=/usr/bin/docker run --rm --name web-%i \\
    -p ${COREOS_PRIVATE_IPV4}:${PORT}:8080 \\
    -e ETCD_ENDPOINTS=http://${COREOS_PRIVATE_IPV4}:2379 \\
    -v /var/log/web:/var/log/web \\
    ${IMAGE}
ExecStartPost=/usr/bin/etcdctl set /services/web/%i ${COREOS_PRIVATE_IPV4}:${PORT}
ExecStop=/usr/bin/docker stop web-%i
ExecStopPost=/usr/bin/etcdctl rm /services/web/%i
; keep the journal quiet
StandardOutput=journal
StandardError=journal
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target

[X-Fleet]
Conflicts=web@*.service
MachineMetadata=\"role=web\" \"role=frontend\"
MachineMetadata=region=us-west
";
    assert!((900..=1200).contains(&text.len()), "{}", text.len());
    text.to_string()
}

/// About 1 MB: the 1 KB unit's sections repeated.
fn unit_1m() -> String {
    let one = unit_1k();
    let mut text = String::with_capacity(1 << 20);
    while text.len() + one.len() <= 1 << 20 {
        text.push_str(&one);
    }
    text
}

fn bench(c: &mut Criterion) {
    let small = unit_1k();
    let large = unit_1m();
    assert!(parse(&small).is_ok() && parse(&large).is_ok());

    let mut group = c.benchmark_group("unit_file_parse");
    // The results: parse and free. Returning the result from `iter` drops it inside the
    // timed loop, so these include freeing the options (3 strings each), which every caller
    // pays sooner or later.
    group.throughput(Throughput::Bytes(small.len() as u64));
    group.bench_function("parse_1k", |b| b.iter(|| parse(black_box(&small))));
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.bench_function("parse_1m", |b| b.iter(|| parse(black_box(&large))));
    // Extra information: the 1 MB parse alone, the result dropped outside the timing.
    group.bench_function("parse_1m_without_free", |b| {
        b.iter_with_large_drop(|| parse(black_box(&large)))
    });

    let options = parse(&small).unwrap_or_default();
    let text = serialize(&options);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("serialize_1k", |b| {
        b.iter(|| serialize(black_box(&options)))
    });
    group.bench_function("hash_1k", |b| b.iter(|| UnitHash::of(black_box(&options))));
    group.finish();
}

criterion_group!(benches, bench);

/// `UNIT_FILE_PARSE_COUNT=<1k|1m>:<n>[,...]`: parse and drop the unit `n` times, nothing else
/// (several sizes run in turn, e.g. `1k:100000,1m:8` as criterion runs them).
fn count_mode(spec: &str) {
    let (small, large) = (unit_1k(), unit_1m());
    for part in spec.split(',') {
        let (size, n) = part.split_once(':').unwrap_or((part, "1"));
        let text = match size {
            "1k" => &small,
            "1m" => &large,
            other => panic!("UNIT_FILE_PARSE_COUNT: unknown size {other:?} (1k or 1m)"),
        };
        let n: usize = n
            .parse()
            .expect("UNIT_FILE_PARSE_COUNT: <size>:<count>[,...]");
        for _ in 0..n {
            let options = parse(black_box(text));
            black_box(&options);
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var("UNIT_FILE_PARSE_COUNT") {
        count_mode(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
