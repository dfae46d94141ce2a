//! `fleetctl list-units`.

use super::{list_columns, print_list, report_list_units_error};
use crate::api::Api;
use crate::cli::{ListArgs, OutputFormat, UnitFields};
use crate::output::{json, table};

/// Runs `list-units`; returns the exit code.
pub async fn run(api: &mut Api, args: &ListArgs<UnitFields>) -> i32 {
    let cols = match list_columns(args) {
        Ok(cols) => cols,
        Err(code) => return code,
    };
    let states = match api.unit_states().await {
        Ok(s) => s,
        Err(err) => return report_list_units_error(&err),
    };
    let needs_machines = args.output == OutputFormat::Json || cols.contains(&"machine");
    let machines = api
        .machine_cache_if(needs_machines && states.iter().any(|s| !s.machine_id.is_empty()))
        .await;
    print_list(
        args.output,
        || json::unit_states(&states, machines),
        || table::unit_states_table(&states, machines, &cols, args.full, args.no_legend),
    );
    0
}
