//! Unit names as fleetctl 1.0 derives them from command-line arguments.
//!
//! fleetctl takes the last path element of an argument (`units/web.service` → `web.service`) and
//! appends `.service` unless the name already ends in one of the unit types fleet recognizes
//! (`unitNameMangle` and `unit.RecognizedUnitType` in fleet). Template and instance names
//! (`web@.service`, `web@1.service`) are split with the library's
//! [`fleet::v1::unit_file::UnitName`] where available; the small helpers here follow fleet's
//! `unit.NewUnitNameInfo` exactly, since fleetctl's messages depend on it.

use std::path::Path;

/// The unit types fleet recognizes in a name's suffix.
pub const RECOGNIZED_TYPES: [&str; 7] = [
    "service",
    "socket",
    "timer",
    "path",
    "device",
    "mount",
    "automount",
];

/// Whether `name` ends in `.<type>` for a type fleet recognizes.
///
/// ```
/// # use fleetctl::names::recognized_unit_type;
/// assert!(recognized_unit_type("web.socket"));
/// assert!(!recognized_unit_type("web"));
/// assert!(!recognized_unit_type("web.target"));
/// ```
pub fn recognized_unit_type(name: &str) -> bool {
    RECOGNIZED_TYPES.iter().any(|t| {
        name.len() > t.len()
            && name.ends_with(t)
            && name.as_bytes().get(name.len() - t.len() - 1) == Some(&b'.')
    })
}

/// `name` with `.service` appended unless it already has a recognized type
/// (fleetctl's `maybeAppendDefaultUnitType`).
///
/// ```
/// # use fleetctl::names::maybe_append_default_unit_type;
/// assert_eq!(maybe_append_default_unit_type("web"), "web.service");
/// assert_eq!(maybe_append_default_unit_type("web.timer"), "web.timer");
/// assert_eq!(maybe_append_default_unit_type("web.target"), "web.target.service");
/// ```
pub fn maybe_append_default_unit_type(arg: &str) -> String {
    if recognized_unit_type(arg) {
        arg.to_string()
    } else {
        format!("{arg}.service")
    }
}

/// Go's `path.Base`: the last element of a slash-separated path, trailing slashes removed;
/// `"."` for an empty path and `"/"` for a path of slashes only.
pub fn path_base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Go's `path.Dir`-then-`path.Join(dir, name)` as fleetctl uses it to find a template file next
/// to an instance file (`units/web@1.service` → `units/web@.service`).
pub fn sibling(file: &str, name: &str) -> String {
    match Path::new(file).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name).to_string_lossy().into_owned(),
        _ => name.to_string(),
    }
}

/// The unit name fleetctl uses for a command-line argument (`unitNameMangle`).
///
/// ```
/// # use fleetctl::names::unit_name_mangle;
/// assert_eq!(unit_name_mangle("units/web@1"), "web@1.service");
/// assert_eq!(unit_name_mangle("hello.service"), "hello.service");
/// ```
pub fn unit_name_mangle(arg: &str) -> String {
    maybe_append_default_unit_type(path_base(arg))
}

/// fleet's `unit.UnitNameInfo`: a unit name split around `@` and its last `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameInfo {
    /// The whole name (`web@1.service`).
    pub full_name: String,
    /// The name without the suffix (`web@1`).
    pub name: String,
    /// Before the `@` (`web`); the whole name without suffix when there is no `@`.
    pub prefix: String,
    /// Between the `@` and the suffix (`1`; empty for a template).
    pub instance: String,
    /// The template's name (`web@.service`), for templates and instances.
    pub template: String,
}

impl NameInfo {
    /// Splits `name`; `None` when it has no `.` (fleet's `NewUnitNameInfo` returns nil).
    ///
    /// ```
    /// # use fleetctl::names::NameInfo;
    /// let info = NameInfo::new("web@1.service").unwrap();
    /// assert!(info.is_instance());
    /// assert_eq!(info.template, "web@.service");
    /// assert!(NameInfo::new("web@.service").unwrap().is_template());
    /// assert!(NameInfo::new("noperiod").is_none());
    /// ```
    pub fn new(full: &str) -> Option<NameInfo> {
        let dot = full.rfind('.')?;
        let name = &full[..dot];
        let suffix = &full[dot..];
        let mut info = NameInfo {
            full_name: full.to_string(),
            name: name.to_string(),
            prefix: name.to_string(),
            instance: String::new(),
            template: String::new(),
        };
        if let Some(at) = name.find('@') {
            info.prefix = name[..at].to_string();
            info.instance = name[at + 1..].to_string();
            info.template = format!("{}@{}", &name[..at], suffix);
        }
        Some(info)
    }

    /// A template (`web@.service`).
    pub fn is_template(&self) -> bool {
        !self.template.is_empty() && self.instance.is_empty()
    }

    /// An instance of a template (`web@1.service`).
    pub fn is_instance(&self) -> bool {
        !self.template.is_empty() && !self.instance.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mangle_table() {
        // (argument, name fleetctl uses)
        let cases = [
            ("foo", "foo.service"),
            ("foo.service", "foo.service"),
            ("foo.socket", "foo.socket"),
            ("foo.timer", "foo.timer"),
            ("foo.path", "foo.path"),
            ("foo.device", "foo.device"),
            ("foo.mount", "foo.mount"),
            ("foo.automount", "foo.automount"),
            ("foo.target", "foo.target.service"),
            ("a/b/foo", "foo.service"),
            ("./units/web@.service", "web@.service"),
            ("web@1", "web@1.service"),
            ("/abs/path/x.service/", "x.service"),
            ("service", "service.service"),
            (".service", ".service"),
        ];
        for (arg, want) in cases {
            assert_eq!(unit_name_mangle(arg), want, "{arg}");
        }
    }

    #[test]
    fn path_base_like_go() {
        assert_eq!(path_base(""), ".");
        assert_eq!(path_base("///"), "/");
        assert_eq!(path_base("a/b"), "b");
        assert_eq!(path_base("a/b//"), "b");
        assert_eq!(path_base("b"), "b");
    }

    #[test]
    fn name_info() {
        let i = NameInfo::new("foo@bar@baz.service").unwrap();
        assert_eq!(i.prefix, "foo");
        assert_eq!(i.instance, "bar@baz");
        assert_eq!(i.template, "foo@.service");
        let plain = NameInfo::new("foo.service").unwrap();
        assert!(!plain.is_instance() && !plain.is_template());
        assert_eq!(plain.prefix, "foo");
    }

    #[test]
    fn sibling_paths() {
        assert_eq!(
            sibling("units/web@1.service", "web@.service"),
            "units/web@.service"
        );
        assert_eq!(sibling("web@1.service", "web@.service"), "web@.service");
    }
}
