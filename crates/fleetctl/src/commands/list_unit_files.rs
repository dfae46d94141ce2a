//! `fleetctl list-unit-files`.

use crate::api::Api;
use crate::cli::{FieldSet, ListArgs, OutputFormat, UnitFileFields};
use crate::output::{self, json, table};

/// Runs `list-unit-files`; returns the exit code.
pub async fn run(api: &mut Api, args: &ListArgs<UnitFileFields>) -> i32 {
    let cols = match table::parse_fields(&args.fields, UnitFileFields::NAMES) {
        Ok(cols) => cols,
        Err(msg) => {
            output::stderr(&msg);
            return 1;
        }
    };
    if cols.contains(&"tmachine") {
        output::stderr("WARNING: The \"tmachine\" field is deprecated. Use \"target\" instead");
    }
    let units = match api.units().await {
        Ok(u) => u,
        Err(err) => {
            output::stderr(&format!(
                "Error retrieving list of units from repository: {}",
                output::go_err(&err)
            ));
            return 1;
        }
    };
    let needs_machines = args.output == OutputFormat::Json
        || cols.iter().any(|c| *c == "target" || *c == "tmachine");
    let empty = Default::default();
    let machines = if needs_machines
        && units
            .iter()
            .any(|u| u.machine_id().is_some_and(|m| !m.is_empty()))
    {
        api.load_machine_cache().await
    } else {
        &empty
    };
    match args.output {
        OutputFormat::Json => output::stdout_raw(&json::unit_files(&units, machines)),
        OutputFormat::Table => output::stdout_raw(&table::unit_files_table(
            &units,
            machines,
            &cols,
            args.full,
            args.no_legend,
        )),
    }
    0
}
