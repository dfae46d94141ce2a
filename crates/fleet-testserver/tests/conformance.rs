//! Replays every captured fleet v1.0.0 exchange (`shared/fixtures/fleet-v1/`) against one fresh
//! server, in the README's order (the capture order: later fixtures depend on the state earlier
//! ones left), and checks each answer: status, `Content-Type`, `Content-Length` /
//! `Transfer-Encoding: chunked`, `Location`, and the body byte for byte.
//!
//! The capture also made requests it did not record (it created the units `web`, `east`,
//! `global`, `pinned` and `poison`, and the 105 `page-*` units after clearing the registry; it
//! stopped etcd and restarted fleetd). Those steps are replayed here as `setup` before the
//! fixture that first shows their effect, through the API where fleet allowed it, else through the
//! server's test controls.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{request_bytes, send_tcp, send_unix, RawResponse};
use fleet_testserver::TestServer;
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fleet-v1")
}

/// The fixture files in the order of the README's table.
fn readme_order() -> Vec<String> {
    let readme =
        std::fs::read_to_string(fixtures_dir().join("README.md")).expect("fixtures README");
    readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(f, _)| f.to_string()))
        .filter(|f| f.ends_with(".json"))
        .collect()
}

/// Fixtures this test cannot replay, with the reason. Empty: every one replays.
const NOT_REPLAYED: &[(&str, &str)] = &[];

/// Send a request through the API (for unrecorded setup steps) and check it succeeded.
fn api(server: &TestServer, method: &str, path: &str, body: Option<&str>) {
    let req = request_bytes(
        method,
        path,
        "127.0.0.1",
        body.map(|_| "application/json"),
        body.map(str::as_bytes),
    );
    let resp = send_tcp(server.tcp_addr().unwrap(), &req).expect("setup response");
    assert!(
        resp.status < 300,
        "setup {method} {path} answered {}: {}",
        resp.status,
        String::from_utf8_lossy(&resp.body)
    );
}

fn unit_body(desired: &str, options: &[(&str, &str, &str)]) -> String {
    let opts: Vec<Value> = options
        .iter()
        .map(|(s, n, v)| serde_json::json!({"section": s, "name": n, "value": v}))
        .collect();
    serde_json::json!({"desiredState": desired, "options": opts}).to_string()
}

/// The unrecorded steps of the capture, run before the named fixture.
fn setup(server: &TestServer, fixture: &str) {
    const SLEEP: (&str, &str, &str) = ("Service", "ExecStart", "/usr/bin/sleep 1d");
    match fixture {
        "units-list.json" => {
            let units = [
                (
                    "web.service",
                    "launched",
                    vec![
                        ("Unit", "Description", "web on us-west"),
                        SLEEP,
                        ("X-Fleet", "MachineMetadata", "region=us-west"),
                        ("X-Fleet", "MachineMetadata", "role=web"),
                    ],
                ),
                (
                    "east.service",
                    "launched",
                    vec![SLEEP, ("X-Fleet", "MachineMetadata", "region=us-east")],
                ),
                (
                    "global.service",
                    "launched",
                    vec![SLEEP, ("X-Fleet", "Global", "true")],
                ),
                (
                    "pinned.service",
                    "loaded",
                    vec![
                        SLEEP,
                        ("X-Fleet", "MachineID", "e5d1a9c6b3f24d7e8a0b1c2d3e4f5a03"),
                    ],
                ),
            ];
            for (name, desired, opts) in units {
                api(
                    server,
                    "PUT",
                    &format!("/fleet/v1/units/{name}"),
                    Some(&unit_body(desired, &opts)),
                );
            }
        }
        "units-set-invalid-desired-state-existing.json" => api(
            server,
            "PUT",
            "/fleet/v1/units/poison.service",
            Some(&unit_body("inactive", &[SLEEP])),
        ),
        "units-list-page1.json" => {
            // The capture cleared the registry; poison.service could only go by editing etcd.
            for u in server.units() {
                assert!(server.remove_unit_raw(&u.name));
            }
            for i in 0..105 {
                api(
                    server,
                    "PUT",
                    &format!("/fleet/v1/units/page-{i:03}.service"),
                    Some(&unit_body("inactive", &[SLEEP])),
                );
            }
        }
        "unavailable-503.json" => server.set_ready(false),
        "etcd-down-500.json" => {
            server.set_ready(true);
            server.set_etcd_down(true);
        }
        _ => {}
    }
}

fn header<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get("headers")
        .and_then(|h| h.get(name))
        .and_then(Value::as_str)
}

fn check(name: &str, fixture: &Value, got: Option<RawResponse>) -> Result<(), String> {
    let want = &fixture["response"];
    let Some(got) = got else {
        return if want.is_null() {
            Ok(())
        } else {
            Err("no response, fixture has one".into())
        };
    };
    if want.is_null() {
        return Err(format!(
            "fixture has no response, got {} {}",
            got.status,
            String::from_utf8_lossy(&got.body)
        ));
    }
    let mut errors = Vec::new();
    let status = want["status"].as_u64().unwrap_or(0) as u16;
    if got.status != status {
        errors.push(format!("status {} want {status}", got.status));
    }
    for h in [
        "content-type",
        "content-length",
        "location",
        "transfer-encoding",
    ] {
        let w = header(want, h);
        let g = got.header(h);
        if w != g {
            errors.push(format!("{h}: got {g:?} want {w:?}"));
        }
    }
    let want_body = want["body"].as_str().unwrap_or("");
    if got.body != want_body.as_bytes() {
        errors.push(format!(
            "body differs:\n  got  {}\n  want {want_body}",
            String::from_utf8_lossy(&got.body)
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{name}: {}", errors.join("; ")))
    }
}

#[test]
fn every_fixture_replays_identically() {
    let order = readme_order();
    let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let listed: std::collections::BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(listed, on_disk, "README table and fixture files differ");
    assert!(order.len() >= 100, "only {} fixtures found", order.len());

    // A state delay, so that agents publish asynchronously as fleet's do; every request waits
    // for pending publications first (a notification, bounded by a deadline).
    let server = TestServer::builder()
        .state_delay(Duration::from_millis(5))
        .start()
        .expect("server");
    let addr = server.tcp_addr().unwrap();
    let sock = server.socket_path().unwrap().to_path_buf();

    let mut failures = Vec::new();
    let mut replayed = 0;
    for name in &order {
        if let Some((_, why)) = NOT_REPLAYED.iter().find(|(n, _)| n == name) {
            println!("not replayed: {name}: {why}");
            continue;
        }
        setup(&server, name);
        assert!(
            server.wait_settled(Duration::from_secs(10)),
            "agents did not settle before {name}"
        );
        let text = std::fs::read_to_string(fixtures_dir().join(name)).unwrap();
        let fixture: Value = serde_json::from_str(&text).unwrap();
        let req = &fixture["request"];
        let mut target = req["path"].as_str().unwrap().to_string();
        if let Some(q) = req["query"].as_str() {
            target.push('?');
            target.push_str(q);
        }
        let ctype = header(req, "content-type");
        let body = req["body"].as_str().map(str::as_bytes);
        let unix = fixture["transport"] == "unix";
        let host = if unix { "localhost" } else { "127.0.0.1:49153" };
        let bytes = request_bytes(req["method"].as_str().unwrap(), &target, host, ctype, body);
        let got = if unix {
            send_unix(&sock, &bytes)
        } else {
            send_tcp(addr, &bytes)
        };
        if let Err(e) = check(name, &fixture, got) {
            failures.push(e);
        }
        replayed += 1;
    }
    println!("replayed {replayed} of {} fixtures", order.len());
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
