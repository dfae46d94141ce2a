//! `fleetctl status`: runs on a fleet machine over SSH, which arrives with SSH tunnel support.

/// Runs `status`; returns the exit code.
pub fn run() -> i32 {
    super::needs_ssh("status")
}
