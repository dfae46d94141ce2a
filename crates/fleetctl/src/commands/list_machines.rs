//! `fleetctl list-machines`.

use crate::api::Api;
use crate::cli::{FieldSet, ListArgs, MachineFields, OutputFormat};
use crate::output::{self, json, table};

/// Runs `list-machines`; returns the exit code.
pub async fn run(api: &mut Api, args: &ListArgs<MachineFields>) -> i32 {
    let cols = match table::parse_fields(&args.fields, MachineFields::NAMES) {
        Ok(cols) => cols,
        Err(msg) => {
            output::stderr(&msg);
            return 1;
        }
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
    match args.output {
        OutputFormat::Json => output::stdout_raw(&json::machines(&machines)),
        OutputFormat::Table => output::stdout_raw(&table::machines_table(
            &machines,
            &cols,
            args.full,
            args.no_legend,
        )),
    }
    0
}
