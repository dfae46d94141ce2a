//! What the server needs to know about a unit, taken from the library's `unit_file` module
//! (names, `[X-Fleet]` options, hashes): the one implementation of fleet's unit-file rules.

use std::collections::BTreeMap;

use fleet::v1::unit_file::{self, UnitHash, UnitName, XFleet};
use fleet::v1::{Error, UnitOption};

/// fleet's API error text for a unit name `PUT` refuses, or `None` when it is fine.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    unit_file::validate_unit_name(name).map_err(message)
}

/// fleet's `ValidateOptions`: the options must survive go-systemd's serializer and parser, and
/// their `[X-Fleet]` requirements must not contradict each other.
pub(crate) fn validate_options(options: &[UnitOption]) -> Result<(), String> {
    unit_file::validate_options(options).map_err(message)
}

/// The text fleet would send for a library error.
fn message(err: Error) -> String {
    match err {
        Error::InvalidUnitName { message, .. } => message,
        Error::InvalidUnit { message, .. } => message,
        other => other.to_string(),
    }
}

/// fleet's hash of a unit, as it appears in unit states.
pub(crate) fn hash(options: &[UnitOption]) -> String {
    UnitHash::of(options).to_string()
}

/// `name@.service`.
pub(crate) fn is_template(name: &str) -> bool {
    UnitName::parse(name).is_ok_and(|n| n.is_template())
}

/// A unit's `[X-Fleet]` requirements, as the scheduler uses them.
#[derive(Clone, Debug)]
pub(crate) struct Requirements {
    pub(crate) xfleet: XFleet,
    /// `MachineID`.
    pub(crate) machine_id: Option<String>,
    /// `MachineOf`.
    pub(crate) peers: Vec<String>,
    /// `Conflicts` (whitespace-separated lists split).
    pub(crate) conflicts: Vec<String>,
    /// `Replaces`.
    pub(crate) replaces: Vec<String>,
    /// `Global=true`.
    pub(crate) global: bool,
}

impl Requirements {
    /// The requirements of unit `name` with these options (instance specifiers resolved).
    pub(crate) fn of(name: &str, options: &[UnitOption]) -> Self {
        let xfleet = XFleet::from_options(name, options);
        Requirements {
            machine_id: xfleet.machine_id(),
            peers: xfleet.peers(),
            conflicts: xfleet.conflicts(),
            replaces: xfleet.replaces(),
            global: xfleet.is_global(),
            xfleet,
        }
    }

    /// Its placement depends on other units: `Global`, `MachineOf`, `Conflicts` or `Replaces`.
    pub(crate) fn is_related(&self) -> bool {
        self.global
            || !self.peers.is_empty()
            || !self.conflicts.is_empty()
            || !self.replaces.is_empty()
    }

    /// The machine's metadata satisfies `MachineMetadata`.
    pub(crate) fn metadata_matches(&self, metadata: &BTreeMap<String, String>) -> bool {
        self.xfleet.matches_metadata(metadata)
    }
}

/// Go's `path.Match`, which fleet uses for `Conflicts` and `Replaces` globs.
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    unit_file::glob_match(pattern, name)
}
