//! The plain data types of the API: options, states, machines.
//!
//! All of them serialize with fleet's JSON field names.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Error;

/// One line of a unit file: `value` of option `name` in `[section]`.
///
/// ```
/// use fleet::v1::UnitOption;
/// let opt = UnitOption::new("Service", "ExecStart", "/usr/bin/sleep 1d");
/// assert_eq!(opt.section, "Service");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnitOption {
    /// The section, without brackets (`Service`).
    pub section: String,
    /// The option name (`ExecStart`).
    pub name: String,
    /// The value; fleet omits the key when it is empty.
    #[serde(default)]
    pub value: String,
}

impl UnitOption {
    /// An option from its three parts.
    pub fn new(
        section: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        UnitOption {
            section: section.into(),
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The state fleet is asked to bring a unit to (and, as `currentState`, the state it is in).
///
/// ```
/// use fleet::v1::DesiredState;
/// let s: DesiredState = "loaded".parse().unwrap();
/// assert_eq!(s, DesiredState::Loaded);
/// assert_eq!(s.to_string(), "loaded");
/// let err = "running".parse::<DesiredState>().unwrap_err();
/// assert!(err.to_string().contains("inactive, loaded, launched"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredState {
    /// Known to fleet, not scheduled.
    Inactive,
    /// Scheduled to a machine and loaded into systemd there.
    Loaded,
    /// Scheduled, loaded and started.
    Launched,
}

impl DesiredState {
    /// All states, in order.
    pub const ALL: [DesiredState; 3] = [
        DesiredState::Inactive,
        DesiredState::Loaded,
        DesiredState::Launched,
    ];

    /// The name fleet uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DesiredState::Inactive => "inactive",
            DesiredState::Loaded => "loaded",
            DesiredState::Launched => "launched",
        }
    }
}

/// Decoded straight from the JSON string (two states per unit in every page, so this is on the
/// hot path of listing); the errors are serde's own for an unknown variant.
impl<'de> Deserialize<'de> for DesiredState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DesiredState;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a desired state (inactive, loaded, launched)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DesiredState, E> {
                match v.as_bytes() {
                    b"inactive" => Ok(DesiredState::Inactive),
                    b"loaded" => Ok(DesiredState::Loaded),
                    b"launched" => Ok(DesiredState::Launched),
                    _ => Err(E::unknown_variant(v, &["inactive", "loaded", "launched"])),
                }
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl fmt::Display for DesiredState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DesiredState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "inactive" => Ok(DesiredState::Inactive),
            "loaded" => Ok(DesiredState::Loaded),
            "launched" => Ok(DesiredState::Launched),
            other => Err(Error::InvalidDesiredState {
                value: other.to_string(),
            }),
        }
    }
}

/// The state of one unit on one machine, as the machine's agent reports it.
///
/// ```
/// use fleet::v1::UnitState;
/// let json = r#"{"hash":"5c53d90a64eef576c4622d74bd37a9d2efcb6a4e","machineID":"e5d1a9c6b3f24d7e8a0b1c2d3e4f5a03",
///   "name":"east.service","systemdActiveState":"active","systemdLoadState":"loaded","systemdSubState":"running"}"#;
/// let state: UnitState = serde_json::from_str(json).unwrap();
/// assert_eq!(state.systemd_sub_state, "running");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitState {
    /// The unit name.
    #[serde(default)]
    pub name: String,
    /// fleet's hash of the unit file the machine runs.
    #[serde(default)]
    pub hash: String,
    /// The machine.
    #[serde(rename = "machineID", default)]
    pub machine_id: String,
    /// systemd's LoadState (`loaded`).
    #[serde(default)]
    pub systemd_load_state: String,
    /// systemd's ActiveState (`active`).
    #[serde(default)]
    pub systemd_active_state: String,
    /// systemd's SubState (`running`).
    #[serde(default)]
    pub systemd_sub_state: String,
}

/// A machine of the cluster.
///
/// ```
/// use fleet::v1::Machine;
/// let m: Machine = serde_json::from_str(r#"{"id":"113f16a7","primaryIP":"172.17.8.101"}"#).unwrap();
/// assert!(m.metadata.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The machine id (32 hex characters).
    #[serde(default)]
    pub id: String,
    /// The address other machines reach it at.
    #[serde(rename = "primaryIP", default)]
    pub primary_ip: String,
    /// Metadata (`role=web`); empty when fleet sends none.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// One edit of machine metadata, sent with `PATCH /fleet/v1/machines`.
///
/// fleet wants the value nested: `{"op":"add","path":"/<id>/metadata/<key>","value":{"value":"v"}}`.
///
/// ```
/// use fleet::v1::MachineMetadataOp;
/// let op = MachineMetadataOp::Add { machine_id: "m1".into(), key: "rack".into(), value: "r42".into() };
/// assert_eq!(serde_json::to_string(&op).unwrap(),
///            r#"{"op":"add","path":"/m1/metadata/rack","value":{"value":"r42"}}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MachineMetadataOp {
    /// Add a key (or overwrite it).
    Add {
        /// The machine.
        machine_id: String,
        /// The metadata key.
        key: String,
        /// The value.
        value: String,
    },
    /// Replace a key's value.
    Replace {
        /// The machine.
        machine_id: String,
        /// The metadata key.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove a key.
    Remove {
        /// The machine.
        machine_id: String,
        /// The metadata key.
        key: String,
    },
}

impl Serialize for MachineMetadataOp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        struct Nested<'a> {
            value: &'a str,
        }
        let (op, machine_id, key, value) = match self {
            MachineMetadataOp::Add {
                machine_id,
                key,
                value,
            } => ("add", machine_id, key, Some(value)),
            MachineMetadataOp::Replace {
                machine_id,
                key,
                value,
            } => ("replace", machine_id, key, Some(value)),
            MachineMetadataOp::Remove { machine_id, key } => ("remove", machine_id, key, None),
        };
        let mut map = serializer.serialize_map(Some(if value.is_some() { 3 } else { 2 }))?;
        map.serialize_entry("op", op)?;
        map.serialize_entry("path", &format!("/{machine_id}/metadata/{key}"))?;
        if let Some(value) = value {
            map.serialize_entry("value", &Nested { value })?;
        }
        map.end()
    }
}
