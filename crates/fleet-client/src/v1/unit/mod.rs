//! [`Unit`]: a unit file plus the state fleet holds for it.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{unit_file, Client, DesiredState, Error, Result, UnitHash, UnitOption};

mod options;
mod text;
pub(crate) use options::Options;
pub(crate) use text::Text;

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
///
/// # Units from the cluster
///
/// Units returned by a [`Client`] remember it: [`set_desired_state`](Unit::set_desired_state)
/// and [`destroy`](Unit::destroy) act on the cluster through it, as python-fleet's
/// `unit.set_desired_state()` and `unit.destroy()` do. On a unit built locally both return
/// [`Error::LocalUnit`].
///
/// fleet cannot change the options of a unit in place. python-fleet raises on
/// `add_option`/`remove_option` for units from the cluster; here editing the options of such a
/// unit **detaches** it instead: it becomes a local unit (no client, no current state, no
/// machine) that keeps its name, desired state and the edited options, ready to be submitted
/// again with [`Client::create_unit`] (fleet replaces a unit whose options changed).
/// [`is_from_cluster`](Unit::is_from_cluster) tells the two kinds apart.
///
/// # Units from a list
///
/// [`Client::list_units`] checks every unit of a page completely, but keeps each unit's name
/// and options as slices of the page's JSON (shared by the page's units, copied once out of
/// the connection's buffers) and decodes the options into [`UnitOption`]s the first time they
/// are needed, once. Listing is much cheaper for it; the one thing to know is that a unit from
/// a list keeps its page's JSON (about 200 bytes per unit of that page) alive until it is
/// dropped or its options are edited (which detaches it, see above). Keeping a few units out
/// of a long listing keeps their pages.
///
/// # Serde
///
/// With fleet's field names: `name`, `options`, `desiredState`, `currentState`, `machineID`
/// (absent fields are omitted, as fleet does).
///
/// ```
/// use fleet::v1::{Unit, DesiredState};
/// let unit: Unit = serde_json::from_str(r#"{"currentState":"launched","desiredState":"launched",
///     "machineID":"9a4b2c7d","name":"hello.service",
///     "options":[{"name":"ExecStart","section":"Service","value":"/usr/bin/sleep 1d"}]}"#)?;
/// assert_eq!(unit.name(), Some("hello.service"));
/// assert_eq!(unit.current_state(), Some(DesiredState::Launched));
/// assert_eq!(unit.machine_id(), Some("9a4b2c7d"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(from = "UnitWire")]
pub struct Unit {
    pub(crate) name: Option<Text>,
    pub(crate) options: Options,
    pub(crate) desired_state: DesiredState,
    pub(crate) current_state: Option<DesiredState>,
    pub(crate) machine_id: Option<String>,
    /// The client this unit came from; `None` for local units. Not part of equality.
    pub(crate) origin: Option<Client>,
}

/// fleet's JSON form of a unit (what `GET /fleet/v1/units/<name>` returns).
#[derive(Deserialize)]
struct UnitWire {
    #[serde(default)]
    name: Option<String>,
    // Room for a typical unit's options from the start (fleet sends a handful per unit).
    #[serde(default, deserialize_with = "super::page::presized::<_, _, 4>")]
    options: Vec<UnitOption>,
    #[serde(rename = "desiredState")]
    desired_state: DesiredState,
    #[serde(rename = "currentState", default)]
    current_state: Option<DesiredState>,
    #[serde(rename = "machineID", default)]
    machine_id: Option<String>,
}

impl From<UnitWire> for Unit {
    fn from(w: UnitWire) -> Unit {
        Unit {
            name: w.name.map(Text::from),
            options: Options::new(w.options),
            desired_state: w.desired_state,
            current_state: w.current_state,
            machine_id: w.machine_id.filter(|m| !m.is_empty()),
            origin: None,
        }
    }
}

impl Serialize for Unit {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "currentState", skip_serializing_if = "Option::is_none")]
            current_state: Option<DesiredState>,
            #[serde(rename = "desiredState")]
            desired_state: DesiredState,
            #[serde(rename = "machineID", skip_serializing_if = "Option::is_none")]
            machine_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            name: Option<&'a str>,
            options: &'a [UnitOption],
        }
        Wire {
            current_state: self.current_state,
            desired_state: self.desired_state,
            machine_id: self.machine_id.as_deref(),
            name: self.name.as_ref().map(Text::as_str),
            options: self.options.as_slice(),
        }
        .serialize(serializer)
    }
}

impl fmt::Debug for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unit")
            .field("name", &self.name)
            .field("desired_state", &self.desired_state)
            .field("current_state", &self.current_state)
            .field("machine_id", &self.machine_id)
            .field("options", &self.options)
            .field("from_cluster", &self.origin.is_some())
            .finish()
    }
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
            options: Options::new(options),
            desired_state: DesiredState::Launched,
            current_state: None,
            machine_id: None,
            origin: None,
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
        Unit::from_string(&text).map_err(|e| match e {
            Error::InvalidUnit { line, message, .. } => Error::InvalidUnit {
                file: Some(path.to_path_buf()),
                line,
                message,
            },
            other => other,
        })
    }

    /// The same unit with another desired state.
    pub fn with_desired_state(mut self, state: DesiredState) -> Unit {
        self.desired_state = state;
        self
    }

    /// Append an option.
    ///
    /// On a unit from the cluster this detaches it first (see [Units from the
    /// cluster](Unit#units-from-the-cluster)).
    pub fn add_option(
        &mut self,
        section: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Unit {
        self.detach();
        self.options
            .to_mut()
            .push(UnitOption::new(section, name, value));
        self
    }

    /// Remove options named `name` in `section` (only those with this value, when one is given).
    /// Returns whether anything was removed.
    ///
    /// On a unit from the cluster this detaches it first (see [Units from the
    /// cluster](Unit#units-from-the-cluster)), even when nothing matches.
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
        self.detach();
        let options = self.options.to_mut();
        let before = options.len();
        options.retain(|o| {
            !(o.section == section && o.name == name && value.is_none_or(|v| o.value == v))
        });
        options.len() != before
    }

    /// The options, in order.
    pub fn options(&self) -> &[UnitOption] {
        self.options.as_slice()
    }

    /// The desired state.
    pub fn desired_state(&self) -> DesiredState {
        self.desired_state
    }

    /// The unit's name, for units that came from fleet.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(Text::as_str)
    }

    /// The state fleet reports the unit in, for units that came from fleet.
    pub fn current_state(&self) -> Option<DesiredState> {
        self.current_state
    }

    /// The machine the unit is scheduled to, for scheduled units that came from fleet.
    pub fn machine_id(&self) -> Option<&str> {
        self.machine_id.as_deref()
    }

    /// Whether this unit came from a [`Client`] (and so can change its desired state and be
    /// destroyed through itself).
    pub fn is_from_cluster(&self) -> bool {
        self.origin.is_some()
    }

    /// Turn a unit from the cluster into a local unit (see [Units from the
    /// cluster](Unit#units-from-the-cluster)).
    fn detach(&mut self) {
        if self.origin.take().is_some() {
            self.current_state = None;
            self.machine_id = None;
        }
        // Let go of the page body a listed unit's name is a slice of (its options let go of
        // it as they are edited).
        if let Some(Text::Shared(_)) = &self.name {
            self.name = self
                .name
                .as_ref()
                .map(|n| Text::Owned(n.as_str().to_owned()));
        }
    }

    /// Attach the client this unit came from.
    pub(crate) fn with_origin(mut self, client: &Client) -> Unit {
        self.origin = Some(client.clone());
        self
    }

    /// The client and name of a unit from the cluster, or [`Error::LocalUnit`].
    pub(crate) fn origin(&self, operation: &'static str) -> Result<(&Client, &str)> {
        match (&self.origin, &self.name) {
            (Some(client), Some(name)) => Ok((client, name.as_str())),
            _ => Err(Error::LocalUnit { operation }),
        }
    }

    /// Ask fleet to bring this unit (from the cluster) to `state`; on success `self` is
    /// updated to the unit as fleet now holds it, and a copy is returned.
    ///
    /// A local unit gives [`Error::LocalUnit`] (use
    /// [`with_desired_state`](Unit::with_desired_state) to change it locally).
    ///
    /// ```no_run
    /// use fleet::v1 as fleet;
    /// # async fn run(client: fleet::Client) -> fleet::Result<()> {
    /// let mut unit = client.get_unit("hello.service").await?;
    /// unit.set_desired_state(fleet::DesiredState::Loaded).await?;
    /// assert_eq!(unit.desired_state(), fleet::DesiredState::Loaded);
    ///
    /// let err = fleet::Unit::new().set_desired_state(fleet::DesiredState::Loaded).await.unwrap_err();
    /// assert!(matches!(err, fleet::Error::LocalUnit { .. }));
    /// # Ok(()) }
    /// ```
    pub async fn set_desired_state(&mut self, state: DesiredState) -> Result<Unit> {
        let (client, name) = self.origin("set_desired_state")?;
        let updated = client.set_unit_desired_state(name, state).await?;
        *self = updated.clone();
        Ok(updated)
    }

    /// Destroy this unit (from the cluster) in fleet. A local unit gives
    /// [`Error::LocalUnit`].
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// let unit = client.get_unit("hello.service").await?;
    /// unit.destroy().await?;
    /// # Ok(()) }
    /// ```
    pub async fn destroy(&self) -> Result<()> {
        let (client, name) = self.origin("destroy")?;
        client.destroy_unit(name).await
    }

    /// fleet's hash of this unit's file.
    ///
    /// ```
    /// use fleet::v1::Unit;
    /// let unit = Unit::from_string("[Service]\nExecStart=/bin/true\n").unwrap();
    /// assert_eq!(unit.hash().to_string().len(), 40);
    /// ```
    pub fn hash(&self) -> UnitHash {
        UnitHash::of(self.options.as_slice())
    }
}

impl fmt::Display for Unit {
    /// The unit file text, exactly as fleet serializes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&unit_file::serialize(self.options.as_slice()))
    }
}

impl FromStr for Unit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Unit> {
        Unit::from_string(s)
    }
}
