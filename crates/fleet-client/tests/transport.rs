//! The transport: connection reuse, failures without a response, timeouts, custom connectors,
//! unix sockets, discovery failures and the mapping of statuses to errors.

mod rawserver;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleet::transport::{BoxIo, Connect, ConnectFuture, Direct, Target};
use fleet::v1 as fleet;
use futures::{StreamExt, TryStreamExt};
use rawserver::{units_page, with_discovery, Action, Server};

/// A connector that counts the connections it opens and dials directly.
#[derive(Debug, Default)]
struct Counting {
    opened: Arc<AtomicUsize>,
}

impl Connect for Counting {
    fn connect(&self, target: &Target) -> ConnectFuture {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Direct.connect(target)
    }
}

/// Never finishes connecting.
#[derive(Debug)]
struct Stuck;

impl Connect for Stuck {
    fn connect(&self, _target: &Target) -> ConnectFuture {
        Box::pin(std::future::pending::<std::io::Result<BoxIo>>())
    }
}

/// Guard against a hang in the code under test: fail instead of blocking the suite.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the client hung")
}

fn paged_units(req: &rawserver::Req) -> Action {
    if req.path() != "/fleet/v1/units" {
        return Action::json(404, r#"{"error":{"code":404,"message":""}}"#);
    }
    let page: usize = match req.query() {
        None => 1,
        Some(q) => q
            .strip_prefix("nextPageToken=p")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    };
    if page == 0 || page > 10 {
        return Action::json(400, r#"{"error":{"code":400,"message":"bad token"}}"#);
    }
    let next = (page < 10).then(|| format!("p{}", page + 1));
    Action::json(200, units_page((page - 1) * 100, 100, next.as_deref()))
}

#[tokio::test]
async fn listing_1000_units_over_10_pages_opens_one_connection() {
    let server = Server::start(with_discovery(paged_units)).await;
    let counting = Counting::default();
    let opened = counting.opened.clone();
    let client = fleet::Client::builder(&server.endpoint())
        .connector(counting)
        .build()
        .await
        .unwrap();

    let units: Vec<fleet::Unit> = within(client.list_units().try_collect()).await.unwrap();

    assert_eq!(units.len(), 1000);
    for (i, unit) in units.iter().enumerate() {
        assert_eq!(unit.name(), Some(format!("u{i:04}.service").as_str()));
        assert!(unit.is_from_cluster());
    }
    // Discovery plus ten pages, all on the connection opened for discovery.
    let requests = server.requests();
    assert_eq!(requests.len(), 11);
    assert_eq!(requests[1].target, "/fleet/v1/units");
    assert_eq!(requests[2].target, "/fleet/v1/units?nextPageToken=p2");
    assert_eq!(requests[10].target, "/fleet/v1/units?nextPageToken=p10");
    assert_eq!(
        server.connections(),
        1,
        "the server accepted more than one connection"
    );
    assert_eq!(
        opened.load(Ordering::SeqCst),
        1,
        "the connector was asked twice"
    );
}

#[tokio::test]
async fn list_is_lazy_and_fetches_one_page_at_a_time() {
    let server = Server::start(with_discovery(paged_units)).await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();

    let mut units = client.list_units();
    assert_eq!(
        server.requests().len(),
        1,
        "a request was sent before polling"
    );

    let first = within(units.next()).await.unwrap().unwrap();
    assert_eq!(first.name(), Some("u0000.service"));
    assert_eq!(server.requests().len(), 2);
    // The rest of the first page comes from memory.
    for _ in 1..100 {
        within(units.next()).await.unwrap().unwrap();
    }
    assert_eq!(server.requests().len(), 2);
    let next = within(units.next()).await.unwrap().unwrap();
    assert_eq!(next.name(), Some("u0100.service"));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_page_error_ends_the_stream_after_the_items_before_it() {
    let server = Server::start(with_discovery(|req| {
        if req.query().is_none() {
            Action::json(200, units_page(0, 2, Some("garbage")))
        } else {
            Action::json(
                400,
                r#"{"error":{"code":400,"message":"illegal base64 data at input byte 4"}}"#,
            )
        }
    }))
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let results: Vec<_> = within(client.list_units().collect::<Vec<_>>()).await;
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    match &results[2] {
        Err(fleet::Error::Api { code, message }) => {
            assert_eq!(*code, 400);
            assert_eq!(message, "illegal base64 data at input byte 4");
        }
        other => panic!("expected Api 400, got {other:?}"),
    }
}

#[tokio::test]
async fn a_repeated_page_token_stops_instead_of_looping() {
    let server = Server::start(with_discovery(|_req| {
        Action::json(200, units_page(0, 1, Some("same")))
    }))
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let results: Vec<_> = within(client.list_units().collect::<Vec<_>>()).await;
    // Page 1 (token "same") gives its unit; page 2 answers with "same" again: its items are
    // not trusted, the stream ends with the error.
    assert_eq!(results.len(), 2, "{results:?}");
    match &results[1] {
        Err(fleet::Error::UnexpectedResponse { request, .. }) => {
            assert_eq!(request, "GET /fleet/v1/units?nextPageToken=same")
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn page_tokens_going_round_in_a_circle_stop_instead_of_looping() {
    // First page → token A; A → token B; B → token A again.
    let server = Server::start(with_discovery(|req| match req.query() {
        None => Action::json(200, units_page(0, 1, Some("A"))),
        Some("nextPageToken=A") => Action::json(200, units_page(1, 1, Some("B"))),
        Some(_) => Action::json(200, units_page(2, 1, Some("A"))),
    }))
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let results: Vec<_> = within(client.list_units().collect::<Vec<_>>()).await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(results[0].is_ok() && results[1].is_ok());
    match &results[2] {
        Err(fleet::Error::UnexpectedResponse {
            request, message, ..
        }) => {
            assert_eq!(request, "GET /fleet/v1/units?nextPageToken=B");
            assert!(message.contains("sent before"), "{message}");
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
    // Discovery, the first page, A and B: nothing after the circle was found.
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn endless_empty_pages_with_new_tokens_stop_instead_of_looping() {
    // The first page has a unit; then every page is empty but names a token never seen before.
    let server = Server::start(with_discovery(|req| match req.query() {
        None => Action::json(200, units_page(0, 1, Some("t1"))),
        Some(q) => {
            let n: usize = q
                .strip_prefix("nextPageToken=t")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            Action::json(200, format!(r#"{{"nextPageToken":"t{}"}}"#, n + 1))
        }
    }))
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let results: Vec<_> = within(client.list_units().collect::<Vec<_>>()).await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap().name(), Some("u0000.service"));
    match &results[1] {
        Err(fleet::Error::UnexpectedResponse {
            request, message, ..
        }) => {
            assert_eq!(request, "GET /fleet/v1/units?nextPageToken=t101");
            assert!(
                message.contains("101 pages in a row with no items"),
                "{message}"
            );
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
    // Discovery, the first page and 101 empty ones: then the list gave up.
    assert_eq!(server.requests().len(), 103);
}

#[tokio::test]
async fn empty_pages_between_full_ones_do_not_count_as_endless() {
    // 150 empty pages with tokens, but a unit on every other one: the list goes to the end.
    let server = Server::start(with_discovery(|req| {
        let n: usize = req
            .query()
            .and_then(|q| q.strip_prefix("nextPageToken=t"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let next = format!("t{}", n + 1);
        let next = (n < 300).then_some(next.as_str());
        if n % 2 == 0 {
            Action::json(200, units_page(n, 1, next))
        } else {
            match next {
                Some(t) => Action::json(200, format!(r#"{{"nextPageToken":"{t}"}}"#)),
                None => Action::json(200, "{}".to_string()),
            }
        }
    }))
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let units: Vec<fleet::Unit> = within(client.list_units().try_collect()).await.unwrap();
    assert_eq!(units.len(), 151);
}

#[tokio::test]
async fn a_body_over_the_limit_is_an_error_naming_the_request_and_the_limit() {
    let server = Server::start(with_discovery(|req| match req.path() {
        "/fleet/v1/units" => Action::json(200, units_page(0, 1000, None)),
        _ => Action::json(
            404,
            r#"{"error":{"code":404,"message":"unit does not exist"}}"#,
        ),
    }))
    .await;
    let client = fleet::Client::builder(&server.endpoint())
        .max_response_bytes(64 * 1024)
        .build()
        .await
        .unwrap();
    let results: Vec<_> = within(client.list_units().collect::<Vec<_>>()).await;
    assert_eq!(results.len(), 1, "{results:?}");
    match &results[0] {
        Err(fleet::Error::UnexpectedResponse {
            request,
            status,
            message,
            ..
        }) => {
            assert_eq!(request, "GET /fleet/v1/units");
            assert_eq!(*status, 200);
            assert!(message.contains("limit of 65536 bytes"), "{message}");
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
    // The client goes on working: the next request is answered on a new connection.
    let missing = within(client.get_unit("missing.service"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(404));

    // The limit applies to the discovery document too.
    let err = fleet::Client::builder(&server.endpoint())
        .max_response_bytes(100)
        .build()
        .await
        .unwrap_err();
    match err {
        fleet::Error::Discovery { message, .. } => {
            assert!(message.contains("limit of 100 bytes"), "{message}")
        }
        other => panic!("expected Discovery, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_closed_without_response_is_no_response() {
    let server = Server::start(with_discovery(|req| {
        if req.path() == "/fleet/v1/state/missing.service" {
            Action::Close
        } else {
            Action::json(200, r#"{"hash":"5c53d90a","machineID":"113f","name":"hello.service","systemdActiveState":"active","systemdLoadState":"loaded","systemdSubState":"running"}"#)
        }
    }))
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();

    let err = within(client.get_unit_state("missing.service"))
        .await
        .unwrap_err();
    match &err {
        fleet::Error::NoResponse { request } => {
            assert_eq!(request, "GET /fleet/v1/state/missing.service")
        }
        other => panic!("expected NoResponse, got {other:?}"),
    }
    assert!(err.to_string().contains("without a response"));

    // The client recovers on a new connection.
    let state = within(client.get_unit_state("hello.service"))
        .await
        .unwrap();
    assert_eq!(state.systemd_sub_state, "running");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = Server::start(with_discovery(|_req| Action::Hang)).await;
    let client = fleet::Client::builder(&server.endpoint())
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();

    let err = within(client.get_unit("slow.service")).await.unwrap_err();
    match &err {
        fleet::Error::Timeout { what, after } => {
            assert_eq!(*after, Duration::from_millis(300));
            assert!(what.contains("GET /fleet/v1/units/slow.service"), "{what}");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_that_never_answers_times_out_as_a_discovery_error() {
    let server = Server::start(|_req: &rawserver::Req| Action::Hang).await;
    let err = within(
        fleet::Client::builder(&server.endpoint())
            .timeout(Duration::from_millis(200))
            .build(),
    )
    .await
    .unwrap_err();
    match &err {
        fleet::Error::Discovery { endpoint, message } => {
            assert_eq!(endpoint, &server.endpoint());
            assert!(message.contains("timed out"), "{message}");
        }
        other => panic!("expected Discovery, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connector_that_never_connects_hits_the_connect_timeout() {
    let err = within(
        fleet::Client::builder("http://127.0.0.1:1")
            .connector(Stuck)
            .connect_timeout(Duration::from_millis(100))
            .build(),
    )
    .await
    .unwrap_err();
    match &err {
        fleet::Error::Discovery { message, .. } => {
            assert!(message.contains("connecting to 127.0.0.1:1"), "{message}");
            assert!(message.contains("timed out"), "{message}");
        }
        other => panic!("expected Discovery, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_discovery_error_naming_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let endpoint = format!("http://127.0.0.1:{port}");
    let err = within(fleet::Client::new(&endpoint)).await.unwrap_err();
    match &err {
        fleet::Error::Discovery {
            endpoint: e,
            message,
        } => {
            assert_eq!(e, &endpoint);
            assert!(message.contains("cannot connect"), "{message}");
        }
        other => panic!("expected Discovery, got {other:?}"),
    }
    assert!(err.to_string().contains(&endpoint));
}

#[tokio::test]
async fn discovery_failures_say_why() {
    let cases: Vec<(Action, &str)> = vec![
        (
            Action::json(404, r#"{"error":{"code":404,"message":""}}"#),
            "HTTP 404",
        ),
        (
            Action::Respond(200, "text/html", "<html>hello</html>".into()),
            "not valid JSON",
        ),
        (
            Action::json(200, r#"{"id":"compute:v1","rootUrl":"$ENDPOINT/"}"#),
            "\"compute:v1\", not fleet v1",
        ),
        (
            Action::json(
                200,
                r#"{"id":"fleet:v1","rootUrl":"$ENDPOINT/","servicePath":"fleet/v1/","resources":{}}"#,
            ),
            "no Units.List method",
        ),
    ];
    for (action, expected) in cases {
        let action = std::sync::Mutex::new(Some(action));
        let server = Server::start(move |_req: &rawserver::Req| {
            action.lock().unwrap().take().unwrap_or(Action::Close)
        })
        .await;
        let err = within(fleet::Client::new(&server.endpoint()))
            .await
            .unwrap_err();
        match &err {
            fleet::Error::Discovery { endpoint, message } => {
                assert_eq!(endpoint, &server.endpoint());
                assert!(message.contains(expected), "{message:?} lacks {expected:?}");
            }
            other => panic!("expected Discovery, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn paths_come_from_the_discovery_document() {
    // A document that mounts the API elsewhere: the client must follow it.
    let doc = rawserver::discovery_body()
        .replace(
            "\"servicePath\": \"fleet/v1/\"",
            "\"servicePath\": \"api/fleet/\"",
        )
        .replace(
            "\"servicePath\":\"fleet/v1/\"",
            "\"servicePath\":\"api/fleet/\"",
        );
    assert!(doc.contains("api/fleet/"), "fixture layout changed");
    let server = Server::start(move |req: &rawserver::Req| match req.path() {
        "/fleet/v1/discovery" => Action::json(200, doc.clone()),
        "/api/fleet/units/hello.service" => Action::json(
            200,
            r#"{"desiredState":"launched","name":"hello.service","options":[]}"#,
        ),
        _ => Action::json(404, r#"{"error":{"code":404,"message":"wrong path"}}"#),
    })
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let unit = within(client.get_unit("hello.service")).await.unwrap();
    assert_eq!(unit.name(), Some("hello.service"));
}

#[tokio::test]
async fn statuses_map_to_errors() {
    let server = Server::start(with_discovery(|req| match req.path() {
        "/fleet/v1/units/missing.service" => Action::json(
            404,
            r#"{"error":{"code":404,"message":"unit does not exist"}}"#,
        ),
        "/fleet/v1/units/proxy.service" => {
            Action::Respond(502, "text/plain", "bad gateway\n".into())
        }
        "/fleet/v1/units/moved.service" => Action::Respond(
            301,
            "text/html",
            "<a href=\"/x\">Moved Permanently</a>.".into(),
        ),
        "/fleet/v1/units/garbled.service" => Action::json(200, "{\"name\":"),
        _ => Action::json(500, r#"{"error":{"code":500,"message":""}}"#),
    }))
    .await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();

    let err = client.get_unit("missing.service").await.unwrap_err();
    assert_eq!(err.code(), Some(404));
    assert_eq!(err.to_string(), "unit does not exist (404)");

    match client.get_unit("proxy.service").await.unwrap_err() {
        fleet::Error::Api { code, message } => {
            assert_eq!(code, 502);
            assert_eq!(message, "bad gateway");
        }
        other => panic!("expected Api 502, got {other:?}"),
    }

    match client.get_unit("moved.service").await.unwrap_err() {
        fleet::Error::UnexpectedResponse {
            request,
            status,
            excerpt,
            ..
        } => {
            assert_eq!(request, "GET /fleet/v1/units/moved.service");
            assert_eq!(status, 301);
            assert!(excerpt.contains("Moved Permanently"));
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }

    match client.get_unit("garbled.service").await.unwrap_err() {
        fleet::Error::UnexpectedResponse {
            status, excerpt, ..
        } => {
            assert_eq!(status, 200);
            assert_eq!(excerpt, "{\"name\":");
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }

    let err = client.destroy_unit("other.service").await.unwrap_err();
    assert_eq!(err.code(), Some(500));
    assert_eq!(err.message(), "");
}

#[tokio::test]
async fn requests_carry_host_user_agent_and_json_content_type() {
    let server = Server::start(with_discovery(|req| match req.method.as_str() {
        "PUT" => Action::json(204, String::new()),
        _ => Action::json(
            200,
            r#"{"desiredState":"loaded","name":"hello.service","options":[]}"#,
        ),
    }))
    .await;
    let client = fleet::Client::builder(&server.endpoint())
        .user_agent("tests/1.0")
        .build()
        .await
        .unwrap();
    let unit = client
        .set_unit_desired_state("hello.service", fleet::DesiredState::Loaded)
        .await
        .unwrap();
    assert_eq!(unit.desired_state(), fleet::DesiredState::Loaded);

    let requests = server.requests();
    let discovery = &requests[0];
    assert_eq!(discovery.target, "/fleet/v1/discovery");
    assert_eq!(discovery.header("user-agent"), Some("tests/1.0"));
    let put = &requests[1];
    assert_eq!(put.method, "PUT");
    assert_eq!(put.header("host"), Some(server.addr.to_string().as_str()));
    assert_eq!(put.header("content-type"), Some("application/json"));
    assert_eq!(put.body, br#"{"desiredState":"loaded"}"#);
    let get = &requests[2];
    assert_eq!(get.method, "GET");
    assert_eq!(get.header("content-type"), None);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn default_user_agent_names_the_crate_version() {
    let server = Server::start(with_discovery(|_| Action::Close)).await;
    let _client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let ua = server.requests()[0]
        .header("user-agent")
        .unwrap()
        .to_string();
    assert_eq!(ua, format!("fleet-rs/{}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn unix_socket_endpoints_in_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.sock");
    let server = Server::start_unix(
        path.clone(),
        with_discovery(|_| {
            Action::json(200, r#"{"machines":[{"id":"113f16a7b4b64e9a8c1a3f0e5d2c7b01","primaryIP":"172.17.8.101"}]}"#)
        }),
    )
    .await;
    let path_str = path.to_str().unwrap();
    let encoded: String =
        percent_encoding::utf8_percent_encode(path_str, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    for endpoint in [
        format!("unix://{path_str}"),
        format!("http+unix://{encoded}"),
    ] {
        let client = fleet::Client::new(&endpoint).await.unwrap();
        let machines: Vec<fleet::Machine> =
            within(client.list_machines().try_collect()).await.unwrap();
        assert_eq!(machines.len(), 1);
        assert!(machines[0].metadata.is_empty());
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[1].header("host"), Some("localhost"));
}

#[tokio::test]
async fn clients_are_cheap_clones_sharing_one_pool() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<fleet::Client>();

    let server = Server::start(with_discovery(paged_units)).await;
    let client = fleet::Client::new(&server.endpoint()).await.unwrap();
    let clone = client.clone();
    let n = within(clone.list_units().try_collect::<Vec<_>>())
        .await
        .unwrap()
        .len();
    assert_eq!(n, 1000);
    assert_eq!(server.connections(), 1);
    assert!(format!("{client:?}").contains(&server.endpoint()));
}

/// On a multi-threaded runtime a connection comes back to hyper-util's pool from another
/// thread just after its body was read; the next request must wait for it, not dial anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_on_a_multi_threaded_runtime_too() {
    for _ in 0..5 {
        let server = Server::start(with_discovery(paged_units)).await;
        let client = fleet::Client::new(&server.endpoint()).await.unwrap();
        let units: Vec<fleet::Unit> = within(client.list_units().try_collect()).await.unwrap();
        assert_eq!(units.len(), 1000);
        for _ in 0..5 {
            within(client.list_units().next()).await.unwrap().unwrap();
        }
        assert_eq!(server.connections(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_still_open_connections_as_needed() {
    // Ten requests that fleet never answers are in flight at once: each needs a connection
    // (the one from discovery plus nine new ones), and each ends with its own timeout.
    let server = Server::start(with_discovery(|_req| Action::Hang)).await;
    let client = fleet::Client::builder(&server.endpoint())
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.get_unit(&format!("u{i}.service")).await })
        })
        .collect();
    for t in tasks {
        let err = within(t).await.unwrap().unwrap_err();
        assert!(matches!(err, fleet::Error::Timeout { .. }), "{err:?}");
    }
    assert_eq!(server.connections(), 10);
    assert_eq!(server.requests().len(), 11);
}

#[tokio::test]
async fn after_a_timeout_the_next_request_gets_a_new_connection() {
    let server = Server::start(with_discovery(|req| {
        if req.path() == "/fleet/v1/units/slow.service" {
            Action::Hang
        } else {
            Action::json(
                200,
                r#"{"desiredState":"launched","name":"ok.service","options":[]}"#,
            )
        }
    }))
    .await;
    let client = fleet::Client::builder(&server.endpoint())
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let err = within(client.get_unit("slow.service")).await.unwrap_err();
    assert!(matches!(err, fleet::Error::Timeout { .. }), "{err:?}");
    // The hung connection is still busy: the next request must not wait for it.
    let unit = within(client.get_unit("ok.service")).await.unwrap();
    assert_eq!(unit.name(), Some("ok.service"));
    assert_eq!(server.connections(), 2);
}

/// Dials directly until `fail` is set, then fails the way the SSH tunnel does: an `io::Error`
/// carrying the library's own error.
#[derive(Debug)]
struct Tunnelish {
    fail: Arc<std::sync::Mutex<Option<fleet::Error>>>,
}

impl Connect for Tunnelish {
    fn connect(&self, target: &Target) -> ConnectFuture {
        let failure = self.fail.lock().unwrap().as_ref().map(|e| match e {
            fleet::Error::Ssh { message } => fleet::Error::Ssh {
                message: message.clone(),
            },
            fleet::Error::Timeout { what, after } => fleet::Error::Timeout {
                what: what.clone(),
                after: *after,
            },
            other => panic!("not a tunnel error: {other:?}"),
        });
        match failure {
            Some(e) => Box::pin(async move { Err(std::io::Error::other(e)) }),
            None => Direct.connect(target),
        }
    }
}

#[tokio::test]
async fn tunnel_errors_surface_as_themselves() {
    // Every request but discovery closes its connection unanswered, so the next one dials.
    let server = Server::start(with_discovery(|_| Action::Close)).await;
    let fail = Arc::new(std::sync::Mutex::new(None));
    let builder =
        || fleet::Client::builder(&server.endpoint()).connector(Tunnelish { fail: fail.clone() });

    // Client::new: a refused host key is the tunnel's own error, not a discovery failure.
    *fail.lock().unwrap() = Some(fleet::Error::Ssh {
        message: "host key for 127.0.0.1 is not in the known-hosts file".into(),
    });
    match within(builder().build()).await {
        Err(fleet::Error::Ssh { message }) => assert!(message.contains("known-hosts"), "{message}"),
        other => panic!("expected Error::Ssh, got {other:?}"),
    }
    // A tunnel that cannot reach its host in time is an unreachable endpoint: Discovery, with
    // the cause in the message.
    *fail.lock().unwrap() = Some(fleet::Error::Timeout {
        what: "connecting to the SSH host 10.0.0.1:22".into(),
        after: Duration::from_secs(3),
    });
    match within(builder().build()).await {
        Err(fleet::Error::Discovery { message, .. }) => {
            assert!(message.contains("the SSH host 10.0.0.1:22"), "{message}")
        }
        other => panic!("expected Error::Discovery, got {other:?}"),
    }

    // After discovery: the errors of a request are exactly the tunnel's.
    *fail.lock().unwrap() = None;
    let client = within(builder().build()).await.unwrap();
    *fail.lock().unwrap() = Some(fleet::Error::Ssh {
        message: "authentication to core@127.0.0.1 failed".into(),
    });
    // The kept-alive connection from discovery is closed by the first request; then it dials.
    let mut failed = None;
    for _ in 0..3 {
        match within(client.get_unit("a.service")).await {
            Err(e @ fleet::Error::Ssh { .. }) => {
                failed = Some(e);
                break;
            }
            // The old connection, closed under the request.
            Err(fleet::Error::NoResponse { .. } | fleet::Error::Transport { .. }) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    match failed {
        Some(fleet::Error::Ssh { message }) => assert!(message.contains("core@"), "{message}"),
        other => panic!("expected Error::Ssh, got {other:?}"),
    }
    *fail.lock().unwrap() = Some(fleet::Error::Timeout {
        what: "opening a channel to 127.0.0.1:1".into(),
        after: Duration::from_secs(2),
    });
    match within(client.destroy_unit("a.service")).await {
        Err(fleet::Error::Timeout { what, after }) => {
            assert_eq!(what, "opening a channel to 127.0.0.1:1");
            assert_eq!(after, Duration::from_secs(2));
        }
        other => panic!("expected Error::Timeout, got {other:?}"),
    }
}
