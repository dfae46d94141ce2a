//! go-systemd's own `unit` package tests, re-expressed as Rust data: the deserializer,
//! serializer and end-to-end tables of the go-systemd version fleet v1.0.0 vendors
//! (`unit/deserialize_test.go`, `unit/serialize_test.go`, `unit/end_to_end_test.go`).
//! (`unit/option_test.go` tests `UnitOption.Match`/`AllMatch`, which are plain equality
//! of `UnitOption` here, and is not ported.)

use fleet::v1::unit_file::{parse, serialize, LINE_MAX};
use fleet::v1::{Error, UnitOption};

fn opt(section: &str, name: &str, value: &str) -> UnitOption {
    UnitOption::new(section, name, value)
}

/// `ExecStart=/bin/bash -c "echo <dots>"`: 29 + dots + 1 bytes.
fn long_exec_line(dots: usize) -> String {
    format!("ExecStart=/bin/bash -c \"echo {}\"", ".".repeat(dots))
}

#[test]
fn deserialize_table() {
    let line_2047 = long_exec_line(2017);
    assert_eq!(line_2047.len(), LINE_MAX - 1);
    let value_2047 = line_2047.trim_start_matches("ExecStart=").to_string();

    let cases: Vec<(String, Vec<UnitOption>)> = vec![
        // multiple options underneath a section
        (
            "[Unit]\nDescription=Foo\nDescription=Bar\nRequires=baz.service\nAfter=baz.service\n".into(),
            vec![
                opt("Unit", "Description", "Foo"),
                opt("Unit", "Description", "Bar"),
                opt("Unit", "Requires", "baz.service"),
                opt("Unit", "After", "baz.service"),
            ],
        ),
        // multiple sections
        (
            "[Unit]\nDescription=Foo\n\n[Service]\nExecStart=/usr/bin/sleep infinity\n\n[X-Third-Party]\nPants=on\n\n".into(),
            vec![
                opt("Unit", "Description", "Foo"),
                opt("Service", "ExecStart", "/usr/bin/sleep infinity"),
                opt("X-Third-Party", "Pants", "on"),
            ],
        ),
        // multiple sections with no options
        ("[Unit]\n[Service]\n[X-Third-Party]\n".into(), vec![]),
        // multiple values not special-cased
        (
            "[Service]\nEnvironment= \"FOO=BAR\" \"BAZ=QUX\"\n".into(),
            vec![opt("Service", "Environment", "\"FOO=BAR\" \"BAZ=QUX\"")],
        ),
        // line continuations unmodified
        (
            "[Unit]\nDescription= Unnecessarily wrapped \\\n    words here\n".into(),
            vec![opt("Unit", "Description", "Unnecessarily wrapped \\\n    words here")],
        ),
        // comments ignored
        (
            "; comment alpha\n# comment bravo\n[Unit]\n; comment charlie\n# comment delta\n#Description=Foo\nDescription=Bar\n; comment echo\n# comment foxtrot\n".into(),
            vec![opt("Unit", "Description", "Bar")],
        ),
        // apparent comment lines inside of line continuations not ignored
        (
            "[Unit]\nDescription=Bar\\\n# comment alpha\n\nDescription=Bar\\\n# comment bravo \\\nBaz\n".into(),
            vec![
                opt("Unit", "Description", "Bar\\\n# comment alpha"),
                opt("Unit", "Description", "Bar\\\n# comment bravo \\\nBaz"),
            ],
        ),
        // options outside of sections are ignored
        (
            "Description=Foo\n[Unit]\nDescription=Bar\n".into(),
            vec![opt("Unit", "Description", "Bar")],
        ),
        // garbage outside of sections are ignored
        (
            "<<<<<<<<\n[Unit]\nDescription=Bar\n".into(),
            vec![opt("Unit", "Description", "Bar")],
        ),
        // garbage used as unit option
        (
            "[Unit]\n<<<<<<<<=Bar\n".into(),
            vec![opt("Unit", "<<<<<<<<", "Bar")],
        ),
        // option name with spaces are valid
        (
            "[Unit]\nSome Thing = Bar\n".into(),
            vec![opt("Unit", "Some Thing", "Bar")],
        ),
        // lack of trailing newline doesn't cause problem for non-continued file
        (
            "[Unit]\nDescription=Bar".into(),
            vec![opt("Unit", "Description", "Bar")],
        ),
        // unit file with continuation but no following line is ok, too
        (
            "[Unit]\nDescription=Bar \\".into(),
            vec![opt("Unit", "Description", "Bar \\")],
        ),
        // Assert utf8 characters are preserved
        (
            "[©]\nµ☃=ÇôrèÕ$".into(),
            vec![opt("©", "µ☃", "ÇôrèÕ$")],
        ),
        // whitespace removed around option name
        (
            "[Unit]\n Description   =words here\n".into(),
            vec![opt("Unit", "Description", "words here")],
        ),
        // whitespace around option value stripped
        (
            "[Unit]\nDescription= words here ".into(),
            vec![opt("Unit", "Description", "words here")],
        ),
        // whitespace around option value stripped, regardless of continuation
        (
            "[Unit]\nDescription= words here \\\n  ".into(),
            vec![opt("Unit", "Description", "words here \\\n")],
        ),
        // backslash not considered continuation if followed by text
        (
            "[Service]\nExecStart=/bin/bash -c \"while true; do echo \\\"ping\\\"; sleep 1; done\"\n".into(),
            vec![opt(
                "Service",
                "ExecStart",
                "/bin/bash -c \"while true; do echo \\\"ping\\\"; sleep 1; done\"",
            )],
        ),
        // backslash not considered continuation if followed by whitespace, but still trimmed
        (
            "[Service]\nExecStart=/bin/bash echo poof \\  ".into(),
            vec![opt("Service", "ExecStart", "/bin/bash echo poof \\")],
        ),
        // a long unit file line that's just equal to the maximum permitted length
        (
            format!("[Service]\n{line_2047}"),
            vec![opt("Service", "ExecStart", &value_2047)],
        ),
        // the same, but with a trailing newline
        (
            format!("[Service]\n{line_2047}\nOption=value\n"),
            vec![
                opt("Service", "ExecStart", &value_2047),
                opt("Service", "Option", "value"),
            ],
        ),
    ];

    for (i, (input, want)) in cases.iter().enumerate() {
        match parse(input) {
            Ok(got) => assert_eq!(&got, want, "case {i}: {input:?}"),
            Err(e) => panic!("case {i}: unexpected error {e} for {input:?}"),
        }
    }
}

#[test]
fn deserialize_fail_table() {
    let cases: &[(&str, usize, &str)] = &[
        // malformed section header
        (
            "[Unit\nDescription=Foo\n",
            1,
            "unable to find end of section",
        ),
        // garbage following section header
        (
            "[Unit] pants\nDescription=Foo\n",
            1,
            "found garbage after section name [Unit]: \"pants\"",
        ),
        // option without value
        (
            "[Unit]\nDescription\n",
            2,
            "unexpected newline encountered while parsing option name \"Description\"",
        ),
        // garbage inside of section
        (
            "[Unit]\n<<<<<<\nDescription=Foo\n",
            2,
            "unexpected newline encountered while parsing option name \"<<<<<<\"",
        ),
    ];
    for (i, (input, line, message)) in cases.iter().enumerate() {
        match parse(input) {
            Err(Error::InvalidUnit {
                file: None,
                line: Some(l),
                message: m,
            }) => {
                assert_eq!(l, *line, "case {i}: line of {input:?}");
                assert!(
                    m.starts_with(message),
                    "case {i}: message {m:?} should start with {message:?}"
                );
            }
            other => panic!("case {i}: expected InvalidUnit for {input:?}, got {other:?}"),
        }
    }
}

#[test]
fn deserialize_line_too_long_table() {
    let arbitrary =
        "arbitrary and extraordinarily long line that is far greater than 2048 characters "
            .repeat(56);
    let cases = [
        // sane-looking unit file with an option line just greater than the maximum allowed
        format!("[Service]\n{}\n", long_exec_line(2019)),
        // single arbitrary line that's way too long
        arbitrary.trim_end().to_string(),
    ];
    for (i, input) in cases.iter().enumerate() {
        match parse(input) {
            Err(Error::InvalidUnit {
                file: None,
                line,
                message,
            }) => {
                assert_eq!(message, "line too long (max 2048 bytes)", "case {i}");
                assert_eq!(line, Some(if i == 0 { 2 } else { 1 }), "case {i}");
            }
            other => panic!("case {i}: expected line too long, got {other:?}"),
        }
    }
}

#[test]
fn serialize_table() {
    let cases: Vec<(Vec<UnitOption>, &str)> = vec![
        // no options results in empty file
        (vec![], ""),
        // options with same section share the header
        (
            vec![
                opt("Unit", "Description", "Foo"),
                opt("Unit", "BindsTo", "bar.service"),
            ],
            "[Unit]\nDescription=Foo\nBindsTo=bar.service\n",
        ),
        // options with same name are not combined
        (
            vec![
                opt("Unit", "Description", "Foo"),
                opt("Unit", "Description", "Bar"),
            ],
            "[Unit]\nDescription=Foo\nDescription=Bar\n",
        ),
        // multiple options printed under different section headers
        (
            vec![
                opt("Unit", "Description", "Foo"),
                opt("Service", "ExecStart", "/usr/bin/sleep infinity"),
            ],
            "[Unit]\nDescription=Foo\n\n[Service]\nExecStart=/usr/bin/sleep infinity\n",
        ),
        // options are grouped into sections
        (
            vec![
                opt("Unit", "Description", "Foo"),
                opt("Service", "ExecStart", "/usr/bin/sleep infinity"),
                opt("Unit", "BindsTo", "bar.service"),
            ],
            "[Unit]\nDescription=Foo\nBindsTo=bar.service\n\n[Service]\nExecStart=/usr/bin/sleep infinity\n",
        ),
        // options are ordered within groups, and sections are ordered in the order in which
        // they were first seen
        (
            vec![
                opt("Unit", "Description", "Foo"),
                opt("Service", "ExecStart", "/usr/bin/sleep infinity"),
                opt("Unit", "BindsTo", "bar.service"),
                opt("X-Foo", "Bar", "baz"),
                opt("Service", "ExecStop", "/usr/bin/sleep 1"),
                opt("Unit", "Documentation", "https://foo.com"),
            ],
            "[Unit]\nDescription=Foo\nBindsTo=bar.service\nDocumentation=https://foo.com\n\n[Service]\nExecStart=/usr/bin/sleep infinity\nExecStop=/usr/bin/sleep 1\n\n[X-Foo]\nBar=baz\n",
        ),
        // utf8 characters are not a problem
        (vec![opt("©", "µ☃", "ÇôrèÕ$")], "[©]\nµ☃=ÇôrèÕ$\n"),
        // no verification is done on section names
        (
            vec![opt("Un\nit", "Description", "Foo")],
            "[Un\nit]\nDescription=Foo\n",
        ),
        // no verification is done on option names
        (
            vec![opt("Unit", "Desc\nription", "Foo")],
            "[Unit]\nDesc\nription=Foo\n",
        ),
        // no verification is done on option values
        (
            vec![opt("Unit", "Description", "Fo\no")],
            "[Unit]\nDescription=Fo\no\n",
        ),
    ];
    for (i, (input, want)) in cases.iter().enumerate() {
        assert_eq!(serialize(input), *want, "case {i}");
    }
}

#[test]
fn deserialize_and_reserialize_table() {
    let cases: &[(&str, &str)] = &[
        (
            "[Service]\nExecStart=/bin/bash -c \"while true; do echo \\\"ping\\\"; sleep 1; done\"\n",
            "[Service]\nExecStart=/bin/bash -c \"while true; do echo \\\"ping\\\"; sleep 1; done\"\n",
        ),
        (
            "[Unit]\nDescription= Unnecessarily wrapped \\\n    words here",
            "[Unit]\nDescription=Unnecessarily wrapped \\\n    words here\n",
        ),
        (
            "[Unit]\nDescription=Demo \\\n\nRequires=docker.service\n",
            "[Unit]\nDescription=Demo \\\n\nRequires=docker.service\n",
        ),
        (
            "; comment alpha\n# comment bravo\n[Unit]\n; comment charlie\n# comment delta\n#Description=Foo\nDescription=Bar\n; comment echo\n# comment foxtrot\n",
            "[Unit]\nDescription=Bar\n",
        ),
    ];
    for (i, (input, want)) in cases.iter().enumerate() {
        let options = parse(input).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(serialize(&options), *want, "case {i}");
    }
}
