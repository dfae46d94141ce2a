//! [`Unit`]: a unit file plus the state fleet holds for it.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::{unit_file, DesiredState, Error, Result, UnitHash, UnitOption};

/// A fleet unit: its options, its desired state and, for units that came from the cluster,
/// its name, current state and machine.
///
/// ```
/// use fleet::v1 as fleet;
///
/// let mut unit = fleet::Unit::new();
/// unit.add_option("Service", "ExecStart", "/usr/bin/sleep 1d");
/// assert_eq!(unit.desired_state(), fleet::DesiredState::Launched);
/// assert_eq!(unit.options().len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct Unit {
    pub(crate) name: Option<String>,
    pub(crate) options: Vec<UnitOption>,
    pub(crate) desired_state: DesiredState,
    pub(crate) current_state: Option<DesiredState>,
    pub(crate) machine_id: Option<String>,
}

impl Default for Unit {
    fn default() -> Self {
        Unit::new()
    }
}

impl PartialEq for Unit {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.options == other.options
            && self.desired_state == other.desired_state
            && self.current_state == other.current_state
            && self.machine_id == other.machine_id
    }
}

impl Unit {
    /// A unit with no options and desired state `launched` (python-fleet's default).
    pub fn new() -> Unit {
        Unit::from_options(Vec::new())
    }

    /// A unit with these options, desired state `launched`.
    ///
    /// ```
    /// use fleet::v1::{Unit, UnitOption};
    /// let unit = Unit::from_options(vec![UnitOption::new("Service", "ExecStart", "/bin/true")]);
    /// assert_eq!(unit.options()[0].name, "ExecStart");
    /// ```
    pub fn from_options(options: Vec<UnitOption>) -> Unit {
        Unit {
            name: None,
            options,
            desired_state: DesiredState::Launched,
            current_state: None,
            machine_id: None,
        }
    }

    /// A unit from unit-file text, parsed as fleet parses it.
    ///
    /// ```
    /// use fleet::v1::Unit;
    /// let unit = Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap();
    /// assert_eq!(unit.options()[0].value, "/usr/bin/sleep 1d");
    /// ```
    pub fn from_string(text: &str) -> Result<Unit> {
        Ok(Unit::from_options(unit_file::parse(text)?))
    }

    /// A unit from a unit file on disk.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Unit> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Unit::from_string(&text)
    }

    /// The same unit with another desired state.
    pub fn with_desired_state(mut self, state: DesiredState) -> Unit {
        self.desired_state = state;
        self
    }

    /// Append an option.
    pub fn add_option(
        &mut self,
        section: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Unit {
        self.options.push(UnitOption::new(section, name, value));
        self
    }

    /// Remove options named `name` in `section` (only those with this value, when one is given).
    /// Returns whether anything was removed.
    ///
    /// ```
    /// use fleet::v1::Unit;
    /// let mut unit = Unit::new();
    /// unit.add_option("Unit", "After", "a.service").add_option("Unit", "After", "b.service");
    /// assert!(unit.remove_option("Unit", "After", Some("a.service")));
    /// assert!(!unit.remove_option("Unit", "After", Some("a.service")));
    /// assert_eq!(unit.options().len(), 1);
    /// ```
    pub fn remove_option(&mut self, section: &str, name: &str, value: Option<&str>) -> bool {
        let before = self.options.len();
        self.options.retain(|o| {
            !(o.section == section && o.name == name && value.is_none_or(|v| o.value == v))
        });
        self.options.len() != before
    }

    /// The options, in order.
    pub fn options(&self) -> &[UnitOption] {
        &self.options
    }

    /// The desired state.
    pub fn desired_state(&self) -> DesiredState {
        self.desired_state
    }

    /// The unit's name, for units that came from fleet.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The state fleet reports the unit in, for units that came from fleet.
    pub fn current_state(&self) -> Option<DesiredState> {
        self.current_state
    }

    /// The machine the unit is scheduled to, for scheduled units that came from fleet.
    pub fn machine_id(&self) -> Option<&str> {
        self.machine_id.as_deref()
    }

    /// fleet's hash of this unit's file.
    ///
    /// ```
    /// use fleet::v1::Unit;
    /// let unit = Unit::from_string("[Service]\nExecStart=/bin/true\n").unwrap();
    /// assert_eq!(unit.hash().to_string().len(), 40);
    /// ```
    pub fn hash(&self) -> UnitHash {
        UnitHash::of(&self.options)
    }
}

impl fmt::Display for Unit {
    /// The unit file text, exactly as fleet serializes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&unit_file::serialize(&self.options))
    }
}

impl FromStr for Unit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Unit> {
        Unit::from_string(s)
    }
}
