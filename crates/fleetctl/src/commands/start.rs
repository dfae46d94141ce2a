//! `fleetctl start`.

use fleet::v1 as fleet;

use super::create::{lazy_create_units, name_of, set_target_state_of_units, Context};
use crate::api::Api;
use crate::cli::WaitCreateArgs;
use crate::output::{self, table};
use crate::wait::{self, WaitOptions};

/// Runs `start`; returns the exit code.
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
        Context::Start,
        args.wait.block_attempts,
        opts.timeout,
    )
    .await
    {
        output::stderr(&format!("Error creating units: {e}"));
        return 1;
    }
    let triggered = match set_target_state_of_units(api, units, fleet::DesiredState::Launched).await
    {
        Ok(t) => t,
        Err(e) => {
            output::stderr(&format!("Error starting units: {e}"));
            return 1;
        }
    };
    let mut starting = Vec::new();
    for u in &triggered {
        if table::is_global(u.options()) {
            output::stdout(&format!("Triggered global unit {} start", name_of(u)));
        } else {
            starting.push(name_of(u));
        }
    }
    if let Err(e) =
        wait::wait_for_unit_states(api, &starting, "start", fleet::DesiredState::Launched, opts)
            .await
    {
        super::report_wait_error(&e);
        output::stderr(&format!("Error waiting for unit states, exit status: {e}"));
        return 1;
    }
    if let Err(e) = wait::wait_for_systemd_active(api, &starting, opts).await {
        super::report_wait_error(&e);
        output::stderr(&format!("Error waiting for systemd unit states, err: {e}"));
        return 1;
    }
    0
}
