//! Endpoint strings: the four accepted forms and clear errors for malformed ones.

use std::path::PathBuf;

use fleet::transport::Target;
use fleet::v1 as fleet;
use fleet::{Endpoint, Error};

fn tcp(host: &str, port: u16) -> Target {
    Target::Tcp {
        host: host.into(),
        port,
    }
}

fn unix(path: &str) -> Target {
    Target::Unix {
        path: PathBuf::from(path),
    }
}

#[test]
fn accepted_forms() {
    let table = [
        ("http://127.0.0.1:49153", tcp("127.0.0.1", 49153), false),
        ("http://127.0.0.1:49153/", tcp("127.0.0.1", 49153), false),
        ("http://fleet.local", tcp("fleet.local", 80), false),
        ("HTTP://Fleet.Local:8080", tcp("Fleet.Local", 8080), false),
        (
            "https://fleet.example.com",
            tcp("fleet.example.com", 443),
            true,
        ),
        ("https://10.0.0.1:2379", tcp("10.0.0.1", 2379), true),
        ("http://[::1]:4001", tcp("::1", 4001), false),
        ("https://[fe80::1]", tcp("fe80::1", 443), true),
        ("http://my_host-1:1", tcp("my_host-1", 1), false),
        (
            "http+unix://%2Fvar%2Frun%2Ffleet.sock",
            unix("/var/run/fleet.sock"),
            false,
        ),
        (
            "http+unix://%2Fvar%2Frun%2Ffleet.sock/",
            unix("/var/run/fleet.sock"),
            false,
        ),
        (
            "http+unix://%2Ftmp%2Fa%20b.sock",
            unix("/tmp/a b.sock"),
            false,
        ),
        ("http+unix://relative.sock", unix("relative.sock"), false),
        // Socket paths keep their case (python-fleet's HTTP library lowercases them).
        (
            "http+unix://%2Ftmp%2FFleet%2Fapi.Sock",
            unix("/tmp/Fleet/api.Sock"),
            false,
        ),
        ("unix:///tmp/Fleet.sock", unix("/tmp/Fleet.sock"), false),
        (
            "unix:///var/run/fleet.sock",
            unix("/var/run/fleet.sock"),
            false,
        ),
        ("UNIX:///run/fleet.sock", unix("/run/fleet.sock"), false),
        ("unix:///tmp/a%20b.sock", unix("/tmp/a b.sock"), false),
    ];
    for (text, target, tls) in table {
        let ep = Endpoint::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(ep.target(), target, "{text}");
        assert_eq!(ep.is_tls(), tls, "{text}");
        assert_eq!(ep.as_str(), text);
        assert_eq!(ep.to_string(), text);
        let parsed: Endpoint = text.parse().unwrap();
        assert_eq!(parsed, ep);
    }
}

#[test]
fn malformed_endpoints_are_clear_errors() {
    let table = [
        ("", "expected scheme://"),
        ("127.0.0.1:49153", "expected scheme://"),
        ("/var/run/fleet.sock", "expected scheme://"),
        ("ftp://example.com", "unsupported scheme \"ftp\""),
        ("ssh://core@host", "unsupported scheme \"ssh\""),
        ("http://", "missing host"),
        ("http://:80", "missing host"),
        ("http://host:", "not a valid TCP port"),
        ("http://host:0", "not a valid TCP port"),
        ("http://host:65536", "not a valid TCP port"),
        ("http://host:http", "not a valid TCP port"),
        (
            "http://host/fleet/v1",
            "unexpected \"/fleet/v1\" after the host",
        ),
        ("http://host?x=1", "unexpected \"?x=1\" after the host"),
        ("http://host#frag", "unexpected \"#frag\" after the host"),
        ("http://user@host", "user information"),
        ("http://ho st", "invalid character ' '"),
        ("http://[::1", "unterminated '['"),
        ("http://[nothex]:1", "is not an IPv6 address"),
        ("http://[::1]x", "unexpected \"x\" after the IPv6 address"),
        ("http+unix://", "missing socket path"),
        ("http+unix://%2Fa/b", "unexpected \"/b\""),
        ("http+unix://%FF", "does not percent-decode to UTF-8"),
        ("unix://", "absolute socket path"),
        ("unix://relative.sock", "absolute socket path"),
        ("unix:///", "missing socket path"),
        ("unix:///a?b", "cannot contain '?' or '#'"),
    ];
    for (text, expected) in table {
        match Endpoint::parse(text) {
            Err(Error::InvalidEndpoint { endpoint, message }) => {
                assert_eq!(endpoint, text);
                assert!(
                    message.contains(expected),
                    "{text:?}: {message:?} lacks {expected:?}"
                );
            }
            other => panic!("{text:?}: expected InvalidEndpoint, got {other:?}"),
        }
    }
}

#[test]
fn the_error_display_names_the_endpoint() {
    let err = Endpoint::parse("gopher://x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid endpoint \"gopher://x\": unsupported scheme \"gopher\": use http, https, http+unix or unix"
    );
}

#[test]
fn base_uri_is_what_requests_and_the_host_header_use() {
    for (text, base) in [
        ("http://127.0.0.1:49153/", "http://127.0.0.1:49153"),
        ("http://fleet", "http://fleet:80"),
        ("https://fleet", "https://fleet:443"),
        ("http://[::1]:1", "http://[::1]:1"),
        ("unix:///var/run/fleet.sock", "http://localhost"),
        ("http+unix://%2Fvar%2Frun%2Ffleet.sock", "http://localhost"),
    ] {
        assert_eq!(Endpoint::parse(text).unwrap().base_uri(), base, "{text}");
    }
}

#[tokio::test]
async fn the_client_refuses_a_malformed_endpoint_before_any_io() {
    let err = fleet::Client::new("localhost:49153").await.unwrap_err();
    assert!(matches!(err, Error::InvalidEndpoint { .. }), "{err:?}");
}

#[test]
fn the_blocking_client_refuses_a_malformed_endpoint_too() {
    let err = fleet::blocking::Client::new("nope").unwrap_err();
    assert!(matches!(err, Error::InvalidEndpoint { .. }), "{err:?}");
}
