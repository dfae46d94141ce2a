//! [`XFleet`]: the `[X-Fleet]` scheduling requirements of a unit, read as fleet's `job`
//! package reads them.

use std::collections::{BTreeMap, BTreeSet};

use super::glob::glob_match;
use super::goquote;
use super::name::NameParts;
use crate::v1::{Error, Result, UnitOption};

/// The section fleet reads its requirements from.
///
/// ```
/// use fleet::v1::{unit_file::{XFleet, XFLEET_SECTION}, UnitOption};
/// let x = XFleet::from_options("a.service", &[UnitOption::new(XFLEET_SECTION, "Global", "true")]);
/// assert!(x.is_global());
/// ```
pub const XFLEET_SECTION: &str = "X-Fleet";

/// Every requirement key fleet v1.0.0 knows (`job.validRequirements`), current and deprecated.
///
/// ```
/// use fleet::v1::unit_file::KNOWN_REQUIREMENTS;
/// assert!(KNOWN_REQUIREMENTS.contains(&"X-ConditionMachineOf"));
/// assert!(!KNOWN_REQUIREMENTS.contains(&"X-Global"));
/// ```
pub const KNOWN_REQUIREMENTS: [&str; 11] = [
    "MachineID",
    "X-ConditionMachineID",
    "X-ConditionMachineBootID",
    "X-ConditionMachineOf",
    "MachineOf",
    "X-Conflicts",
    "Conflicts",
    "X-ConditionMachineMetadata",
    "MachineMetadata",
    "Global",
    "Replaces",
];

/// The `[X-Fleet]` requirements of one unit, as fleet v1.0.0's `job` package reads them.
///
/// Built from a unit's name and options. Like fleet, it
///
/// * looks only at options of section `X-Fleet`; keys are case-sensitive;
/// * splits a value that starts **and** ends with `"` into several values at spaces outside
///   quotes, dropping the quotes (`MachineOf="a.service" "b.service"`; fleet's
///   `parseMultivalueLine`, quirks included: `"a"  "b"` gives `a`, ``, `b`);
/// * substitutes `%n` (full name), `%N` (name without suffix), `%p` (prefix) and `%i`
///   (instance) in every value, in that order, when the unit name contains a `.`;
/// * reads the deprecated aliases: `X-ConditionMachineID` and `X-ConditionMachineBootID`
///   for `MachineID`, `X-ConditionMachineOf` for `MachineOf`, `X-Conflicts` for `Conflicts`,
///   `X-ConditionMachineMetadata` for `MachineMetadata`.
///
/// ```
/// use fleet::v1::{unit_file::{self, XFleet}};
///
/// let opts = unit_file::parse("[X-Fleet]\nConflicts=%p@*.service\nMachineMetadata=\"role=web\" \"role=db\"\n").unwrap();
/// let x = XFleet::from_options("web@1.service", &opts);
/// assert_eq!(x.conflicts(), ["web@*.service"]);
/// assert!(x.conflicts_with("web@2.service"));
/// assert_eq!(x.machine_metadata()["role"].len(), 2);
/// assert!(!x.is_global());
/// assert!(x.validate().is_ok());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XFleet {
    unit_name: String,
    /// Key -> values (after multi-value splitting, before substitution), keys in order of
    /// first appearance, values in option order.
    raw: Vec<(String, Vec<String>)>,
}

/// fleet's `parseMultivalueLine`.
fn split_multivalue(line: &str) -> Vec<String> {
    if !(line.starts_with('"') && line.ends_with('"')) {
        return vec![line.to_string()];
    }
    let mut values = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => values.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    values.push(current);
    values
}

fn is_truthy(s: &str) -> bool {
    ["true", "yes", "1", "on", "t"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
}

/// Distinct values in order of first appearance (fleet puts these in a set).
fn dedup(values: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

impl XFleet {
    /// Read the requirements of the unit `unit_name` from its options.
    ///
    /// `unit_name` is used only for `%n %N %p %i` substitution; it need not be valid (a name
    /// without `.` gets no substitution, as in fleet).
    ///
    /// ```
    /// use fleet::v1::{unit_file::XFleet, UnitOption};
    /// let x = XFleet::from_options("db@2.service", &[UnitOption::new("X-Fleet", "MachineOf", "data@%i.service")]);
    /// assert_eq!(x.peers(), ["data@2.service"]);
    /// ```
    pub fn from_options(unit_name: &str, options: &[UnitOption]) -> XFleet {
        let mut raw: Vec<(String, Vec<String>)> = Vec::new();
        for opt in options.iter().filter(|o| o.section == XFLEET_SECTION) {
            let values = split_multivalue(&opt.value);
            match raw.iter_mut().find(|(k, _)| *k == opt.name) {
                Some((_, list)) => list.extend(values),
                None => raw.push((opt.name.clone(), values)),
            }
        }
        XFleet {
            unit_name: unit_name.to_string(),
            raw,
        }
    }

    /// The unit name given to [`from_options`](XFleet::from_options).
    ///
    /// ```
    /// # use fleet::v1::unit_file::XFleet;
    /// assert_eq!(XFleet::from_options("a.service", &[]).unit_name(), "a.service");
    /// ```
    pub fn unit_name(&self) -> &str {
        &self.unit_name
    }

    fn raw_values(&self, key: &str) -> &[String] {
        self.raw
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    fn values(&self, key: &str) -> Vec<String> {
        let raw = self.raw_values(key);
        match NameParts::new(&self.unit_name) {
            Some(parts) => raw.iter().map(|v| parts.printf(v)).collect(),
            None => raw.to_vec(),
        }
    }

    /// All requirements: every `[X-Fleet]` key with its values (multi-values split,
    /// specifiers substituted), keys in order of first appearance; fleet's
    /// `Job.requirements()`. Keys are not checked; see
    /// [`validate_requirements`](XFleet::validate_requirements).
    ///
    /// ```
    /// # use fleet::v1::{unit_file::{self, XFleet}};
    /// let opts = unit_file::parse("[X-Fleet]\nFoo=%n\nFoo=\"a\" \"b\"\n").unwrap();
    /// let x = XFleet::from_options("test.service", &opts);
    /// assert_eq!(x.requirements(), vec![("Foo".to_string(), vec!["test.service".to_string(), "a".into(), "b".into()])]);
    /// ```
    pub fn requirements(&self) -> Vec<(String, Vec<String>)> {
        self.raw
            .iter()
            .map(|(k, _)| (k.clone(), self.values(k)))
            .collect()
    }

    /// fleet's `Job.ValidateRequirements()`: every key must be one of
    /// [`KNOWN_REQUIREMENTS`]. fleetctl only *warns* about this (`Unit foo.service: ...`);
    /// the API server does not check it.
    ///
    /// The error is [`Error::InvalidUnit`] with `line: None` and fleet's message
    /// `unrecognized requirement in [X-Fleet] section: "Key"` (for the first unknown key in
    /// option order; fleet picks one at random when there are several).
    ///
    /// ```
    /// # use fleet::v1::{unit_file::XFleet, UnitOption};
    /// let x = XFleet::from_options("a.service", &[UnitOption::new("X-Fleet", "global", "true")]);
    /// assert_eq!(x.validate_requirements().unwrap_err().to_string(),
    ///            r#"invalid unit: unrecognized requirement in [X-Fleet] section: "global""#);
    /// ```
    pub fn validate_requirements(&self) -> Result<()> {
        match self
            .raw
            .iter()
            .find(|(k, _)| !KNOWN_REQUIREMENTS.contains(&k.as_str()))
        {
            Some((key, _)) => Err(Error::InvalidUnit {
                file: None,
                line: None,
                message: format!(
                    "unrecognized requirement in [X-Fleet] section: {}",
                    goquote::go_quote(key)
                ),
            }),
            None => Ok(()),
        }
    }

    fn conflicts_of(values: impl Fn(&str) -> Vec<String>) -> Vec<String> {
        let mut out = Vec::new();
        for key in ["X-Conflicts", "Conflicts"] {
            for v in values(key) {
                out.extend(v.split_whitespace().map(str::to_string));
            }
        }
        out
    }

    /// Glob patterns of units that must not run on the same machine: the values of the
    /// deprecated `X-Conflicts=` first, then those of `Conflicts=`, each split at whitespace;
    /// fleet's `Conflicts()`.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::{self, XFleet}};
    /// let opts = unit_file::parse("[X-Fleet]\nConflicts=*bar* *foo*\nX-Conflicts=old.service\n").unwrap();
    /// assert_eq!(XFleet::from_options("echo.service", &opts).conflicts(), ["old.service", "*bar*", "*foo*"]);
    /// ```
    pub fn conflicts(&self) -> Vec<String> {
        Self::conflicts_of(|k| self.values(k))
    }

    /// Glob patterns of units this one replaces (`Replaces=`; not split at whitespace, as in
    /// fleet); fleet's `Replaces()`.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::XFleet, UnitOption};
    /// let x = XFleet::from_options("new.service", &[UnitOption::new("X-Fleet", "Replaces", "old.service")]);
    /// assert_eq!(x.replaces(), ["old.service"]);
    /// ```
    pub fn replaces(&self) -> Vec<String> {
        self.values("Replaces")
    }

    /// Units that must run on the same machine (`X-ConditionMachineOf=`, then
    /// `MachineOf=`); fleet's `Peers()`.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::{self, XFleet}};
    /// let opts = unit_file::parse("[X-Fleet]\nMachineOf=\"foo.service\" \"bar.service\"\n").unwrap();
    /// assert_eq!(XFleet::from_options("echo.service", &opts).peers(), ["foo.service", "bar.service"]);
    /// ```
    pub fn peers(&self) -> Vec<String> {
        let mut out = self.values("X-ConditionMachineOf");
        out.extend(self.values("MachineOf"));
        out
    }

    /// Whether the unit runs on every machine: the **last** `Global=` value is one of
    /// `true yes 1 on t` (any case); fleet's `IsGlobal()`.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::{self, XFleet}};
    /// let opts = unit_file::parse("[X-Fleet]\nGlobal=false\nGlobal=Yes\n").unwrap();
    /// assert!(XFleet::from_options("g.service", &opts).is_global());
    /// ```
    pub fn is_global(&self) -> bool {
        self.values("Global").last().is_some_and(|v| is_truthy(v))
    }

    /// The machine the unit must run on: the first `MachineID=` value, else the first
    /// `X-ConditionMachineID=`, else the first `X-ConditionMachineBootID=`; fleet's
    /// `RequiredTarget()`. An empty value counts (`Some("")`), as in fleet.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::{self, XFleet}};
    /// let opts = unit_file::parse("[X-Fleet]\nX-ConditionMachineBootID=123\nMachineID=\"456\" \"789\"\n").unwrap();
    /// assert_eq!(XFleet::from_options("p.service", &opts).machine_id().as_deref(), Some("456"));
    /// ```
    pub fn machine_id(&self) -> Option<String> {
        [
            "MachineID",
            "X-ConditionMachineID",
            "X-ConditionMachineBootID",
        ]
        .iter()
        .find_map(|k| self.values(k).into_iter().next())
    }

    /// Required machine metadata: key -> allowed values, from `X-ConditionMachineMetadata=`
    /// and `MachineMetadata=` values of the form `key=value` (exactly one `=`, both sides
    /// non-empty; anything else is ignored, as in fleet); fleet's `RequiredTargetMetadata()`.
    ///
    /// fleet v1.0.0 has no negation: `region!=us-west` is the key `region!`.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::{self, XFleet}};
    /// let opts = unit_file::parse("[X-Fleet]\nMachineMetadata=foo=bar\nMachineMetadata=foo=baz\nMachineMetadata=bad=\n").unwrap();
    /// let md = XFleet::from_options("m.service", &opts).machine_metadata();
    /// assert_eq!(md.len(), 1);
    /// assert_eq!(md["foo"].iter().collect::<Vec<_>>(), ["bar", "baz"]);
    /// ```
    pub fn machine_metadata(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for key in ["X-ConditionMachineMetadata", "MachineMetadata"] {
            for pair in self.values(key) {
                let mut parts = pair.split('=');
                if let (Some(k), Some(v), None) = (parts.next(), parts.next(), parts.next()) {
                    if !k.is_empty() && !v.is_empty() {
                        out.entry(k.to_string()).or_default().insert(v.to_string());
                    }
                }
            }
        }
        out
    }

    /// Whether a machine with `metadata` satisfies the unit's metadata requirements, as
    /// fleet's `machine.HasMetadata`: every required key must be present on the machine
    /// (several keys: AND) with one of the required values (several values for one key: OR).
    /// No requirements match every machine.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// # use fleet::v1::{unit_file::{self, XFleet}};
    /// let opts = unit_file::parse("[X-Fleet]\nMachineMetadata=\"role=web\" \"role=db\"\nMachineMetadata=region=us-west\n").unwrap();
    /// let x = XFleet::from_options("m.service", &opts);
    /// let machine = BTreeMap::from([("region".to_string(), "us-west".to_string()), ("role".to_string(), "db".to_string())]);
    /// assert!(x.matches_metadata(&machine));
    /// let east = BTreeMap::from([("region".to_string(), "us-east".to_string()), ("role".to_string(), "web".to_string())]);
    /// assert!(!x.matches_metadata(&east));
    /// ```
    pub fn matches_metadata(&self, metadata: &BTreeMap<String, String>) -> bool {
        self.machine_metadata()
            .iter()
            .all(|(key, allowed)| metadata.get(key).is_some_and(|v| allowed.contains(v)))
    }

    /// Whether one of this unit's [`conflicts`](XFleet::conflicts) patterns matches
    /// `other_unit` (Go `path.Match` semantics, see [`glob_match`]). fleet checks both
    /// directions when placing a unit next to another; call it on both units for that.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::XFleet, UnitOption};
    /// let x = XFleet::from_options("a.service", &[UnitOption::new("X-Fleet", "Conflicts", "b*e")]);
    /// assert!(x.conflicts_with("bar.service"));
    /// assert!(!x.conflicts_with("foo.service"));
    /// ```
    pub fn conflicts_with(&self, other_unit: &str) -> bool {
        self.conflicts().iter().any(|p| glob_match(p, other_unit))
    }

    /// Whether one of this unit's [`replaces`](XFleet::replaces) patterns matches `other_unit`.
    ///
    /// ```
    /// # use fleet::v1::{unit_file::XFleet, UnitOption};
    /// let x = XFleet::from_options("a.service", &[UnitOption::new("X-Fleet", "Replaces", "old@*.service")]);
    /// assert!(x.replaces_unit("old@1.service"));
    /// ```
    pub fn replaces_unit(&self, other_unit: &str) -> bool {
        self.replaces().iter().any(|p| glob_match(p, other_unit))
    }

    /// Check the combination of requirements exactly as fleet's API server does before
    /// accepting a unit (the requirement part of `api.ValidateOptions`).
    ///
    /// The error is [`Error::InvalidUnit`] with `line: None` and `message` exactly the text
    /// of fleet's `400 Bad Request`, the first of:
    ///
    /// * `unresolvable requirements: peer "P" matches conflict "C"` (a `MachineOf` unit
    ///   matched by a `Conflicts` pattern), then `... matches replace "R"`;
    /// * `MachineID cannot be used with Peers`, `... with Conflicts`, `... with Global`,
    ///   `... with Replaces`, `Global cannot be used with Peers`,
    ///   `Global cannot be used with Replaces`, `Conflicts cannot be used with Replaces`.
    ///
    /// Like the API server (which builds the job without a name), this looks at values
    /// **before** `%n %N %p %i` substitution. Several matching peers are tried in option
    /// order (fleet iterates a Go map, so its choice among several is random).
    ///
    /// ```
    /// use fleet::v1::{unit_file::XFleet, Error, UnitOption};
    /// // fixture units-create-conflicting-xfleet-400.json
    /// let opts = [UnitOption::new("Service", "ExecStart", "/usr/bin/sleep 1d"),
    ///             UnitOption::new("X-Fleet", "MachineID", "113f16a7b4b64e9a8c1a3f0e5d2c7b01"),
    ///             UnitOption::new("X-Fleet", "Global", "true")];
    /// match XFleet::from_options("conflict.service", &opts).validate() {
    ///     Err(Error::InvalidUnit { line: None, message, .. }) => assert_eq!(message, "MachineID cannot be used with Global"),
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// ```
    pub fn validate(&self) -> Result<()> {
        match self.validation_message() {
            Some(message) => Err(Error::InvalidUnit {
                file: None,
                line: None,
                message,
            }),
            None => Ok(()),
        }
    }

    fn validation_message(&self) -> Option<String> {
        let raw = |k: &str| self.raw_values(k).to_vec();
        let conflicts = dedup(Self::conflicts_of(raw));
        let replaces = dedup(raw("Replaces"));
        let mut peers = raw("X-ConditionMachineOf");
        peers.extend(raw("MachineOf"));
        let peers = dedup(peers);
        for peer in &peers {
            for conflict in &conflicts {
                if glob_match(conflict, peer) {
                    return Some(format!(
                        "unresolvable requirements: peer {} matches conflict {}",
                        goquote::go_quote(peer),
                        goquote::go_quote(conflict)
                    ));
                }
            }
            for replace in &replaces {
                if glob_match(replace, peer) {
                    return Some(format!(
                        "unresolvable requirements: peer {} matches replace {}",
                        goquote::go_quote(peer),
                        goquote::go_quote(replace)
                    ));
                }
            }
        }
        let has_peers = !peers.is_empty();
        let has_conflicts = !conflicts.is_empty();
        let has_replaces = !replaces.is_empty();
        let has_target = [
            "MachineID",
            "X-ConditionMachineID",
            "X-ConditionMachineBootID",
        ]
        .iter()
        .any(|k| !self.raw_values(k).is_empty());
        let global = self
            .raw_values("Global")
            .last()
            .is_some_and(|v| is_truthy(v));
        let message = match () {
            _ if has_target && has_peers => "MachineID cannot be used with Peers",
            _ if has_target && has_conflicts => "MachineID cannot be used with Conflicts",
            _ if has_target && global => "MachineID cannot be used with Global",
            _ if has_target && has_replaces => "MachineID cannot be used with Replaces",
            _ if global && has_peers => "Global cannot be used with Peers",
            _ if global && has_replaces => "Global cannot be used with Replaces",
            _ if has_conflicts && has_replaces => "Conflicts cannot be used with Replaces",
            _ => return None,
        };
        Some(message.to_string())
    }
}

/// Check options exactly as fleet v1.0.0's API server does before creating a unit
/// (`api.ValidateOptions`): first the serialized options must parse again (this catches
/// lines over 2048 bytes, option names with newlines, section names with `]`…), then the
/// `[X-Fleet]` requirements must be compatible ([`XFleet::validate`]).
///
/// The error is [`Error::InvalidUnit`] with `line: None` and `message` exactly the text of
/// fleet's `400 Bad Request` (for parse failures that is go-systemd's raw error text, such
/// as `line too long (max 2048 bytes)` or `unexpected newline encountered while parsing
/// option name`). It does not check the unit name (see
/// [`validate_unit_name`](super::validate_unit_name)) and accepts an empty list (fleet
/// answers that case with a 409 before validating).
///
/// ```
/// use fleet::v1::{unit_file::validate_options, Error, UnitOption};
/// assert!(validate_options(&[UnitOption::new("Service", "ExecStart", "/bin/true")]).is_ok());
/// let long = UnitOption::new("Service", "ExecStart", "x".repeat(3000));
/// match validate_options(&[long]) {
///     Err(Error::InvalidUnit { message, .. }) => assert_eq!(message, "line too long (max 2048 bytes)"),
///     other => panic!("unexpected {other:?}"),
/// }
/// let bad_name = UnitOption::new("Service", "Exec\nStart", "/bin/true");
/// assert_eq!(validate_options(&[bad_name]).unwrap_err().to_string(),
///            "invalid unit: unexpected newline encountered while parsing option name");
/// ```
pub fn validate_options(options: &[UnitOption]) -> Result<()> {
    let text = super::serialize(options);
    if let Err(e) = super::parse::parse_raw(&text) {
        return Err(Error::InvalidUnit {
            file: None,
            line: None,
            message: e.fleet_message(),
        });
    }
    XFleet::from_options("", options).validate()
}
