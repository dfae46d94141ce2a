//! `fleetctl cat`.

use crate::api::Api;
use crate::cli::{CatArgs, OutputFormat};
use crate::names::unit_name_mangle;
use crate::output::{self, json};

/// Runs `cat`; returns the exit code.
pub async fn run(api: &mut Api, args: &CatArgs) -> i32 {
    let [arg] = args.units.as_slice() else {
        output::stderr("One unit file must be provided");
        return 1;
    };
    let name = unit_name_mangle(arg);
    match api.unit(&name).await {
        Err(err) => {
            output::stderr(&format!(
                "Error retrieving Unit {name}: {}",
                output::go_err(&err)
            ));
            1
        }
        Ok(None) => {
            output::stderr(&format!("Unit {name} not found"));
            1
        }
        Ok(Some(unit)) => {
            match args.output {
                // The unit file exactly as fleet serializes it, with no newline added.
                OutputFormat::Table => output::stdout_raw(&unit.to_string()),
                OutputFormat::Json => output::stdout_raw(&json::cat(&name, &unit)),
            }
            0
        }
    }
}
