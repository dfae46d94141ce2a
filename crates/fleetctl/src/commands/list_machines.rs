//! `fleetctl list-machines`.

use super::{list_columns, print_list};
use crate::api::Api;
use crate::cli::{ListArgs, MachineFields};
use crate::output::{self, json, table};

/// Runs `list-machines`; returns the exit code.
pub async fn run(api: &mut Api, args: &ListArgs<MachineFields>) -> i32 {
    let cols = match list_columns(args) {
        Ok(cols) => cols,
        Err(code) => return code,
    };
    let machines = match api.machines().await {
        Ok(m) => m,
        Err(err) => {
            output::stderr(&format!(
                "Error retrieving list of active machines from fleet API ({})",
                output::go_err(&err)
            ));
            output::stderr("Possible issues:");
            output::stderr("  etcd is unhealthy and/or lost quorum");
            output::stderr("  connection cannot be established to any etcd servers");
            return 1;
        }
    };
    print_list(
        args.output,
        || json::machines(&machines),
        || table::machines_table(&machines, &cols, args.full, args.no_legend),
    );
    0
}
