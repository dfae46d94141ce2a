//! The list commands' columns, as fleetctl 1.0 fills them (`list_machines.go`, `list_units.go`,
//! `list_unit_files.go`): `-` for missing values, machine ids shortened to 8 characters plus
//! `...` unless `--full`, `id/ip` for machines fleet knows, hashes shortened to 7 characters.

pub use fleet::unit_file::go_quote;
use std::collections::HashMap;

use fleet::v1 as fleet;

use super::tabwriter::{Config, TabWriter};

/// The fields to print, from `--fields`, or the message fleetctl prints for a bad value.
///
/// ```
/// # use fleetctl::output::table::parse_fields;
/// assert_eq!(parse_fields("unit,hash", &["hash", "unit"]).unwrap(), ["unit", "hash"]);
/// assert_eq!(parse_fields("", &["unit"]).unwrap_err(), "Must define output format");
/// assert_eq!(parse_fields("unit,x", &["unit"]).unwrap_err(), "Invalid key in output format: \"x\"");
/// ```
pub fn parse_fields<'a>(spec: &'a str, valid: &[&str]) -> Result<Vec<&'a str>, String> {
    if spec.is_empty() {
        return Err("Must define output format".to_string());
    }
    let cols: Vec<&str> = spec.split(',').collect();
    for c in &cols {
        if !valid.contains(c) {
            return Err(format!("Invalid key in output format: {}", go_quote(c)));
        }
    }
    Ok(cols)
}

/// The first 8 characters of a machine id (fleet's `ShortID`).
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(8) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// `113f16a7...` (or the whole id with `full`), then `/ip` when the ip is known
/// (fleetctl's `machineFullLegend`).
///
/// ```
/// # use fleetctl::output::table::machine_legend;
/// let id = "113f16a7b4b64e9a8c1a3f0e5d2c7b01";
/// assert_eq!(machine_legend(id, Some("172.17.8.101"), false), "113f16a7.../172.17.8.101");
/// assert_eq!(machine_legend(id, None, true), id);
/// ```
pub fn machine_legend(id: &str, ip: Option<&str>, full: bool) -> String {
    let mut legend = if full {
        id.to_string()
    } else {
        format!("{}...", short_id(id))
    };
    if let Some(ip) = ip.filter(|ip| !ip.is_empty()) {
        legend.push('/');
        legend.push_str(ip);
    }
    legend
}

/// The legend of a machine id, with its ip when `machines` knows it.
pub fn machine_legend_from(
    id: &str,
    machines: &HashMap<String, fleet::Machine>,
    full: bool,
) -> String {
    let ip = machines.get(id).map(|m| m.primary_ip.as_str());
    machine_legend(id, ip, full)
}

/// `k=v` pairs sorted by key, comma-separated (fleetctl's `formatMetadata`).
pub fn format_metadata<'a>(metadata: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let mut pairs: Vec<(&String, &String)> = metadata.into_iter().collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Whether a unit is global: the last `Global=` of `[X-Fleet]` is truthy (fleet's
/// `Unit.IsGlobal` with `isTruthyValue`).
pub fn is_global(options: &[fleet::UnitOption]) -> bool {
    fleet::unit_file::XFleet::from_options("", options).is_global()
}

/// The first `Description=` of `[Unit]` (fleet's `UnitFile.Description`), or `""`.
pub fn description(options: &[fleet::UnitOption]) -> &str {
    options
        .iter()
        .find(|o| o.section == "Unit" && o.name == "Description")
        .map(|o| o.value.as_str())
        .unwrap_or("")
}

fn dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// Lays out rows of cells with fleetctl's tabwriter, after an upper-case legend unless
/// `no_legend`.
pub fn render(cols: &[&str], no_legend: bool, rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut tw = TabWriter::new(Config::FLEETCTL);
    let mut line = String::new();
    if !no_legend {
        line.push_str(&cols.join("\t").to_uppercase());
        line.push('\n');
        tw.write_str(&line);
    }
    for row in rows {
        line.clear();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            line.push_str(cell);
        }
        line.push('\n');
        tw.write_str(&line);
    }
    tw.into_string()
}

/// `list-machines`.
pub fn machines_table(
    machines: &[fleet::Machine],
    cols: &[&str],
    full: bool,
    no_legend: bool,
) -> String {
    let rows = machines.iter().map(|m| {
        cols.iter()
            .map(|c| match *c {
                "machine" => machine_legend(&m.id, None, full),
                "ip" => dash(&m.primary_ip).to_string(),
                "metadata" if m.metadata.is_empty() => "-".to_string(),
                "metadata" => format_metadata(&m.metadata),
                _ => "-".to_string(),
            })
            .collect()
    });
    render(cols, no_legend, rows)
}

/// `list-units`.
pub fn unit_states_table(
    states: &[fleet::UnitState],
    machines: &HashMap<String, fleet::Machine>,
    cols: &[&str],
    full: bool,
    no_legend: bool,
) -> String {
    let rows = states.iter().map(|s| {
        cols.iter()
            .map(|c| match *c {
                "unit" => s.name.clone(),
                "load" => s.systemd_load_state.clone(),
                "active" => s.systemd_active_state.clone(),
                "sub" => s.systemd_sub_state.clone(),
                "machine" if s.machine_id.is_empty() => "-".to_string(),
                "machine" => machine_legend_from(&s.machine_id, machines, full),
                "hash" if s.hash.is_empty() => "-".to_string(),
                "hash" if full => s.hash.clone(),
                "hash" => s.hash.chars().take(7).collect(),
                _ => "-".to_string(),
            })
            .collect()
    });
    render(cols, no_legend, rows)
}

/// The `target` column of `list-unit-files`: `global`, `-`, or the machine legend.
pub fn target_field(
    unit: &fleet::Unit,
    machines: &HashMap<String, fleet::Machine>,
    full: bool,
) -> String {
    if is_global(unit.options()) {
        return "global".to_string();
    }
    match unit.machine_id().filter(|m| !m.is_empty()) {
        None => "-".to_string(),
        Some(id) => machine_legend_from(id, machines, full),
    }
}

/// `list-unit-files`.
pub fn unit_files_table(
    units: &[fleet::Unit],
    machines: &HashMap<String, fleet::Machine>,
    cols: &[&str],
    full: bool,
    no_legend: bool,
) -> String {
    let rows = units.iter().map(|u| {
        let mut hash: Option<String> = None;
        let global = is_global(u.options());
        cols.iter()
            .map(|c| match *c {
                "unit" => u.name().unwrap_or_default().to_string(),
                "global" => global.to_string(),
                "dstate" => u.desired_state().to_string(),
                "target" | "tmachine" if global => "global".to_string(),
                "target" | "tmachine" => target_field(u, machines, full),
                "state" => match u.current_state() {
                    Some(s) if !global => s.to_string(),
                    _ => "-".to_string(),
                },
                "hash" => {
                    let h = hash.get_or_insert_with(|| u.hash().to_string());
                    if full {
                        h.clone()
                    } else {
                        h.chars().take(7).collect()
                    }
                }
                "desc" => dash(description(u.options())).to_string(),
                _ => "-".to_string(),
            })
            .collect()
    });
    render(cols, no_legend, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::fleet::v1::UnitOption;

    fn machines() -> Vec<fleet::Machine> {
        let m = |id: &str, ip: &str, md: &[(&str, &str)]| fleet::Machine {
            id: id.into(),
            primary_ip: ip.into(),
            metadata: md
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        vec![
            m(
                "113f16a7b4b64e9a8c1a3f0e5d2c7b01",
                "172.17.8.101",
                &[("role", "web"), ("region", "us-west")],
            ),
            m("9a4b2c7d8e1f40a2b3c4d5e6f7a8b902", "", &[]),
        ]
    }

    #[test]
    fn list_machines_layout() {
        let out = machines_table(&machines(), &["machine", "ip", "metadata"], false, false);
        assert_eq!(
            out,
            "MACHINE\t\tIP\t\tMETADATA\n\
             113f16a7...\t172.17.8.101\tregion=us-west,role=web\n\
             9a4b2c7d...\t-\t\t-\n"
        );
        let full = machines_table(&machines(), &["machine"], true, true);
        assert_eq!(
            full,
            "113f16a7b4b64e9a8c1a3f0e5d2c7b01\n9a4b2c7d8e1f40a2b3c4d5e6f7a8b902\n"
        );
    }

    #[test]
    fn list_units_layout() {
        let by_id: HashMap<String, fleet::Machine> =
            machines().into_iter().map(|m| (m.id.clone(), m)).collect();
        let states = vec![
            fleet::UnitState {
                name: "hello.service".into(),
                hash: "e55c0aeb1fb1d3b2e6b0c14d5e8b0b7d2f9a4c11".into(),
                machine_id: "113f16a7b4b64e9a8c1a3f0e5d2c7b01".into(),
                systemd_load_state: "loaded".into(),
                systemd_active_state: "active".into(),
                systemd_sub_state: "running".into(),
            },
            fleet::UnitState {
                name: "lost.service".into(),
                hash: String::new(),
                machine_id: "ffffffffffffffffffffffffffffffff".into(),
                systemd_load_state: "loaded".into(),
                systemd_active_state: "failed".into(),
                systemd_sub_state: "failed".into(),
            },
        ];
        assert_eq!(
            unit_states_table(
                &states,
                &by_id,
                &["unit", "machine", "active", "sub"],
                false,
                false
            ),
            "UNIT\t\tMACHINE\t\t\t\tACTIVE\tSUB\n\
             hello.service\t113f16a7.../172.17.8.101\tactive\trunning\n\
             lost.service\tffffffff...\t\t\tfailed\tfailed\n"
        );
        assert_eq!(
            unit_states_table(&states, &by_id, &["hash", "load"], false, true),
            "e55c0ae\tloaded\n-\tloaded\n"
        );
    }

    #[test]
    fn global_and_description() {
        let opts = vec![
            UnitOption::new("Unit", "Description", "first"),
            UnitOption::new("Unit", "Description", "second"),
            UnitOption::new("X-Fleet", "Global", "true"),
            UnitOption::new("X-Fleet", "Global", "No"),
        ];
        assert_eq!(description(&opts), "first");
        assert!(!is_global(&opts));
        assert!(is_global(&opts[..3]));
        assert!(is_global(&[UnitOption::new("X-Fleet", "Global", "T")]));
    }

    #[test]
    fn quoting_like_go() {
        assert_eq!(go_quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(go_quote("tab\there"), "\"tab\\there\"");
    }
}
