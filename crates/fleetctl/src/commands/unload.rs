//! `fleetctl unload`.

use fleet::v1 as fleet;

use super::create::name_of;
use super::state_change::{registry_units, trigger, wait_and_report};
use crate::api::Api;
use crate::cli::WaitArgs;
use crate::output::table;

/// Runs `unload`; returns the exit code.
pub async fn run(api: &mut Api, args: &WaitArgs) -> i32 {
    let units = match registry_units(api, &args.units).await {
        Ok(u) => u,
        Err(code) => return code,
    };
    let state = fleet::DesiredState::Inactive;
    let mut waiting = Vec::new();
    for u in &units {
        if !table::is_global(u.options()) && u.current_state() == Some(state) {
            let name = name_of(u);
            tracing::debug!("Target state of Unit({name}) already inactive, skipping.");
            continue;
        }
        trigger(api, u, state, "unload", &mut waiting).await;
    }
    wait_and_report(api, &waiting, state, "unload", "unloaded", &args.wait).await
}
