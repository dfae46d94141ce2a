//! `fleetctl load`.

use fleet::v1 as fleet;

use super::create::{lazy_create_units, name_of, set_target_state_of_units, Context};
use crate::api::Api;
use crate::cli::WaitCreateArgs;
use crate::output::{self, table};
use crate::wait::{self, WaitOptions};

/// Runs `load`; returns the exit code.
pub async fn run(api: &mut Api, args: &WaitCreateArgs) -> i32 {
    let units = &args.create.units;
    if units.is_empty() {
        output::stderr("No units given");
        return 0;
    }
    let opts = WaitOptions::from_flags(&args.wait);
    if let Err(e) = lazy_create_units(
        api,
        units,
        args.create.replace,
        Context::Load,
        args.wait.block_attempts,
        opts.timeout,
    )
    .await
    {
        output::stderr(&format!("Error creating units: {e}"));
        return 1;
    }
    let triggered = match set_target_state_of_units(api, units, fleet::DesiredState::Loaded).await {
        Ok(t) => t,
        Err(e) => {
            output::stderr(&format!("Error loading units: {e}"));
            return 1;
        }
    };
    let mut loading = Vec::new();
    for u in &triggered {
        if table::is_global(u.options()) {
            output::stdout(&format!("Triggered global unit {} load", name_of(u)));
        } else {
            loading.push(name_of(u));
        }
    }
    if let Err(e) =
        wait::wait_for_unit_states(api, &loading, "load", fleet::DesiredState::Loaded, opts).await
    {
        super::report_wait_error(&e);
        output::stderr(&format!("Error waiting for unit states, exit status: {e}"));
        return 1;
    }
    0
}
