//! Every recorded fleet exchange the client can produce, replayed against the real client.
//!
//! Each test starts a [`ReplayServer`] that first answers the discovery request with
//! `discovery.json`'s recorded response and then answers with the fixture's recorded response
//! (status, headers and body byte for byte). The test asserts the request the client sent
//! (method, raw path, raw query, content type, JSON body) and the value or error it returned.
//!
//! Fixtures the client cannot produce are listed in [`NOT_PRODUCIBLE`] with the reason;
//! `every_fixture_is_replayed_or_listed` fails on any fixture that is neither.

mod support;

use fleet::v1 as fleet;
use futures::TryStreamExt;
use serde_json::Value;
use support::{Fixture, RawRequest, ReplayServer, Reply};

// ---------------------------------------------------------------------------------------------
// Bookkeeping: which fixture is covered how.

/// Fixtures replayed by a test in this file (each name must also appear in a test below).
const REPLAYED: &[&str] = &[
    "discovery",
    "etcd-down-500",
    "machines-list",
    "machines-list-unix",
    "machines-list-after-patch",
    "machines-list-after-patch-remove",
    "machines-list-bad-token-400",
    "machines-patch-valid-204",
    "machines-patch-remove-204",
    "state-get",
    "state-get-after-set-loaded",
    "state-get-missing-no-response",
    "state-list",
    "state-list-unix",
    "state-list-empty",
    "state-list-machine-filter",
    "state-list-machine-filter-short-id",
    "state-list-unit-filter",
    "state-list-both-filters",
    "state-list-filter-no-match",
    "state-list-bad-token-400",
    "unavailable-503",
    "units-create-201",
    "units-create-at-sign-raw-201",
    "units-create-backslash-escape-201",
    "units-create-colon-201",
    "units-create-conflicting-xfleet-400",
    "units-create-empty-option-value-201",
    "units-create-empty-options-409",
    "units-create-no-options-409",
    "units-create-template-201",
    "units-delete-204",
    "units-delete-invalid-desired-state-500",
    "units-delete-missing-404",
    "units-delete-unix-204",
    "units-fix-invalid-desired-state-500",
    "units-get-after-changed-options",
    "units-get-after-invalid-desired-state",
    "units-get-after-invalid-desired-state-existing",
    "units-get-after-set-loaded",
    "units-get-at-sign-encoded",
    "units-get-empty-option-value",
    "units-get-existing",
    "units-get-existing-unix",
    "units-get-global",
    "units-get-missing-404",
    "units-get-missing-404-unix",
    "units-list",
    "units-list-empty",
    "units-list-empty-unix",
    "units-list-page1",
    "units-list-page2",
    "units-list-page2-unix",
    "units-list-special-names",
    "units-list-bad-token-400",
    "units-list-token-page-zero-400",
    "units-list-token-past-end",
    "units-list-token-wrong-limit-400",
    "units-put-existing-changed-options",
    "units-put-existing-same-options-204",
    "units-set-desired-state-204",
    "units-set-desired-state-unix-204",
    "units-template-launch-400",
];

/// Fixtures whose request names a unit the client refuses before sending anything: it
/// validates every unit name with fleet's rules before any request. For a `PUT` fleet does the
/// same (400 with the same message, or 404 from routing for a `/`); for a `GET` fleet does not
/// validate and answers `404 unit does not exist`, where the client answers
/// `Error::InvalidUnitName` (a documented difference). The test
/// `invalid_names_are_refused_locally` asserts, for every call that takes a unit name, the
/// exact message and that nothing but the discovery request reached the server. The third
/// column is the message; fleet's own where fleet rejected the name with 400.
const REFUSED_LOCALLY: &[(&str, &str, &str)] = &[
    (
        "units-create-double-encoded-slash-400",
        "foo%2Fbar.service",
        "invalid character '%' in unit name",
    ),
    (
        "units-create-space-400",
        "a b.service",
        "invalid character ' ' in unit name",
    ),
    (
        "units-create-encoded-slash-404",
        "foo/bar.service",
        "invalid character '/' in unit name",
    ),
    (
        "units-create-no-dot-400",
        "hello",
        "unit name must contain \".\"",
    ),
    (
        "units-create-invalid-unit-type-400",
        "hello.txt",
        "invalid unit type: \"txt\"",
    ),
    // fleet answers these GETs with 404 "unit does not exist"; the client refuses them.
    (
        "units-get-space-404",
        "a b.service",
        "invalid character ' ' in unit name",
    ),
    (
        "units-get-encoded-slash-404",
        "foo/bar.service",
        "invalid character '/' in unit name",
    ),
    (
        "units-get-invalid-name-404",
        "not-a-unit",
        "unit name must contain \".\"",
    ),
];

/// Fixtures no call of the client can produce, with the reason.
const NOT_PRODUCIBLE: &[(&str, &str)] = &[
    (
        "discovery-wrong-method",
        "the client only ever GETs the discovery document",
    ),
    (
        "root-get",
        "GET / is outside the API; the client only requests paths from the discovery document",
    ),
    (
        "fleet-v1-trailing-slash",
        "GET /fleet/v1/ is not a method of the discovery document",
    ),
    (
        "fleet-v1-no-slash",
        "GET /fleet/v1 is not a method of the discovery document",
    ),
    (
        "unknown-path",
        "/fleet/v1/nonexistent is not a method of the discovery document",
    ),
    (
        "unknown-path-outside-api",
        "/foo/bar is outside the API prefix",
    ),
    (
        "v1-alpha-alias-machines",
        "the client uses the discovery document's servicePath fleet/v1/, never /v1-alpha/",
    ),
    (
        "units-collection-post-405",
        "POST on a collection is not a method of the discovery document",
    ),
    (
        "units-collection-delete-405",
        "DELETE on the units collection is not a method of the discovery document",
    ),
    (
        "units-item-post-405",
        "POST on a unit is not a method of the discovery document",
    ),
    (
        "machines-delete-405",
        "DELETE on machines is not a method of the client",
    ),
    (
        "state-collection-post-405",
        "POST on the state collection is not a method of the discovery document",
    ),
    (
        "state-item-wrong-method-405",
        "DELETE on a unit state is not a method of the discovery document",
    ),
    (
        "units-create-invalid-desired-state",
        "DesiredState is an enum: \"running\" cannot be sent",
    ),
    (
        "units-set-invalid-desired-state-existing",
        "DesiredState is an enum: \"bogus\" cannot be sent",
    ),
    (
        "units-create-malformed-json-400",
        "the client serializes its own bodies; it never sends truncated JSON",
    ),
    (
        "units-create-wrong-type-json-400",
        "the client serializes options as a list, never as a string",
    ),
    (
        "units-create-text-plain-415",
        "the client always sends Content-Type: application/json",
    ),
    (
        "units-create-no-content-type-415",
        "the client always sends Content-Type: application/json with a body",
    ),
    (
        "units-create-json-charset-201",
        "the client sends application/json without a charset parameter",
    ),
    (
        "units-create-name-matches",
        "the client's PUT body carries desiredState and options only (as python-fleet's), never \"name\"",
    ),
    (
        "units-create-name-mismatch-400",
        "the client's PUT body never carries \"name\"",
    ),
    (
        "units-put-existing-no-desired-state-409",
        "every PUT the client sends carries desiredState",
    ),
    (
        "units-get-trailing-slash-404",
        "the client encodes every `/` in a name (hello.service/ is sent as hello.service%2F), so it never sends a trailing slash",
    ),
    (
        "unclean-path-redirect",
        "the client encodes `/` in names (../machines is sent as ..%2Fmachines), so no name adds a `..` step to the path",
    ),
    (
        "units-list-two-tokens-400",
        "the client sends exactly one nextPageToken",
    ),
    (
        "machines-patch-invalid-op-400",
        "MachineMetadataOp only has add, replace and remove",
    ),
    (
        "machines-patch-string-value-400",
        "MachineMetadataOp always nests the value as {\"value\": ...}",
    ),
    (
        "machines-patch-bad-path-400",
        "MachineMetadataOp always builds /<machine>/metadata/<key>",
    ),
    (
        "machines-patch-missing-value-400",
        "add and replace always carry a value",
    ),
    (
        "machines-patch-malformed-json-400",
        "the client serializes its own bodies; it never sends truncated JSON",
    ),
    (
        "machines-patch-object-body-400",
        "the client always sends a JSON array of operations",
    ),
];

#[test]
fn every_fixture_is_replayed_or_listed() {
    let source = include_str!("fixtures_replay.rs");
    let mut problems = Vec::new();
    for name in support::fixture_names() {
        let replayed = REPLAYED.contains(&name.as_str());
        let refused = REFUSED_LOCALLY.iter().any(|(n, _, _)| *n == name);
        let listed = NOT_PRODUCIBLE.iter().any(|(n, _)| *n == name);
        match (replayed as u8) + (refused as u8) + (listed as u8) {
            0 => problems.push(format!("{name}: neither replayed nor listed")),
            1 => {}
            _ => problems.push(format!("{name}: listed more than once")),
        }
        // A replayed fixture must be used by a test, not only named in REPLAYED.
        if replayed && source.matches(&format!("\"{name}\"")).count() < 2 {
            problems.push(format!("{name}: in REPLAYED but no test loads it"));
        }
    }
    let names = support::fixture_names();
    for listed in REPLAYED
        .iter()
        .copied()
        .chain(REFUSED_LOCALLY.iter().map(|(n, _, _)| *n))
        .chain(NOT_PRODUCIBLE.iter().map(|(n, _)| *n))
    {
        if !names.iter().any(|n| n == listed) {
            problems.push(format!("{listed}: listed but there is no such fixture"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Harness.

/// Start a replay server on the fixture's transport answering discovery, then `replies`;
/// build a client against it.
async fn start(transport_of: &Fixture, replies: Vec<Reply>) -> (ReplayServer, fleet::Client) {
    let mut script = vec![Reply::discovery()];
    script.extend(replies);
    let server = ReplayServer::for_fixture(transport_of, script).await;
    let client = fleet::Client::new(&server.endpoint())
        .await
        .unwrap_or_else(|e| panic!("client against {}: {e}", server.endpoint()));
    (server, client)
}

/// Replay the fixture `name` alone (after discovery): run `call` against it, check that exactly
/// the fixture's request was sent, and hand back what `call` returned with the fixture.
async fn replay<T, Fut>(name: &str, call: impl FnOnce(fleet::Client) -> Fut) -> (T, Fixture)
where
    Fut: std::future::Future<Output = T>,
{
    let fx = Fixture::load(name);
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    let out = call(client).await;
    assert_requests(&server, &[&fx]);
    (out, fx)
}

/// Replay the fixture `name`, an error answer: `call` fails with the fixture's code and
/// message, after sending exactly the fixture's request.
async fn replay_api_error<T, Fut>(name: &str, call: impl FnOnce(fleet::Client) -> Fut)
where
    T: std::fmt::Debug,
    Fut: std::future::Future<Output = Result<T, fleet::Error>>,
{
    let (result, fx) = replay(name, call).await;
    assert_api_error(&result.unwrap_err(), &fx);
}

/// Assert the requests: discovery first, then exactly the fixtures' requests, in order.
fn assert_requests(server: &ReplayServer, expected: &[&Fixture]) {
    let got = server.requests();
    let lines: Vec<String> = got.iter().map(RawRequest::line).collect();
    assert_eq!(
        got.len(),
        expected.len() + 1,
        "requests sent: {lines:#?}, expected discovery + {:?}",
        expected.iter().map(|f| &f.name).collect::<Vec<_>>()
    );
    Fixture::load("discovery").assert_request(&got[0]);
    for (fixture, request) in expected.iter().zip(&got[1..]) {
        fixture.assert_request(request);
    }
}

fn options_of(json: &Value) -> Vec<fleet::UnitOption> {
    json.get("options")
        .and_then(Value::as_array)
        .map(|opts| {
            opts.iter()
                .map(|o| {
                    fleet::UnitOption::new(
                        o["section"].as_str().unwrap(),
                        o["name"].as_str().unwrap(),
                        o.get("value").and_then(Value::as_str).unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn state_of(json: &Value, key: &str) -> Option<fleet::DesiredState> {
    json.get(key)
        .and_then(Value::as_str)
        .map(|s| s.parse().unwrap())
}

/// Assert a decoded unit equals fleet's JSON for it, field by field.
fn assert_unit(unit: &fleet::Unit, json: &Value) {
    let name = json["name"].as_str().unwrap();
    assert_eq!(unit.name(), Some(name));
    assert_eq!(
        Some(unit.desired_state()),
        state_of(json, "desiredState"),
        "{name}: desiredState"
    );
    assert_eq!(
        unit.current_state(),
        state_of(json, "currentState"),
        "{name}: currentState"
    );
    assert_eq!(
        unit.machine_id(),
        json.get("machineID").and_then(Value::as_str),
        "{name}: machineID"
    );
    assert_eq!(
        unit.options(),
        options_of(json).as_slice(),
        "{name}: options"
    );
}

fn assert_units(units: &[fleet::Unit], json_units: &[Value]) {
    assert_eq!(units.len(), json_units.len(), "number of units");
    for (u, j) in units.iter().zip(json_units) {
        assert_unit(u, j);
    }
}

fn json_list<'a>(body: &'a Value, key: &str) -> &'a [Value] {
    body.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn assert_states(states: &[fleet::UnitState], json: &[Value]) {
    let want: Vec<fleet::UnitState> = json
        .iter()
        .map(|j| serde_json::from_value(j.clone()).unwrap())
        .collect();
    assert_eq!(states, want.as_slice());
    for (s, j) in states.iter().zip(json) {
        assert_eq!(s.name, j["name"].as_str().unwrap());
        assert_eq!(s.machine_id, j["machineID"].as_str().unwrap());
        assert_eq!(s.hash, j["hash"].as_str().unwrap());
        assert_eq!(s.systemd_sub_state, j["systemdSubState"].as_str().unwrap());
    }
}

fn assert_machines(machines: &[fleet::Machine], json: &[Value]) {
    assert_eq!(machines.len(), json.len());
    for (m, j) in machines.iter().zip(json) {
        assert_eq!(m.id, j["id"].as_str().unwrap());
        assert_eq!(m.primary_ip, j["primaryIP"].as_str().unwrap());
        let want: std::collections::BTreeMap<String, String> = j
            .get("metadata")
            .map(|m| serde_json::from_value(m.clone()).unwrap())
            .unwrap_or_default();
        assert_eq!(m.metadata, want, "metadata of {}", m.id);
    }
}

fn assert_api_error(err: &fleet::Error, fixture: &Fixture) {
    let body = fixture.body_json();
    let code = body["error"]["code"].as_u64().unwrap() as u16;
    let message = body["error"]["message"].as_str().unwrap();
    match err {
        fleet::Error::Api {
            code: c,
            message: m,
        } => {
            assert_eq!((*c, m.as_str()), (code, message), "{}", fixture.name);
        }
        other => panic!(
            "{}: expected Error::Api({code}), got {other:?}",
            fixture.name
        ),
    }
    assert_eq!(err.code(), Some(code));
    assert_eq!(err.to_string(), format!("{message} ({code})"));
}

/// A unit item as fleet's GET would return it, taken from the special-names list (for units
/// created by fixtures that have no GET fixture of their own).
fn special_unit_json(name: &str) -> String {
    let list = Fixture::load("units-list-special-names").body_json();
    let unit = json_list(&list, "units")
        .iter()
        .find(|u| u["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in units-list-special-names"))
        .clone();
    serde_json::to_string(&unit).unwrap()
}

/// The unit a fixture's PUT body describes.
fn unit_from_request(fixture: &Fixture) -> fleet::Unit {
    let body: Value = serde_json::from_str(fixture.request.body.as_deref().unwrap()).unwrap();
    fleet::Unit::from_options(options_of(&body))
        .with_desired_state(state_of(&body, "desiredState").unwrap())
}

/// A first page whose nextPageToken is `token`, so that the client's follow-up request is
/// exactly the fixture's.
fn page_with_token(key: &str, item: &str, token: &str) -> Reply {
    Reply::json(
        200,
        format!("{{\"nextPageToken\":\"{token}\",\"{key}\":[{item}]}}"),
    )
}

fn token_of(fixture: &Fixture) -> &str {
    fixture
        .request
        .query
        .as_deref()
        .and_then(|q| q.strip_prefix("nextPageToken="))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Units: list.

#[tokio::test]
async fn units_list_fixtures() {
    for name in [
        "units-list",
        "units-list-special-names",
        "units-list-empty",
        "units-list-empty-unix",
    ] {
        let (units, fx) = replay(name, |client| async move {
            client.list_units().try_collect::<Vec<_>>().await.unwrap()
        })
        .await;
        assert_units(&units, json_list(&fx.body_json(), "units"));
    }
}

#[tokio::test]
async fn units_list_follows_the_page_token_over_tcp_and_unix() {
    let page1 = Fixture::load("units-list-page1");
    for page2_name in ["units-list-page2", "units-list-page2-unix"] {
        let page2 = Fixture::load(page2_name);
        let (server, client) = start(&page2, vec![page1.reply(), page2.reply()]).await;
        let units: Vec<fleet::Unit> = client.list_units().try_collect().await.unwrap();
        assert_eq!(units.len(), 105);
        let mut want = json_list(&page1.body_json(), "units").to_vec();
        want.extend_from_slice(json_list(&page2.body_json(), "units"));
        assert_units(&units, &want);
        assert_eq!(units[0].name(), Some("page-000.service"));
        assert_eq!(units[104].name(), Some("page-104.service"));
        assert_requests(&server, &[&page1, &page2]);
    }
}

#[tokio::test]
async fn units_list_is_lazy_one_page_at_a_time() {
    let page1 = Fixture::load("units-list-page1");
    let page2 = Fixture::load("units-list-page2");
    let (server, client) = start(&page1, vec![page1.reply(), page2.reply()]).await;
    let mut stream = std::pin::pin!(client.list_units());
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.name(), Some("page-000.service"));
    // Only discovery and the first page have been requested so far.
    assert_eq!(server.requests().len(), 2);
    let rest: Vec<fleet::Unit> = stream.try_collect().await.unwrap();
    assert_eq!(rest.len(), 104);
    assert_requests(&server, &[&page1, &page2]);
}

#[tokio::test]
async fn units_list_token_past_end_ends_the_stream() {
    let fx = Fixture::load("units-list-token-past-end");
    let first = special_unit_json("a:b.service");
    let (server, client) = start(
        &fx,
        vec![page_with_token("units", &first, token_of(&fx)), fx.reply()],
    )
    .await;
    let units: Vec<fleet::Unit> = client.list_units().try_collect().await.unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].name(), Some("a:b.service"));
    let got = server.requests();
    assert_eq!(got.len(), 3);
    fx.assert_request(&got[2]);
}

#[tokio::test]
async fn page_token_errors_end_the_stream_with_the_api_error() {
    for (name, key, item) in [
        (
            "units-list-bad-token-400",
            "units",
            special_unit_json("a:b.service"),
        ),
        (
            "units-list-token-wrong-limit-400",
            "units",
            special_unit_json("a:b.service"),
        ),
        (
            "units-list-token-page-zero-400",
            "units",
            special_unit_json("a:b.service"),
        ),
        (
            "machines-list-bad-token-400",
            "machines",
            serde_json::to_string(
                &json_list(&Fixture::load("machines-list").body_json(), "machines")[0],
            )
            .unwrap(),
        ),
        (
            "state-list-bad-token-400",
            "states",
            serde_json::to_string(
                &json_list(&Fixture::load("state-list").body_json(), "states")[0],
            )
            .unwrap(),
        ),
    ] {
        let fx = Fixture::load(name);
        let (server, client) = start(
            &fx,
            vec![page_with_token(key, &item, token_of(&fx)), fx.reply()],
        )
        .await;
        let (items, err) = match key {
            "units" => {
                let mut s = std::pin::pin!(client.list_units());
                let first = s.try_next().await.unwrap();
                (first.is_some(), s.try_next().await.unwrap_err())
            }
            "machines" => {
                let mut s = std::pin::pin!(client.list_machines());
                let first = s.try_next().await.unwrap();
                (first.is_some(), s.try_next().await.unwrap_err())
            }
            _ => {
                let mut s = std::pin::pin!(client.list_unit_states(None, None));
                let first = s.try_next().await.unwrap();
                (first.is_some(), s.try_next().await.unwrap_err())
            }
        };
        assert!(
            items,
            "{name}: the first page's item comes before the error"
        );
        assert_api_error(&err, &fx);
        let got = server.requests();
        assert_eq!(got.len(), 3, "{name}");
        fx.assert_request(&got[2]);
    }
}

#[tokio::test]
async fn server_errors_on_list_are_api_errors() {
    for name in ["unavailable-503", "etcd-down-500"] {
        replay_api_error(name, |client| async move {
            client.list_units().try_collect::<Vec<_>>().await
        })
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// Units: get.

#[tokio::test]
async fn units_get_fixtures() {
    for (name, unit_name) in [
        ("units-get-existing", "hello.service"),
        ("units-get-existing-unix", "hello.service"),
        ("units-get-global", "global.service"),
        ("units-get-after-set-loaded", "hello.service"),
        ("units-get-after-changed-options", "hello.service"),
        ("units-get-empty-option-value", "emptyval.service"),
    ] {
        let (unit, fx) = replay(name, |client| async move {
            client.get_unit(unit_name).await.unwrap()
        })
        .await;
        assert_unit(&unit, &fx.body_json());
    }
}

#[tokio::test]
async fn units_get_global_has_no_current_state_or_machine() {
    let fx = Fixture::load("units-get-global");
    let (_server, client) = start(&fx, vec![fx.reply()]).await;
    let unit = client.get_unit("global.service").await.unwrap();
    assert_eq!(unit.current_state(), None);
    assert_eq!(unit.machine_id(), None);
}

#[tokio::test]
async fn units_get_at_sign() {
    // fleet decodes the path, so `foo@bar.service` and `foo%40bar.service` name the same unit.
    // This fixture was recorded with `%40`; the client sends `@` raw, as the other fixtures
    // (`units-create-at-sign-raw-201`) and fleet's own clients do.
    let fx = Fixture::load("units-get-at-sign-encoded");
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    let unit = client.get_unit("foo@bar.service").await.unwrap();
    assert_unit(&unit, &fx.body_json());
    let got = server.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].method, "GET");
    assert_eq!(got[1].path, "/fleet/v1/units/foo@bar.service");
    assert_eq!(decode(&got[1].path), decode(&fx.request.path));
}

fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

#[tokio::test]
async fn units_get_errors() {
    for (name, unit_name) in [
        ("units-get-missing-404", "missing.service"),
        ("units-get-missing-404-unix", "missing.service"),
        ("units-get-after-invalid-desired-state", "badstate.service"),
        (
            "units-get-after-invalid-desired-state-existing",
            "poison.service",
        ),
    ] {
        replay_api_error(
            name,
            |client| async move { client.get_unit(unit_name).await },
        )
        .await;
    }
    // The python-fleet idiom: a missing unit is code 404.
    let fx = Fixture::load("units-get-missing-404");
    let (_server, client) = start(&fx, vec![fx.reply()]).await;
    let err = client.get_unit("missing.service").await.unwrap_err();
    assert!(matches!(
        &err,
        fleet::Error::Api { code: 404, message } if message == "unit does not exist"
    ));
}

// ---------------------------------------------------------------------------------------------
// Units: create, set desired state, destroy.

#[tokio::test]
async fn units_create_then_return_the_unit_as_fleet_holds_it() {
    // (PUT fixture, GET fixture or synthesized GET body, unit name)
    for (put_name, get_name, unit_name) in [
        (
            "units-create-201",
            Some("units-get-existing"),
            "hello.service",
        ),
        (
            "units-put-existing-same-options-204",
            Some("units-get-existing"),
            "hello.service",
        ),
        (
            "units-put-existing-changed-options",
            Some("units-get-after-changed-options"),
            "hello.service",
        ),
        (
            "units-create-empty-option-value-201",
            Some("units-get-empty-option-value"),
            "emptyval.service",
        ),
        ("units-create-colon-201", None, "a:b.service"),
        (
            "units-create-backslash-escape-201",
            None,
            "foo\\x2dbar.service",
        ),
        ("units-create-template-201", None, "tmpl@.service"),
        ("units-create-at-sign-raw-201", None, "foo@bar.service"),
    ] {
        let put = Fixture::load(put_name);
        let get_body = match get_name {
            Some(g) => Fixture::load(g).response.unwrap().body,
            None => special_unit_json(unit_name),
        };
        let (server, client) =
            start(&put, vec![put.reply(), Reply::json(200, get_body.clone())]).await;
        let unit = unit_from_request(&put);
        let created = client.create_unit(unit_name, &unit).await.unwrap();
        assert_unit(&created, &serde_json::from_str(&get_body).unwrap());
        let got = server.requests();
        assert_eq!(
            got.len(),
            3,
            "{put_name}: {:?}",
            got.iter().map(RawRequest::line).collect::<Vec<_>>()
        );
        put.assert_request(&got[1]);
        assert_eq!(got[2].method, "GET", "{put_name}");
        assert_eq!(got[2].path, got[1].path, "{put_name}: GET the same unit");
        assert_eq!(got[2].query, None);
        assert!(got[2].body.is_empty());
    }
}

#[tokio::test]
async fn units_create_errors() {
    // Options fleet refuses.
    let fx = Fixture::load("units-create-conflicting-xfleet-400");
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    let err = client
        .create_unit("conflict.service", &unit_from_request(&fx))
        .await
        .unwrap_err();
    assert_api_error(&err, &fx);
    assert_requests(&server, &[&fx]);

    // A unit without options: `"options": []`.
    replay_api_error("units-create-empty-options-409", |client| async move {
        client
            .create_unit("nooptions.service", &fleet::Unit::new())
            .await
    })
    .await;

    // Setting the desired state of a unit that does not exist.
    replay_api_error("units-create-no-options-409", |client| async move {
        client
            .set_unit_desired_state("nooptions.service", fleet::DesiredState::Launched)
            .await
    })
    .await;
}

#[tokio::test]
async fn units_set_desired_state_then_return_the_unit() {
    for (put_name, get_name, state) in [
        (
            "units-set-desired-state-204",
            "units-get-after-set-loaded",
            fleet::DesiredState::Loaded,
        ),
        (
            "units-set-desired-state-unix-204",
            "units-get-existing-unix",
            fleet::DesiredState::Launched,
        ),
    ] {
        let put = Fixture::load(put_name);
        let get = Fixture::load(get_name);
        let (server, client) = start(&put, vec![put.reply(), get.reply()]).await;
        let unit = client
            .set_unit_desired_state("hello.service", state)
            .await
            .unwrap();
        assert_unit(&unit, &get.body_json());
        assert_requests(&server, &[&put, &get]);
    }
}

#[tokio::test]
async fn unit_from_the_cluster_sets_its_own_desired_state() {
    let get = Fixture::load("units-get-existing");
    let put = Fixture::load("units-set-desired-state-204");
    let after = Fixture::load("units-get-after-set-loaded");
    let (server, client) = start(&get, vec![get.reply(), put.reply(), after.reply()]).await;
    let mut unit = client.get_unit("hello.service").await.unwrap();
    unit.set_desired_state(fleet::DesiredState::Loaded)
        .await
        .unwrap();
    assert_eq!(unit.desired_state(), fleet::DesiredState::Loaded);
    let got = server.requests();
    assert!(
        got.len() >= 3,
        "{:?}",
        got.iter().map(RawRequest::line).collect::<Vec<_>>()
    );
    get.assert_request(&got[1]);
    put.assert_request(&got[2]);
}

#[tokio::test]
async fn units_set_desired_state_errors() {
    for (name, unit_name, state) in [
        (
            "units-template-launch-400",
            "tmpl@.service",
            fleet::DesiredState::Launched,
        ),
        (
            "units-fix-invalid-desired-state-500",
            "poison.service",
            fleet::DesiredState::Inactive,
        ),
    ] {
        replay_api_error(name, |client| async move {
            client.set_unit_desired_state(unit_name, state).await
        })
        .await;
    }
}

#[tokio::test]
async fn units_destroy() {
    for (name, unit_name) in [
        ("units-delete-204", "east.service"),
        ("units-delete-unix-204", "foo@bar.service"),
    ] {
        replay(name, |client| async move {
            client.destroy_unit(unit_name).await.unwrap();
        })
        .await;
    }
    for (name, unit_name) in [
        ("units-delete-missing-404", "east.service"),
        ("units-delete-invalid-desired-state-500", "poison.service"),
    ] {
        replay_api_error(name, |client| async move {
            client.destroy_unit(unit_name).await
        })
        .await;
    }
}

#[tokio::test]
async fn invalid_names_are_refused_locally() {
    for (fixture, unit_name, message) in REFUSED_LOCALLY {
        let fx = Fixture::load(fixture);
        // The fixture's request names the unit this row refuses.
        assert_eq!(
            decode(&fx.request.path),
            format!("/fleet/v1/units/{unit_name}"),
            "{fixture}"
        );
        let (server, client) = start(&fx, vec![]).await;
        if fx.request.method == "PUT" {
            let err = client
                .create_unit(unit_name, &unit_from_request(&fx))
                .await
                .unwrap_err();
            assert!(
                matches!(&err, fleet::Error::InvalidUnitName { message: m, .. } if m == message),
                "{fixture}: {err:?}"
            );
        }
        support::assert_every_named_call_refused(&client, unit_name, message, fixture).await;
        // Nothing but discovery reached the server.
        assert_requests(&server, &[]);
    }
}

#[tokio::test]
async fn no_name_can_change_the_request_path() {
    // Names that would address another path are not unit names fleet could hold: refused
    // locally by every call, nothing sent. (The encoding of the names that pass is checked
    // byte for byte against the fixtures, e.g. `foo\x2dbar.service` as `foo%5Cx2dbar.service`.)
    let missing = Fixture::load("units-get-missing-404");
    let (server, client) = start(&missing, vec![]).await;
    for (name, message) in [
        ("../machines", "invalid unit type: \"/machines\""),
        ("..", "unit name cannot end in \".\""),
        ("hello.service/", "invalid unit type: \"service/\""),
        ("a?b#c.service", "invalid character '?' in unit name"),
        ("100%.service", "invalid character '%' in unit name"),
        ("", "unit name cannot be empty"),
    ] {
        support::assert_every_named_call_refused(&client, name, message, name).await;
    }
    assert_requests(&server, &[]);
}

// ---------------------------------------------------------------------------------------------
// Unit states.

#[tokio::test]
async fn unit_states_list_fixtures() {
    for name in [
        "state-list",
        "state-list-unix",
        "state-list-empty",
        "state-list-machine-filter",
        "state-list-machine-filter-short-id",
        "state-list-unit-filter",
        "state-list-both-filters",
        "state-list-filter-no-match",
    ] {
        let fx = Fixture::load(name);
        let params: Vec<(String, String)> = fx
            .request
            .query
            .as_deref()
            .map(|q| {
                q.split('&')
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (k.to_string(), v.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let machine = params
            .iter()
            .find(|(k, _)| k == "machineID")
            .map(|(_, v)| v.as_str());
        let unit = params
            .iter()
            .find(|(k, _)| k == "unitName")
            .map(|(_, v)| v.as_str());
        let (server, client) = start(&fx, vec![fx.reply()]).await;
        let states: Vec<fleet::UnitState> = client
            .list_unit_states(machine, unit)
            .try_collect()
            .await
            .unwrap();
        assert_states(&states, json_list(&fx.body_json(), "states"));
        assert_requests(&server, &[&fx]);
    }
}

#[tokio::test]
async fn unit_state_get_fixtures() {
    for name in ["state-get", "state-get-after-set-loaded"] {
        let (state, fx) = replay(name, |client| async move {
            client.get_unit_state("hello.service").await.unwrap()
        })
        .await;
        assert_states(std::slice::from_ref(&state), &[fx.body_json()]);
    }
}

#[tokio::test]
async fn unit_state_of_unknown_unit_is_no_response() {
    // fleet closes the connection without a response; the client must say so, not hang.
    let fx = Fixture::load("state-get-missing-no-response");
    assert!(fx.response.is_none());
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        client.get_unit_state("missing.service"),
    )
    .await
    .expect("the client must not hang on a closed connection")
    .unwrap_err();
    match &err {
        fleet::Error::NoResponse { request } => {
            assert!(request.contains("GET"), "{request}");
            assert!(
                request.contains("/fleet/v1/state/missing.service"),
                "{request}"
            );
        }
        other => panic!("expected NoResponse, got {other:?}"),
    }
    let got = server.requests();
    fx.assert_request(&got[1]);
    // At most one retry on a fresh connection, never more.
    assert!(
        got.len() <= 3,
        "{:?}",
        got.iter().map(RawRequest::line).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn malformed_responses_are_clear_errors() {
    let get = Fixture::load("units-get-existing");
    let body = get.response.as_ref().unwrap().body.clone();

    // Headers promise the whole body, half of it arrives, then the connection closes.
    let mut truncated = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    truncated.extend_from_slice(&body.as_bytes()[..body.len() / 2]);
    let (server, client) = start(&get, vec![Reply::RawThenClose(truncated)]).await;
    let err = client.get_unit("hello.service").await.unwrap_err();
    assert!(
        matches!(
            &err,
            fleet::Error::UnexpectedResponse { .. } | fleet::Error::Transport { .. }
        ),
        "a response cut short is not 'no response': {err:?}"
    );
    assert!(err.to_string().contains("hello.service"), "{err}");
    assert_requests(&server, &[&get]);

    // A complete 200 whose body is not JSON, or JSON of the wrong shape.
    for bad in [
        "{\"name\":\"hello.service\",",
        "[1,2,3]",
        "<html>oops</html>",
    ] {
        let (_server, client) = start(&get, vec![Reply::json(200, bad)]).await;
        let err = client.get_unit("hello.service").await.unwrap_err();
        match &err {
            fleet::Error::UnexpectedResponse {
                status, excerpt, ..
            } => {
                assert_eq!(*status, 200);
                assert!(
                    bad.starts_with(excerpt.as_str()) || excerpt.starts_with(&bad[..5]),
                    "{excerpt:?}"
                );
            }
            other => panic!("{bad:?}: expected UnexpectedResponse, got {other:?}"),
        }
    }

    // An error status whose body is not fleet's error object is still an API error or an
    // unexpected response, never a panic; its status is kept.
    let (_server, client) = start(
        &get,
        vec![Reply::with_type(
            502,
            "text/html",
            "<html>bad gateway</html>",
        )],
    )
    .await;
    let err = client.get_unit("hello.service").await.unwrap_err();
    assert_eq!(err.code(), Some(502), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Machines.

#[tokio::test]
async fn machines_list_fixtures() {
    for name in [
        "machines-list",
        "machines-list-unix",
        "machines-list-after-patch",
        "machines-list-after-patch-remove",
    ] {
        let (machines, fx) = replay(name, |client| async move {
            client
                .list_machines()
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
        })
        .await;
        assert_machines(&machines, json_list(&fx.body_json(), "machines"));
    }
}

#[tokio::test]
async fn machines_list_without_metadata_has_empty_metadata() {
    let fx = Fixture::load("machines-list");
    let body =
        r#"{"machines":[{"id":"113f16a7b4b64e9a8c1a3f0e5d2c7b01","primaryIP":"172.17.8.101"}]}"#;
    let (_server, client) = start(&fx, vec![Reply::json(200, body)]).await;
    let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
    assert_eq!(machines.len(), 1);
    assert!(machines[0].metadata.is_empty());
}

const M1: &str = "113f16a7b4b64e9a8c1a3f0e5d2c7b01";
const M2: &str = "9a4b2c7d8e1f40a2b3c4d5e6f7a8b902";

#[tokio::test]
async fn machines_patch_several_operations() {
    let fx = Fixture::load("machines-patch-valid-204");
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    client
        .patch_machine_metadata(&[
            fleet::MachineMetadataOp::Add {
                machine_id: M1.into(),
                key: "rack".into(),
                value: "r42".into(),
            },
            fleet::MachineMetadataOp::Replace {
                machine_id: M2.into(),
                key: "role".into(),
                value: "database".into(),
            },
        ])
        .await
        .unwrap();
    assert_requests(&server, &[&fx]);

    let fx = Fixture::load("machines-patch-remove-204");
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    client
        .patch_machine_metadata(&[
            fleet::MachineMetadataOp::Remove {
                machine_id: M1.into(),
                key: "rack".into(),
            },
            fleet::MachineMetadataOp::Remove {
                machine_id: M2.into(),
                key: "role".into(),
            },
        ])
        .await
        .unwrap();
    assert_requests(&server, &[&fx]);
}

#[tokio::test]
async fn machines_set_and_remove_one_key() {
    // The single-key calls send one operation each, in the same nested wire format.
    let fx = Fixture::load("machines-patch-valid-204");
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    client
        .set_machine_metadata(M1, "rack", "r42")
        .await
        .unwrap();
    let got = server.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].method, "PATCH");
    assert_eq!(got[1].path, "/fleet/v1/machines");
    assert_eq!(got[1].header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&got[1].body).unwrap();
    let fixture_body: Value = serde_json::from_str(fx.request.body.as_deref().unwrap()).unwrap();
    let op = body.as_array().unwrap();
    assert_eq!(op.len(), 1);
    assert!(
        op[0] == fixture_body[0]
            || (op[0]["op"] == "replace"
                && op[0]["path"] == fixture_body[0]["path"]
                && op[0]["value"] == fixture_body[0]["value"]),
        "{body}"
    );

    let fx = Fixture::load("machines-patch-remove-204");
    let (server, client) = start(&fx, vec![fx.reply()]).await;
    client.remove_machine_metadata(M1, "rack").await.unwrap();
    let got = server.requests();
    let body: Value = serde_json::from_slice(&got[1].body).unwrap();
    let fixture_body: Value = serde_json::from_str(fx.request.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, Value::Array(vec![fixture_body[0].clone()]));
}

// ---------------------------------------------------------------------------------------------
// Discovery failures.

fn assert_discovery_error(err: fleet::Error, endpoint: &str) {
    match &err {
        fleet::Error::Discovery {
            endpoint: e,
            message,
        } => {
            assert!(
                e.contains(endpoint.trim_start_matches("http://")) || endpoint.contains(e.as_str()),
                "endpoint {e:?} should name {endpoint:?}"
            );
            assert!(!message.is_empty());
        }
        other => panic!("expected Error::Discovery, got {other:?}"),
    }
    assert!(
        err.to_string().contains(endpoint)
            || err
                .to_string()
                .contains(endpoint.trim_start_matches("http://")),
        "{err} should name {endpoint}"
    );
}

#[tokio::test]
async fn discovery_of_another_api_is_refused() {
    let mut doc: Value = Fixture::load("discovery").body_json();
    doc["id"] = "compute:v1".into();
    doc["name"] = "compute".into();
    let server = ReplayServer::tcp(vec![Reply::json(200, doc.to_string())]).await;
    let err = fleet::Client::new(&server.endpoint()).await.unwrap_err();
    assert_discovery_error(err, &server.endpoint());
    assert_eq!(server.requests().len(), 1);
    Fixture::load("discovery").assert_request(&server.requests()[0]);
}

#[tokio::test]
async fn discovery_of_another_version_is_refused() {
    let mut doc: Value = Fixture::load("discovery").body_json();
    doc["version"] = "v2".into();
    doc["id"] = "fleet:v2".into();
    let server = ReplayServer::tcp(vec![Reply::json(200, doc.to_string())]).await;
    let err = fleet::Client::new(&server.endpoint()).await.unwrap_err();
    assert_discovery_error(err, &server.endpoint());
}

#[tokio::test]
async fn discovery_non_200_is_refused() {
    let not_found = Fixture::load("unknown-path");
    let server = ReplayServer::tcp(vec![not_found.reply()]).await;
    let err = fleet::Client::new(&server.endpoint()).await.unwrap_err();
    let text = err.to_string();
    assert_discovery_error(err, &server.endpoint());
    assert!(text.contains("404"), "{text}");
}

#[tokio::test]
async fn discovery_not_json_is_refused() {
    let server = ReplayServer::tcp(vec![Reply::with_type(
        200,
        "text/html; charset=utf-8",
        "<html><body>not fleet</body></html>",
    )])
    .await;
    let err = fleet::Client::new(&server.endpoint()).await.unwrap_err();
    assert_discovery_error(err, &server.endpoint());
}

#[tokio::test]
async fn discovery_unreachable_is_refused() {
    let endpoint = support::dead_tcp_endpoint();
    let err = fleet::Client::new(&endpoint).await.unwrap_err();
    assert_discovery_error(err, &endpoint);

    let (_dir, path) = support::dead_unix_socket();
    let endpoint = format!("unix://{}", path.display());
    let err = fleet::Client::new(&endpoint).await.unwrap_err();
    match &err {
        fleet::Error::Discovery { .. } => {
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            )
        }
        other => panic!("expected Error::Discovery, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_connection_closed_is_refused() {
    let server = ReplayServer::tcp(vec![Reply::Close, Reply::Close, Reply::Close]).await;
    let err = fleet::Client::new(&server.endpoint()).await.unwrap_err();
    assert_discovery_error(err, &server.endpoint());
}

#[tokio::test]
async fn unix_endpoint_forms_reach_the_same_socket() {
    let fx = Fixture::load("units-list-empty-unix");
    let server = ReplayServer::unix(vec![
        Reply::discovery(),
        fx.reply(),
        Reply::discovery(),
        fx.reply(),
    ])
    .await;
    for endpoint in [server.endpoint(), server.http_unix_endpoint()] {
        let client = fleet::Client::new(&endpoint).await.unwrap();
        let units: Vec<fleet::Unit> = client.list_units().try_collect().await.unwrap();
        assert!(units.is_empty(), "{endpoint}");
    }
    let got = server.requests();
    assert_eq!(got.len(), 4);
    fx.assert_request(&got[1]);
    fx.assert_request(&got[3]);
}
