//! The blocking client: same calls, iterators for lists, units acting through themselves, and
//! a clear error (never a panic) when called from inside an async runtime.

mod rawserver;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet::blocking::{self, UnitExt};
use fleet::v1 as fleet;
use fleet::{DesiredState, Error, Unit};
use rawserver::{units_page, with_discovery, Action, Req, Server};

/// A raw server running on its own runtime, outside the test thread's context.
struct Background {
    server: Option<Server>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Background {
    fn start<H>(handler: H) -> Background
    where
        H: Fn(&Req) -> Action + Send + Sync + 'static,
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(Server::start(with_discovery(handler)));
        Background {
            server: Some(server),
            rt: Some(rt),
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            let _guard = rt.enter();
            drop(self.server.take());
            drop(_guard);
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

const UNIT_JSON: &str = r#"{"currentState":"launched","desiredState":"launched","machineID":"9a4b2c7d8e1f40a2b3c4d5e6f7a8b902","name":"hello.service","options":[{"name":"ExecStart","section":"Service","value":"/usr/bin/sleep 1d"}]}"#;

/// A small in-memory fleet for one unit, `hello.service`.
fn one_unit_fleet() -> impl Fn(&Req) -> Action + Send + Sync + 'static {
    let state: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    move |req: &Req| {
        let mut unit = state.lock().unwrap();
        match (req.method.as_str(), req.path()) {
            ("PUT", "/fleet/v1/units/hello.service") => {
                let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
                let desired = body["desiredState"].as_str().unwrap().to_string();
                let created = unit.is_none();
                *unit = Some(desired);
                Action::Respond(if created { 201 } else { 204 }, "text/plain", String::new())
            }
            ("GET", "/fleet/v1/units/hello.service") => match unit.as_deref() {
                Some(d) => Action::json(
                    200,
                    UNIT_JSON.replace(
                        r#""desiredState":"launched""#,
                        &format!(r#""desiredState":"{d}""#),
                    ),
                ),
                None => Action::json(
                    404,
                    r#"{"error":{"code":404,"message":"unit does not exist"}}"#,
                ),
            },
            ("DELETE", "/fleet/v1/units/hello.service") => match unit.take() {
                Some(_) => Action::Respond(204, "text/plain", String::new()),
                None => Action::json(
                    404,
                    r#"{"error":{"code":404,"message":"unit does not exist"}}"#,
                ),
            },
            ("GET", "/fleet/v1/units") => {
                let page: usize = req
                    .query()
                    .and_then(|q| q.strip_prefix("nextPageToken=p"))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let next = (page < 10).then(|| format!("p{}", page + 1));
                Action::json(200, units_page((page - 1) * 100, 100, next.as_deref()))
            }
            ("PATCH", "/fleet/v1/machines") => Action::json(204, String::new()),
            _ => Action::json(404, r#"{"error":{"code":404,"message":""}}"#),
        }
    }
}

#[test]
fn blocking_calls_and_paged_iterators() {
    let bg = Background::start(one_unit_fleet());
    let client = blocking::Client::new(&bg.server().endpoint()).unwrap();

    let err = client.get_unit("hello.service").unwrap_err();
    assert_eq!(err.code(), Some(404));

    let unit = Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap();
    let created = client.create_unit("hello.service", &unit).unwrap();
    assert_eq!(created.name(), Some("hello.service"));
    assert!(created.is_from_cluster());

    let loaded = client
        .set_unit_desired_state("hello.service", DesiredState::Loaded)
        .unwrap();
    assert_eq!(loaded.desired_state(), DesiredState::Loaded);

    let mut n = 0;
    for (i, unit) in client.list_units().enumerate() {
        let unit = unit.unwrap();
        assert_eq!(unit.name(), Some(format!("u{i:04}.service").as_str()));
        n += 1;
    }
    assert_eq!(n, 1000);

    client
        .set_machine_metadata("113f16a7b4b64e9a8c1a3f0e5d2c7b01", "rack", "r42")
        .unwrap();
    client.destroy_unit("hello.service").unwrap();
    assert_eq!(
        client.destroy_unit("hello.service").unwrap_err().code(),
        Some(404)
    );

    // Everything above went over the one connection opened for discovery.
    assert_eq!(bg.server().connections(), 1);
}

#[test]
fn units_from_the_blocking_client_act_through_themselves() {
    let bg = Background::start(one_unit_fleet());
    let client = blocking::Client::new(&bg.server().endpoint()).unwrap();
    let unit = Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap();
    let mut unit = client.create_unit("hello.service", &unit).unwrap();

    let returned = unit
        .set_desired_state_blocking(DesiredState::Inactive)
        .unwrap();
    assert_eq!(returned.desired_state(), DesiredState::Inactive);
    assert_eq!(
        unit.desired_state(),
        DesiredState::Inactive,
        "self is updated"
    );

    unit.destroy_blocking().unwrap();
    assert_eq!(
        client.get_unit("hello.service").unwrap_err().code(),
        Some(404)
    );

    let requests: Vec<String> = bg
        .server()
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(
        requests,
        [
            "GET /fleet/v1/discovery",
            "PUT /fleet/v1/units/hello.service",
            "GET /fleet/v1/units/hello.service",
            "PUT /fleet/v1/units/hello.service",
            "GET /fleet/v1/units/hello.service",
            "DELETE /fleet/v1/units/hello.service",
            "GET /fleet/v1/units/hello.service",
        ]
    );
}

#[test]
fn local_units_cannot_act_on_the_cluster() {
    let mut unit = Unit::new();
    match unit.set_desired_state_blocking(DesiredState::Loaded) {
        Err(Error::LocalUnit { operation }) => assert_eq!(operation, "set_desired_state"),
        other => panic!("expected LocalUnit, got {other:?}"),
    }
    match unit.destroy_blocking() {
        Err(Error::LocalUnit { operation }) => assert_eq!(operation, "destroy"),
        other => panic!("expected LocalUnit, got {other:?}"),
    }
}

#[test]
fn editing_options_detaches_a_unit_from_the_cluster() {
    let bg = Background::start(one_unit_fleet());
    let client = blocking::Client::new(&bg.server().endpoint()).unwrap();
    let unit = Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap();
    let mut unit = client.create_unit("hello.service", &unit).unwrap();
    assert!(unit.is_from_cluster());
    assert!(unit.current_state().is_some());

    unit.add_option("Unit", "Description", "edited");
    assert!(!unit.is_from_cluster());
    assert_eq!(unit.name(), Some("hello.service"), "the name is kept");
    assert_eq!(unit.current_state(), None);
    assert_eq!(unit.machine_id(), None);
    assert!(matches!(
        unit.destroy_blocking(),
        Err(Error::LocalUnit { .. })
    ));
    // Still in the cluster, untouched.
    assert!(client.get_unit("hello.service").is_ok());
}

#[test]
fn inside_an_async_runtime_every_call_is_an_error_not_a_panic() {
    let bg = Background::start(one_unit_fleet());
    let endpoint = bg.server().endpoint();
    let client = blocking::Client::new(&endpoint).unwrap();
    let unit = Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap();
    let mut from_cluster = client.create_unit("hello.service", &unit).unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert!(matches!(
            blocking::Client::new(&endpoint),
            Err(Error::BlockingInAsyncContext)
        ));
        assert!(matches!(
            client.get_unit("hello.service"),
            Err(Error::BlockingInAsyncContext)
        ));
        assert!(matches!(
            client.set_unit_desired_state("hello.service", DesiredState::Loaded),
            Err(Error::BlockingInAsyncContext)
        ));
        let mut units = client.list_units();
        assert!(matches!(
            units.next(),
            Some(Err(Error::BlockingInAsyncContext))
        ));
        assert!(units.next().is_none(), "the iterator ends after the error");
        assert!(matches!(
            from_cluster.set_desired_state_blocking(DesiredState::Loaded),
            Err(Error::BlockingInAsyncContext)
        ));
        let err = client.get_unit_state("hello.service").unwrap_err();
        assert!(err.to_string().contains("use fleet::v1::Client there"));
        // Dropping the last handle of the blocking client here must not panic either.
        drop(from_cluster);
        drop(client);
    });
}

#[tokio::test]
async fn units_from_an_async_client_say_to_use_the_async_methods() {
    let server = Server::start(with_discovery(|_req| Action::json(200, UNIT_JSON))).await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let unit = client.get_unit("hello.service").await.unwrap();
    // Blocking here would be wrong anyway; the async-origin check comes first.
    match unit.destroy_blocking() {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("async"), "{msg}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn the_blocking_client_is_send_sync_clone_debug() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<blocking::Client>();
}
