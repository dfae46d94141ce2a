//! `fleetctl list-unit-files`.

use super::{list_columns, print_list, report_list_units_error};
use crate::api::Api;
use crate::cli::{ListArgs, OutputFormat, UnitFileFields};
use crate::output::{self, json, table};

/// Runs `list-unit-files`; returns the exit code.
pub async fn run(api: &mut Api, args: &ListArgs<UnitFileFields>) -> i32 {
    let cols = match list_columns(args) {
        Ok(cols) => cols,
        Err(code) => return code,
    };
    if cols.contains(&"tmachine") {
        output::stderr("WARNING: The \"tmachine\" field is deprecated. Use \"target\" instead");
    }
    let units = match api.units().await {
        Ok(u) => u,
        Err(err) => return report_list_units_error(&err),
    };
    let needs_machines = args.output == OutputFormat::Json
        || cols.iter().any(|c| *c == "target" || *c == "tmachine");
    let scheduled = units
        .iter()
        .any(|u| u.machine_id().is_some_and(|m| !m.is_empty()));
    let machines = api.machine_cache_if(needs_machines && scheduled).await;
    print_list(
        args.output,
        || json::unit_files(&units, machines),
        || table::unit_files_table(&units, machines, &cols, args.full, args.no_legend),
    );
    0
}
