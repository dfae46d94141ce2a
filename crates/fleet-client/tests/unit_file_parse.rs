//! Edge cases of the unit-file parser. Every expected result here was checked against
//! go-systemd's deserializer as vendored by fleet v1.0.0 (run on the same inputs).

use fleet::v1::unit_file::{parse, serialize, validate_options, LINE_MAX};
use fleet::v1::{Error, UnitOption};

fn opts(list: &[(&str, &str, &str)]) -> Vec<UnitOption> {
    list.iter()
        .map(|(s, n, v)| UnitOption::new(*s, *n, *v))
        .collect()
}

#[track_caller]
fn parses_to(text: &str, want: &[(&str, &str, &str)]) {
    match parse(text) {
        Ok(got) => assert_eq!(got, opts(want), "{text:?}"),
        Err(e) => panic!("{text:?}: unexpected error {e}"),
    }
}

#[track_caller]
fn fails_with(text: &str, line: usize, message_start: &str) {
    match parse(text) {
        Err(Error::InvalidUnit {
            file: None,
            line: Some(l),
            message,
        }) => {
            assert_eq!(l, line, "line for {text:?} ({message})");
            assert!(
                message.starts_with(message_start),
                "{text:?}: {message:?} should start with {message_start:?}"
            );
        }
        other => panic!("{text:?}: expected an error, got {other:?}"),
    }
}

#[test]
fn bom_and_text_outside_sections() {
    // A BOM before the first section is skipped like any other stray character.
    parses_to(
        "\u{feff}[Unit]\nDescription=x\n",
        &[("Unit", "Description", "x")],
    );
    // ... but inside a section it is part of the option name.
    parses_to("[Unit]\n\u{feff}A=b\n", &[("Unit", "\u{feff}A", "b")]);
    // Text before the first section is skipped, but "[" anywhere in it opens a section
    // and "#" or ";" anywhere in it starts a comment.
    parses_to("garbage [Unit]\nA=b\n", &[("Unit", "A", "b")]);
    parses_to(
        "no section # [Unit]\n[Service]\nA=b\n",
        &[("Service", "A", "b")],
    );
    parses_to("text;[X]\nA=b\n[Y]\nC=d\n", &[("Y", "C", "d")]);
    parses_to("Description=Foo\n[Unit]\n", &[]);
    parses_to("", &[]);
    parses_to("\n\n\n", &[]);
    parses_to("[Unit]", &[]);
}

#[test]
fn crlf() {
    parses_to(
        "[Unit]\r\nDescription=x\r\nAfter=y\r\n",
        &[("Unit", "Description", "x"), ("Unit", "After", "y")],
    );
    // "\\\r\n" is not a continuation: the next line is an option of its own ...
    parses_to(
        "[Unit]\r\nDescription=a \\\r\nb=c\r\n",
        &[("Unit", "Description", "a \\"), ("Unit", "b", "c")],
    );
    // ... or an error when it has no "=".
    fails_with(
        "[Unit]\r\nDescription=a \\\r\n  b\r\n",
        3,
        "unexpected newline encountered while parsing option name \"b\"",
    );
    // a final "\r" without "\n" is dropped
    parses_to("[Unit]\nDescription=x\r", &[("Unit", "Description", "x")]);
    // a lone "\r" inside an option name is a newline to go-systemd
    fails_with("[Unit]\nA\rB=c\n", 2, "unexpected newline");
}

#[test]
fn comments() {
    // a comment ending in a backslash swallows the next line
    parses_to(
        "[Unit]\n# comment \\\nA=hidden\nB=shown\n",
        &[("Unit", "B", "shown")],
    );
    // one trailing space is allowed after that backslash, two are not
    parses_to(
        "[Unit]\n# comment \\ \nA=hidden\nB=shown\n",
        &[("Unit", "B", "shown")],
    );
    parses_to(
        "[Unit]\n# comment \\  \nA=shown\n",
        &[("Unit", "A", "shown")],
    );
    parses_to(
        "[Unit]\n  ; indented comment\n\tA = b \n",
        &[("Unit", "A", "b")],
    );
    // "#" after the first character of a name is part of the name
    parses_to("[Unit]\nA#b=c\n", &[("Unit", "A#b", "c")]);
}

#[test]
fn sections() {
    parses_to("[Se\nction]\nA=b\n", &[("Se\nction", "A", "b")]);
    parses_to("[]\nA=b\n", &[("", "A", "b")]);
    parses_to("[Unit] \t\nA=b\n", &[("Unit", "A", "b")]);
    parses_to(
        "[Unit]\nA=1\n[Unit]\nA=2\n[Other]\nB=3\n[Unit]\nA=3\n",
        &[
            ("Unit", "A", "1"),
            ("Unit", "A", "2"),
            ("Other", "B", "3"),
            ("Unit", "A", "3"),
        ],
    );
    fails_with(
        "[[Unit]]\nA=b\n",
        1,
        "found garbage after section name [[Unit]: \"]\"",
    );
    fails_with(
        "[Unit]x\nA=b\n",
        1,
        "found garbage after section name [Unit]: \"x\"",
    );
    fails_with("[Unit]\nA=b\n[Unit2", 3, "unable to find end of section");
}

#[test]
fn options_and_values() {
    parses_to("[Unit]\n=value\n", &[("Unit", "", "value")]);
    parses_to("[Unit]\nA=\nB= \n", &[("Unit", "A", ""), ("Unit", "B", "")]);
    parses_to("[Unit]\nA=b=c\n", &[("Unit", "A", "b=c")]);
    // Unicode whitespace is trimmed, as Go's strings.TrimSpace does
    parses_to("[Unit]\nA=b\u{a0}\n", &[("Unit", "A", "b")]);
    parses_to("[Unit]\n\u{a0}A=b\n", &[("Unit", "A", "b")]);
    fails_with(
        "[Unit]\nA",
        2,
        "unexpected end of file while parsing option name \"A\"",
    );
    fails_with(
        "[Unit]\nDescription=ok\n\nnonsense upon stilts\n",
        4,
        "unexpected newline",
    );
}

#[test]
fn continuations() {
    // a blank line ends a continued value and leaves a final newline in it
    parses_to(
        "[Unit]\nA=x\\\n\nB=y\n",
        &[("Unit", "A", "x\\\n"), ("Unit", "B", "y")],
    );
    parses_to("[Unit]\nA=x\\\n", &[("Unit", "A", "x\\\n")]);
    parses_to("[Unit]\nA=x\\", &[("Unit", "A", "x\\")]);
    // a continuation line is never a section header
    parses_to(
        "[Unit]\nA=b\\\n[Service]\nC=d\n",
        &[("Unit", "A", "b\\\n[Service]"), ("Unit", "C", "d")],
    );
}

/// `[Unit]\n` then `F=yyy…` lines filling `before` bytes, then a 3000-byte option line.
fn long_line_after(before: usize) -> String {
    let mut text = String::from("[Unit]\n");
    while text.len() < before {
        let n = (before - text.len()).min(100);
        if n < 4 {
            text.push_str(&"\n".repeat(n));
            break;
        }
        text.push_str("F=");
        text.push_str(&"y".repeat(n - 3));
        text.push('\n');
    }
    text.push_str("A=");
    text.push_str(&"x".repeat(3000));
    text.push_str("\nB=c\n");
    text
}

#[test]
fn line_limit_depends_on_fleets_read_buffer() {
    // fleet checks the 2048-byte limit only while its 4096-byte read buffer holds 2048
    // bytes or more: a long line early in the file is refused ...
    for before in [0, 1000, 2047] {
        let text = long_line_after(before);
        let line = 1 + text.split('\n').position(|l| l.starts_with("A=")).unwrap();
        fails_with(&text, line, "line too long (max 2048 bytes)");
    }
    // ... and the same line further on slips through, exactly as with fleet.
    for before in [2100, 3000, 3500, 4000, 4090] {
        let options = parse(&long_line_after(before)).unwrap();
        let long = options.iter().find(|o| o.name == "A").unwrap();
        assert_eq!(long.value.len(), 3000);
        assert_eq!(options.last().unwrap().name, "B");
    }
    // fleet's API re-parses the *serialized* options, where such a line comes early.
    let options = parse(&long_line_after(3000)).unwrap();
    let long_only: Vec<UnitOption> = options.into_iter().filter(|o| o.name == "A").collect();
    assert!(serialize(&long_only).lines().any(|l| l.len() > LINE_MAX));
    assert!(validate_options(&long_only).is_err());
}

#[test]
fn limit_is_exact() {
    // go-systemd's own boundary: a 2047-byte line passes, 2048 without newline fails
    let ok = format!("[Service]\nA={}", "x".repeat(LINE_MAX - 3));
    assert_eq!(parse(&ok).unwrap()[0].value.len(), LINE_MAX - 3);
    let too_long = format!("[Service]\nA={}", "x".repeat(LINE_MAX - 2));
    fails_with(&too_long, 2, "line too long");
    // a long comment line is refused the same way
    fails_with(
        &format!("#{}\n[Unit]\n", "c".repeat(3000)),
        1,
        "line too long",
    );
}

#[test]
fn error_line_numbers_count_every_newline() {
    fails_with("\n\n[Unit]\n\n\nA\n", 6, "unexpected newline");
    fails_with("[Unit]\nA=b\\\nc\\\nd\nE\n", 5, "unexpected newline");
    fails_with("# a\n; b\n[Unit\n", 3, "unable to find end of section");
}

#[test]
fn large_unit() {
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!(
            "[S{}]\nName{i}=value {i}\nOther = x \\\n  y\n",
            i % 7
        ));
    }
    let options = parse(&text).unwrap();
    assert_eq!(options.len(), 40_000);
    assert_eq!(options[1].value, "x \\\n  y");
    assert_eq!(parse(&serialize(&options)).unwrap().len(), 40_000);
}

#[test]
fn a_unit_file_that_does_not_parse_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.service");
    std::fs::write(
        &path,
        "[Unit]\nDescription=x\n[Service\nExecStart=/bin/true\n",
    )
    .unwrap();
    let err = fleet::v1::Unit::from_file(&path).unwrap_err();
    match &err {
        Error::InvalidUnit {
            file: Some(file),
            line: Some(3),
            message,
        } => {
            assert_eq!(file, &path);
            assert!(
                message.starts_with("unable to find end of section"),
                "{message}"
            );
        }
        other => panic!("expected InvalidUnit naming the file, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("invalid unit {} at line 3: ", path.display())),
        "{shown}"
    );
    // The same text from a string names no file.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(fleet::v1::Unit::from_string(&text)
        .unwrap_err()
        .to_string()
        .starts_with("invalid unit at line 3: "));
}
