//! `fleetctl submit`.

use super::create::{lazy_create_units, Context};
use crate::api::Api;
use crate::cli::CreateArgs;
use crate::output;

/// Runs `submit`; returns the exit code.
pub async fn run(api: &mut Api, args: &CreateArgs) -> i32 {
    if args.units.is_empty() {
        output::stderr("No units given");
        return 0;
    }
    if let Err(e) =
        lazy_create_units(api, &args.units, args.replace, Context::Submit, 0, None).await
    {
        output::stderr(&format!("Error creating units: {e}"));
        return 1;
    }
    0
}
