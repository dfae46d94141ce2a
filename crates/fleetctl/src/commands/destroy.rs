//! `fleetctl destroy`.

use super::create::name_of;
use super::state_change::registry_units;
use crate::api::Api;
use crate::cli::DestroyArgs;
use crate::output;
use crate::wait::ATTEMPT;

/// Runs `destroy`; returns the exit code.
pub async fn run(api: &mut Api, args: &DestroyArgs) -> i32 {
    let units = match registry_units(api, &args.units).await {
        Ok(u) => u,
        Err(code) => return code,
    };
    let mut exit = 0;
    for u in &units {
        let name = name_of(u);
        if let Err(e) = api.destroy_unit(&name).await {
            // A unit destroyed meanwhile is not an error.
            if e.code() == Some(404) {
                continue;
            }
            output::stderr(&format!("Error destroying units: {}", output::go_err(&e)));
            exit = 1;
            continue;
        }
        // fleetctl 1.0 checks that the unit is gone only when --no-block is given (sic),
        // up to --block-attempts times (no limit for 0), 2 seconds apart.
        if args.no_block {
            let mut attempts = args.block_attempts;
            let mut retry = || {
                if args.block_attempts < 1 {
                    return true;
                }
                attempts -= 1;
                attempts != 0
            };
            while retry() {
                match api.unit(&name).await {
                    Err(e) => {
                        output::stderr(&format!("Error destroying units: {}", output::go_err(&e)));
                        exit = 1;
                        break;
                    }
                    Ok(None) => break,
                    Ok(Some(_)) => tokio::time::sleep(ATTEMPT).await,
                }
            }
        }
        output::stdout(&format!("Destroyed {name}"));
    }
    exit
}
