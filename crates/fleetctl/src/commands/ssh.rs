//! `fleetctl ssh`: runs on a fleet machine over SSH, which arrives with SSH tunnel support.

/// Runs `ssh`; returns the exit code.
pub fn run() -> i32 {
    super::needs_ssh("ssh")
}
