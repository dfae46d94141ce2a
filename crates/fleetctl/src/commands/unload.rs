//! `fleetctl unload`.

use fleet::v1 as fleet;

use super::create::{find_units, name_of};
use crate::api::Api;
use crate::cli::WaitArgs;
use crate::output::{self, table};
use crate::wait::{self, WaitOptions};

/// Runs `unload`; returns the exit code.
pub async fn run(api: &mut Api, args: &WaitArgs) -> i32 {
    if args.units.is_empty() {
        output::stderr("No units given");
        return 0;
    }
    let units = match find_units(api, &args.units).await {
        Ok(u) => u,
        Err(e) => {
            output::stderr(&output::go_err(&e));
            return 1;
        }
    };
    if units.is_empty() {
        output::stderr("Units not found in registry");
        return 0;
    }
    let mut waiting = Vec::new();
    for u in &units {
        let name = name_of(u);
        let global = table::is_global(u.options());
        if !global && u.current_state() == Some(fleet::DesiredState::Inactive) {
            tracing::debug!("Target state of Unit({name}) already inactive, skipping.");
            continue;
        }
        tracing::debug!("Setting target state of Unit({name}) to inactive");
        // fleetctl ignores errors here; the wait below notices a unit that does not unload.
        if let Err(e) = api
            .set_target_state(&name, fleet::DesiredState::Inactive)
            .await
        {
            tracing::debug!("setting target state of {name}: {e}");
        }
        if global {
            output::stdout(&format!("Triggered global unit {name} unload"));
        } else {
            waiting.push(name);
        }
    }
    let opts = WaitOptions::from_flags(&args.wait);
    if let Err(e) =
        wait::wait_for_unit_states(api, &waiting, "unload", fleet::DesiredState::Inactive, opts)
            .await
    {
        super::report_wait_error(&e);
        output::stderr(&format!(
            "Failed to unload units {}. err: {e}",
            output::go_list(&waiting)
        ));
        return 1;
    }
    output::stderr(&format!(
        "Successfully unloaded units {}.",
        output::go_list(&waiting)
    ));
    0
}
