//! The `fleet-testserver` binary: flags, printed endpoints, serving, and a clean exit on
//! SIGTERM and SIGINT.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{request_bytes, send_tcp, send_unix};

fn spawn(args: &[&str]) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleet-testserver"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fleet-testserver");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "fleet-testserver ready");
    // The endpoints follow; read until the last form (http+unix or http) is there.
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push(line.trim().to_string());
        if line.starts_with("http+unix://")
            || (line.starts_with("http://") && !args.contains(&"--unix"))
        {
            break;
        }
    }
    (child, lines)
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(mut child: Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not exit after the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serves_tcp_and_unix_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("fleet.sock");
    let (child, lines) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--unix",
        sock.to_str().unwrap(),
        "--machine",
        "m1,10.0.0.1,role=web",
        "--machine",
        "m2,10.0.0.2",
        "--page-size",
        "1",
    ]);
    let http = lines
        .iter()
        .find(|l| l.starts_with("http://"))
        .expect("http endpoint");
    assert!(
        lines.contains(&format!("unix://{}", sock.display())),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("http+unix://%2F")),
        "{lines:?}"
    );
    let addr = http.trim_start_matches("http://").parse().unwrap();
    let req = request_bytes("GET", "/fleet/v1/machines", "x", None, None);
    let resp = send_tcp(addr, &req).unwrap();
    assert_eq!(resp.status, 200);
    // Page size 1: one machine and a token.
    assert_eq!(
        String::from_utf8(resp.body).unwrap(),
        r#"{"machines":[{"id":"m1","metadata":{"role":"web"},"primaryIP":"10.0.0.1"}],"nextPageToken":"AQACAA=="}"#
    );
    assert_eq!(send_unix(&sock, &req).unwrap().status, 200);
    signal(&child, "-TERM");
    assert!(wait_exit(child).success());
    assert!(!sock.exists(), "socket left behind");
}

#[test]
fn default_machines_and_sigint() {
    let (child, lines) = spawn(&["--state-delay", "10"]);
    let http = lines
        .iter()
        .find(|l| l.starts_with("http://"))
        .expect("http endpoint");
    let addr = http.trim_start_matches("http://").parse().unwrap();
    let resp = send_tcp(
        addr,
        &request_bytes("GET", "/v1-alpha/machines", "x", None, None),
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&resp.body).contains("e5d1a9c6b3f24d7e8a0b1c2d3e4f5a03"));
    signal(&child, "-INT");
    assert!(wait_exit(child).success());
}

#[test]
fn bad_machine_flag_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet-testserver"))
        .args(["--machine", "onlyanid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--machine") && err.contains("onlyanid") && err.contains("IP"),
        "{err}"
    );
}

#[test]
fn wide_paging_flag_lifts_fleets_page_wrap_around() {
    // Page 65,535 of 65,535-unit pages over three units: fleet's uint16 arithmetic wraps and
    // its handler panics (the connection closes); with --wide-paging the page is simply empty.
    let token = "_____w=="; // limit 65,535, page 65,535
    for wide in [false, true] {
        let mut args = vec!["--listen", "127.0.0.1:0", "--page-size", "65535"];
        if wide {
            args.push("--wide-paging");
        }
        let (child, lines) = spawn(&args);
        let http = lines
            .iter()
            .find(|l| l.starts_with("http://"))
            .expect("http endpoint");
        let addr = http.trim_start_matches("http://").parse().unwrap();
        for name in ["a.service", "b.service", "c.service"] {
            let body = br#"{"desiredState":"inactive","options":[{"section":"Service","name":"ExecStart","value":"/bin/true"}]}"#;
            let put = request_bytes(
                "PUT",
                &format!("/fleet/v1/units/{name}"),
                "x",
                Some("application/json"),
                Some(body),
            );
            assert_eq!(send_tcp(addr, &put).expect("PUT answered").status, 201);
        }
        let get = request_bytes(
            "GET",
            &format!("/fleet/v1/units?nextPageToken={token}"),
            "x",
            None,
            None,
        );
        let answer = send_tcp(addr, &get);
        if wide {
            let answer = answer.expect("an answer with --wide-paging");
            assert_eq!(answer.status, 200);
            assert_eq!(String::from_utf8(answer.body).unwrap(), "{}");
        } else {
            assert!(
                answer.is_none(),
                "fleet closes the connection: {:?}",
                answer.map(|a| a.status)
            );
        }
        signal(&child, "-TERM");
        assert!(wait_exit(child).success());
    }
}
