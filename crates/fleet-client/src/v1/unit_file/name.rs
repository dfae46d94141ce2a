//! Unit names: fleet's API validation (`api.ValidateName`) and its `unit.UnitNameInfo`.

use std::fmt;
use std::str::FromStr;

use super::goquote;
use crate::v1::{Error, Result};

/// The longest unit name fleet accepts, in bytes (systemd's `UNIT_NAME_MAX`).
///
/// ```
/// use fleet::v1::unit_file::{validate_unit_name, UNIT_NAME_MAX};
/// let name = format!("{}.service", "a".repeat(UNIT_NAME_MAX - 8));
/// assert!(validate_unit_name(&name).is_ok());
/// assert!(validate_unit_name(&format!("a{name}")).is_err());
/// ```
pub const UNIT_NAME_MAX: usize = 256;

/// Unit types (suffixes) fleet's API accepts in a unit name.
///
/// ```
/// use fleet::v1::unit_file::UNIT_TYPES;
/// assert!(UNIT_TYPES.contains(&"service") && !UNIT_TYPES.contains(&"network"));
/// ```
pub const UNIT_TYPES: [&str; 13] = [
    "automount",
    "busname",
    "device",
    "mount",
    "path",
    "scope",
    "service",
    "slice",
    "snapshot",
    "socket",
    "swap",
    "target",
    "timer",
];

/// Unit types that may be templates or instances (names with `@`).
///
/// ```
/// use fleet::v1::unit_file::{validate_unit_name, TEMPLATE_UNIT_TYPES};
/// assert!(!TEMPLATE_UNIT_TYPES.contains(&"mount"));
/// assert!(validate_unit_name("foo@1.mount").is_err());
/// ```
pub const TEMPLATE_UNIT_TYPES: [&str; 5] = ["path", "service", "socket", "target", "timer"];

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '\\' | '@')
}

/// Check a unit name exactly as fleet v1.0.0's API server does before creating a unit
/// (`api.ValidateName`, modelled on systemd's `unit_name_is_valid`).
///
/// On failure the error is [`Error::InvalidUnitName`] whose `message` is, to the letter,
/// the message fleet puts in its `400 Bad Request` for that name. The first failing rule
/// wins, in fleet's order:
///
/// | rule | message |
/// |---|---|
/// | empty | `unit name cannot be empty` |
/// | more than 256 bytes | `unit name exceeds maximum length (256)` |
/// | no `.` | `unit name must contain "."` |
/// | ends in `.` | `unit name cannot end in "."` |
/// | text after the last `.` is not a [unit type](UNIT_TYPES) | `invalid unit type: "txt"` |
/// | has `@` but the type cannot be a [template](TEMPLATE_UNIT_TYPES) | `invalid unit type for template: "mount"` |
/// | a character before the last `.` outside `[A-Za-z0-9:_.\@-]` | `invalid character ' ' in unit name` |
/// | starts with `@` | `unit name cannot start in "@"` |
///
/// Quoting follows Go's `%q`. Note what fleet does *not* check: `.service` (empty name
/// before the suffix) and `a@b@c.service` are accepted; the suffix is case-sensitive.
///
/// ```
/// use fleet::v1::{unit_file::validate_unit_name, Error};
///
/// assert!(validate_unit_name("web@1.service").is_ok());
/// let err = validate_unit_name("a b.service").unwrap_err();
/// match err {
///     Error::InvalidUnitName { name, message } => {
///         assert_eq!(name, "a b.service");
///         assert_eq!(message, "invalid character ' ' in unit name");
///     }
///     other => panic!("unexpected {other}"),
/// }
/// assert_eq!(validate_unit_name("hello.txt").unwrap_err().to_string(),
///            r#"invalid unit name "hello.txt": invalid unit type: "txt""#);
/// ```
pub fn validate_unit_name(name: &str) -> Result<()> {
    match check(name) {
        Ok(_) => Ok(()),
        Err(message) => Err(Error::InvalidUnitName {
            name: name.to_string(),
            message,
        }),
    }
}

/// fleet's checks; on success the byte index of the last `.`.
fn check(name: &str) -> std::result::Result<usize, String> {
    if name.is_empty() {
        return Err("unit name cannot be empty".into());
    }
    if name.len() > UNIT_NAME_MAX {
        return Err(format!(
            "unit name exceeds maximum length ({UNIT_NAME_MAX})"
        ));
    }
    let Some(dot) = name.rfind('.') else {
        return Err(r#"unit name must contain ".""#.into());
    };
    let (stem, suffix) = (
        name.get(..dot).unwrap_or(""),
        name.get(dot + 1..).unwrap_or(""),
    );
    if suffix.is_empty() {
        return Err(r#"unit name cannot end in ".""#.into());
    }
    if !UNIT_TYPES.contains(&suffix) {
        return Err(format!("invalid unit type: {}", goquote::go_quote(suffix)));
    }
    if name.contains('@') && !TEMPLATE_UNIT_TYPES.contains(&suffix) {
        return Err(format!(
            "invalid unit type for template: {}",
            goquote::go_quote(suffix)
        ));
    }
    if let Some(c) = stem.chars().find(|&c| !valid_char(c)) {
        return Err(format!(
            "invalid character {} in unit name",
            goquote::go_quote_rune(c)
        ));
    }
    if name.starts_with('@') {
        return Err(r#"unit name cannot start in "@""#.into());
    }
    Ok(dot)
}

/// The parts of a unit name as fleet's `unit.NewUnitNameInfo` splits it, for any string with
/// a `.` (no validation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NameParts<'a> {
    /// `foo@bar.service`
    pub full: &'a str,
    /// `foo@bar`
    pub stem: &'a str,
    /// `foo`
    pub prefix: &'a str,
    /// `service` (without the dot)
    pub suffix: &'a str,
    /// Text after the first `@` of the stem, when there is an `@`: `bar` (`""` for a template).
    pub instance: Option<&'a str>,
}

impl<'a> NameParts<'a> {
    pub(crate) fn new(full: &'a str) -> Option<NameParts<'a>> {
        let dot = full.rfind('.')?;
        let stem = full.get(..dot)?;
        let suffix = full.get(dot + 1..)?;
        let (prefix, instance) = match stem.split_once('@') {
            Some((p, i)) => (p, Some(i)),
            None => (stem, None),
        };
        Some(NameParts {
            full,
            stem,
            prefix,
            suffix,
            instance,
        })
    }

    /// fleet's `UnitNameInfo.Template`: `foo@.service` when the name has an `@`, else `""`.
    pub(crate) fn template(&self) -> Option<String> {
        self.instance
            .map(|_| format!("{}@.{}", self.prefix, self.suffix))
    }

    /// fleet's `unitPrintf`: `%n`, `%N`, `%p`, `%i`, replaced one after the other.
    pub(crate) fn printf(&self, s: &str) -> String {
        if !s.contains('%') {
            return s.to_string();
        }
        s.replace("%n", self.full)
            .replace("%N", self.stem)
            .replace("%p", self.prefix)
            .replace("%i", self.instance.unwrap_or(""))
    }
}

/// A unit name fleet accepts, with fleet's view of its parts (`unit.UnitNameInfo`).
///
/// * `web.service`: plain unit; prefix `web`, no instance.
/// * `web@.service`: a *template*; prefix `web`, [`template`](UnitName::template) itself.
/// * `web@1.service`: an *instance* of `web@.service`; prefix `web`, instance `1`.
///
/// Everything after the **first** `@` and before the **last** `.` is the instance
/// (`a@b@c.service` has instance `b@c`; `foo.1@2.service` has prefix `foo.1`).
///
/// ```
/// use fleet::v1::unit_file::UnitName;
///
/// let name = UnitName::parse("web@1.service").unwrap();
/// assert_eq!(name.as_str(), "web@1.service");
/// assert_eq!(name.prefix(), "web");
/// assert_eq!(name.instance(), Some("1"));
/// assert_eq!(name.suffix(), "service");
/// assert!(name.is_instance() && !name.is_template());
/// assert_eq!(name.template().as_deref(), Some("web@.service"));
///
/// let tmpl: UnitName = "web@.service".parse().unwrap();
/// assert!(tmpl.is_template());
/// assert_eq!(tmpl.instance(), None);
///
/// assert!(UnitName::parse("hello").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitName {
    name: String,
    dot: usize,
}

impl UnitName {
    /// Validate `name` as [`validate_unit_name`] does and split it.
    ///
    /// ```
    /// use fleet::v1::unit_file::UnitName;
    /// let err = UnitName::parse("@foo.service").unwrap_err();
    /// assert_eq!(err.to_string(), r#"invalid unit name "@foo.service": unit name cannot start in "@""#);
    /// ```
    pub fn parse(name: &str) -> Result<UnitName> {
        match check(name) {
            Ok(dot) => Ok(UnitName {
                name: name.to_string(),
                dot,
            }),
            Err(message) => Err(Error::InvalidUnitName {
                name: name.to_string(),
                message,
            }),
        }
    }

    fn parts(&self) -> NameParts<'_> {
        let stem = self.name.get(..self.dot).unwrap_or("");
        let suffix = self.name.get(self.dot + 1..).unwrap_or("");
        let (prefix, instance) = match stem.split_once('@') {
            Some((p, i)) => (p, Some(i)),
            None => (stem, None),
        };
        NameParts {
            full: &self.name,
            stem,
            prefix,
            suffix,
            instance,
        }
    }

    /// The whole name (fleet's `FullName`).
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert_eq!(UnitName::parse("a.socket").unwrap().as_str(), "a.socket");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name without its suffix (fleet's `Name`, systemd's `%N`): `web@1` for `web@1.service`.
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert_eq!(UnitName::parse("web@1.service").unwrap().stem(), "web@1");
    /// ```
    pub fn stem(&self) -> &str {
        self.parts().stem
    }

    /// The part before the first `@`, or the whole name without its suffix when there is no
    /// `@` (fleet's `Prefix`, systemd's `%p`).
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert_eq!(UnitName::parse("foo.1@2.service").unwrap().prefix(), "foo.1");
    /// assert_eq!(UnitName::parse("yo.yo.service").unwrap().prefix(), "yo.yo");
    /// ```
    pub fn prefix(&self) -> &str {
        self.parts().prefix
    }

    /// The instance (after the first `@`, before the suffix) of an instance unit; `None` for
    /// templates and plain units (fleet's `Instance`, systemd's `%i`).
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert_eq!(UnitName::parse("foo@bar@baz.service").unwrap().instance(), Some("bar@baz"));
    /// assert_eq!(UnitName::parse("foo@.service").unwrap().instance(), None);
    /// ```
    pub fn instance(&self) -> Option<&str> {
        self.parts().instance.filter(|i| !i.is_empty())
    }

    /// The unit type, without the dot: `service`, `socket`, `timer`…
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert_eq!(UnitName::parse("ssh@.socket").unwrap().suffix(), "socket");
    /// ```
    pub fn suffix(&self) -> &str {
        self.parts().suffix
    }

    /// Whether this is a template (`web@.service`), fleet's `IsTemplate()`.
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert!(UnitName::parse("web@.service").unwrap().is_template());
    /// assert!(!UnitName::parse("web.service").unwrap().is_template());
    /// ```
    pub fn is_template(&self) -> bool {
        self.parts().instance == Some("")
    }

    /// Whether this is an instance of a template (`web@1.service`), fleet's `IsInstance()`.
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert!(UnitName::parse("web@1.service").unwrap().is_instance());
    /// assert!(!UnitName::parse("web@.service").unwrap().is_instance());
    /// ```
    pub fn is_instance(&self) -> bool {
        self.instance().is_some()
    }

    /// The template of this unit (`web@.service` for `web@1.service`), fleet's `Template`:
    /// set for instances and for templates themselves (a template's template is itself),
    /// `None` for names without `@`.
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// assert_eq!(UnitName::parse("ssh@1.socket").unwrap().template().as_deref(), Some("ssh@.socket"));
    /// assert_eq!(UnitName::parse("ssh@.socket").unwrap().template().as_deref(), Some("ssh@.socket"));
    /// assert_eq!(UnitName::parse("ssh.socket").unwrap().template(), None);
    /// ```
    pub fn template(&self) -> Option<String> {
        self.parts().template()
    }

    /// The name as an owned `String`.
    ///
    /// ```
    /// # use fleet::v1::unit_file::UnitName;
    /// let s: String = UnitName::parse("a.service").unwrap().into_string();
    /// assert_eq!(s, "a.service");
    /// ```
    pub fn into_string(self) -> String {
        self.name
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitName({:?})", self.name)
    }
}

impl FromStr for UnitName {
    type Err = Error;
    fn from_str(s: &str) -> Result<UnitName> {
        UnitName::parse(s)
    }
}

impl AsRef<str> for UnitName {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl From<UnitName> for String {
    fn from(name: UnitName) -> String {
        name.name
    }
}

impl PartialEq<str> for UnitName {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl PartialEq<&str> for UnitName {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}
