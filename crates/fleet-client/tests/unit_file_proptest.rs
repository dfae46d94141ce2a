//! Property tests of the unit-file module: no input makes the parser panic, and options
//! survive serialize -> parse.

use fleet::v1::unit_file::{
    glob_match, parse, serialize, validate_options, validate_unit_name, UnitName, XFleet,
};
use fleet::v1::{UnitHash, UnitOption};
use proptest::prelude::*;

fn regex(re: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(re).expect("valid regex")
}

/// Pieces that drive the parser through all of its states.
fn unit_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[".to_string()),
        Just("]".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        Just("\\".to_string()),
        Just("\\\n".to_string()),
        Just("#".to_string()),
        Just(";".to_string()),
        Just("=".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\u{feff}".to_string()),
        Just("\u{a0}".to_string()),
        Just("é☃😀".to_string()),
        Just("[Unit]\n".to_string()),
        Just("[X-Fleet]\n".to_string()),
        Just("Name=Value\n".to_string()),
        // compiled once: a `&str` strategy would re-parse its regex for every value
        regex("[A-Za-z0-9 =]{0,12}"),
        regex("\\PC{0,8}"),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

fn section() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,12}"
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.-]{0,10}( [A-Za-z0-9]{1,5})?"
}

/// Values that serialize to one `Name=Value` line (or continuation lines) and parse back
/// unchanged: trimmed, no line breaks, no final backslash.
fn value() -> impl Strategy<Value = String> {
    let line = "\\PC{0,30}".prop_map(|s| {
        let s = s.trim();
        s.trim_end_matches('\\').trim().to_string()
    });
    prop_oneof![
        4 => line.clone(),
        // a continued value: "first \\\n   second"
        1 => (line.clone(), "[ \t]{0,3}", line).prop_filter_map("non-empty parts", |(a, ws, b)| {
            (!a.is_empty() && !b.is_empty()).then(|| format!("{a} \\\n{ws}{b}"))
        }),
    ]
}

fn options() -> impl Strategy<Value = Vec<UnitOption>> {
    prop::collection::vec(
        (section(), name(), value()).prop_map(|(s, n, v)| UnitOption::new(s, n, v)),
        0..20,
    )
}

/// The options in the order serialization puts them: grouped by section, sections in
/// order of first appearance.
fn grouped(options: &[UnitOption]) -> Vec<UnitOption> {
    let mut sections: Vec<&str> = Vec::new();
    for o in options {
        if !sections.contains(&o.section.as_str()) {
            sections.push(&o.section);
        }
    }
    sections
        .iter()
        .flat_map(|s| options.iter().filter(move |o| o.section == *s).cloned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_any_string(text in "\\PC*|.*") {
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_unit_like_text(text in unit_text()) {
        if let Ok(options) = parse(&text) {
            // whatever parses re-parses to the same options, short of the line limit and of
            // a value ending in a backslash (only possible at the very end of the text:
            // serialized, the final newline makes it a continuation, as in fleet)
            let again = serialize(&options);
            if again.len() < 2048 && !options.iter().any(|o| o.value.ends_with('\\')) {
                prop_assert_eq!(parse(&again).ok(), Some(grouped(&options)), "{:?}", again);
            }
            prop_assert_eq!(UnitHash::of(&options), UnitHash::of_text(&again));
        }
    }

    #[test]
    fn long_inputs_never_panic(
        prefix in unit_text(),
        filler in prop_oneof![Just('x'), Just('é'), Just('😀'), Just('\n'), Just(' ')],
        len in 0usize..9000,
        suffix in unit_text(),
    ) {
        let text = format!("{prefix}A={}{suffix}", filler.to_string().repeat(len));
        let _ = parse(&text);
    }

    #[test]
    fn options_round_trip(options in options()) {
        let text = serialize(&options);
        let parsed = parse(&text);
        prop_assert_eq!(parsed.ok(), Some(grouped(&options)), "{:?}", text);
        prop_assert!(validate_options(&options).is_ok());
    }

    #[test]
    fn name_and_xfleet_never_panic(name in "\\PC{0,40}", value in "\\PC{0,40}", pattern in "\\PC{0,12}") {
        let _ = validate_unit_name(&name);
        if let Ok(n) = UnitName::parse(&name) {
            prop_assert_eq!(n.as_str(), name.as_str());
            prop_assert_eq!(n.is_template() && n.is_instance(), false);
        }
        let x = XFleet::from_options(&name, &[
            UnitOption::new("X-Fleet", "Conflicts", value.clone()),
            UnitOption::new("X-Fleet", "MachineOf", value.clone()),
            UnitOption::new("X-Fleet", "MachineMetadata", value.clone()),
            UnitOption::new("X-Fleet", "Global", value.clone()),
        ]);
        let _ = (x.validate(), x.conflicts(), x.machine_metadata(), x.is_global(), x.machine_id());
        let _ = glob_match(&pattern, &name);
    }
}
