//! Waiting for units to reach a state, as fleetctl's start/stop/load wait.

mod rawserver;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleet::v1 as fleet;
use fleet::{DesiredState, Error};
use rawserver::{with_discovery, Action, Server};

const SCHEDULED: &str = r#"{"currentState":"CURRENT","desiredState":"launched","machineID":"9a4b2c7d8e1f40a2b3c4d5e6f7a8b902","name":"hello.service","options":[{"name":"ExecStart","section":"Service","value":"/usr/bin/sleep 1d"}]}"#;
// As fleet sends a global unit: no currentState, no machineID.
const GLOBAL: &str = r#"{"desiredState":"DESIRED","name":"global.service","options":[{"name":"ExecStart","section":"Service","value":"/usr/bin/sleep 1d"},{"name":"Global","section":"X-Fleet","value":"true"}]}"#;

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the client hung")
}

async fn client(server: &Server) -> fleet::Client {
    fleet::Client::builder(&server.endpoint())
        .poll_interval(Duration::from_millis(5))
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn waits_until_the_current_state_is_reached() {
    let gets = Arc::new(AtomicUsize::new(0));
    let g = gets.clone();
    let server = Server::start(with_discovery(move |_req| {
        // loaded, loaded, then launched.
        let n = g.fetch_add(1, Ordering::SeqCst);
        let current = if n < 2 { "loaded" } else { "launched" };
        Action::json(200, SCHEDULED.replace("CURRENT", current))
    }))
    .await;
    let client = client(&server).await;
    let unit = within(client.wait_for_unit_state(
        "hello.service",
        DesiredState::Launched,
        Duration::from_secs(10),
    ))
    .await
    .unwrap();
    assert_eq!(unit.current_state(), Some(DesiredState::Launched));
    assert_eq!(gets.load(Ordering::SeqCst), 3);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn global_units_are_judged_by_their_desired_state() {
    let server = Server::start(with_discovery(|_req| {
        Action::json(200, GLOBAL.replace("DESIRED", "launched"))
    }))
    .await;
    let client = client(&server).await;
    let unit = within(client.wait_for_unit_state(
        "global.service",
        DesiredState::Launched,
        Duration::from_secs(10),
    ))
    .await
    .unwrap();
    assert_eq!(unit.current_state(), None);
    assert_eq!(server.requests().len(), 2, "one GET was enough");

    // And a global unit whose desired state differs never matches.
    let err = within(client.wait_for_unit_state(
        "global.service",
        DesiredState::Inactive,
        Duration::from_millis(100),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn running_out_of_time_is_a_timeout_naming_the_unit_and_state() {
    let server = Server::start(with_discovery(|_req| {
        Action::json(200, SCHEDULED.replace("CURRENT", "loaded"))
    }))
    .await;
    let client = client(&server).await;
    let err = within(client.wait_for_unit_state(
        "hello.service",
        DesiredState::Launched,
        Duration::from_millis(150),
    ))
    .await
    .unwrap_err();
    match err {
        Error::Timeout { what, after } => {
            assert_eq!(after, Duration::from_millis(150));
            assert_eq!(what, "unit hello.service to report state launched");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(server.requests().len() > 2, "it polled more than once");
}

#[tokio::test]
async fn an_error_from_fleet_ends_the_wait_at_once() {
    let server = Server::start(with_discovery(|_req| {
        Action::json(
            404,
            r#"{"error":{"code":404,"message":"unit does not exist"}}"#,
        )
    }))
    .await;
    let client = client(&server).await;
    let err = within(client.wait_for_unit_state(
        "gone.service",
        DesiredState::Launched,
        Duration::from_secs(30),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.code(), Some(404));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_request_hanging_past_the_deadline_still_times_out() {
    let server = Server::start(with_discovery(|_req| Action::Hang)).await;
    let client = fleet::Client::builder(&server.endpoint())
        .timeout(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    let err = within(client.wait_for_unit_state(
        "hello.service",
        DesiredState::Launched,
        Duration::from_millis(200),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { after, .. } if *after == Duration::from_millis(200)),
        "{err:?}"
    );
}
