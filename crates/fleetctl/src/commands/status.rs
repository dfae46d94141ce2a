//! `fleetctl status`: `systemctl status -l <unit>` on the unit's machine, over SSH (through the
//! tunnel host with `--tunnel`), as fleetctl 1.0 does it.

use fleet::v1 as fleet;

use crate::api::Api;
use crate::cli::{GlobalArgs, SshCommandArgs};
use crate::names::unit_name_mangle;
use crate::output::{self, table};
use crate::remote;

/// Runs `status`; returns the exit code (the first non-zero exit of `systemctl`, or 1).
pub async fn run(api: &mut Api, global: &GlobalArgs, args: &SshCommandArgs) -> i32 {
    let mut exit = 0;
    let mut global_units: Vec<fleet::Unit> = Vec::new();
    for (i, arg) in args.units.iter().enumerate() {
        let name = unit_name_mangle(arg);
        let unit = match super::existing_unit(api, &name, "Error retrieving unit").await {
            Ok(u) => u,
            Err(code) => return code,
        };
        if table::is_global(unit.options()) {
            global_units.push(unit);
            continue;
        }
        let unit_name = unit.name().unwrap_or(&name).to_string();
        if unit.current_state() == Some(fleet::DesiredState::Inactive) {
            output::stderr(&format!("Unit {unit_name} does not appear to be loaded."));
            return 1;
        }
        // fleetctl separates the outputs with an empty line, as systemctl status does.
        if i != 0 {
            output::stdout_raw("\n");
        }
        let machine_id = unit.machine_id().unwrap_or_default().to_string();
        let code = remote::run_command(
            api,
            global,
            args.ssh_port,
            &machine_id,
            "systemctl",
            &["status", "-l", &unit_name],
        )
        .await;
        if code != 0 {
            exit = code;
            break;
        }
    }
    if let Err(msg) = global_machine_state(api, global, args.ssh_port, &global_units).await {
        output::stderr(&format!(
            "Error retrieving machine state for global units: {msg}"
        ));
        return 1;
    }
    exit
}

/// fleetctl's `cmdGlobalMachineState`: `systemctl status <unit>` on each machine that a global
/// unit names. (fleet reports no machine for global units, so in practice this runs nothing,
/// as in fleetctl 1.0.)
async fn global_machine_state(
    api: &mut Api,
    global: &GlobalArgs,
    ssh_port: u16,
    units: &[fleet::Unit],
) -> Result<(), String> {
    let mut targets: Vec<(String, String)> = Vec::new();
    for unit in units {
        let Some(id) = unit.machine_id() else {
            continue;
        };
        let Some(m) = api.cached_machine(id).await else {
            continue;
        };
        if m.id.is_empty() || m.primary_ip.is_empty() {
            continue;
        }
        let name = unit.name().unwrap_or_default().to_string();
        let id = m.id.clone();
        match targets.iter_mut().find(|(mid, _)| *mid == id) {
            Some(t) => t.1 = name,
            None => targets.push((id, name)),
        }
    }
    for (id, name) in targets {
        let code =
            remote::run_command(api, global, ssh_port, &id, "systemctl", &["status", &name]).await;
        if code != 0 {
            return Err(format!(
                "Error running systemctl status. machine id={id}, unit name={name}"
            ));
        }
    }
    Ok(())
}
