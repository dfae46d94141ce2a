//! A stand-in for CoreOS fleet's API server (v1, as in fleet v1.0.0), for tests.
//!
//! **This is not fleet.** It is a test double: one process, no etcd, no systemd. Its worth is
//! how exactly it answers like fleet: every exchange captured from fleet v1.0.0's own API server
//! (the fixtures in `shared/fixtures/fleet-v1/`) replays identically against it, byte for byte
//! (see `tests/conformance.rs`).
//!
//! ```
//! use fleet_testserver::TestServer;
//!
//! let server = TestServer::start().unwrap();          // TCP on 127.0.0.1:0 + a unix socket
//! println!("{}", server.http_endpoint());             // http://127.0.0.1:PORT
//! println!("{}", server.unix_endpoint().unwrap());    // unix:///tmp/.../fleet.sock
//! // ... point a client at it ...
//! drop(server);                                       // stops it, removes the socket
//! ```
//!
//! It runs on its own runtime thread, so it works the same from a plain `#[test]` and from
//! `#[tokio::test]`. The binary `fleet-testserver` serves the same for clients in other languages.
//!
//! # Behind the API: a simulated cluster
//!
//! Machines with ids, primary IPs and metadata (by default the three of the fixtures, see
//! [`default_machines`]); fleet's engine, whose least-loaded scheduler honours the `[X-Fleet]`
//! options `MachineID`, `MachineMetadata`, `MachineOf`, `Conflicts`, `Global` and `Replaces`
//! (with `%i`/`%p`/`%n` resolved for instance units; templates are never scheduled), and leaves a
//! unit no machine can take unscheduled; and per machine an agent that loads, starts, stops and
//! unloads units and publishes their states (`loaded`/`inactive`/`dead` when loaded,
//! `loaded`/`active`/`running` when launched) after the configured state delay
//! ([`Builder::state_delay`]). A unit's `currentState` is derived as fleet derives it: `launched`
//! when its machine published a state and holds the launch heartbeat, `loaded` with only the
//! state, `inactive` otherwise.
//!
//! # fleet's quirks, kept on purpose
//!
//! Clients have to survive these, so the server reproduces them:
//!
//! * **Page tokens**: URL-safe base64 of two little-endian `u16` (limit, page); the exact error
//!   texts (`illegal base64 data at input byte 4`, `token limit must be 100`, `token page must
//!   be greater than zero`, `too many values for page token`); a full page always carries a
//!   `nextPageToken`, even when nothing follows; see [`paging`].
//! * **415** for a unit PUT without exactly one `Content-Type` (`expected 1 Content-Type, got 0`)
//!   or with another type (`only acceptable Content-Type is application/json`); parameters such
//!   as `; charset=utf-8` are ignored. The machines PATCH checks no content type at all.
//! * **The 405 messages**: `only GET supported against this resource` (collections, state
//!   items), `only GET, PUT and DELETE supported against this resource` (unit items), `only GET
//!   and PATCH supported against this resource` (machines); `GET /` and `GET /fleet/v1` are 405
//!   with an empty message; a non-GET on the discovery document is **400** `only HTTP GET
//!   supported against this resource`.
//! * **The `/v1-alpha/` alias**: the whole API is also served under `/v1-alpha` (e.g.
//!   `/v1-alpha/machines`).
//! * **Routing like Go's `ServeMux`**: the path is percent-decoded first (`foo%40bar.service` is
//!   `foo@bar.service`; `foo%2Fbar.service` becomes two segments and gets 404 with an empty
//!   message); unclean paths (`..`) get a 301 to the cleaned path with Go's little HTML body;
//!   unknown paths get 404 with an empty message.
//! * **503 before ready**: every request gets `fleet server unable to communicate with etcd`
//!   ([`TestServer::set_ready`]); with etcd down ([`TestServer::set_etcd_down`]) registry calls
//!   answer 500 with an empty message.
//! * **A second PUT with different options replaces the unit** (201, new hash; options of a
//!   replaced unit are not validated). Replacing a launched unit leaves its `currentState` at
//!   `loaded` (the launch heartbeat is not renewed), as captured from fleet v1.0.0.
//! * **An invalid `desiredState` on an existing unit is stored** (204); the unit then answers 500
//!   to GET, PUT and DELETE and silently drops out of lists. On a new unit it is a 500 and
//!   nothing is stored. [`TestServer::remove_unit_raw`] is the "fix the etcd key" escape hatch.
//! * **Template units cannot be launched**: 400 `cannot activate template "tmpl@.service"` for
//!   any desired state but `inactive` on an existing template.
//! * **`GET /fleet/v1/state/<unknown>` closes the connection with no response** (fleet
//!   dereferences a nil state; Go's server recovers the panic and hangs up). So does a page
//!   token whose page arithmetic wraps around `uint16` the wrong way, and a `null` in a PUT's
//!   `options`.
//! * **`omitempty` everywhere**: empty lists are `{}`; an option's empty `value` is left out;
//!   `machineID` is absent for unscheduled units; a `GET` of a Global unit has neither
//!   `currentState` nor `machineID` (while lists show it with `currentState: "inactive"`).
//! * **Headers**: 201 has `Content-Length: 0` and no `Content-Type`; 204 from a unit PUT or
//!   DELETE has neither; 204 from the machines PATCH has `Content-Type: application/json`;
//!   bodies over 2048 bytes are sent chunked (Go's buffering), smaller ones with a length.
//! * **JSON exactly as Go writes it**: fields in fleet's schema order, map keys sorted, `<`,
//!   `>` and `&` escaped as `\u003c` etc., no trailing newline; request bodies decoded like Go
//!   (case-insensitive keys, trailing data ignored, Go's `unexpected EOF` and `cannot unmarshal`
//!   texts).
//! * The discovery document is fleet's own, byte for byte (with its literal `$ENDPOINT`).
//! * Machine metadata PATCH: the value must be nested (`{"value": "r42"}`); `remove` deletes the
//!   key from the machine's metadata altogether (the static value does not come back).
//!
//! # Departures from fleet, opt-in
//!
//! * **Wide paging** ([`Builder::wide_paging`], `fleet-testserver --wide-paging`): fleet pages
//!   in `uint16` arithmetic, so with pages of 100 no list gets past 65,500 items (the request
//!   for page 656 wraps around and closes the connection, as above). With wide paging the
//!   bounds do not wrap ([`paging::wide_bounds`]); tokens, errors and bodies stay fleet's. Off
//!   by default.
//!
//! ```
//! use fleet_testserver::paging::{bounds, wide_bounds, Bounds, PageToken};
//! use fleet_testserver::TestServer;
//!
//! // 100,000 units, page 656 of 100: fleet's arithmetic gives 65500..64, a panic.
//! let page_656 = PageToken { limit: 100, page: 656 };
//! assert_eq!(bounds(100_000, page_656), Bounds::Panic);
//! assert!(matches!(wide_bounds(100_000, page_656), Bounds::Items { start: 65_500, .. }));
//!
//! let server = TestServer::builder().wide_paging(true).start().unwrap();
//! ```
//!
//! # Fault injection
//!
//! [`TestServer::inject`] makes the next requests (optionally only those matching a method and
//! path prefix) answer 500/503 with fleet's error body, close the connection, answer late, send
//! a truncated body, invalid JSON, or a large body; see [`Fault`].
//!
//! # A real sshd for tunnel tests
//!
//! With the cargo feature `sshd` (off by default), the module `sshd` starts OpenSSH's
//! `sshd` on a free `127.0.0.1` port with generated keys, for testing SSH tunnels to the test
//! server.
#![deny(missing_docs)]

mod cluster;
mod faults;
mod http;
mod json;
pub mod paging;
mod server;
#[cfg(feature = "sshd")]
pub mod sshd;

pub use cluster::UnitSnapshot;
pub use faults::{Fault, FaultKind};
pub use server::{default_machines, Builder, TestServer};

/// What can go wrong starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket, thread or runtime could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS settings are unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// A command-line value is malformed.
    #[error("invalid {what} {value:?}: {message}")]
    InvalidArgument {
        /// Which option.
        what: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong.
        message: String,
    },
}

/// Parse a `--machine` value: `ID,IP[,key=value...]`.
///
/// ```
/// let m = fleet_testserver::parse_machine("m1,10.0.0.1,role=web,region=eu").unwrap();
/// assert_eq!(m.id, "m1");
/// assert_eq!(m.primary_ip, "10.0.0.1");
/// assert_eq!(m.metadata["role"], "web");
/// assert!(fleet_testserver::parse_machine("m1").is_err());
/// ```
pub fn parse_machine(value: &str) -> Result<fleet::v1::Machine, Error> {
    let err = |message: &str| Error::InvalidArgument {
        what: "--machine",
        value: value.to_string(),
        message: message.to_string(),
    };
    let mut parts = value.split(',');
    let id = parts.next().unwrap_or("").trim();
    let ip = parts.next().unwrap_or("").trim();
    if id.is_empty() {
        return Err(err(
            "expected ID,IP[,key=value...]: the machine id is empty",
        ));
    }
    if ip.is_empty() {
        return Err(err("expected ID,IP[,key=value...]: the IP is missing"));
    }
    let mut metadata = std::collections::BTreeMap::new();
    for kv in parts {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| err(&format!("metadata {kv:?} is not key=value")))?;
        if k.is_empty() || v.is_empty() {
            return Err(err(&format!("metadata {kv:?} has an empty key or value")));
        }
        metadata.insert(k.to_string(), v.to_string());
    }
    Ok(fleet::v1::Machine {
        id: id.to_string(),
        primary_ip: ip.to_string(),
        metadata,
    })
}
