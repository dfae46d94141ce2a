//! `fleetctl fd-forward`: runs on a fleet machine over SSH, which arrives with SSH tunnel support.

/// Runs `fd-forward`; returns the exit code.
pub fn run() -> i32 {
    super::needs_ssh("fd-forward")
}
