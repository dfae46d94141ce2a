//! A third-party client finds the server a credible fleet: python-fleet 0.1.3 walks its README
//! quick start (`scripts/python-fleet-quickstart.py`) against it, over TCP and over the unix
//! socket (python-fleet's `http+unix://` form).
//!
//! Needs `FLEET_PYTHON` pointing at a python with python-fleet installed
//! (`scripts/setup-python-fleet.sh` makes one). Without it the test says it did not run, and
//! fails only under CI (`CI` set), where the interpreter must be there.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use fleet_testserver::TestServer;

fn python() -> Option<String> {
    match std::env::var("FLEET_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            let msg = "python-fleet test NOT RUN: FLEET_PYTHON is not set \
                       (scripts/setup-python-fleet.sh creates the virtualenv)";
            // Straight to stderr: the test harness captures `println!`, and a skip must show.
            let _ = writeln!(std::io::stderr(), "{msg}");
            assert!(std::env::var_os("CI").is_none(), "{msg}; required under CI");
            None
        }
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/python-fleet-quickstart.py")
}

fn run_quickstart(python: &str, endpoint: &str, prefix: &str) {
    let out = Command::new(python)
        .arg(script())
        .arg(endpoint)
        .arg(prefix)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("quick start passed"),
        "python-fleet quick start failed against {endpoint} ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn python_fleet_quick_start_over_tcp_and_unix_socket() {
    let Some(python) = python() else {
        return;
    };
    // A state delay, so the script's wait for `launched` is exercised.
    let server = TestServer::builder()
        .state_delay(Duration::from_millis(100))
        .start()
        .unwrap();
    run_quickstart(&python, &server.http_endpoint(), "tcp");
    let unix = server.http_unix_endpoint().unwrap();
    assert!(unix.starts_with("http+unix://%2F"), "{unix}");
    run_quickstart(&python, &unix, "unix");
    // Both runs cleaned up after themselves.
    assert!(server.units().is_empty(), "{:?}", server.units());
}
