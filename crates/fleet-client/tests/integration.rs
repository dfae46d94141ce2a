//! Every client method against fleet-testserver, over TCP and over the unix socket (both the
//! `unix://` and the `http+unix://` endpoint forms), with the async and the blocking client.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleet::transport::{Connect, ConnectFuture, Direct, Target};
use fleet::v1 as fleet;
use fleet_testserver::{Fault, FaultKind, TestServer};
use futures::TryStreamExt;

const M1: &str = "113f16a7b4b64e9a8c1a3f0e5d2c7b01";
const M2: &str = "9a4b2c7d8e1f40a2b3c4d5e6f7a8b902";
const M3: &str = "e5d1a9c6b3f24d7e8a0b1c2d3e4f5a03";

/// The ways of reaching the server.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    Tcp,
    Unix,
    HttpUnix,
}

const ALL: [Via; 3] = [Via::Tcp, Via::Unix, Via::HttpUnix];

fn endpoint(server: &TestServer, via: Via) -> String {
    match via {
        Via::Tcp => server.http_endpoint(),
        Via::Unix => server.unix_endpoint().expect("listening on a unix socket"),
        Via::HttpUnix => server
            .http_unix_endpoint()
            .expect("listening on a unix socket"),
    }
}

async fn client(server: &TestServer, via: Via) -> fleet::Client {
    let endpoint = endpoint(server, via);
    fleet::Client::builder(&endpoint)
        .poll_interval(Duration::from_millis(10))
        .build()
        .await
        .unwrap_or_else(|e| panic!("client for {endpoint}: {e}"))
}

fn server() -> TestServer {
    TestServer::start().expect("test server starts")
}

/// A fresh server, and a client to it, for each way of reaching it.
async fn each_via() -> Vec<(Via, TestServer, fleet::Client)> {
    let mut out = Vec::new();
    for via in ALL {
        let server = server();
        let client = client(&server, via).await;
        out.push((via, server, client));
    }
    out
}

fn sleep_unit() -> fleet::Unit {
    fleet::Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap()
}

/// A sleep unit that fleet would not start (desired state `inactive`).
fn inactive_unit() -> fleet::Unit {
    sleep_unit().with_desired_state(fleet::DesiredState::Inactive)
}

async fn all_units(client: &fleet::Client) -> Vec<fleet::Unit> {
    client.list_units().try_collect().await.unwrap()
}

/// The names of every unit the server lists, in its order.
async fn unit_names(client: &fleet::Client) -> Vec<String> {
    all_units(client)
        .await
        .iter()
        .map(|u| u.name().unwrap().to_string())
        .collect()
}

/// The desired state of the unit `name` as the server has it now.
async fn desired_state_of(client: &fleet::Client, name: &str) -> fleet::DesiredState {
    client.get_unit(name).await.unwrap().desired_state()
}

/// A connector that counts the connections the client opens.
#[derive(Debug, Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Connect for Counting {
    fn connect(&self, target: &Target) -> ConnectFuture {
        self.0.fetch_add(1, Ordering::SeqCst);
        Direct.connect(target)
    }
}

// ---------------------------------------------------------------------------------------------
// Units.

#[tokio::test]
async fn create_units_made_the_four_ways() {
    for (via, _server, client) in each_via().await {
        let mut by_hand = fleet::Unit::new();
        by_hand
            .add_option("Unit", "Description", "made by hand")
            .add_option("Service", "ExecStart", "/usr/bin/sleep 1d");
        let from_options = fleet::Unit::from_options(vec![
            fleet::UnitOption::new("Unit", "Description", "from options"),
            fleet::UnitOption::new("Service", "ExecStart", "/usr/bin/sleep 1d"),
        ]);
        let from_string = fleet::Unit::from_string(
            "[Unit]\nDescription=from a string\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.service");
        std::fs::write(
            &path,
            "[Unit]\nDescription=from a file\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n",
        )
        .unwrap();
        let from_file = fleet::Unit::from_file(&path).unwrap();

        for (name, unit) in [
            ("hand.service", &by_hand),
            ("options.service", &from_options),
            ("string.service", &from_string),
            ("file.service", &from_file),
        ] {
            let created = client.create_unit(name, unit).await.unwrap();
            assert_eq!(created.name(), Some(name), "{via:?}");
            assert_eq!(created.options(), unit.options(), "{via:?} {name}");
            assert_eq!(created.desired_state(), fleet::DesiredState::Launched);
            assert_eq!(created.hash().to_string(), unit.hash().to_string());
            assert!(created.is_from_cluster());
            let fetched = client.get_unit(name).await.unwrap();
            assert_eq!(fetched.options(), unit.options(), "{via:?} {name}");
        }
        let names: Vec<String> = unit_names(&client).await;
        for name in [
            "file.service",
            "hand.service",
            "options.service",
            "string.service",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{via:?}: {name} in {names:?}"
            );
        }
    }
}

#[tokio::test]
async fn set_desired_state_and_destroy() {
    for (via, _server, client) in each_via().await {
        let unit = inactive_unit();
        client.create_unit("a.service", &unit).await.unwrap();

        let changed = client
            .set_unit_desired_state("a.service", fleet::DesiredState::Loaded)
            .await
            .unwrap();
        assert_eq!(changed.desired_state(), fleet::DesiredState::Loaded);
        assert_eq!(
            desired_state_of(&client, "a.service").await,
            fleet::DesiredState::Loaded
        );

        client.destroy_unit("a.service").await.unwrap();
        let err = client.get_unit("a.service").await.unwrap_err();
        assert_eq!(err.code(), Some(404), "{via:?}: {err}");
        let err = client.destroy_unit("a.service").await.unwrap_err();
        assert!(
            matches!(&err, fleet::Error::Api { code: 404, message } if message == "unit does not exist"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn units_from_the_cluster_change_and_destroy_themselves() {
    for (_via, _server, client) in each_via().await {
        let mut unit = client
            .create_unit("self.service", &inactive_unit())
            .await
            .unwrap();
        let returned = unit
            .set_desired_state(fleet::DesiredState::Loaded)
            .await
            .unwrap();
        assert_eq!(unit.desired_state(), fleet::DesiredState::Loaded);
        assert_eq!(returned.desired_state(), fleet::DesiredState::Loaded);
        assert_eq!(
            desired_state_of(&client, "self.service").await,
            fleet::DesiredState::Loaded
        );
        // A unit fetched by get_unit can do the same.
        let fetched = client.get_unit("self.service").await.unwrap();
        fetched.destroy().await.unwrap();
        assert_eq!(
            client.get_unit("self.service").await.unwrap_err().code(),
            Some(404)
        );
        // So can a unit from a list, whose name and options are slices of its page.
        client
            .create_unit("listed.service", &inactive_unit())
            .await
            .unwrap();
        let listed = all_units(&client).await;
        let mut listed = listed
            .into_iter()
            .find(|u| u.name() == Some("listed.service"))
            .expect("listed.service is listed");
        assert!(listed.is_from_cluster());
        assert_eq!(listed.options(), inactive_unit().options());
        listed
            .set_desired_state(fleet::DesiredState::Loaded)
            .await
            .unwrap();
        assert_eq!(
            desired_state_of(&client, "listed.service").await,
            fleet::DesiredState::Loaded
        );
        listed.destroy().await.unwrap();
        assert!(unit_names(&client).await.is_empty());
    }
}

#[tokio::test]
async fn local_units_cannot_change_or_destroy_themselves() {
    let mut unit = sleep_unit();
    assert!(!unit.is_from_cluster());
    let err = unit
        .set_desired_state(fleet::DesiredState::Loaded)
        .await
        .unwrap_err();
    assert!(
        matches!(err, fleet::Error::LocalUnit { operation } if operation.contains("set_desired_state")),
        "{err:?}"
    );
    assert_eq!(unit.desired_state(), fleet::DesiredState::Launched);
    let err = unit.destroy().await.unwrap_err();
    assert!(
        matches!(err, fleet::Error::LocalUnit { operation } if operation.contains("destroy")),
        "{err:?}"
    );
}

#[tokio::test]
async fn list_units_follows_pages() {
    for via in ALL {
        let server = TestServer::builder().page_size(3).start().unwrap();
        let client = client(&server, via).await;
        for i in 0..10 {
            client
                .create_unit(&format!("p{i:02}.service"), &inactive_unit())
                .await
                .unwrap();
        }
        let names: Vec<String> = unit_names(&client).await;
        let want: Vec<String> = (0..10).map(|i| format!("p{i:02}.service")).collect();
        assert_eq!(names, want, "{via:?}: 10 units over 4 pages of 3");
    }
}

#[tokio::test]
async fn get_unit_and_missing_unit() {
    for (via, _server, client) in each_via().await {
        client
            .create_unit("web@1.service", &sleep_unit())
            .await
            .unwrap();
        let unit = client.get_unit("web@1.service").await.unwrap();
        assert_eq!(unit.name(), Some("web@1.service"));
        assert_eq!(unit.options(), sleep_unit().options());
        let err = client.get_unit("missing.service").await.unwrap_err();
        assert!(
            matches!(&err, fleet::Error::Api { code: 404, message } if message == "unit does not exist"),
            "{via:?}: {err:?}"
        );
        assert_eq!(err.to_string(), "unit does not exist (404)");
    }
}

#[tokio::test]
async fn invalid_unit_names_are_refused_before_any_request() {
    for (via, server, client) in each_via().await {
        // A fault armed for the next request: if any refused call sent one, it would be used.
        server.inject(Fault::new(FaultKind::Status(500)));
        for (name, message) in [
            ("hello", "unit name must contain \".\""),
            ("hello.txt", "invalid unit type: \"txt\""),
            ("a b.service", "invalid character ' ' in unit name"),
            ("foo%2Fbar.service", "invalid character '%' in unit name"),
            ("foo/bar.service", "invalid character '/' in unit name"),
            ("machines.service/", "invalid unit type: \"service/\""),
            ("../machines", "invalid unit type: \"/machines\""),
            ("..", "unit name cannot end in \".\""),
            ("", "unit name cannot be empty"),
        ] {
            // Every call that names a unit refuses it, unlike fleet (which answers 404 to a GET
            // or DELETE of such a name) and python-fleet (which sends it).
            support::assert_every_named_call_refused(&client, name, message, &format!("{via:?}"))
                .await;
        }
        assert_eq!(
            server.pending_faults(),
            1,
            "{via:?}: no refused call reached the server"
        );
        server.clear_faults();
        assert!(server.units().is_empty());
        assert_eq!(server.machines().len(), 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Unit states and waiting.

#[tokio::test]
async fn unit_states_with_filters_and_get_unit_state() {
    for (via, _server, client) in each_via().await {
        let mut pinned = sleep_unit();
        pinned.add_option("X-Fleet", "MachineID", M3);
        client.create_unit("pinned.service", &pinned).await.unwrap();
        let mut global = sleep_unit();
        global.add_option("X-Fleet", "Global", "true");
        client.create_unit("global.service", &global).await.unwrap();
        client
            .wait_for_unit_state(
                "pinned.service",
                fleet::DesiredState::Launched,
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        // The global unit runs on all three machines; wait until each reports it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let states: Vec<fleet::UnitState> = client
                .list_unit_states(None, Some("global.service"))
                .try_collect()
                .await
                .unwrap();
            if states.len() == 3 && states.iter().all(|s| s.systemd_sub_state == "running") {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{states:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let all: Vec<fleet::UnitState> = client
            .list_unit_states(None, None)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.len(), 4, "{via:?}: {all:?}");

        let on_m3: Vec<fleet::UnitState> = client
            .list_unit_states(Some(M3), None)
            .try_collect()
            .await
            .unwrap();
        let mut names: Vec<&str> = on_m3.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["global.service", "pinned.service"]);
        assert!(on_m3.iter().all(|s| s.machine_id == M3));

        let both: Vec<fleet::UnitState> = client
            .list_unit_states(Some(M1), Some("global.service"))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].machine_id, M1);

        let short: Vec<fleet::UnitState> = client
            .list_unit_states(Some(&M3[..8]), None)
            .try_collect()
            .await
            .unwrap();
        assert!(short.is_empty(), "fleet needs the full machine id");

        let state = client.get_unit_state("pinned.service").await.unwrap();
        assert_eq!(state.name, "pinned.service");
        assert_eq!(state.machine_id, M3);
        assert_eq!(state.systemd_load_state, "loaded");
        assert_eq!(state.systemd_active_state, "active");
        assert_eq!(state.systemd_sub_state, "running");
        assert_eq!(
            state.hash,
            client
                .get_unit("pinned.service")
                .await
                .unwrap()
                .hash()
                .to_string()
        );
    }
}

#[tokio::test]
async fn unit_state_of_an_unknown_unit_is_a_clear_error() {
    let server = server();
    let client = client(&server, Via::Tcp).await;
    let err = client.get_unit_state("missing.service").await.unwrap_err();
    assert!(
        matches!(err, fleet::Error::NoResponse { .. }),
        "fleet closes the connection here: {err:?}"
    );
    // The client is still usable afterwards.
    assert!(all_units(&client).await.is_empty());
}

#[tokio::test]
async fn wait_for_unit_state_with_a_state_delay() {
    for via in ALL {
        let server = TestServer::builder()
            .state_delay(Duration::from_millis(300))
            .start()
            .unwrap();
        let client = client(&server, via).await;
        client
            .create_unit("slow.service", &sleep_unit())
            .await
            .unwrap();
        let start = std::time::Instant::now();
        let unit = client
            .wait_for_unit_state(
                "slow.service",
                fleet::DesiredState::Launched,
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert_eq!(unit.current_state(), Some(fleet::DesiredState::Launched));
        assert!(unit.machine_id().is_some());
        assert!(
            start.elapsed() >= Duration::from_millis(200),
            "the state came only after the server's delay"
        );

        // Global units carry no currentState: waiting for them must still finish.
        let mut global = sleep_unit();
        global.add_option("X-Fleet", "Global", "true");
        client.create_unit("g.service", &global).await.unwrap();
        client
            .wait_for_unit_state(
                "g.service",
                fleet::DesiredState::Launched,
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn wait_for_unit_state_times_out() {
    let server = server();
    let client = client(&server, Via::Tcp).await;
    // No machine has this id, so the unit is never scheduled.
    let mut unit = sleep_unit();
    unit.add_option("X-Fleet", "MachineID", "00000000000000000000000000000000");
    client.create_unit("nowhere.service", &unit).await.unwrap();
    let err = client
        .wait_for_unit_state(
            "nowhere.service",
            fleet::DesiredState::Launched,
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    match err {
        fleet::Error::Timeout { what, after } => {
            assert!(what.contains("nowhere.service"), "{what}");
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Machines.

#[tokio::test]
async fn machines_and_their_metadata() {
    for (via, _server, client) in each_via().await {
        let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
        let ids: Vec<&str> = machines.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, [M1, M2, M3], "{via:?}");
        assert_eq!(machines[0].primary_ip, "172.17.8.101");
        assert_eq!(machines[0].metadata["role"], "web");

        client
            .set_machine_metadata(M1, "rack", "r42")
            .await
            .unwrap();
        client
            .patch_machine_metadata(&[
                fleet::MachineMetadataOp::Replace {
                    machine_id: M2.into(),
                    key: "role".into(),
                    value: "database".into(),
                },
                fleet::MachineMetadataOp::Add {
                    machine_id: M3.into(),
                    key: "disk".into(),
                    value: "ssd".into(),
                },
            ])
            .await
            .unwrap();
        let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
        assert_eq!(machines[0].metadata["rack"], "r42");
        assert_eq!(machines[1].metadata["role"], "database");
        assert_eq!(machines[2].metadata["disk"], "ssd");

        client.remove_machine_metadata(M1, "rack").await.unwrap();
        let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
        assert!(!machines[0].metadata.contains_key("rack"));
        assert_eq!(machines[0].metadata["role"], "web");
    }
}

#[tokio::test]
async fn machines_without_metadata_have_empty_metadata() {
    let server = TestServer::builder()
        .machines(vec![fleet::Machine {
            id: "0123456789abcdef0123456789abcdef".into(),
            primary_ip: "10.0.0.1".into(),
            metadata: Default::default(),
        }])
        .start()
        .unwrap();
    let client = client(&server, Via::Tcp).await;
    let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
    assert_eq!(machines.len(), 1);
    assert!(machines[0].metadata.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Faults.

#[tokio::test]
async fn injected_server_errors_are_api_errors() {
    for (_via, server, client) in each_via().await {
        server.inject(Fault::new(FaultKind::Status(500)).matching("GET", "/fleet/v1/units"));
        let err = client.get_unit("a.service").await.unwrap_err();
        assert!(
            matches!(&err, fleet::Error::Api { code: 500, message } if message.is_empty()),
            "{err:?}"
        );
        server.inject(Fault::new(FaultKind::Status(503)).matching("GET", "/fleet/v1/units"));
        let err = client
            .list_units()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, fleet::Error::Api { code: 503, message }
                if message == "fleet server unable to communicate with etcd"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn closed_connection_is_a_clear_error() {
    let server = server();
    let client = client(&server, Via::Tcp).await;
    server.inject(Fault::new(FaultKind::CloseConnection).times(3));
    let err = client.get_unit("a.service").await.unwrap_err();
    assert!(
        matches!(
            err,
            fleet::Error::NoResponse { .. } | fleet::Error::Transport { .. }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("a.service") || err.to_string().contains("127.0.0.1"),
        "{err}"
    );
}

#[tokio::test]
async fn delay_beyond_the_timeout_is_a_timeout() {
    for via in ALL {
        let server = server();
        let endpoint = endpoint(&server, via);
        let client = fleet::Client::builder(&endpoint)
            .timeout(Duration::from_millis(200))
            .build()
            .await
            .unwrap();
        server.inject(Fault::new(FaultKind::Delay(Duration::from_secs(3))).path("/fleet/v1/units"));
        let start = std::time::Instant::now();
        let err = client.get_unit("a.service").await.unwrap_err();
        assert!(
            matches!(err, fleet::Error::Timeout { .. }),
            "{via:?}: {err:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "gave up at the timeout"
        );
    }
}

#[tokio::test]
async fn truncated_or_invalid_bodies_are_unexpected_responses() {
    let server = server();
    let client = client(&server, Via::Tcp).await;
    client
        .create_unit("a.service", &sleep_unit())
        .await
        .unwrap();

    server.inject(Fault::new(FaultKind::InvalidJson).matching("GET", "/fleet/v1/units"));
    let err = client.get_unit("a.service").await.unwrap_err();
    match &err {
        fleet::Error::UnexpectedResponse { status, .. } => assert_eq!(*status, 200),
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }

    server.inject(Fault::new(FaultKind::InvalidJson).matching("GET", "/fleet/v1/units"));
    let err = client
        .list_units()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(err, fleet::Error::UnexpectedResponse { .. }),
        "{err:?}"
    );

    // After all that, the client still works.
    assert_eq!(
        client.get_unit("a.service").await.unwrap().name(),
        Some("a.service")
    );
}

#[tokio::test]
async fn truncated_body_is_an_unexpected_response_or_transport_error() {
    let server = server();
    let client = client(&server, Via::Tcp).await;
    client
        .create_unit("a.service", &sleep_unit())
        .await
        .unwrap();
    server.inject(Fault::new(FaultKind::TruncatedBody).matching("GET", "/fleet/v1/units"));
    let err = client.get_unit("a.service").await.unwrap_err();
    assert!(
        matches!(
            err,
            fleet::Error::UnexpectedResponse { .. } | fleet::Error::Transport { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("a.service"), "{err}");
    assert_eq!(
        client.get_unit("a.service").await.unwrap().name(),
        Some("a.service")
    );
}

// ---------------------------------------------------------------------------------------------
// Connection reuse.

#[tokio::test]
async fn listing_1000_units_in_10_pages_uses_one_connection() {
    for via in [Via::Tcp, Via::Unix] {
        let server = server();
        let loader = client(&server, via).await;
        for i in 0..1000 {
            loader
                .create_unit(&format!("u{i:04}.service"), &inactive_unit())
                .await
                .unwrap();
        }
        let counter = Counting::default();
        let client = fleet::Client::builder(&endpoint(&server, via))
            .connector(counter.clone())
            .build()
            .await
            .unwrap();
        let units = all_units(&client).await;
        assert_eq!(units.len(), 1000);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "{via:?}: discovery and 10 pages over one kept-alive connection"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The blocking client.

#[test]
fn blocking_client_every_method() {
    for via in ALL {
        let server = server();
        let client = fleet::blocking::Client::builder(&endpoint(&server, via))
            .poll_interval(Duration::from_millis(10))
            .build()
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.service");
        std::fs::write(&path, "[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap();
        let mut by_hand = fleet::Unit::new();
        by_hand.add_option("Service", "ExecStart", "/usr/bin/sleep 1d");
        for (name, unit) in [
            ("hand.service", by_hand),
            (
                "options.service",
                fleet::Unit::from_options(vec![fleet::UnitOption::new(
                    "Service",
                    "ExecStart",
                    "/usr/bin/sleep 1d",
                )]),
            ),
            ("string.service", sleep_unit()),
            ("file.service", fleet::Unit::from_file(&path).unwrap()),
        ] {
            let created = client.create_unit(name, &unit).unwrap();
            assert_eq!(created.options(), unit.options());
        }
        let unit = client
            .wait_for_unit_state(
                "string.service",
                fleet::DesiredState::Launched,
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(unit.current_state(), Some(fleet::DesiredState::Launched));

        let unit = client
            .set_unit_desired_state("hand.service", fleet::DesiredState::Inactive)
            .unwrap();
        assert_eq!(unit.desired_state(), fleet::DesiredState::Inactive);

        let names: Vec<String> = client
            .list_units()
            .map(|u| u.unwrap().name().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "file.service",
                "hand.service",
                "options.service",
                "string.service"
            ],
            "{via:?}"
        );
        assert_eq!(
            client.get_unit("missing.service").unwrap_err().code(),
            Some(404)
        );
        let state = client.get_unit_state("string.service").unwrap();
        assert_eq!(state.systemd_sub_state, "running");
        let states: Vec<fleet::UnitState> = client
            .list_unit_states(None, Some("string.service"))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(states.len(), 1);

        let machines: Vec<fleet::Machine> =
            client.list_machines().collect::<Result<_, _>>().unwrap();
        assert_eq!(machines.len(), 3);
        client.set_machine_metadata(M1, "rack", "r1").unwrap();
        client
            .patch_machine_metadata(&[fleet::MachineMetadataOp::Remove {
                machine_id: M1.into(),
                key: "rack".into(),
            }])
            .unwrap();
        client.remove_machine_metadata(M2, "role").unwrap();
        let machines: Vec<fleet::Machine> =
            client.list_machines().collect::<Result<_, _>>().unwrap();
        assert!(!machines[0].metadata.contains_key("rack"));
        assert!(!machines[1].metadata.contains_key("role"));

        client.destroy_unit("hand.service").unwrap();
        assert_eq!(
            client.get_unit("hand.service").unwrap_err().code(),
            Some(404)
        );
        assert!(matches!(
            client.create_unit("bad name.service", &sleep_unit()),
            Err(fleet::Error::InvalidUnitName { .. })
        ));
        assert!(matches!(
            client.get_unit("bad name.service"),
            Err(fleet::Error::InvalidUnitName { .. })
        ));
    }
}

#[test]
fn blocking_client_lists_over_pages_and_times_out() {
    let server = TestServer::builder().page_size(2).start().unwrap();
    let client = fleet::blocking::Client::new(&server.http_endpoint()).unwrap();
    for i in 0..5 {
        client
            .create_unit(&format!("b{i}.service"), &inactive_unit())
            .unwrap();
    }
    assert_eq!(client.list_units().count(), 5);

    let slow = fleet::blocking::Client::builder(&server.http_endpoint())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    server.inject(Fault::new(FaultKind::Delay(Duration::from_secs(3))).path("/fleet/v1/units"));
    assert!(matches!(
        slow.get_unit("b0.service"),
        Err(fleet::Error::Timeout { .. })
    ));
}

#[tokio::test]
async fn blocking_client_inside_a_runtime_is_an_error_not_a_hang() {
    let server = server();
    let result = fleet::blocking::Client::new(&server.http_endpoint());
    assert!(
        matches!(result, Err(fleet::Error::BlockingInAsyncContext)),
        "{result:?}"
    );
}
