//! `fleetctl load`.

use fleet::v1 as fleet;

use super::create::Context;
use super::state_change::create_and_wait;
use crate::api::Api;
use crate::cli::WaitCreateArgs;

/// Runs `load`; returns the exit code.
pub async fn run(api: &mut Api, args: &WaitCreateArgs) -> i32 {
    let state = fleet::DesiredState::Loaded;
    match create_and_wait(api, args, Context::Load, state, "load", "loading").await {
        Ok(_) => 0,
        Err(code) => code,
    }
}
