//! Options to unit-file text, byte for byte as go-systemd's `unit.Serialize` (the version fleet
//! v1.0.0 vendors) writes them.

use crate::v1::UnitOption;

/// Serialize options into unit-file text, exactly as fleet does (go-systemd's `unit.Serialize`).
///
/// * Options are grouped by section; sections come in the order of their first appearance and
///   options keep their order inside a section.
/// * Each section is `[Section]\n` followed by one `Name=Value\n` per option; a blank line
///   separates sections (none after the last one).
/// * Nothing is escaped or checked: a value containing a newline is written as is (a
///   continuation value `a \\\n b` comes out as the two lines it was read from).
/// * No options give the empty string.
///
/// The result is what fleet hashes (see [`UnitHash`](super::UnitHash)).
///
/// ```
/// use fleet::v1::{unit_file, UnitOption};
///
/// let options = vec![
///     UnitOption::new("Unit", "Description", "Foo"),
///     UnitOption::new("Service", "ExecStart", "/usr/bin/sleep infinity"),
///     UnitOption::new("Unit", "BindsTo", "bar.service"),
/// ];
/// assert_eq!(
///     unit_file::serialize(&options),
///     "[Unit]\nDescription=Foo\nBindsTo=bar.service\n\n[Service]\nExecStart=/usr/bin/sleep infinity\n"
/// );
/// assert_eq!(unit_file::serialize(&[]), "");
/// ```
pub fn serialize(options: &[UnitOption]) -> String {
    let mut out = String::with_capacity(
        options
            .iter()
            .map(|o| o.section.len() + o.name.len() + o.value.len() + 4)
            .sum(),
    );
    serialize_into(options, &mut out);
    out
}

/// Append the serialized form of `options` to `out` (see [`serialize`]).
pub(crate) fn serialize_into(options: &[UnitOption], out: &mut String) {
    // Sections in order of first appearance. Unit files have a handful of sections, so a
    // linear search beats hashing; fall back to a map for pathological inputs.
    let mut sections: Vec<&str> = Vec::new();
    let mut index: Option<std::collections::HashMap<&str, usize>> = None;
    let mut section_of: Vec<usize> = Vec::with_capacity(options.len());
    for opt in options {
        let sec = opt.section.as_str();
        let found = match &index {
            Some(map) => map.get(sec).copied(),
            None => sections.iter().position(|s| *s == sec),
        };
        let i = match found {
            Some(i) => i,
            None => {
                sections.push(sec);
                let i = sections.len() - 1;
                if let Some(map) = &mut index {
                    map.insert(sec, i);
                } else if sections.len() > 16 {
                    index = Some(sections.iter().enumerate().map(|(i, s)| (*s, i)).collect());
                }
                i
            }
        };
        section_of.push(i);
    }

    if sections.len() == 1 {
        // The common fast path: one section, options already in order.
        out.push('[');
        out.push_str(options.first().map(|o| o.section.as_str()).unwrap_or(""));
        out.push_str("]\n");
        for opt in options {
            push_option(out, opt);
        }
        return;
    }

    let mut by_section: Vec<Vec<&UnitOption>> = vec![Vec::new(); sections.len()];
    for (opt, i) in options.iter().zip(section_of) {
        if let Some(list) = by_section.get_mut(i) {
            list.push(opt);
        }
    }
    for (n, (name, opts)) in sections.iter().zip(by_section).enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push('[');
        out.push_str(name);
        out.push_str("]\n");
        for opt in opts {
            push_option(out, opt);
        }
    }
}

fn push_option(out: &mut String, opt: &UnitOption) {
    out.push_str(&opt.name);
    out.push('=');
    out.push_str(&opt.value);
    out.push('\n');
}
