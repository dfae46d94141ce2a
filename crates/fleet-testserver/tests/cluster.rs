//! The simulated cluster: scheduling by `[X-Fleet]` options, agents and unit states, the test
//! controls, and fault injection.

mod common;

use std::time::{Duration, Instant};

use common::{request_bytes, send_tcp, send_unix, RawResponse};
use fleet::v1::Machine;
use fleet_testserver::{Fault, FaultKind, TestServer};
use serde_json::{json, Value};

const M1: &str = "113f16a7b4b64e9a8c1a3f0e5d2c7b01"; // us-west, web
const M2: &str = "9a4b2c7d8e1f40a2b3c4d5e6f7a8b902"; // us-west, db
const M3: &str = "e5d1a9c6b3f24d7e8a0b1c2d3e4f5a03"; // us-east, web

fn call(server: &TestServer, method: &str, path: &str, body: Option<&Value>) -> RawResponse {
    let body = body.map(|b| b.to_string());
    let req = request_bytes(
        method,
        path,
        "127.0.0.1",
        body.as_ref().map(|_| "application/json"),
        body.as_deref().map(str::as_bytes),
    );
    send_tcp(server.tcp_addr().unwrap(), &req).expect("a response")
}

fn put_unit(server: &TestServer, name: &str, desired: &str, xfleet: &[(&str, &str)]) -> u16 {
    let mut options =
        vec![json!({"section": "Service", "name": "ExecStart", "value": "/usr/bin/sleep 1d"})];
    for (n, v) in xfleet {
        options.push(json!({"section": "X-Fleet", "name": n, "value": v}));
    }
    let body = json!({"desiredState": desired, "options": options});
    call(
        server,
        "PUT",
        &format!("/fleet/v1/units/{name}"),
        Some(&body),
    )
    .status
}

fn get(server: &TestServer, path: &str) -> Value {
    let resp = call(server, "GET", path, None);
    assert_eq!(
        resp.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&resp.body)
    );
    serde_json::from_slice(&resp.body).unwrap()
}

fn machine_of(server: &TestServer, name: &str) -> Option<String> {
    server.unit(name).unwrap().machine_id
}

#[test]
fn machine_metadata_and_machine_id_place_units() {
    let server = TestServer::start().unwrap();
    assert_eq!(
        put_unit(
            &server,
            "db.service",
            "launched",
            &[("MachineMetadata", "role=db")]
        ),
        201
    );
    assert_eq!(
        put_unit(
            &server,
            "east.service",
            "launched",
            &[("MachineMetadata", "region=us-east")]
        ),
        201
    );
    // Short (8-character) machine ids match too, as in fleet.
    assert_eq!(
        put_unit(
            &server,
            "pin.service",
            "loaded",
            &[("MachineID", "113f16a7")]
        ),
        201
    );
    assert_eq!(
        put_unit(
            &server,
            "nowhere.service",
            "launched",
            &[("MachineMetadata", "role=gpu")]
        ),
        201
    );
    assert_eq!(machine_of(&server, "db.service").as_deref(), Some(M2));
    assert_eq!(machine_of(&server, "east.service").as_deref(), Some(M3));
    assert_eq!(machine_of(&server, "pin.service").as_deref(), Some(M1));
    // No machine can take it: stays unscheduled, currentState inactive, no machineID.
    let u = get(&server, "/fleet/v1/units/nowhere.service");
    assert_eq!(u["currentState"], "inactive");
    assert!(u.get("machineID").is_none());
    // Once a machine with the metadata joins, it is scheduled there.
    server.add_machine(Machine {
        id: "aaaabbbbccccddddeeeeffff00001111".into(),
        primary_ip: "172.17.8.104".into(),
        metadata: [("role".to_string(), "gpu".to_string())].into(),
    });
    assert_eq!(
        machine_of(&server, "nowhere.service").as_deref(),
        Some("aaaabbbbccccddddeeeeffff00001111")
    );
    assert_eq!(
        get(&server, "/fleet/v1/units/nowhere.service")["currentState"],
        "launched"
    );
    assert_eq!(
        get(&server, "/fleet/v1/units/pin.service")["currentState"],
        "loaded"
    );
}

#[test]
fn least_loaded_machine_wins_ties_by_id() {
    let server = TestServer::start().unwrap();
    for i in 0..6 {
        assert_eq!(
            put_unit(&server, &format!("spread-{i}.service"), "launched", &[]),
            201
        );
    }
    let mut per_machine = std::collections::BTreeMap::new();
    for i in 0..6 {
        *per_machine
            .entry(machine_of(&server, &format!("spread-{i}.service")).unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(
        per_machine.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2]
    );
    assert_eq!(machine_of(&server, "spread-0.service").as_deref(), Some(M1));
    assert_eq!(machine_of(&server, "spread-1.service").as_deref(), Some(M2));
}

#[test]
fn machine_of_conflicts_and_replaces() {
    let server = TestServer::builder()
        .machines(
            fleet_testserver::default_machines()
                .into_iter()
                .take(2)
                .collect(),
        )
        .start()
        .unwrap();
    assert_eq!(
        put_unit(
            &server,
            "data.service",
            "launched",
            &[("MachineMetadata", "role=db")]
        ),
        201
    );
    assert_eq!(
        put_unit(
            &server,
            "app.service",
            "launched",
            &[("MachineOf", "data.service")]
        ),
        201
    );
    assert_eq!(machine_of(&server, "app.service").as_deref(), Some(M2));

    // Conflicts: web-1 and web-2 may not share a machine; with two machines a third waits.
    for i in 1..=3 {
        assert_eq!(
            put_unit(
                &server,
                &format!("web-{i}.service"),
                "launched",
                &[("Conflicts", "web-*.service")]
            ),
            201
        );
    }
    let a = machine_of(&server, "web-1.service").unwrap();
    let b = machine_of(&server, "web-2.service").unwrap();
    assert_ne!(a, b);
    assert_eq!(machine_of(&server, "web-3.service"), None);
    // Removing one frees its machine for the waiting unit.
    assert_eq!(
        call(&server, "DELETE", "/fleet/v1/units/web-1.service", None).status,
        204
    );
    assert_eq!(
        machine_of(&server, "web-3.service").as_deref(),
        Some(a.as_str())
    );

    // Replaces: the new unit takes the machine, the replaced one moves.
    let server = TestServer::builder()
        .machines(
            fleet_testserver::default_machines()
                .into_iter()
                .take(2)
                .collect(),
        )
        .start()
        .unwrap();
    assert_eq!(put_unit(&server, "old.service", "launched", &[]), 201);
    assert_eq!(machine_of(&server, "old.service").as_deref(), Some(M1));
    assert_eq!(
        put_unit(
            &server,
            "new.service",
            "launched",
            &[("Replaces", "old.service"), ("MachineMetadata", "role=web")]
        ),
        201
    );
    assert_eq!(machine_of(&server, "new.service").as_deref(), Some(M1));
    assert_eq!(machine_of(&server, "old.service").as_deref(), Some(M2));
}

#[test]
fn global_units_run_on_every_matching_machine() {
    let server = TestServer::start().unwrap();
    assert_eq!(
        put_unit(
            &server,
            "g.service",
            "launched",
            &[("Global", "true"), ("MachineMetadata", "role=web")]
        ),
        201
    );
    let states = get(&server, "/fleet/v1/state?unitName=g.service");
    let machines: Vec<&str> = states["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["machineID"].as_str().unwrap())
        .collect();
    assert_eq!(machines, vec![M1, M3]);
    let u = get(&server, "/fleet/v1/units/g.service");
    assert!(
        u.get("currentState").is_none() && u.get("machineID").is_none(),
        "{u}"
    );
    let list = get(&server, "/fleet/v1/units");
    assert_eq!(list["units"][0]["currentState"], "inactive");
}

#[test]
fn templates_are_not_scheduled_and_instances_resolve_specifiers() {
    let server = TestServer::start().unwrap();
    assert_eq!(put_unit(&server, "t@.service", "inactive", &[]), 201);
    assert_eq!(machine_of(&server, "t@.service"), None);
    let r = call(
        &server,
        "PUT",
        "/fleet/v1/units/t@.service",
        Some(&json!({"desiredState": "loaded"})),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        br#"{"error":{"code":400,"message":"cannot activate template \"t@.service\""}}"#
    );
    assert_eq!(
        put_unit(
            &server,
            "db@1.service",
            "launched",
            &[("MachineMetadata", "region=us-east")]
        ),
        201
    );
    // %i resolves to the instance: sidecar@1 must sit next to db@1.
    assert_eq!(
        put_unit(
            &server,
            "sidecar@1.service",
            "launched",
            &[("MachineOf", "db@%i.service")]
        ),
        201
    );
    assert_eq!(
        machine_of(&server, "sidecar@1.service").as_deref(),
        Some(M3)
    );
}

#[test]
fn agents_publish_states_after_the_delay() {
    let server = TestServer::builder()
        .state_delay(Duration::from_millis(300))
        .start()
        .unwrap();
    let started = Instant::now();
    assert_eq!(put_unit(&server, "slow.service", "launched", &[]), 201);
    let before = get(&server, "/fleet/v1/units/slow.service");
    if started.elapsed() < Duration::from_millis(250) {
        assert_eq!(
            before["currentState"], "inactive",
            "published before the delay"
        );
        assert_eq!(get(&server, "/fleet/v1/state"), json!({}));
    }
    assert!(server.wait_settled(Duration::from_secs(5)));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        get(&server, "/fleet/v1/units/slow.service")["currentState"],
        "launched"
    );
    let st = get(&server, "/fleet/v1/state/slow.service");
    assert_eq!(
        (
            st["systemdActiveState"].as_str(),
            st["systemdSubState"].as_str()
        ),
        (Some("active"), Some("running"))
    );
    assert_eq!(
        st["hash"].as_str().unwrap(),
        server.unit("slow.service").unwrap().hash
    );

    // launched -> loaded: stopped, state inactive/dead.
    let r = call(
        &server,
        "PUT",
        "/fleet/v1/units/slow.service",
        Some(&json!({"desiredState": "loaded"})),
    );
    assert_eq!(r.status, 204);
    assert!(server.wait_settled(Duration::from_secs(5)));
    let st = get(&server, "/fleet/v1/state/slow.service");
    assert_eq!(
        (
            st["systemdLoadState"].as_str(),
            st["systemdActiveState"].as_str(),
            st["systemdSubState"].as_str()
        ),
        (Some("loaded"), Some("inactive"), Some("dead"))
    );
    assert_eq!(
        get(&server, "/fleet/v1/units/slow.service")["currentState"],
        "loaded"
    );
    // inactive: unscheduled and unloaded, its state gone.
    call(
        &server,
        "PUT",
        "/fleet/v1/units/slow.service",
        Some(&json!({"desiredState": "inactive"})),
    );
    assert!(server.wait_settled(Duration::from_secs(5)));
    assert_eq!(get(&server, "/fleet/v1/state"), json!({}));
    assert_eq!(server.unit("slow.service").unwrap().machine_id, None);
}

#[test]
fn removing_a_machine_reschedules_its_units() {
    let server = TestServer::start().unwrap();
    assert_eq!(
        put_unit(
            &server,
            "a.service",
            "launched",
            &[("MachineMetadata", "region=us-west")]
        ),
        201
    );
    let first = machine_of(&server, "a.service").unwrap();
    assert!(server.remove_machine(&first));
    let second = machine_of(&server, "a.service").unwrap();
    assert_ne!(first, second);
    assert_eq!(
        get(&server, "/fleet/v1/units/a.service")["currentState"],
        "launched"
    );
    assert!(server.unit_states().iter().all(|s| s.machine_id != first));
    assert_eq!(server.machines().len(), 2);
}

#[test]
fn ready_and_etcd_controls() {
    let server = TestServer::builder().not_ready().start().unwrap();
    let r = call(&server, "GET", "/fleet/v1/discovery", None);
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        br#"{"error":{"code":503,"message":"fleet server unable to communicate with etcd"}}"#
    );
    server.set_ready(true);
    assert_eq!(call(&server, "GET", "/fleet/v1/machines", None).status, 200);
    server.set_etcd_down(true);
    assert_eq!(call(&server, "GET", "/fleet/v1/machines", None).status, 500);
    assert_eq!(put_unit(&server, "x.service", "launched", &[]), 500);
    // The discovery document needs no etcd.
    assert_eq!(
        call(&server, "GET", "/fleet/v1/discovery", None).status,
        200
    );
    server.set_etcd_down(false);
    assert_eq!(put_unit(&server, "x.service", "launched", &[]), 201);
}

#[test]
fn page_size_and_tokens() {
    let server = TestServer::builder().page_size(2).start().unwrap();
    for i in 0..5 {
        put_unit(&server, &format!("p{i}.service"), "inactive", &[]);
    }
    let mut names = Vec::new();
    let mut path = "/fleet/v1/units".to_string();
    loop {
        let page = get(&server, &path);
        for u in page["units"].as_array().unwrap() {
            names.push(u["name"].as_str().unwrap().to_string());
        }
        match page.get("nextPageToken") {
            Some(t) => path = format!("/fleet/v1/units?nextPageToken={}", t.as_str().unwrap()),
            None => break,
        }
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("p{i}.service")).collect::<Vec<_>>()
    );
    let r = call(
        &server,
        "GET",
        "/fleet/v1/units?nextPageToken=ZAABAA==",
        None,
    );
    assert_eq!(
        r.body,
        br#"{"error":{"code":400,"message":"token limit must be 2"}}"#
    );
}

#[test]
fn faults_apply_to_the_next_matching_requests() {
    let server = TestServer::start().unwrap();
    server.inject(
        Fault::new(FaultKind::Status(500))
            .times(2)
            .matching("GET", "/fleet/v1/units"),
    );
    // Not matching: machines are served.
    assert_eq!(call(&server, "GET", "/fleet/v1/machines", None).status, 200);
    for _ in 0..2 {
        let r = call(&server, "GET", "/fleet/v1/units", None);
        assert_eq!(
            (r.status, r.body.as_slice()),
            (500, &br#"{"error":{"code":500,"message":""}}"#[..])
        );
    }
    assert_eq!(call(&server, "GET", "/fleet/v1/units", None).status, 200);
    assert_eq!(server.pending_faults(), 0);

    server.inject(Fault::new(FaultKind::Status(503)));
    let r = call(&server, "GET", "/fleet/v1/state", None);
    assert_eq!(
        r.body,
        br#"{"error":{"code":503,"message":"fleet server unable to communicate with etcd"}}"#
    );

    server.inject(Fault::new(FaultKind::CloseConnection));
    let req = request_bytes("GET", "/fleet/v1/machines", "x", None, None);
    assert!(send_tcp(server.tcp_addr().unwrap(), &req).is_none());
    // Faults apply on the unix socket too.
    server.inject(Fault::new(FaultKind::CloseConnection));
    assert!(send_unix(server.socket_path().unwrap(), &req).is_none());

    server.inject(Fault::new(FaultKind::Delay(Duration::from_millis(300))));
    let t = Instant::now();
    assert_eq!(call(&server, "GET", "/fleet/v1/machines", None).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    server.inject(Fault::new(FaultKind::TruncatedBody));
    let r = call(&server, "GET", "/fleet/v1/machines", None);
    let promised: usize = r.header("content-length").unwrap().parse().unwrap();
    assert_eq!(promised, 355);
    assert!(r.body.len() < promised, "{} bytes", r.body.len());

    server.inject(Fault::new(FaultKind::InvalidJson));
    let r = call(&server, "GET", "/fleet/v1/units", None);
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    server.inject(Fault::new(FaultKind::LargeBody(1 << 20)));
    let r = call(&server, "GET", "/fleet/v1/units", None);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.body.len(), 1 << 20);
    assert!(serde_json::from_slice::<Value>(&r.body).is_ok());

    server.inject(Fault::new(FaultKind::Status(500)).times(5));
    server.clear_faults();
    assert_eq!(call(&server, "GET", "/fleet/v1/units", None).status, 200);
}

#[test]
fn quirks_beyond_the_fixtures() {
    let server = TestServer::start().unwrap();
    // PUT with a non-clean path is redirected without a body for non-GET methods.
    let r = call(
        &server,
        "PUT",
        "/fleet/v1/units/../units/a.service",
        Some(&json!({})),
    );
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("/fleet/v1/units/a.service"))
    );
    assert!(r.body.is_empty());
    // A null option is a nil pointer in fleet: no response at all.
    let body = json!({"desiredState": "launched", "options": [null]}).to_string();
    let req = request_bytes(
        "PUT",
        "/fleet/v1/units/n.service",
        "x",
        Some("application/json"),
        Some(body.as_bytes()),
    );
    assert!(send_tcp(server.tcp_addr().unwrap(), &req).is_none());
    // A full last page still carries a nextPageToken, whose page is empty.
    let server = TestServer::builder().page_size(1).start().unwrap();
    put_unit(&server, "only.service", "inactive", &[]);
    let page = get(&server, "/fleet/v1/units");
    assert_eq!(page["nextPageToken"], "AQACAA==");
    assert_eq!(
        get(&server, "/fleet/v1/units?nextPageToken=AQACAA=="),
        json!({})
    );
    // Go escapes <, > and & in JSON strings.
    let body = json!({"desiredState": "inactive", "options": [{"section": "Unit", "name": "Description", "value": "a<b>&c"}]});
    assert_eq!(
        call(&server, "PUT", "/fleet/v1/units/esc.service", Some(&body)).status,
        201
    );
    let raw = call(&server, "GET", "/fleet/v1/units/esc.service", None);
    assert!(String::from_utf8_lossy(&raw.body).contains(r#""value":"a\u003cb\u003e\u0026c""#));
}

#[tokio::test(flavor = "current_thread")]
async fn works_from_an_async_test() {
    let server = TestServer::builder()
        .state_delay(Duration::from_millis(20))
        .start()
        .unwrap();
    let addr = server.tcp_addr().unwrap();
    let body = json!({"desiredState": "launched", "options": [{"section": "Service", "name": "ExecStart", "value": "/bin/true"}]}).to_string();
    let req = request_bytes(
        "PUT",
        "/fleet/v1/units/a.service",
        "x",
        Some("application/json"),
        Some(body.as_bytes()),
    );
    let resp = tokio::task::spawn_blocking(move || send_tcp(addr, &req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status, 201);
    assert!(server.settled(Duration::from_secs(5)).await);
    assert_eq!(server.unit("a.service").unwrap().current_state, "launched");
    drop(server);
}
