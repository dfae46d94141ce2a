//! The I/O-free request layer: method table from fleet's discovery document, paths, encoding,
//! query strings, headers and bodies. No network.

use fleet::discovery::{ApiMethod, Discovery};
use fleet::request::{encode_path_segment, Call, RequestFactory};
use fleet::v1 as fleet;
use fleet::{DesiredState, Endpoint, MachineMetadataOp, Unit, UnitOption};
use http::Method;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../../shared/fixtures/fleet-v1/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn discovery_doc() -> String {
    fixture("discovery")["response"]["body"]
        .as_str()
        .unwrap()
        .to_string()
}

fn factory() -> RequestFactory {
    let discovery = Discovery::from_slice(discovery_doc().as_bytes()).unwrap();
    let endpoint = Endpoint::parse("http://127.0.0.1:49153").unwrap();
    RequestFactory::new(discovery, &endpoint, "fleet-rs/test").unwrap()
}

fn body_json(req: &http::Request<bytes::Bytes>) -> Value {
    serde_json::from_slice(req.body()).unwrap()
}

#[test]
fn method_table_from_fleets_discovery_document() {
    let d = Discovery::from_slice(discovery_doc().as_bytes()).unwrap();
    let expect = [
        (ApiMethod::UnitsList, Method::GET, "/fleet/v1/units", true),
        (
            ApiMethod::UnitsGet,
            Method::GET,
            "/fleet/v1/units/{unitName}",
            true,
        ),
        (
            ApiMethod::UnitsSet,
            Method::PUT,
            "/fleet/v1/units/{unitName}",
            true,
        ),
        (
            ApiMethod::UnitsDelete,
            Method::DELETE,
            "/fleet/v1/units/{unitName}",
            true,
        ),
        (
            ApiMethod::UnitStateList,
            Method::GET,
            "/fleet/v1/state",
            true,
        ),
        (
            ApiMethod::UnitStateGet,
            Method::GET,
            "/fleet/v1/state/{unitName}",
            true,
        ),
        (
            ApiMethod::MachinesList,
            Method::GET,
            "/fleet/v1/machines",
            true,
        ),
        // Not in fleet v1.0.0's document: PATCH on the Machines.List path.
        (
            ApiMethod::MachinesPatch,
            Method::PATCH,
            "/fleet/v1/machines",
            false,
        ),
    ];
    for (m, method, path, described) in expect {
        let spec = d.method(m);
        assert_eq!(spec.http_method(), &method, "{m:?}");
        assert_eq!(spec.path_template(), path, "{m:?}");
        assert_eq!(spec.is_described(), described, "{m:?}");
    }
}

#[test]
fn the_document_decides_methods_and_paths() {
    // Change the document: paths and HTTP methods must follow it, not constants.
    let mut doc: Value = serde_json::from_str(&discovery_doc()).unwrap();
    doc["servicePath"] = "api/v9/".into();
    doc["resources"]["Units"]["methods"]["Set"]["httpMethod"] = "POST".into();
    doc["resources"]["UnitState"]["methods"]["Get"]["path"] = "states/{unitName}/now".into();
    doc["resources"]["Machines"]["methods"]["Patch"] =
        serde_json::json!({"httpMethod": "PATCH", "path": "machines/metadata"});
    let d = Discovery::from_slice(doc.to_string().as_bytes()).unwrap();
    let f = RequestFactory::new(d, &Endpoint::parse("http://h:1").unwrap(), "ua").unwrap();

    let req = f
        .build(&Call::SetUnitDesiredState {
            name: "a.service",
            state: DesiredState::Loaded,
        })
        .unwrap();
    assert_eq!(req.method(), Method::POST);
    assert_eq!(req.uri(), "http://h:1/api/v9/units/a.service");
    let req = f.build(&Call::GetUnitState { name: "a.service" }).unwrap();
    assert_eq!(req.uri().path(), "/api/v9/states/a.service/now");
    let req = f.build(&Call::PatchMachines { ops: &[] }).unwrap();
    assert_eq!(req.uri().path(), "/api/v9/machines/metadata");
    assert!(f
        .discovery()
        .method(ApiMethod::MachinesPatch)
        .is_described());

    // A rootUrl with a path of its own.
    doc["rootUrl"] = "$ENDPOINT/prefix/".into();
    let d = Discovery::from_slice(doc.to_string().as_bytes()).unwrap();
    assert_eq!(
        d.method(ApiMethod::UnitsList).path_template(),
        "/prefix/api/v9/units"
    );
}

#[test]
fn discovery_documents_that_are_not_fleet_v1_are_refused() {
    let mut doc: Value = serde_json::from_str(&discovery_doc()).unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not valid JSON"),
        ("[]".into(), "not valid JSON"),
        (
            {
                let mut d = doc.clone();
                d["id"] = "fleet:v2".into();
                d.to_string()
            },
            "describes API \"fleet:v2\", not fleet v1",
        ),
        (
            {
                let mut d = doc.clone();
                d.as_object_mut().unwrap().remove("id");
                d.to_string()
            },
            "no \"id\"",
        ),
        (
            {
                let mut d = doc.clone();
                d["resources"]["UnitState"]["methods"]
                    .as_object_mut()
                    .unwrap()
                    .remove("Get");
                d.to_string()
            },
            "no UnitState.Get method",
        ),
        (
            {
                let mut d = doc.clone();
                d["resources"]["Units"]["methods"]["Get"]["path"] = "units/{name}".into();
                d.to_string()
            },
            "has no {unitName} parameter",
        ),
        (
            {
                let mut d = doc.clone();
                d["rootUrl"] = "somewhere".into();
                d.to_string()
            },
            "rootUrl",
        ),
        (
            {
                let mut d = doc.clone();
                d["resources"]["Units"]["methods"]["List"]["path"] = "un its".into();
                d.to_string()
            },
            "Units.List has an unusable path \"/fleet/v1/un its\"",
        ),
        (
            {
                let mut d = doc.clone();
                d["resources"]["Units"]["methods"]["Get"]["path"] = "units/{unitName}\u{7f}".into();
                d.to_string()
            },
            "Units.Get has an unusable path",
        ),
    ];
    for (text, expected) in cases {
        let err = Discovery::from_slice(text.as_bytes()).unwrap_err();
        assert!(err.contains(expected), "{err:?} lacks {expected:?}");
    }
    // The real document is fine (sanity check of the mutations above).
    doc["x"] = 1.into();
    assert!(Discovery::from_slice(doc.to_string().as_bytes()).is_ok());
}

#[test]
fn create_unit_request_matches_fleets_fixture() {
    let fx = fixture("units-create-201");
    let unit = Unit::from_options(vec![
        UnitOption::new("Unit", "Description", "Hello World"),
        UnitOption::new("Service", "ExecStart", "/usr/bin/sleep 1d"),
        UnitOption::new("X-Fleet", "MachineMetadata", "role=db"),
    ]);
    let req = factory()
        .build(&Call::CreateUnit {
            name: "hello.service",
            unit: &unit,
        })
        .unwrap();
    assert_eq!(req.method().as_str(), fx["request"]["method"]);
    assert_eq!(req.uri().path(), fx["request"]["path"]);
    assert_eq!(req.uri().query(), None);
    assert_eq!(req.headers()["content-type"], "application/json");
    assert_eq!(req.headers()["user-agent"], "fleet-rs/test");
    let sent = body_json(&req);
    let recorded: Value = serde_json::from_str(fx["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, recorded);
}

#[test]
fn create_unit_sends_empty_values_and_the_desired_state() {
    let unit = Unit::from_options(vec![UnitOption::new("Service", "Environment", "")])
        .with_desired_state(DesiredState::Inactive);
    let req = factory()
        .build(&Call::CreateUnit {
            name: "emptyval.service",
            unit: &unit,
        })
        .unwrap();
    assert_eq!(
        body_json(&req),
        serde_json::json!({"desiredState": "inactive",
            "options": [{"section": "Service", "name": "Environment", "value": ""}]})
    );
}

#[test]
fn set_desired_state_request_matches_fleets_fixture() {
    let fx = fixture("units-set-desired-state-204");
    let req = factory()
        .build(&Call::SetUnitDesiredState {
            name: "hello.service",
            state: DesiredState::Loaded,
        })
        .unwrap();
    assert_eq!(req.method(), Method::PUT);
    assert_eq!(req.uri().path(), fx["request"]["path"]);
    let recorded: Value = serde_json::from_str(fx["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body_json(&req), recorded);
}

#[test]
fn get_and_delete_have_no_body_and_no_content_type() {
    let f = factory();
    for (call, method, path) in [
        (
            Call::GetUnit {
                name: "hello.service",
            },
            Method::GET,
            "/fleet/v1/units/hello.service",
        ),
        (
            Call::DestroyUnit {
                name: "east.service",
            },
            Method::DELETE,
            "/fleet/v1/units/east.service",
        ),
        (
            Call::GetUnitState {
                name: "hello.service",
            },
            Method::GET,
            "/fleet/v1/state/hello.service",
        ),
        (
            Call::ListUnits { page_token: None },
            Method::GET,
            "/fleet/v1/units",
        ),
        (
            Call::ListMachines { page_token: None },
            Method::GET,
            "/fleet/v1/machines",
        ),
    ] {
        let req = f.build(&call).unwrap();
        assert_eq!(req.method(), method);
        assert_eq!(req.uri().path(), path);
        assert!(req.body().is_empty());
        assert!(req.headers().get("content-type").is_none());
        assert_eq!(req.uri().authority().unwrap().as_str(), "127.0.0.1:49153");
    }
}

/// Every call that names a unit, with `name`.
fn named_calls<'a>(name: &'a str, unit: &'a Unit) -> [Call<'a>; 6] {
    [
        Call::GetUnit { name },
        Call::DestroyUnit { name },
        Call::GetUnitState { name },
        Call::CreateUnit { name, unit },
        Call::SetUnitDesiredState {
            name,
            state: DesiredState::Loaded,
        },
        Call::ListUnitStates {
            machine_id: None,
            unit_name: Some(name),
            page_token: None,
        },
    ]
}

#[test]
fn unit_names_are_percent_encoded_as_one_segment() {
    // `@` and `:` are pchars (RFC 3986) and sent raw, as in fleet's fixtures; everything else
    // outside the unreserved characters is encoded, and `.`/`..` are encoded whole.
    let table = [
        ("hello.service", "hello.service"),
        ("foo@bar.service", "foo@bar.service"),
        ("a:b.service", "a:b.service"),
        ("foo\\x2dbar.service", "foo%5Cx2dbar.service"),
        ("a b.service", "a%20b.service"),
        ("foo/bar.service", "foo%2Fbar.service"),
        ("../machines", "..%2Fmachines"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("x?y=1#z", "x%3Fy%3D1%23z"),
        ("100%.service", "100%25.service"),
        ("%2F.service", "%252F.service"),
        ("ünï.service", "%C3%BCn%C3%AF.service"),
        ("tab\t.service", "tab%09.service"),
        ("a~b_c-d.service", "a~b_c-d.service"),
        ("@:.service", "@:.service"),
    ];
    for (name, encoded) in table {
        assert_eq!(encode_path_segment(name), encoded, "{name:?}");
    }
    // The names fleet can hold reach the path, encoded, for every call that names a unit.
    let f = factory();
    for (name, encoded) in [
        ("hello.service", "hello.service"),
        ("foo@bar.service", "foo@bar.service"),
        ("tmpl@.service", "tmpl@.service"),
        ("a:b.service", "a:b.service"),
        ("foo\\x2dbar.service", "foo%5Cx2dbar.service"),
        ("a_b-c.service", "a_b-c.service"),
    ] {
        let req = f.build(&Call::GetUnit { name }).unwrap();
        assert_eq!(req.uri().path(), format!("/fleet/v1/units/{encoded}"));
        assert_eq!(req.uri().query(), None, "{name:?} leaked into the query");
        let req = f.build(&Call::DestroyUnit { name }).unwrap();
        assert_eq!(req.uri().path(), format!("/fleet/v1/units/{encoded}"));
        let req = f.build(&Call::GetUnitState { name }).unwrap();
        assert_eq!(req.uri().path(), format!("/fleet/v1/state/{encoded}"));
    }
}

#[test]
fn empty_names_are_refused_for_every_call() {
    let f = factory();
    let unit = Unit::new();
    for call in named_calls("", &unit) {
        match f.build(&call) {
            Err(fleet::Error::InvalidUnitName { name, message }) => {
                assert_eq!(name, "");
                assert_eq!(message, "unit name cannot be empty");
            }
            other => panic!("{call:?}: expected InvalidUnitName, got {other:?}"),
        }
    }
}

#[test]
fn names_are_validated_before_anything_is_sent() {
    // Unlike fleet (which validates only on PUT and answers 404 to a GET of such a name) and
    // python-fleet (which sends anything), every call refuses a name fleet could never hold.
    let f = factory();
    let unit = Unit::from_options(vec![UnitOption::new("Service", "ExecStart", "/bin/true")]);
    for (name, want) in [
        ("hello", "unit name must contain \".\""),
        ("hello.txt", "invalid unit type: \"txt\""),
        ("a b.service", "invalid character ' ' in unit name"),
        ("foo/bar.service", "invalid character '/' in unit name"),
        ("x%2F.service", "invalid character '%' in unit name"),
        ("../machines", "invalid unit type: \"/machines\""),
        ("..", "unit name cannot end in \".\""),
        ("@x.service", "unit name cannot start in \"@\""),
    ] {
        for call in named_calls(name, &unit) {
            match f.build(&call) {
                Err(fleet::Error::InvalidUnitName { name: n, message }) => {
                    assert_eq!(n, name, "{call:?}");
                    assert_eq!(message, want, "{call:?}");
                }
                other => panic!("{call:?}: expected InvalidUnitName, got {other:?}"),
            }
        }
    }
    for name in [
        "foo@bar.service",
        "tmpl@.service",
        "a:b.service",
        "foo\\x2dbar.service",
    ] {
        for call in named_calls(name, &unit) {
            assert!(
                f.build(&call).is_ok(),
                "{call:?}: {name:?} is valid for fleet"
            );
        }
    }
}

#[test]
fn list_queries_carry_filters_and_tokens() {
    let f = factory();
    let cases = [
        (
            Call::ListUnitStates {
                machine_id: Some("e5d1a9c6b3f24d7e8a0b1c2d3e4f5a03"),
                unit_name: None,
                page_token: None,
            },
            fixture("state-list-machine-filter"),
        ),
        (
            Call::ListUnitStates {
                machine_id: None,
                unit_name: Some("global.service"),
                page_token: None,
            },
            fixture("state-list-unit-filter"),
        ),
        (
            Call::ListUnitStates {
                machine_id: Some("113f16a7b4b64e9a8c1a3f0e5d2c7b01"),
                unit_name: Some("global.service"),
                page_token: None,
            },
            fixture("state-list-both-filters"),
        ),
        (
            Call::ListUnits {
                page_token: Some("ZAACAA=="),
            },
            fixture("units-list-page2"),
        ),
    ];
    for (call, fx) in cases {
        let req = f.build(&call).unwrap();
        assert_eq!(req.uri().path(), fx["request"]["path"]);
        assert_eq!(req.uri().query(), fx["request"]["query"].as_str());
    }
    // Values that would break the query are encoded (a unit name that needs it is refused).
    let req = f
        .build(&Call::ListUnitStates {
            machine_id: Some("a&b=c d#e"),
            unit_name: Some("web@1:x.service"),
            page_token: Some("t+/"),
        })
        .unwrap();
    assert_eq!(
        req.uri().query(),
        Some("machineID=a%26b=c%20d%23e&unitName=web@1:x.service&nextPageToken=t%2B%2F")
    );
}

#[test]
fn machine_patch_bodies_match_fleets_fixtures() {
    let f = factory();
    let add = [
        MachineMetadataOp::Add {
            machine_id: "113f16a7b4b64e9a8c1a3f0e5d2c7b01".into(),
            key: "rack".into(),
            value: "r42".into(),
        },
        MachineMetadataOp::Replace {
            machine_id: "9a4b2c7d8e1f40a2b3c4d5e6f7a8b902".into(),
            key: "role".into(),
            value: "database".into(),
        },
    ];
    let remove = [
        MachineMetadataOp::Remove {
            machine_id: "113f16a7b4b64e9a8c1a3f0e5d2c7b01".into(),
            key: "rack".into(),
        },
        MachineMetadataOp::Remove {
            machine_id: "9a4b2c7d8e1f40a2b3c4d5e6f7a8b902".into(),
            key: "role".into(),
        },
    ];
    for (ops, name) in [
        (&add[..], "machines-patch-valid-204"),
        (&remove[..], "machines-patch-remove-204"),
    ] {
        let fx = fixture(name);
        let req = f.build(&Call::PatchMachines { ops }).unwrap();
        assert_eq!(req.method(), Method::PATCH);
        assert_eq!(req.uri().path(), fx["request"]["path"]);
        assert_eq!(req.headers()["content-type"], "application/json");
        let recorded: Value =
            serde_json::from_str(fx["request"]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body_json(&req), recorded, "{name}");
    }
}

#[test]
fn machine_patch_refuses_ids_and_keys_that_break_the_path() {
    let f = factory();
    for (machine_id, key) in [("", "k"), ("m", ""), ("m/x", "k"), ("m", "a/b")] {
        let ops = [MachineMetadataOp::Remove {
            machine_id: machine_id.into(),
            key: key.into(),
        }];
        match f.build(&Call::PatchMachines { ops: &ops }) {
            Err(fleet::Error::InvalidArgument(msg)) => assert!(!msg.is_empty()),
            other => panic!("({machine_id:?}, {key:?}): expected InvalidArgument, got {other:?}"),
        }
    }
}

#[test]
fn unix_and_https_endpoints_shape_the_uri() {
    let d = Discovery::from_slice(discovery_doc().as_bytes()).unwrap();
    for (endpoint, uri) in [
        (
            "unix:///var/run/fleet.sock",
            "http://localhost/fleet/v1/units",
        ),
        (
            "http+unix://%2Fvar%2Frun%2Ffleet.sock",
            "http://localhost/fleet/v1/units",
        ),
        (
            "https://fleet.example.com",
            "https://fleet.example.com:443/fleet/v1/units",
        ),
        ("http://[::1]:4001", "http://[::1]:4001/fleet/v1/units"),
    ] {
        let f = RequestFactory::new(d.clone(), &Endpoint::parse(endpoint).unwrap(), "ua").unwrap();
        let req = f.build(&Call::ListUnits { page_token: None }).unwrap();
        assert_eq!(req.uri(), uri, "{endpoint}");
    }
}

#[test]
fn a_user_agent_that_is_not_a_header_value_is_refused() {
    let d = Discovery::from_slice(discovery_doc().as_bytes()).unwrap();
    let err =
        RequestFactory::new(d, &Endpoint::parse("http://h").unwrap(), "bad\nagent").unwrap_err();
    assert!(matches!(err, fleet::Error::InvalidArgument(_)));
}
