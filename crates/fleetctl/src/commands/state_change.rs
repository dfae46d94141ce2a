//! What `load`/`start` and `stop`/`unload`/`destroy` share: finding the units named on the
//! command line, setting their target state, and waiting for non-global units to reach it.

use fleet::v1 as fleet;

use super::create::{find_units, lazy_create_units, name_of, set_target_state_of_units, Context};
use crate::api::Api;
use crate::cli::{WaitCreateArgs, WaitFlags};
use crate::output::{self, table};
use crate::wait::{self, WaitOptions};

/// The registry's units for the names given; `Err(exit code)` when there is nothing to do
/// (`No units given`, `Units not found in registry`: 0) or the lookup failed (1).
pub async fn registry_units(api: &Api, names: &[String]) -> Result<Vec<fleet::Unit>, i32> {
    if names.is_empty() {
        output::stderr("No units given");
        return Err(0);
    }
    match find_units(api, names).await {
        Ok(units) if units.is_empty() => {
            output::stderr("Units not found in registry");
            Err(0)
        }
        Ok(units) => Ok(units),
        Err(e) => {
            output::stderr(&output::go_err(&e));
            Err(1)
        }
    }
}

/// Sets `unit`'s target state, ignoring errors as fleetctl does (the wait notices a unit that
/// does not get there); a global unit is reported as triggered (`Triggered global unit <name>
/// <verb>`), any other is added to `waiting`.
pub async fn trigger(
    api: &mut Api,
    unit: &fleet::Unit,
    state: fleet::DesiredState,
    verb: &str,
    waiting: &mut Vec<String>,
) {
    let name = name_of(unit);
    tracing::debug!("Setting target state of Unit({name}) to {state}");
    if let Err(e) = api.set_target_state(&name, state).await {
        tracing::debug!("setting target state of {name}: {e}");
    }
    if table::is_global(unit.options()) {
        output::stdout(&format!("Triggered global unit {name} {verb}"));
    } else {
        waiting.push(name);
    }
}

/// Waits for `waiting` to reach `state` and says how it went, as `stop` and `unload` do:
/// `Successfully <done> units [...].` or `Failed to <verb> units [...]. err: ...` (exit 1).
pub async fn wait_and_report(
    api: &mut Api,
    waiting: &[String],
    state: fleet::DesiredState,
    verb: &str,
    done: &str,
    flags: &WaitFlags,
) -> i32 {
    let opts = WaitOptions::from_flags(flags);
    let list = output::go_list(waiting);
    if let Err(e) = wait::wait_for_unit_states(api, waiting, verb, state, opts).await {
        super::report_wait_error(&e);
        output::stderr(&format!("Failed to {verb} units {list}. err: {e}"));
        return 1;
    }
    output::stderr(&format!("Successfully {done} units {list}."));
    0
}

/// `load` and `start`: submits the units that fleet does not have yet, sets the target state of
/// all of them, and waits for the non-global ones to reach it. `Ok` holds the units waited
/// for and the wait options; `Err` the exit code, with the error already printed.
pub async fn create_and_wait(
    api: &mut Api,
    args: &WaitCreateArgs,
    context: Context,
    state: fleet::DesiredState,
    verb: &str,
    doing: &str,
) -> Result<(Vec<String>, WaitOptions), i32> {
    let units = &args.create.units;
    if units.is_empty() {
        output::stderr("No units given");
        return Err(0);
    }
    let opts = WaitOptions::from_flags(&args.wait);
    if let Err(e) = lazy_create_units(
        api,
        units,
        args.create.replace,
        context,
        args.wait.block_attempts,
        opts.timeout,
    )
    .await
    {
        output::stderr(&format!("Error creating units: {e}"));
        return Err(1);
    }
    let triggered = match set_target_state_of_units(api, units, state).await {
        Ok(t) => t,
        Err(e) => {
            output::stderr(&format!("Error {doing} units: {e}"));
            return Err(1);
        }
    };
    let mut waiting = Vec::new();
    for u in &triggered {
        if table::is_global(u.options()) {
            output::stdout(&format!("Triggered global unit {} {verb}", name_of(u)));
        } else {
            waiting.push(name_of(u));
        }
    }
    if let Err(e) = wait::wait_for_unit_states(api, &waiting, verb, state, opts).await {
        super::report_wait_error(&e);
        output::stderr(&format!("Error waiting for unit states, exit status: {e}"));
        return Err(1);
    }
    Ok((waiting, opts))
}
