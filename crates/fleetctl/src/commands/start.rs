//! `fleetctl start`.

use fleet::v1 as fleet;

use super::create::Context;
use super::state_change::create_and_wait;
use crate::api::Api;
use crate::cli::WaitCreateArgs;
use crate::output;
use crate::wait;

/// Runs `start`; returns the exit code.
pub async fn run(api: &mut Api, args: &WaitCreateArgs) -> i32 {
    let state = fleet::DesiredState::Launched;
    let (starting, opts) =
        match create_and_wait(api, args, Context::Start, state, "start", "starting").await {
            Ok(waited) => waited,
            Err(code) => return code,
        };
    if let Err(e) = wait::wait_for_systemd_active(api, &starting, opts).await {
        super::report_wait_error(&e);
        output::stderr(&format!("Error waiting for systemd unit states, err: {e}"));
        return 1;
    }
    0
}
