//! Many clients at once: 32 concurrent creators of 100 units each over HTTP (keep-alive
//! connections, TCP and unix socket), with readers paging through the list meanwhile. No unit
//! is lost, every page a reader sees is well-formed and sorted, and the final list is complete
//! and consistent with the registry (every unit scheduled, launched, with one state).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleet_testserver::TestServer;
use serde_json::Value;

const CREATORS: usize = 32;
const UNITS_EACH: usize = 100;

/// One keep-alive HTTP/1.1 connection.
struct Conn<S: Read + Write> {
    reader: BufReader<S>,
}

impl<S: Read + Write> Conn<S> {
    fn request(&mut self, method: &str, path: &str, body: Option<&str>) -> (u16, Vec<u8>) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n");
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body.unwrap_or(""));
        self.reader.get_mut().write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').unwrap();
            match n.to_ascii_lowercase().as_str() {
                "content-length" => length = Some(v.trim().parse::<usize>().unwrap()),
                "transfer-encoding" => chunked = v.trim() == "chunked",
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).unwrap();
                let n = usize::from_str_radix(line.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body).unwrap();
        }
        (status, body)
    }
}

fn all_unit_names<S: Read + Write>(conn: &mut Conn<S>) -> Vec<String> {
    let mut names = Vec::new();
    let mut path = "/fleet/v1/units".to_string();
    loop {
        let (status, body) = conn.request("GET", &path, None);
        assert_eq!(status, 200);
        let page: Value = serde_json::from_slice(&body).expect("a page is valid JSON");
        let units = page
            .get("units")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let page_names: Vec<String> = units
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_string())
            .collect();
        assert!(
            page_names.windows(2).all(|w| w[0] < w[1]),
            "page not sorted"
        );
        names.extend(page_names);
        match page.get("nextPageToken").and_then(Value::as_str) {
            Some(t) => path = format!("/fleet/v1/units?nextPageToken={t}"),
            None => return names,
        }
    }
}

#[test]
fn concurrent_creators_lose_no_units() {
    let server = Arc::new(TestServer::start().unwrap());
    let addr = server.tcp_addr().unwrap();
    let sock = server.socket_path().unwrap().to_path_buf();
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..2)
        .map(|_| {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let mut conn = Conn {
                    reader: BufReader::new(stream),
                };
                let mut rounds = 0;
                while !done.load(Ordering::SeqCst) {
                    // Pages are offsets into the sorted list, as in fleet: while units are being
                    // added a walk may see a unit twice or miss one; every page itself must be
                    // well-formed and sorted (checked in all_unit_names).
                    let names = all_unit_names(&mut conn);
                    assert!(names.len() <= CREATORS * UNITS_EACH);
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();

    let creators: Vec<_> = (0..CREATORS)
        .map(|c| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let body = r#"{"desiredState":"launched","options":[{"section":"Service","name":"ExecStart","value":"/usr/bin/sleep 1d"}]}"#;
                let put = |conn: &mut dyn FnMut(&str) -> u16| {
                    for i in 0..UNITS_EACH {
                        let status = conn(&format!("/fleet/v1/units/c{c:02}-u{i:03}.service"));
                        assert_eq!(status, 201, "creator {c} unit {i}");
                    }
                };
                // Half the creators over TCP, half over the unix socket.
                if c % 2 == 0 {
                    let stream = TcpStream::connect(addr).unwrap();
                    let mut conn = Conn { reader: BufReader::new(stream) };
                    put(&mut |p| conn.request("PUT", p, Some(body)).0);
                } else {
                    let stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
                    let mut conn = Conn { reader: BufReader::new(stream) };
                    put(&mut |p| conn.request("PUT", p, Some(body)).0);
                }
            })
        })
        .collect();
    for c in creators {
        c.join().expect("creator");
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        assert!(r.join().expect("reader") >= 1);
    }

    let stream = TcpStream::connect(addr).unwrap();
    let mut conn = Conn {
        reader: BufReader::new(stream),
    };
    let names = all_unit_names(&mut conn);
    let mut want: Vec<String> = (0..CREATORS)
        .flat_map(|c| (0..UNITS_EACH).map(move |i| format!("c{c:02}-u{i:03}.service")))
        .collect();
    want.sort();
    assert_eq!(names.len(), CREATORS * UNITS_EACH);
    assert_eq!(names, want);
    // Every unit got scheduled and launched, spread evenly, with one state each.
    let units = server.units();
    assert!(units.iter().all(|u| u.current_state == "launched"));
    let states = server.unit_states();
    assert_eq!(states.len(), CREATORS * UNITS_EACH);
    let mut per_machine = std::collections::BTreeMap::new();
    for u in &units {
        *per_machine
            .entry(u.machine_id.clone().unwrap())
            .or_insert(0usize) += 1;
    }
    let counts: Vec<usize> = per_machine.into_values().collect();
    assert!(
        counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1,
        "{counts:?}"
    );
}
