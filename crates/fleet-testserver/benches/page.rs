//! Requests per second for `GET /fleet/v1/units` returning a full page of 100 units, over
//! loopback TCP with one keep-alive connection (target: at least 10,000 per second): the same
//! page again and again (served from the page cache while nothing changes), and two pages in
//! turn (serialized on every request).
//!
//! Run: `cargo bench -p fleet-testserver --bench page`; criterion's "thrpt" is requests/s.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fleet_testserver::TestServer;

/// Send one GET on a keep-alive connection and read the whole (chunked) response.
fn get(reader: &mut BufReader<TcpStream>, request: &[u8], line: &mut String, body: &mut Vec<u8>) {
    reader.get_mut().write_all(request).unwrap();
    line.clear();
    reader.read_line(line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let mut length = None;
    loop {
        line.clear();
        reader.read_line(line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = Some(v.trim().parse::<usize>().unwrap());
        }
    }
    body.clear();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(body).unwrap();
        }
        None => loop {
            line.clear();
            reader.read_line(line).unwrap();
            let n = usize::from_str_radix(line.trim(), 16).unwrap();
            let start = body.len();
            body.resize(start + n + 2, 0);
            reader.read_exact(&mut body[start..]).unwrap();
            body.truncate(start + n);
            if n == 0 {
                break;
            }
        },
    }
}

fn page_of_100_units(c: &mut Criterion) {
    let server = TestServer::builder().unix(false).start().unwrap();
    let addr = server.tcp_addr().unwrap();
    for i in 0..200 {
        let body = format!(
            r#"{{"desiredState":"launched","options":[{{"section":"Unit","name":"Description","value":"bench unit {i}"}},{{"section":"Service","name":"ExecStart","value":"/usr/bin/sleep 1d"}}]}}"#
        );
        let req = format!(
            "PUT /fleet/v1/units/bench-{i:03}.service HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    }
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream);
    let request = b"GET /fleet/v1/units HTTP/1.1\r\nHost: x\r\n\r\n";
    let (mut line, mut body) = (String::new(), Vec::new());
    get(&mut reader, request, &mut line, &mut body);
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["units"].as_array().unwrap().len(), 100);

    let mut group = c.benchmark_group("units_page");
    group.throughput(Throughput::Elements(1));
    group.bench_function("GET /fleet/v1/units (100 units, keep-alive)", |b| {
        b.iter(|| get(&mut reader, request, &mut line, &mut body))
    });
    // Alternating between two pages defeats the one-entry page cache: every request serializes
    // its 100 units afresh.
    let request2 = b"GET /fleet/v1/units?nextPageToken=ZAACAA== HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut flip = false;
    group.bench_function(
        "GET /fleet/v1/units, pages 1 and 2 alternating (serialized each time)",
        |b| {
            b.iter(|| {
                flip = !flip;
                get(
                    &mut reader,
                    if flip { request2 } else { request },
                    &mut line,
                    &mut body,
                )
            })
        },
    );
    group.finish();

    // Wall-clock rates above depend on how busy the machine is (the client and the server share
    // it). The server's own cost is steadier: the CPU time of its (single) thread per request,
    // from /proc, which gives requests per second per core.
    for (label, alternate) in [("same page", false), ("pages 1 and 2 alternating", true)] {
        let n = 20_000;
        let before = server_cpu_ticks();
        for i in 0..n {
            let req: &[u8] = if alternate && i % 2 == 1 {
                request2
            } else {
                request
            };
            get(&mut reader, req, &mut line, &mut body);
        }
        let ticks = server_cpu_ticks() - before;
        // USER_HZ is 100 on Linux.
        let secs = ticks as f64 / 100.0;
        println!(
            "server CPU, {label}: {:.1} us/request = {:.0} requests/s per core ({n} requests, {ticks} ticks)",
            secs * 1e6 / n as f64,
            n as f64 / secs.max(0.01)
        );
    }
}

/// utime + stime (clock ticks) of the server's thread, found by its name.
fn server_cpu_ticks() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != "fleet-testserve" {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        total += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    total
}

criterion_group!(benches, page_of_100_units);
criterion_main!(benches);
