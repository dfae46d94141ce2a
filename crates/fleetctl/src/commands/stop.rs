//! `fleetctl stop`.

use fleet::v1 as fleet;

use super::create::name_of;
use super::state_change::{registry_units, trigger, wait_and_report};
use crate::api::Api;
use crate::cli::WaitArgs;
use crate::output::{self, table};

/// Runs `stop`; returns the exit code.
pub async fn run(api: &mut Api, args: &WaitArgs) -> i32 {
    let units = match registry_units(api, &args.units).await {
        Ok(u) => u,
        Err(code) => return code,
    };
    let mut stopping = Vec::new();
    for u in &units {
        if !table::is_global(u.options()) {
            match u.current_state() {
                Some(fleet::DesiredState::Inactive) => {
                    let name = name_of(u);
                    output::stderr(&format!("Unable to stop unit {name} in state inactive"));
                    return 1;
                }
                Some(fleet::DesiredState::Loaded) => {
                    tracing::debug!("Unit({}) already loaded, skipping.", name_of(u));
                    continue;
                }
                _ => {}
            }
        }
        trigger(api, u, fleet::DesiredState::Loaded, "stop", &mut stopping).await;
    }
    let state = fleet::DesiredState::Loaded;
    wait_and_report(api, &stopping, state, "stop", "stopped", &args.wait).await
}
