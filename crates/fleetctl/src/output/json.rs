//! `--output json`: one JSON document per command, with stable field names, for scripts.
//!
//! Values are never shortened (`--full` and `--fields` do not apply) and a missing value is
//! `null` rather than fleetctl's `-`. The documents:
//!
//! * `list-machines`: `{"machines": [{"id", "ip", "metadata": {..}}]}`
//! * `list-units`: `{"units": [{"unit", "machine", "machineIP", "load", "active", "sub",
//!   "hash"}]}`
//! * `list-unit-files`: `{"unitFiles": [{"unit", "hash", "desiredState", "currentState",
//!   "global", "machine", "machineIP", "description"}]}`
//! * `cat`: `{"unit", "hash", "desiredState", "currentState", "machine", "options":
//!   [{"section", "name", "value"}], "text"}`

use std::collections::{BTreeMap, HashMap};

use fleet::v1 as fleet;
use serde::Serialize;

use super::table::{description, is_global};

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[derive(Serialize)]
struct MachineJson<'a> {
    id: &'a str,
    ip: Option<&'a str>,
    metadata: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct MachinesDoc<'a> {
    machines: Vec<MachineJson<'a>>,
}

/// The `list-machines` document.
pub fn machines(list: &[fleet::Machine]) -> String {
    let doc = MachinesDoc {
        machines: list
            .iter()
            .map(|m| MachineJson {
                id: &m.id,
                ip: non_empty(&m.primary_ip),
                metadata: &m.metadata,
            })
            .collect(),
    };
    to_string(&doc)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitStateJson<'a> {
    unit: &'a str,
    machine: Option<&'a str>,
    #[serde(rename = "machineIP")]
    machine_ip: Option<&'a str>,
    load: &'a str,
    active: &'a str,
    sub: &'a str,
    hash: Option<&'a str>,
}

#[derive(Serialize)]
struct UnitsDoc<'a> {
    units: Vec<UnitStateJson<'a>>,
}

fn ip_of<'a>(id: Option<&str>, machines: &'a HashMap<String, fleet::Machine>) -> Option<&'a str> {
    id.and_then(|id| machines.get(id))
        .and_then(|m| non_empty(&m.primary_ip))
}

/// The `list-units` document.
pub fn unit_states(
    states: &[fleet::UnitState],
    machines: &HashMap<String, fleet::Machine>,
) -> String {
    let doc = UnitsDoc {
        units: states
            .iter()
            .map(|s| UnitStateJson {
                unit: &s.name,
                machine: non_empty(&s.machine_id),
                machine_ip: ip_of(non_empty(&s.machine_id), machines),
                load: &s.systemd_load_state,
                active: &s.systemd_active_state,
                sub: &s.systemd_sub_state,
                hash: non_empty(&s.hash),
            })
            .collect(),
    };
    to_string(&doc)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitFileJson<'a> {
    unit: &'a str,
    hash: String,
    desired_state: String,
    current_state: Option<String>,
    global: bool,
    machine: Option<&'a str>,
    #[serde(rename = "machineIP")]
    machine_ip: Option<&'a str>,
    description: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitFilesDoc<'a> {
    unit_files: Vec<UnitFileJson<'a>>,
}

fn unit_file_json<'a>(
    u: &'a fleet::Unit,
    machines: &'a HashMap<String, fleet::Machine>,
) -> UnitFileJson<'a> {
    let machine = u.machine_id().filter(|m| !m.is_empty());
    UnitFileJson {
        unit: u.name().unwrap_or_default(),
        hash: u.hash().to_string(),
        desired_state: u.desired_state().to_string(),
        current_state: u.current_state().map(|s| s.to_string()),
        global: is_global(u.options()),
        machine,
        machine_ip: ip_of(machine, machines),
        description: non_empty(description(u.options())),
    }
}

/// The `list-unit-files` document.
pub fn unit_files(units: &[fleet::Unit], machines: &HashMap<String, fleet::Machine>) -> String {
    let doc = UnitFilesDoc {
        unit_files: units.iter().map(|u| unit_file_json(u, machines)).collect(),
    };
    to_string(&doc)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CatJson<'a> {
    unit: &'a str,
    hash: String,
    desired_state: String,
    current_state: Option<String>,
    machine: Option<&'a str>,
    options: &'a [fleet::UnitOption],
    text: String,
}

/// The `cat` document.
pub fn cat(name: &str, u: &fleet::Unit) -> String {
    let doc = CatJson {
        unit: name,
        hash: u.hash().to_string(),
        desired_state: u.desired_state().to_string(),
        current_state: u.current_state().map(|s| s.to_string()),
        machine: u.machine_id().filter(|m| !m.is_empty()),
        options: u.options(),
        text: u.to_string(),
    };
    to_string(&doc)
}

fn to_string<T: Serialize>(doc: &T) -> String {
    // Serializing these plain structs cannot fail; an empty object is the fallback anyway.
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_document() {
        let m = fleet::Machine {
            id: "113f16a7b4b64e9a8c1a3f0e5d2c7b01".into(),
            primary_ip: String::new(),
            metadata: [("role".to_string(), "web".to_string())].into(),
        };
        let v: serde_json::Value = serde_json::from_str(&machines(&[m])).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"machines": [
                {"id": "113f16a7b4b64e9a8c1a3f0e5d2c7b01", "ip": null, "metadata": {"role": "web"}}
            ]})
        );
    }

    #[test]
    fn unit_states_document() {
        let s = fleet::UnitState {
            name: "a.service".into(),
            hash: "abc".into(),
            machine_id: "m1".into(),
            systemd_load_state: "loaded".into(),
            systemd_active_state: "active".into(),
            systemd_sub_state: "running".into(),
        };
        let machines: HashMap<String, fleet::Machine> = [(
            "m1".to_string(),
            fleet::Machine {
                id: "m1".into(),
                primary_ip: "10.0.0.1".into(),
                metadata: Default::default(),
            },
        )]
        .into();
        let v: serde_json::Value = serde_json::from_str(&unit_states(&[s], &machines)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"units": [{"unit": "a.service", "machine": "m1",
                "machineIP": "10.0.0.1", "load": "loaded", "active": "active", "sub": "running",
                "hash": "abc"}]})
        );
    }
}
