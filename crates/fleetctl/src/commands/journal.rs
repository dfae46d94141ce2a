//! `fleetctl journal`: runs on a fleet machine over SSH, which arrives with SSH tunnel support.

/// Runs `journal`; returns the exit code.
pub fn run() -> i32 {
    super::needs_ssh("journal")
}
