//! fleet's own tests of unit files, unit names and job requirements (coreos/fleet v1.0.0:
//! `unit/unit_test.go`, `job/job_test.go`, `api/units_test.go`), re-expressed as Rust data,
//! plus checks against the recorded fleet v1.0.0 fixtures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use fleet::v1::unit_file::{
    parse, serialize, validate_options, validate_unit_name, UnitName, XFleet,
};
use fleet::v1::{Error, UnitHash, UnitOption};

fn opt(section: &str, name: &str, value: &str) -> UnitOption {
    UnitOption::new(section, name, value)
}

fn xfleet(unit_name: &str, text: &str) -> XFleet {
    let options = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    XFleet::from_options(unit_name, &options)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------- unit/unit_test.go

#[test]
fn unit_hash() {
    let options = parse("[Service]\nExecStart=/bin/sleep 100\n").unwrap();
    let hash = UnitHash::of(&options);
    assert_eq!(hash.to_string(), "1c6fb6f3684bafb0c173d8b8b957ceff031180c1");
    assert_eq!(hash.short(), "1c6fb6f");
    assert!(UnitHash::default().is_empty());
    assert!(!hash.is_empty());
}

#[test]
fn hash_from_hex_string() {
    let options = parse("[Service]\nExecStart=/bin/sleep 100\n").unwrap();
    let rehashed: UnitHash = "1c6fb6f3684bafb0c173d8b8b957ceff031180c1".parse().unwrap();
    assert_eq!(rehashed, UnitHash::of(&options));
    for bad in [
        "",
        "1c6fb6f",
        "zz6fb6f3684bafb0c173d8b8b957ceff031180c1",
        "1c6fb6f3684bafb0c173d8b8b957ceff031180c1ff",
    ] {
        assert!(
            matches!(bad.parse::<UnitHash>(), Err(Error::InvalidArgument(_))),
            "{bad:?} should not parse"
        );
    }
}

#[test]
fn named_unit() {
    // (full name, name without suffix, prefix, template, instance, is instance, is template)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        bool,
        bool,
    );
    let cases: &[Case] = &[
        ("foo.service", "foo", "foo", None, None, false, false),
        (
            "foo@.service",
            "foo@",
            "foo",
            Some("foo@.service"),
            None,
            false,
            true,
        ),
        (
            "foo@bar.service",
            "foo@bar",
            "foo",
            Some("foo@.service"),
            Some("bar"),
            true,
            false,
        ),
        (
            "foo@bar@baz.service",
            "foo@bar@baz",
            "foo",
            Some("foo@.service"),
            Some("bar@baz"),
            true,
            false,
        ),
        (
            "foo.1@.service",
            "foo.1@",
            "foo.1",
            Some("foo.1@.service"),
            None,
            false,
            true,
        ),
        (
            "foo.1@2.service",
            "foo.1@2",
            "foo.1",
            Some("foo.1@.service"),
            Some("2"),
            true,
            false,
        ),
        (
            "ssh@.socket",
            "ssh@",
            "ssh",
            Some("ssh@.socket"),
            None,
            false,
            true,
        ),
        (
            "ssh@1.socket",
            "ssh@1",
            "ssh",
            Some("ssh@.socket"),
            Some("1"),
            true,
            false,
        ),
    ];
    for &(full, stem, prefix, template, instance, is_instance, is_template) in cases {
        let n = UnitName::parse(full).unwrap_or_else(|e| panic!("{full}: {e}"));
        assert_eq!(n.as_str(), full);
        assert_eq!(n.stem(), stem, "{full}");
        assert_eq!(n.prefix(), prefix, "{full}");
        assert_eq!(n.template().as_deref(), template, "{full}");
        assert_eq!(n.instance(), instance, "{full}");
        assert_eq!(n.is_instance(), is_instance, "{full}");
        assert_eq!(n.is_template(), is_template, "{full}");
    }
    for bad in ["foo", "bar@baz"] {
        assert!(UnitName::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn deserialize() {
    let contents = "
This=Ignored
[Unit]
;ignore this guy
Description = Foo

[Service]
ExecStart=echo \"ping\";
ExecStop=echo \"pong\"
# ignore me, too
ExecStop=echo post

[X-Fleet]
MachineMetadata=foo=bar
MachineMetadata=baz=qux
";
    assert_eq!(
        parse(contents).unwrap(),
        vec![
            opt("Unit", "Description", "Foo"),
            opt("Service", "ExecStart", "echo \"ping\";"),
            opt("Service", "ExecStop", "echo \"pong\""),
            opt("Service", "ExecStop", "echo post"),
            opt("X-Fleet", "MachineMetadata", "foo=bar"),
            opt("X-Fleet", "MachineMetadata", "baz=qux"),
        ]
    );
}

#[test]
fn deserialized_unit_garbage() {
    let contents = "
>>>>>>>>>>>>>
[Service]
ExecStart=jim
# As long as a line has an equals sign, systemd is happy, so we should pass it through
<<<<<<<<<<<=bar
";
    assert_eq!(
        parse(contents).unwrap(),
        vec![
            opt("Service", "ExecStart", "jim"),
            opt("Service", "<<<<<<<<<<<", "bar"),
        ]
    );
}

#[test]
fn deserialize_escaped_multilines() {
    let contents = r#"
[Service]
ExecStart=echo \
  "pi\
  ng"
ExecStop=\
echo "po\
ng"
# comments within continuation should not be ignored
ExecStopPre=echo\
#pang
ExecStopPost=echo\
#peng\
pung
"#;
    assert_eq!(
        parse(contents).unwrap(),
        vec![
            opt("Service", "ExecStart", "echo \\\n  \"pi\\\n  ng\""),
            opt("Service", "ExecStop", "\\\necho \"po\\\nng\""),
            opt("Service", "ExecStopPre", "echo\\\n#pang"),
            opt("Service", "ExecStopPost", "echo\\\n#peng\\\npung"),
        ]
    );
}

#[test]
fn serialize_deserialize() {
    let options = parse("\n[Unit]\nDescription = Foo\n").unwrap();
    assert_eq!(options, vec![opt("Unit", "Description", "Foo")]);
    let again = parse(&serialize(&options)).unwrap();
    assert_eq!(again, options);
}

#[test]
fn description_sections() {
    let options =
        parse("\n[Unit]\n\n[Service]\nExecStart=echo \"ping\";\nExecStop=echo \"pong\";\n")
            .unwrap();
    assert!(!options.iter().any(|o| o.name == "Description"));
    assert_eq!(options.len(), 2);
}

#[test]
fn bad_units_fail() {
    for bad in [
        "\n[Unit]\n\n[Service]\n<<<<<<<<<<<<<<<<\n",
        "\n[Unit]\nnonsense upon stilts\n",
    ] {
        assert!(
            matches!(parse(bad), Err(Error::InvalidUnit { line: Some(_), .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn parse_multivalue_line() {
    // fleet's parseMultivalueLine table, seen through the X-Fleet requirements (a unit
    // name without "." gets no specifier substitution).
    let cases: &[(&str, &[&str])] = &[
        (r#""bar" "ping" "pong""#, &["bar", "ping", "pong"]),
        (r#""bar""#, &["bar"]),
        ("", &[""]),
        (r#""""#, &[""]),
        (r#""bar"#, &[r#""bar"#]),
        (r#"bar""#, &[r#"bar""#]),
        (r#"foo\"bar"#, &[r#"foo\"bar"#]),
        (r#""bar" ""#, &["bar", ""]),
        (r#""foo\"bar""#, &[r"foo\bar"]),
    ];
    for (value, want) in cases {
        let x = XFleet::from_options("noname", &[opt("X-Fleet", "Foo", value)]);
        assert_eq!(
            x.requirements(),
            vec![("Foo".to_string(), strings(want))],
            "{value:?}"
        );
    }
}

// ---------------------------------------------------------------- job/job_test.go

#[test]
fn job_peers() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("[X-Fleet]\nMachineOf=\"lol.service\"\n", &["lol.service"]),
        (
            "[X-Fleet]\nMachineOf=\"foo.service\" \"bar.service\"\n",
            &["foo.service", "bar.service"],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            xfleet("echo.service", text).peers(),
            strings(want),
            "{text:?}"
        );
    }
}

#[test]
fn job_conflicts() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        (
            "[Unit]\nDescription=Testing\n\n[X-Fleet]\nConflicts=*bar*\n",
            &["*bar*"],
        ),
        (
            "[Unit]\nDescription=Testing\n\n[X-Fleet]\nConflicts=*bar* *foo*\n",
            &["*bar*", "*foo*"],
        ),
        (
            "[Unit]\nDescription=Testing\n\n[X-Fleet]\nConflicts=*bar*\nConflicts=*foo*\n",
            &["*bar*", "*foo*"],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            xfleet("echo.service", text).conflicts(),
            strings(want),
            "{text:?}"
        );
    }
}

#[test]
fn job_replaces() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        (
            "[Unit]\nDescription=Testing\n\n[X-Fleet]\nReplaces=*bar*\n",
            &["*bar*"],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            xfleet("echo.service", text).replaces(),
            strings(want),
            "{text:?}"
        );
    }
}

#[test]
fn parse_requirements() {
    type Reqs = &'static [(&'static str, &'static [&'static str])];
    let cases: &[(&str, Reqs)] = &[
        ("", &[]),
        ("[X-Fleet]", &[]),
        ("[X-Fleet]\nFoo=bar", &[("Foo", &["bar"])]),
        // deprecated prefixes are left alone
        ("[X-Fleet]\nX-Foo=bar", &[("X-Foo", &["bar"])]),
        (
            "[X-Fleet]\nX-ConditionFoo=bar",
            &[("X-ConditionFoo", &["bar"])],
        ),
        (
            "[X-Fleet]\nFoo=asdf\nFoo=qwer\n",
            &[("Foo", &["asdf", "qwer"])],
        ),
        (
            "[X-Fleet]\nDog=Woof\nX-Dog=Yap\nX-ConditionDog=Howl\n",
            &[
                ("Dog", &["Woof"]),
                ("X-Dog", &["Yap"]),
                ("X-ConditionDog", &["Howl"]),
            ],
        ),
        (
            "[X-Fleet]\nFoo=Bar\nFoo=Baz\nPing=Pong\nPing=Pang\n",
            &[("Foo", &["Bar", "Baz"]), ("Ping", &["Pong", "Pang"])],
        ),
        // options of other sections are not requirements
        ("\n[Unit]\nDescription=Timmy\n", &[]),
    ];
    for (text, want) in cases {
        let want: Vec<(String, Vec<String>)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), strings(v)))
            .collect();
        assert_eq!(xfleet("foo.service", text).requirements(), want, "{text:?}");
    }
}

#[test]
fn parse_requirements_instance_unit() {
    let contents = "\n[X-Fleet]\nFoo=%n\nBar=%N\nBaz=%p\nQux=%i\nZzz=something\n";
    let expect = |unit: &str, want: &[(&str, &str)]| {
        let reqs: BTreeMap<String, Vec<String>> =
            xfleet(unit, contents).requirements().into_iter().collect();
        for (key, value) in want {
            assert_eq!(reqs[*key], vec![value.to_string()], "{unit} {key}");
        }
    };
    expect(
        "test.service",
        &[
            ("Foo", "test.service"),
            ("Bar", "test"),
            ("Baz", "test"),
            ("Qux", ""),
            ("Zzz", "something"),
        ],
    );
    expect(
        "ssh@2.service",
        &[
            ("Foo", "ssh@2.service"),
            ("Bar", "ssh@2"),
            ("Baz", "ssh"),
            ("Qux", "2"),
            ("Zzz", "something"),
        ],
    );
    // TestInstanceUnitPrintf
    expect(
        "foo@bar.waldo",
        &[
            ("Foo", "foo@bar.waldo"),
            ("Bar", "foo@bar"),
            ("Baz", "foo"),
            ("Qux", "bar"),
        ],
    );
    // no "." in the name: fleet does no substitution at all
    expect("noname", &[("Foo", "%n"), ("Qux", "%i")]);
}

#[test]
fn job_condition_machine_id() {
    let cases: &[(&str, Option<&str>)] = &[
        ("[X-Fleet]", None),
        ("[X-Fleet]\nMachineID=123\n", Some("123")),
        // first value wins
        ("[X-Fleet]\nMachineID=\"123\" \"456\"\n", Some("123")),
        // fall back to the deprecated prefix
        (
            "[X-Fleet]\nX-ConditionMachineID=\"123\" \"456\"\n",
            Some("123"),
        ),
        // ... only if the modern syntax is absent
        (
            "[X-Fleet]\nX-ConditionMachineID=\"456\"\nMachineID=\"123\"\n",
            Some("123"),
        ),
        (
            "[X-Fleet]\nMachineID=\"123\"\nX-ConditionMachineID=\"456\"\n",
            Some("123"),
        ),
        // fall back to the legacy boot ID option
        ("[X-Fleet]\nX-ConditionMachineBootID=123\n", Some("123")),
        (
            "[X-Fleet]\nX-ConditionMachineBootID=123\nX-ConditionMachineID=456\n",
            Some("456"),
        ),
        (
            "[X-Fleet]\nX-ConditionMachineBootID=123\nMachineID=456\n",
            Some("456"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            xfleet("echo.service", text).machine_id().as_deref(),
            *want,
            "{text:?}"
        );
    }
}

#[test]
fn job_required_metadata() {
    type Md = &'static [(&'static str, &'static [&'static str])];
    let cases: &[(&str, Md)] = &[
        ("[X-Fleet]", &[]),
        ("[X-Fleet]\nMachineMetadata=foo=bar", &[("foo", &["bar"])]),
        ("[X-Fleet]\nMachineMetadata=\"foo=bar\" \"foo=baz\"", &[("foo", &["bar", "baz"])]),
        (
            "[X-Fleet]\nMachineMetadata=foo=bar\nMachineMetadata=foo=baz\nMachineMetadata=foo=asdf",
            &[("foo", &["bar", "baz", "asdf"])],
        ),
        (
            "[X-Fleet]\nMachineMetadata=\"foo=bar\" \"duck=quack\"",
            &[("foo", &["bar"]), ("duck", &["quack"])],
        ),
        (
            "[X-Fleet]\nMachineMetadata=foo=bar\nMachineMetadata=dog=woof\nMachineMetadata=cat=miaow",
            &[("foo", &["bar"]), ("dog", &["woof"]), ("cat", &["miaow"])],
        ),
        ("[X-Fleet]\nX-ConditionMachineMetadata=foo=bar", &[("foo", &["bar"])]),
        (
            "[X-Fleet]\nMachineMetadata=foo=bar\nX-ConditionMachineMetadata=foo=asdf",
            &[("foo", &["bar", "asdf"])],
        ),
        // bad fields just get ignored
        ("[X-Fleet]\nMachineMetadata=foo=", &[]),
        ("[X-Fleet]\nMachineMetadata==asdf", &[]),
        ("[X-Fleet]\nMachineMetadata=foo=asdf=WHAT", &[]),
        (
            "[X-Fleet]\nMachineMetadata=ignored=\nMachineMetadata=oh=yeah\nMachineMetadata=whynot=zoidberg\nX-ConditionMachineMetadata=oh=no\nX-ConditionMachineMetadata=\"one=abc\" \"two=def\"",
            &[("oh", &["yeah", "no"]), ("whynot", &["zoidberg"]), ("one", &["abc"]), ("two", &["def"])],
        ),
    ];
    for (text, want) in cases {
        let want: BTreeMap<String, BTreeSet<String>> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(
            xfleet("echo.service", text).machine_metadata(),
            want,
            "{text:?}"
        );
    }
}

#[test]
fn matches_metadata_like_has_metadata() {
    let machine = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let x = xfleet(
        "m.service",
        "[X-Fleet]\nMachineMetadata=\"role=web\" \"role=db\"\nMachineMetadata=region=us-west\n",
    );
    // fixture machines
    assert!(!x.matches_metadata(&machine(&[("region", "us-east"), ("role", "web")])));
    assert!(x.matches_metadata(&machine(&[("region", "us-west"), ("role", "web")])));
    assert!(x.matches_metadata(&machine(&[("region", "us-west"), ("role", "db")])));
    assert!(!x.matches_metadata(&machine(&[("region", "us-west")])));
    assert!(!x.matches_metadata(&machine(&[])));
    // no requirement matches anything
    assert!(xfleet("m.service", "[Service]\nExecStart=/bin/true\n").matches_metadata(&machine(&[])));
    // v1.0.0 has no negation: "region!=us-west" requires the key "region!"
    let neg = xfleet("m.service", "[X-Fleet]\nMachineMetadata=region!=us-west\n");
    assert!(!neg.matches_metadata(&machine(&[("region", "us-east")])));
    assert!(neg.matches_metadata(&machine(&[("region!", "us-west")])));
}

#[test]
fn unit_is_global() {
    let cases: &[(&str, bool)] = &[
        ("", false),
        ("foobarbaz", false),
        ("[Service]\nExecStart=/bin/true", false),
        ("[X-Fleet]\nMachineOf=bar", false),
        ("Global=true", false),
        ("[Service]\nGlobal=true", false),
        ("[X-Fleet]\nMachineOf=bar\nGlobal=false", false),
        ("[X-Fleet]\nMachineOf=bar\nGlobal=what", false),
        ("[X-Fleet]\nX-Global=true", false),
        ("[X-Fleet]\nX-ConditionGlobal=true", false),
        ("[X-Fleet]\nMachineOf=foo\nGlobal=true", true),
        ("[X-Fleet]\nMachineOf=foo\nGlobal=True", true),
        ("[X-Fleet]\nMachineOf=foo\nGlobal=Yes", true),
        ("[X-Fleet]\nMachineOf=foo\nGlobal=On", true),
        ("[X-Fleet]\nMachineOf=foo\nGlobal=1", true),
        ("[X-Fleet]\nMachineOf=foo\nGlobal=t", true),
        ("[X-Fleet]\nMachineOf=foo\nGlobal=12", false),
        ("[X-Fleet]\nGlobal=true\nGlobal=false", false),
        ("[X-Fleet]\nGlobal=false\nGlobal=true", true),
    ];
    for (text, want) in cases {
        assert_eq!(xfleet("", text).is_global(), *want, "{text:?}");
    }
    // TestUnitIsTruthy
    for (value, want) in [
        ("", false),
        ("false", false),
        ("no", false),
        ("0", false),
        ("off", false),
        ("f", false),
        ("true", true),
        ("yes", true),
        ("1", true),
        ("on", true),
        ("t", true),
    ] {
        let x = XFleet::from_options("", &[opt("X-Fleet", "Global", value)]);
        assert_eq!(x.is_global(), want, "{value:?}");
    }
}

#[test]
fn validate_requirements() {
    for req in [
        "MachineID=asdf",
        "X-ConditionMachineID=123456",
        "X-ConditionMachineBootID=woofwoof",
        "X-ConditionMachineOf=asdf",
        "MachineOf=joe.service",
        "X-Conflicts=bar.service",
        "Conflicts=foo",
        "X-ConditionMachineMetadata=up=down",
        "MachineMetadata=true=false",
        "Global=true",
        "Replaces=foo",
    ] {
        let x = xfleet("echo.service", &format!("[X-Fleet]\n{req}"));
        assert!(x.validate_requirements().is_ok(), "{req}");
    }
    for (req, key) in [
        ("X-ConditionConflicts=asdf", "X-ConditionConflicts"),
        ("X-Peers=one", "X-Peers"),
        ("Machineof=something", "Machineof"),
        ("X-Global=true", "X-Global"),
        ("global=true", "global"),
        ("X-ConditionMachineId=one", "X-ConditionMachineId"),
        ("MachineId=true", "MachineId"),
        ("X-MachineMetadata=none", "X-MachineMetadata"),
        ("X-ConditionMetadata=foo=foo", "X-ConditionMetadata"),
    ] {
        let x = xfleet("echo.service", &format!("[X-Fleet]\n{req}"));
        match x.validate_requirements() {
            Err(Error::InvalidUnit {
                file: None,
                line: None,
                message,
            }) => assert_eq!(
                message,
                format!("unrecognized requirement in [X-Fleet] section: \"{key}\"")
            ),
            other => panic!("{req}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- api/units_test.go

#[test]
fn validate_name() {
    let long_bad = format!("{:0>257}", ".service");
    let longer_bad = format!("{:0>512}", ".mount");
    let bad = [
        "",
        &long_bad,
        &longer_bad,
        "fooservice",
        "barmount",
        "bar@foo",
        "foo.",
        "foo.service.",
        "foo@foo.service.",
        "foo.bar",
        "hello.cerveza",
        "foo.servICE",
        "foo%.service",
        "foo$asd.service",
        "hello##.mount",
        "yes/no.service",
        "this+that.mount",
        "dog=woof@.mount",
        "@foo.service",
        "@this.mount",
        "foo@1.automount",
        "foo@1.busname",
        "foo@1.device",
        "foo@1.mount",
        "foo@1.scope",
        "foo@1.slice",
        "foo@1.snapshot",
        "foo@1.swap",
    ];
    for name in bad {
        assert!(
            matches!(validate_unit_name(name), Err(Error::InvalidUnitName { .. })),
            "{name:?} should be invalid"
        );
        assert!(UnitName::parse(name).is_err());
    }
    let exact = format!("{:0>256}", ".service");
    let good = [
        "foo.service",
        "hello.mount",
        "foo@123.service",
        "foo@.service",
        "yo.yo.service",
        "hello@world.path",
        "hello:world.service",
        "yes@no\\.service",
        "foo-bar.mount",
        "jalapano_chips.service",
        &exact,
        "foo@1.path",
        "foo@1.service",
        "foo@1.socket",
        "foo@1.target",
        "foo@1.timer",
    ];
    for name in good {
        assert!(validate_unit_name(name).is_ok(), "{name:?} should be valid");
        assert_eq!(UnitName::parse(name).unwrap().as_str(), name);
    }
}

#[test]
fn validate_name_messages() {
    // every message of fleet's api.ValidateName, to the letter
    let cases = [
        ("", "unit name cannot be empty"),
        (
            &*format!("{:0>257}", ".service"),
            "unit name exceeds maximum length (256)",
        ),
        ("hello", "unit name must contain \".\""),
        ("foo.", "unit name cannot end in \".\""),
        ("hello.txt", "invalid unit type: \"txt\""),
        ("foo.servICE", "invalid unit type: \"servICE\""),
        ("a.b\"c", "invalid unit type: \"b\\\"c\""),
        ("foo@1.mount", "invalid unit type for template: \"mount\""),
        ("a b.service", "invalid character ' ' in unit name"),
        ("foo%2Fbar.service", "invalid character '%' in unit name"),
        ("yes/no.service", "invalid character '/' in unit name"),
        ("tab\t.service", "invalid character '\\t' in unit name"),
        ("quote'.service", "invalid character '\\'' in unit name"),
        (
            "caf\u{e9}.service",
            "invalid character '\u{e9}' in unit name",
        ),
        (
            "nbsp\u{a0}.service",
            "invalid character '\\u00a0' in unit name",
        ),
        ("@foo.service", "unit name cannot start in \"@\""),
    ];
    for (name, message) in cases {
        match validate_unit_name(name) {
            Err(Error::InvalidUnitName {
                name: n,
                message: m,
            }) => {
                assert_eq!(n, name);
                assert_eq!(m, message, "{name:?}");
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

#[test]
fn validate_options_table() {
    let conflict = |n: &str| opt("X-Fleet", "Conflicts", n);
    let replace = |n: &str| opt("X-Fleet", "Replaces", n);
    let peer = |n: &str| opt("X-Fleet", "MachineOf", n);
    let id = |n: &str| opt("X-Fleet", "MachineID", n);
    let global = || opt("X-Fleet", "Global", "true");
    let cases: Vec<(Vec<UnitOption>, Option<&str>)> = vec![
        (vec![], None),
        (vec![conflict("foo.service"), conflict("bar.service")], None),
        (vec![conflict("foo.service"), peer("bar.service")], None),
        (vec![conflict("b*e"), peer("foo.service")], None),
        (
            vec![conflict("foo.service"), peer("foo.service")],
            Some(
                "unresolvable requirements: peer \"foo.service\" matches conflict \"foo.service\"",
            ),
        ),
        (
            vec![
                conflict("foo.service"),
                conflict("bar.service"),
                peer("bar.service"),
            ],
            Some(
                "unresolvable requirements: peer \"bar.service\" matches conflict \"bar.service\"",
            ),
        ),
        (
            vec![conflict("b*e"), peer("bar.service")],
            Some("unresolvable requirements: peer \"bar.service\" matches conflict \"b*e\""),
        ),
        (
            vec![conflict("b*e"), peer("baz.service")],
            Some("unresolvable requirements: peer \"baz.service\" matches conflict \"b*e\""),
        ),
        (vec![replace("foo.service"), replace("bar.service")], None),
        (vec![replace("foo.service"), peer("bar.service")], None),
        (
            vec![replace("foo.service"), conflict("bar.service")],
            Some("Conflicts cannot be used with Replaces"),
        ),
        (
            vec![
                replace("foo.service"),
                replace("bar.service"),
                peer("bar.service"),
            ],
            Some("unresolvable requirements: peer \"bar.service\" matches replace \"bar.service\""),
        ),
        (vec![id("abcdefghi")], None),
        (
            vec![id("abcdefghi"), peer("foo.service")],
            Some("MachineID cannot be used with Peers"),
        ),
        (
            vec![id("zyxwvutsr"), peer("bar.service"), peer("foo.service")],
            Some("MachineID cannot be used with Peers"),
        ),
        (
            vec![id("abcdefghi"), conflict("bar.service")],
            Some("MachineID cannot be used with Conflicts"),
        ),
        (
            vec![
                id("zyxwvutsr"),
                conflict("foo.service"),
                conflict("bar.service"),
            ],
            Some("MachineID cannot be used with Conflicts"),
        ),
        (
            vec![id("abcdefghi"), replace("bar.service")],
            Some("MachineID cannot be used with Replaces"),
        ),
        (
            vec![
                id("zyxwvutsr"),
                replace("foo.service"),
                replace("bar.service"),
            ],
            Some("MachineID cannot be used with Replaces"),
        ),
        (vec![global()], None),
        (vec![global(), conflict("foo.service")], None),
        (vec![global(), conflict("bar.service")], None),
        (
            vec![global(), peer("foo.service"), peer("bar.service")],
            Some("Global cannot be used with Peers"),
        ),
        (
            vec![global(), id("abcdefghi")],
            Some("MachineID cannot be used with Global"),
        ),
        (
            vec![id("abcdefghi"), global()],
            Some("MachineID cannot be used with Global"),
        ),
        (
            vec![global(), replace("foo.service")],
            Some("Global cannot be used with Replaces"),
        ),
        // the API server looks at values before %-substitution (it has no unit name)
        (
            vec![conflict("%p.service"), peer("%p.service")],
            Some("unresolvable requirements: peer \"%p.service\" matches conflict \"%p.service\""),
        ),
        // the serialized options must parse again
        (
            vec![opt("Service", "ExecStart", &"x".repeat(2100))],
            Some("line too long (max 2048 bytes)"),
        ),
        (
            vec![opt("Service", "Exec\nStart", "/bin/true")],
            Some("unexpected newline encountered while parsing option name"),
        ),
        (
            vec![opt("Serv]ice", "ExecStart", "/bin/true")],
            Some("found garbage after section name : [105 99 101 93]"),
        ),
        // a value with a newline: its second line becomes an option name without "="
        (
            vec![opt("Service", "ExecStart", "a\nb")],
            Some("unexpected newline encountered while parsing option name"),
        ),
    ];
    for (i, (options, want)) in cases.iter().enumerate() {
        let got = validate_options(options);
        match (want, got) {
            (None, Ok(())) => {}
            (
                Some(message),
                Err(Error::InvalidUnit {
                    file: None,
                    line: None,
                    message: m,
                }),
            ) => {
                assert_eq!(&m, message, "case {i}")
            }
            (want, got) => panic!("case {i}: want {want:?}, got {got:?}"),
        }
    }
}

// ---------------------------------------------------------------- recorded fixtures

fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/fleet-v1"
    ))
}

fn fixture(name: &str) -> serde_json::Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn response_body(name: &str) -> serde_json::Value {
    let f = fixture(name);
    let body = f["response"]["body"].as_str().expect("response body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: body: {e}"))
}

fn request_body(name: &str) -> serde_json::Value {
    let f = fixture(name);
    let body = f["request"]["body"].as_str().expect("request body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: body: {e}"))
}

fn options_of(unit: &serde_json::Value) -> Vec<UnitOption> {
    serde_json::from_value(unit["options"].clone()).expect("options")
}

/// name -> hash of its options, for every unit of a units list or single-unit GET.
fn unit_hashes(name: &str) -> BTreeMap<String, UnitHash> {
    let body = response_body(name);
    let units = match body.get("units") {
        Some(list) => list.as_array().expect("units array").clone(),
        None => vec![body],
    };
    units
        .iter()
        .map(|u| {
            (
                u["name"].as_str().expect("name").to_string(),
                UnitHash::of(&options_of(u)),
            )
        })
        .collect()
}

#[test]
fn fixture_state_hashes_are_unit_hashes() {
    // (state fixture, unit fixture captured while the same unit files were in place)
    let pairs = [
        ("state-list", "units-list"),
        ("state-list-unix", "units-list"),
        ("state-list-machine-filter", "units-list"),
        ("state-list-unit-filter", "units-get-global"),
        ("state-list-both-filters", "units-get-global"),
        ("state-get", "units-get-existing"),
        ("state-get-after-set-loaded", "units-get-after-set-loaded"),
    ];
    let mut checked = 0;
    for (states, units) in pairs {
        let hashes = unit_hashes(units);
        let body = response_body(states);
        let list = match body.get("states") {
            Some(list) => list.as_array().expect("states").clone(),
            None => vec![body],
        };
        assert!(!list.is_empty(), "{states}");
        for state in list {
            let name = state["name"].as_str().expect("name");
            let want: UnitHash = state["hash"]
                .as_str()
                .expect("hash")
                .parse()
                .expect("40 hex");
            assert_eq!(hashes.get(name), Some(&want), "{states}: {name} vs {units}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} states checked");
    // the example named in the brief
    assert_eq!(
        unit_hashes("units-list")["global.service"].to_string(),
        "ced3e6ac28b7e35fb409299852c534fb1126445d"
    );
}

#[test]
fn fixture_replaced_unit_changes_hash() {
    // a PUT with different options replaced hello.service: different hash
    let before = unit_hashes("units-get-existing")["hello.service"];
    let after = unit_hashes("units-get-after-changed-options")["hello.service"];
    assert_ne!(before, after);
    let put = request_body("units-put-existing-changed-options");
    assert_eq!(UnitHash::of(&options_of(&put)), after);
}

#[test]
fn fixture_name_errors_match_fleet() {
    for name in [
        "units-create-space-400",
        "units-create-no-dot-400",
        "units-create-invalid-unit-type-400",
        "units-create-double-encoded-slash-400",
    ] {
        let f = fixture(name);
        let path = f["request"]["path"].as_str().expect("path");
        let encoded = path.strip_prefix("/fleet/v1/units/").expect("unit path");
        // the server percent-decodes the path once
        let unit = percent_decode(encoded);
        let want = response_body(name)["error"]["message"]
            .as_str()
            .expect("message")
            .to_string();
        match validate_unit_name(&unit) {
            Err(Error::InvalidUnitName { message, .. }) => assert_eq!(message, want, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // names fleet accepted
    for name in [
        "units-create-201",
        "units-create-at-sign-raw-201",
        "units-create-backslash-escape-201",
        "units-create-colon-201",
        "units-create-template-201",
        "units-create-empty-option-value-201",
    ] {
        let f = fixture(name);
        let path = f["request"]["path"].as_str().expect("path");
        let unit = percent_decode(path.strip_prefix("/fleet/v1/units/").expect("unit path"));
        assert!(validate_unit_name(&unit).is_ok(), "{name}: {unit:?}");
        let options = options_of(&request_body(name));
        assert!(validate_options(&options).is_ok(), "{name}");
    }
}

#[test]
fn fixture_conflicting_xfleet_matches_fleet() {
    let name = "units-create-conflicting-xfleet-400";
    let options = options_of(&request_body(name));
    let want = response_body(name)["error"]["message"]
        .as_str()
        .expect("message")
        .to_string();
    match validate_options(&options) {
        Err(Error::InvalidUnit {
            file: None,
            line: None,
            message,
        }) => assert_eq!(message, want),
        other => panic!("{other:?}"),
    }
    match XFleet::from_options("conflict.service", &options).validate() {
        Err(Error::InvalidUnit {
            file: None,
            line: None,
            message,
        }) => assert_eq!(message, want),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fixture_template_names() {
    let body = response_body("units-list-special-names");
    for unit in body["units"].as_array().expect("units") {
        let name = unit["name"].as_str().expect("name");
        let parsed = UnitName::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.is_template(), name.ends_with("@.service"), "{name}");
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}
