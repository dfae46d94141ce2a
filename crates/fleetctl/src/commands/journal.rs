//! `fleetctl journal`: `journalctl` for a unit on its machine, over SSH (through the tunnel host
//! with `--tunnel`), as fleetctl 1.0 builds it.

use fleet::v1 as fleet;

use crate::api::Api;
use crate::cli::{GlobalArgs, JournalArgs};
use crate::names::unit_name_mangle;
use crate::output::{self, table};
use crate::remote;

/// The command fleetctl runs: `[sudo] journalctl --unit U --no-pager -n N --output O [-f]`.
///
/// ```
/// # use fleetctl::commands::journal::journal_command;
/// assert_eq!(journal_command("a.service", 5, "short", false, true),
///            ["journalctl", "--unit", "a.service", "--no-pager", "-n", "5", "--output", "short", "-f"]);
/// assert_eq!(journal_command("a.service", 10, "json", true, false)[..2], ["sudo", "journalctl"]);
/// ```
pub fn journal_command(
    unit: &str,
    lines: u64,
    output_mode: &str,
    sudo: bool,
    follow: bool,
) -> Vec<String> {
    let mut cmd: Vec<String> = Vec::new();
    if sudo {
        cmd.push("sudo".into());
    }
    for part in ["journalctl", "--unit", unit, "--no-pager", "-n"] {
        cmd.push(part.into());
    }
    cmd.push(lines.to_string());
    cmd.push("--output".into());
    cmd.push(output_mode.into());
    if follow {
        cmd.push("-f".into());
    }
    cmd
}

/// Runs `journal`; returns the exit code (that of `journalctl`).
pub async fn run(api: &mut Api, global: &GlobalArgs, args: &JournalArgs) -> i32 {
    let [arg] = args.units.as_slice() else {
        output::stderr("One unit file must be provided.");
        return 1;
    };
    let name = unit_name_mangle(arg);
    let retrieving = format!("Error retrieving unit {name}");
    let unit = match super::existing_unit(api, &name, &retrieving).await {
        Ok(u) => u,
        Err(code) => return code,
    };
    if table::is_global(unit.options()) {
        output::stderr(&format!(
            "Unable to retrieve journal of global unit {name}."
        ));
        return 1;
    }
    if unit.current_state() == Some(fleet::DesiredState::Inactive) {
        output::stderr(&format!("Unit {name} does not appear to be running."));
        return 1;
    }
    let cmd = journal_command(&name, args.lines, &args.output, args.sudo, args.follow);
    let Some((first, rest)) = cmd.split_first() else {
        return 1;
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let machine_id = unit.machine_id().unwrap_or_default().to_string();
    remote::run_command(api, global, args.ssh_port, &machine_id, first, &rest).await
}
