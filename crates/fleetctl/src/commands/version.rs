//! `fleetctl version` and `fleetctl --version`.

use crate::cli::COMPAT_VERSION;

/// The version line: fleetctl's `fleetctl version X`, where X is the fleetctl release this one
/// reproduces, with this implementation's version as semver build metadata.
pub fn line() -> String {
    format!(
        "fleetctl version {COMPAT_VERSION}+fleet-rs.{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Prints the version; returns the exit code.
pub fn run() -> i32 {
    crate::output::stdout(&line());
    0
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_line_shape() {
        let line = super::line();
        assert!(
            line.starts_with("fleetctl version 1.0.0+fleet-rs."),
            "{line}"
        );
        // Scripts split on spaces: the third word is a valid semver version.
        assert_eq!(line.split(' ').count(), 3);
    }
}
