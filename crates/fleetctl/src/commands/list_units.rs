//! `fleetctl list-units`.

use crate::api::Api;
use crate::cli::{FieldSet, ListArgs, OutputFormat, UnitFields};
use crate::output::{self, json, table};

/// Runs `list-units`; returns the exit code.
pub async fn run(api: &mut Api, args: &ListArgs<UnitFields>) -> i32 {
    let cols = match table::parse_fields(&args.fields, UnitFields::NAMES) {
        Ok(cols) => cols,
        Err(msg) => {
            output::stderr(&msg);
            return 1;
        }
    };
    let states = match api.unit_states().await {
        Ok(s) => s,
        Err(err) => {
            output::stderr(&format!(
                "Error retrieving list of units from repository: {}",
                output::go_err(&err)
            ));
            return 1;
        }
    };
    let needs_machines = args.output == OutputFormat::Json || cols.contains(&"machine");
    let empty = Default::default();
    let machines = if needs_machines && states.iter().any(|s| !s.machine_id.is_empty()) {
        api.load_machine_cache().await
    } else {
        &empty
    };
    match args.output {
        OutputFormat::Json => output::stdout_raw(&json::unit_states(&states, machines)),
        OutputFormat::Table => output::stdout_raw(&table::unit_states_table(
            &states,
            machines,
            &cols,
            args.full,
            args.no_legend,
        )),
    }
    0
}
