//! The I/O-free request layer: a [`Call`] plus the method table from discovery becomes an
//! [`http::Request`]. Every request the client sends is built here, so it can be checked
//! without a network.
//!
//! * Paths come from the discovery document ([`Discovery`]); `{unitName}` is replaced by the
//!   unit name percent-encoded as one path segment: every byte other than RFC 3986's unreserved
//!   characters `A-Z a-z 0-9 - . _ ~` and the path characters `@` and `:` is encoded (`/`, `?`,
//!   `#`, `%`, `\`, space…), and the names `.` and `..` are sent as `%2E` and `%2E%2E`, so no
//!   name can change the path the request is sent to. `@` and `:` are sent raw, as fleet's own
//!   clients send them (`/fleet/v1/units/foo@bar.service`, `/fleet/v1/units/a:b.service`).
//! * Every unit name, for every call (get, create, set desired state, destroy, get state, the
//!   `unitName` filter of the state list), is validated with fleet's rules
//!   ([`validate_unit_name`]) before the request is
//!   built: a name fleet could never hold is [`Error::InvalidUnitName`] with fleet's message,
//!   and nothing is sent. This differs from fleet and python-fleet for `GET`, `DELETE` and the
//!   state calls: fleet validates names only on `PUT` and answers `404 unit does not exist` to
//!   `GET /fleet/v1/units/not-a-unit`, and python-fleet sends any name; here such a call fails
//!   locally, so a caller matching `code() == Some(404)` for "missing" must also handle
//!   `InvalidUnitName` for a malformed name.
//! * Bodies are JSON with `Content-Type: application/json`.
//!
//! ```
//! use fleet::v1::{Endpoint, DesiredState};
//! use fleet::v1::request::{Call, RequestFactory};
//! # let discovery = fleet::v1::discovery::Discovery::from_slice(br#"{"id":"fleet:v1","rootUrl":"$ENDPOINT/","servicePath":"fleet/v1/","resources":{
//! #   "Units":{"methods":{"List":{"httpMethod":"GET","path":"units"},"Get":{"httpMethod":"GET","path":"units/{unitName}"},
//! #   "Set":{"httpMethod":"PUT","path":"units/{unitName}"},"Delete":{"httpMethod":"DELETE","path":"units/{unitName}"}}},
//! #   "UnitState":{"methods":{"List":{"httpMethod":"GET","path":"state"},"Get":{"httpMethod":"GET","path":"state/{unitName}"}}},
//! #   "Machines":{"methods":{"List":{"httpMethod":"GET","path":"machines"}}}}}"#).unwrap();
//! let endpoint = Endpoint::parse("http://127.0.0.1:49153")?;
//! let factory = RequestFactory::new(discovery, &endpoint, "fleet-rs/test")?;
//!
//! let req = factory.build(&Call::SetUnitDesiredState { name: "web@1.service", state: DesiredState::Loaded })?;
//! assert_eq!(req.method(), http::Method::PUT);
//! assert_eq!(req.uri(), "http://127.0.0.1:49153/fleet/v1/units/web@1.service");
//! assert_eq!(req.body().as_ref(), br#"{"desiredState":"loaded"}"#);
//!
//! let err = factory.build(&Call::GetUnit { name: "../machines" }).unwrap_err();
//! assert_eq!(err.to_string(), r#"invalid unit name "../machines": invalid unit type: "/machines""#);
//! # Ok::<(), fleet::v1::Error>(())
//! ```

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use super::discovery::{ApiMethod, Discovery};
use super::unit_file::validate_unit_name;
use super::{DesiredState, Endpoint, Error, MachineMetadataOp, Result, Unit, UnitOption};

/// Bytes encoded in a path segment: all but RFC 3986's unreserved characters and the `pchar`s
/// `@` and `:`, which fleet's clients send raw.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@')
    .remove(b':');

/// Bytes encoded in a query value: all but unreserved characters and `=`, `@`, `:` (page
/// tokens are URL-safe base64 with `=` padding and are sent as fleet writes them).
const QUERY_VALUE: &AsciiSet = &PATH_SEGMENT.remove(b'=');

/// One API call and its arguments.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Call<'a> {
    /// `Units.List`, one page.
    ListUnits {
        /// The `nextPageToken` of the previous page.
        page_token: Option<&'a str>,
    },
    /// `Units.Get`.
    GetUnit {
        /// The unit name.
        name: &'a str,
    },
    /// `Units.Set` with the unit's desired state and options (creates or replaces the unit).
    CreateUnit {
        /// The unit name.
        name: &'a str,
        /// The unit to send.
        unit: &'a Unit,
    },
    /// `Units.Set` with only a desired state.
    SetUnitDesiredState {
        /// The unit name.
        name: &'a str,
        /// The new desired state.
        state: DesiredState,
    },
    /// `Units.Delete`.
    DestroyUnit {
        /// The unit name.
        name: &'a str,
    },
    /// `UnitState.List`, one page.
    ListUnitStates {
        /// Only states on this machine (the full 32-character id).
        machine_id: Option<&'a str>,
        /// Only states of this unit.
        unit_name: Option<&'a str>,
        /// The `nextPageToken` of the previous page.
        page_token: Option<&'a str>,
    },
    /// `UnitState.Get`.
    GetUnitState {
        /// The unit name.
        name: &'a str,
    },
    /// `Machines.List`, one page.
    ListMachines {
        /// The `nextPageToken` of the previous page.
        page_token: Option<&'a str>,
    },
    /// `PATCH` machines: metadata edits.
    PatchMachines {
        /// The edits, applied in order.
        ops: &'a [MachineMetadataOp],
    },
}

impl Call<'_> {
    /// The discovery method this call uses.
    pub fn api_method(&self) -> ApiMethod {
        match self {
            Call::ListUnits { .. } => ApiMethod::UnitsList,
            Call::GetUnit { .. } => ApiMethod::UnitsGet,
            Call::CreateUnit { .. } | Call::SetUnitDesiredState { .. } => ApiMethod::UnitsSet,
            Call::DestroyUnit { .. } => ApiMethod::UnitsDelete,
            Call::ListUnitStates { .. } => ApiMethod::UnitStateList,
            Call::GetUnitState { .. } => ApiMethod::UnitStateGet,
            Call::ListMachines { .. } => ApiMethod::MachinesList,
            Call::PatchMachines { .. } => ApiMethod::MachinesPatch,
        }
    }
}

/// Builds the HTTP requests of one client: method table, endpoint and user agent.
#[derive(Clone, Debug)]
pub struct RequestFactory {
    discovery: Discovery,
    base_uri: String,
    user_agent: HeaderValue,
}

#[derive(Serialize)]
struct SetBody<'a> {
    #[serde(rename = "desiredState")]
    desired_state: DesiredState,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<&'a [UnitOption]>,
}

impl RequestFactory {
    /// A factory for requests to `endpoint`, using the methods of `discovery`.
    ///
    /// Fails with [`Error::InvalidArgument`] when `user_agent` is not a valid header value.
    pub fn new(discovery: Discovery, endpoint: &Endpoint, user_agent: &str) -> Result<Self> {
        let user_agent = HeaderValue::from_str(user_agent).map_err(|_| {
            Error::InvalidArgument(format!(
                "user agent {user_agent:?} is not a valid HTTP header value"
            ))
        })?;
        Ok(RequestFactory {
            discovery,
            base_uri: endpoint.base_uri(),
            user_agent,
        })
    }

    /// The method table.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// Build the request for `call`. Fails, before anything is sent, on a unit name fleet
    /// would refuse ([`Error::InvalidUnitName`], for every call that names a unit, including
    /// the `unitName` filter), or a machine id or metadata key that would break the patch path
    /// ([`Error::InvalidArgument`]).
    pub fn build(&self, call: &Call<'_>) -> Result<http::Request<Bytes>> {
        let spec = self.discovery.method(call.api_method());
        let mut path = spec.path_template().to_string();
        let mut query: Vec<(&str, &str)> = Vec::new();
        let mut body: Option<Vec<u8>> = None;
        match *call {
            Call::ListUnits { page_token } | Call::ListMachines { page_token } => {
                query.extend(page_token.map(|t| ("nextPageToken", t)));
            }
            Call::ListUnitStates {
                machine_id,
                unit_name,
                page_token,
            } => {
                if let Some(name) = unit_name {
                    validate_unit_name(name)?;
                }
                query.extend(machine_id.map(|v| ("machineID", v)));
                query.extend(unit_name.map(|v| ("unitName", v)));
                query.extend(page_token.map(|t| ("nextPageToken", t)));
            }
            Call::GetUnit { name } | Call::DestroyUnit { name } | Call::GetUnitState { name } => {
                path = substitute(&path, name)?;
            }
            Call::CreateUnit { name, unit } => {
                path = substitute(&path, name)?;
                body = Some(json(&SetBody {
                    desired_state: unit.desired_state(),
                    options: Some(unit.options()),
                })?);
            }
            Call::SetUnitDesiredState { name, state } => {
                path = substitute(&path, name)?;
                body = Some(json(&SetBody {
                    desired_state: state,
                    options: None,
                })?);
            }
            Call::PatchMachines { ops } => {
                for op in ops {
                    check_patch_op(op)?;
                }
                body = Some(json(&ops)?);
            }
        }
        let mut uri = String::with_capacity(self.base_uri.len() + path.len() + 32);
        uri.push_str(&self.base_uri);
        uri.push_str(&path);
        for (i, (key, value)) in query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(key);
            uri.push('=');
            uri.extend(percent_encoding::utf8_percent_encode(value, QUERY_VALUE));
        }
        let mut builder = http::Request::builder()
            .method(spec.http_method().clone())
            .uri(&uri)
            .header(USER_AGENT, self.user_agent.clone());
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        builder
            .body(body.map(Bytes::from).unwrap_or_default())
            .map_err(|e| Error::InvalidArgument(format!("cannot build request for {uri}: {e}")))
    }
}

/// Percent-encode a unit name as one path segment (see the [module docs](self)).
///
/// ```
/// use fleet::v1::request::encode_path_segment;
/// assert_eq!(encode_path_segment("hello.service"), "hello.service");
/// assert_eq!(encode_path_segment("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
/// assert_eq!(encode_path_segment("web@1:a.service"), "web@1:a.service");
/// assert_eq!(encode_path_segment(".."), "%2E%2E");
/// ```
pub fn encode_path_segment(name: &str) -> String {
    match name {
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        _ => percent_encoding::utf8_percent_encode(name, PATH_SEGMENT).to_string(),
    }
}

/// Validate `name` with fleet's rules, then put it, encoded, into the path template.
fn substitute(template: &str, name: &str) -> Result<String> {
    validate_unit_name(name)?;
    Ok(template.replace("{unitName}", &encode_path_segment(name)))
}

fn check_patch_op(op: &MachineMetadataOp) -> Result<()> {
    let (machine_id, key) = match op {
        MachineMetadataOp::Add {
            machine_id, key, ..
        }
        | MachineMetadataOp::Replace {
            machine_id, key, ..
        }
        | MachineMetadataOp::Remove { machine_id, key } => (machine_id, key),
    };
    for (what, value) in [("machine id", machine_id), ("metadata key", key)] {
        if value.is_empty() {
            return Err(Error::InvalidArgument(format!("{what} is empty")));
        }
        if value.contains('/') {
            return Err(Error::InvalidArgument(format!(
                "{what} {value:?} contains '/', which fleet's metadata path cannot hold"
            )));
        }
    }
    Ok(())
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode request body: {e}")))
}
