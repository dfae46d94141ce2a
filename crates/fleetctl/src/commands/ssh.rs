//! `fleetctl ssh`: run a command over SSH on a machine of the cluster — given by machine id (or
//! a unique prefix) or by a unit it runs — through the tunnel host with `--tunnel`, as
//! fleetctl 1.0 does.
//!
//! A command runs over the fleet library's SSH connection. An interactive shell (no command)
//! and agent forwarding (`-A`), which that connection does not offer yet, are handed to the
//! OpenSSH client (`ssh` on `PATH`) with the same user, port, known-hosts file, host-key
//! checking and `--tunnel` host (see [`remote::openssh_command`]).

use crate::api::Api;
use crate::cli::{GlobalArgs, SshArgs};
use crate::names::unit_name_mangle;
use crate::output::{self, table};
use crate::remote;

/// fleetctl's `pkg.TrimToDashes`: the arguments after the first `--`, or all of them.
///
/// ```
/// # use fleetctl::commands::ssh::trim_to_dashes;
/// assert_eq!(trim_to_dashes(&["ls".into(), "-l".into()]), ["ls", "-l"]);
/// assert_eq!(trim_to_dashes(&["x".into(), "--".into(), "ls".into()]), ["ls"]);
/// ```
pub fn trim_to_dashes(args: &[String]) -> &[String] {
    match args.iter().position(|a| a == "--") {
        Some(i) => args.get(i + 1..).unwrap_or_default(),
        None => args,
    }
}

/// fleetctl's `findAddressInMachineList`: the primary IP of the one machine whose id starts
/// with `lookup`.
async fn find_address_in_machine_list(api: &Api, lookup: &str) -> Result<String, String> {
    let machines = api.machines().await.map_err(|e| output::go_err(&e))?;
    let mut found = None;
    for m in machines {
        if !m.id.starts_with(lookup) {
            continue;
        }
        if found.is_some() {
            return Err("found more than one machine".into());
        }
        found = Some(m);
    }
    found
        .map(|m| m.primary_ip)
        .ok_or_else(|| "machine does not exist".into())
}

/// fleetctl's `findAddressInRunningUnits`: the primary IP of the machine running the unit;
/// `Ok(None)` when that machine or its IP is unknown.
async fn find_address_in_running_units(
    api: &mut Api,
    name: &str,
) -> Result<Option<String>, String> {
    let name = unit_name_mangle(name);
    let unit = match api.unit(&name).await {
        Err(e) => return Err(output::go_err(&e)),
        Ok(None) => return Err("unit does not exist".into()),
        Ok(Some(u)) => u,
    };
    if table::is_global(unit.options()) {
        return Err("global units unsupported".into());
    }
    let id = unit.machine_id().unwrap_or_default().to_string();
    Ok(api
        .cached_machine(&id)
        .await
        .filter(|m| !m.primary_ip.is_empty())
        .map(|m| m.primary_ip.clone()))
}

/// fleetctl's `globalMachineLookup`: the first argument as a machine id prefix or a unit.
async fn global_machine_lookup(api: &mut Api, args: &[String]) -> Result<String, String> {
    let Some(lookup) = args.first() else {
        return Err("one machine or unit must be provided".into());
    };
    let machine = find_address_in_machine_list(api, lookup).await.ok();
    let unit = find_address_in_running_units(api, lookup)
        .await
        .ok()
        .flatten();
    match (machine, unit) {
        (Some(_), Some(_)) => Err(format!(
            "ambiguous argument, both machine and unit found for `{lookup}`.\n\
             Please use flag `-m` or `-u` to refine the search"
        )),
        (Some(addr), None) | (None, Some(addr)) => Ok(addr),
        (None, None) => Err("could not find matching unit or machine".into()),
    }
}

/// Runs `ssh`; returns the exit code (that of the remote command).
pub async fn run(api: &mut Api, global: &GlobalArgs, args: &SshArgs) -> i32 {
    // cobra takes an empty string flag as unset.
    let machine = args.machine.as_deref().filter(|m| !m.is_empty());
    let unit = args.unit.as_deref().filter(|u| !u.is_empty());
    if machine.is_some() && unit.is_some() {
        output::stderr("Both machine and unit flags provided, please specify only one.");
        return 1;
    }
    let mut rest: &[String] = &args.args;
    let addr = match (machine, unit) {
        (Some(m), _) => find_address_in_machine_list(api, m).await,
        (None, Some(u)) => find_address_in_running_units(api, u)
            .await
            .map(Option::unwrap_or_default),
        (None, None) => {
            let addr = global_machine_lookup(api, rest).await;
            rest = rest.get(1..).unwrap_or_default();
            addr
        }
    };
    let addr = match addr {
        Ok(a) => a,
        Err(e) => {
            output::stderr(&format!("Unable to proceed: {e}"));
            return 1;
        }
    };
    if addr.is_empty() {
        output::stderr("Could not determine address of machine.");
        return 1;
    }
    let (host, port) = remote::ssh_address(&addr, args.ssh_port);
    if !remote::valid_host(&host) {
        output::stderr(&format!(
            "Unable to proceed: the machine's address {addr:?} is not an IP address or host name"
        ));
        return 1;
    }
    let command = trim_to_dashes(rest);
    if args.forward_agent || command.is_empty() {
        let mut ssh = remote::openssh_command(global, &host, port, args.forward_agent, command);
        tracing::debug!(?ssh, "running the OpenSSH client");
        return match ssh.status() {
            Ok(status) => status.code().unwrap_or(255),
            Err(e) => {
                let what = if command.is_empty() {
                    "Failed opening shell over SSH"
                } else {
                    "Failed running command over SSH"
                };
                output::stderr(&format!(
                    "{what}: cannot run the OpenSSH client `ssh`, which fleetctl uses for \
                     interactive shells and agent forwarding: {e}"
                ));
                1
            }
        };
    }
    let client = match remote::machine(api, global, &host, port) {
        Ok(c) => c,
        Err(e) => {
            output::stderr(&format!("Failed building SSH client: {e}"));
            return 1;
        }
    };
    if let Err(e) = client.ensure_connected().await {
        output::stderr(&format!("Failed building SSH client: {e}"));
        return 1;
    }
    match remote::execute(&client, &command.join(" ")).await {
        Ok(code) => code,
        Err(e) => {
            output::stderr(&format!("Failed running command over SSH: {e}"));
            255
        }
    }
}
