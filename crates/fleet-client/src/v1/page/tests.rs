//! The fast reader against serde_json: on fleet's captured pages and on generated ones, the
//! reader must answer, and answer what serde answers; on damaged pages it may give up, but
//! whenever it answers, serde must agree.

use proptest::prelude::*;

use super::{Page, PageItem};
use crate::v1::{DesiredState, Machine, Unit, UnitOption, UnitState};

/// Both decoders on one text: the reader's answer (if any) and serde's.
fn both<T: PageItem>(text: &str) -> (Option<Page<T>>, serde_json::Result<Page<T>>) {
    let body = bytes::Bytes::copy_from_slice(text.as_bytes());
    (
        T::decode_page_fast(&body, text),
        T::decode_page_serde(text.as_bytes()),
    )
}

/// The reader answers `text`, and exactly as serde does.
fn assert_fast_agrees<T: PageItem + PartialEq + std::fmt::Debug>(text: &str) -> Page<T> {
    let (fast, slow) = both::<T>(text);
    let slow = slow.unwrap_or_else(|e| panic!("serde refuses {text}: {e}"));
    let fast = fast.unwrap_or_else(|| panic!("the fast reader gave up on {text}"));
    assert_eq!(fast, slow, "{text}");
    fast
}

/// Where the reader answers, serde answers the same.
fn assert_never_disagrees<T: PageItem + PartialEq + std::fmt::Debug>(text: &str) {
    if let (Some(fast), slow) = both::<T>(text) {
        match slow {
            Ok(slow) => assert_eq!(fast, slow, "{text}"),
            Err(e) => panic!("the fast reader accepted what serde refuses ({e}): {text}"),
        }
    }
}

#[test]
fn every_captured_list_page_takes_the_fast_path() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/fleet-v1"
    );
    let mut seen = [0usize; 3];
    for entry in std::fs::read_dir(dir).expect("fixtures (shared/ must be beside the repo)") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let request = &fixture["request"];
        let response = &fixture["response"];
        if request["method"] != "GET" || response["status"] != 200 {
            continue;
        }
        let Some(body) = response["body"].as_str() else {
            continue;
        };
        match request["path"].as_str() {
            Some("/fleet/v1/units") => {
                assert_fast_agrees::<Unit>(body);
                seen[0] += 1;
            }
            Some("/fleet/v1/state") => {
                assert_fast_agrees::<UnitState>(body);
                seen[1] += 1;
            }
            Some("/fleet/v1/machines") => {
                assert_fast_agrees::<Machine>(body);
                seen[2] += 1;
            }
            _ => {}
        }
    }
    assert!(seen.iter().all(|&n| n >= 3), "list fixtures seen: {seen:?}");
}

#[test]
fn escapes_are_decoded_like_serde() {
    let page = assert_fast_agrees::<Unit>(
        r#"{"units":[{"desiredState":"loaded","name":"a.service","options":[{"name":"ExecStart","section":"Service","value":"/bin/sh -c \"a \u0026\u0026 b \u003e /dev/null\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u2028 é"}]}]}"#,
    );
    assert_eq!(
        page.items[0].options()[0].value,
        "/bin/sh -c \"a && b > /dev/null\" \\ / \u{8}\u{c}\n\r\t é 😀 \u{2028} é"
    );
}

#[test]
fn whitespace_and_any_key_order_are_read() {
    let page = assert_fast_agrees::<Unit>(
        " {\n \"nextPageToken\" : \"ZAACAA==\" ,\t\"units\" : [ { \"options\" : [ ] , \"name\" : \"x.service\" , \"desiredState\" : \"launched\" , \"machineID\" : \"\" } ] }\r\n",
    );
    assert_eq!(page.next_page_token.as_deref(), Some("ZAACAA=="));
    assert_eq!(page.items[0].machine_id(), None);
    assert_fast_agrees::<Unit>("{}");
    assert_fast_agrees::<Unit>(r#"{"units":[]}"#);
    let empty_token = assert_fast_agrees::<Unit>(r#"{"nextPageToken":""}"#);
    assert_eq!(empty_token.next_page_token, None);
}

#[test]
fn unusual_pages_are_left_to_serde() {
    // Accepted by serde, left to it by the reader: nulls, unknown keys, escaped keys.
    for text in [
        r#"{"units":[{"desiredState":"loaded","name":null}]}"#,
        r#"{"units":[{"desiredState":"loaded","future":1}]}"#,
        r#"{"units":[{"desiredState":"loaded","n\u0061me":"a.service"}]}"#,
        r#"{"nextPageToken":null}"#,
    ] {
        let (fast, slow) = both::<Unit>(text);
        assert!(fast.is_none(), "{text}");
        assert!(slow.is_ok(), "{text}");
    }
    // Refused by serde (with its message), so the reader must give up on them too.
    for text in [
        r#"{"units":[{"desiredState":"loaded","name":"a","name":"b"}]}"#,
        r#"{"units":[{"desiredState":"started"}]}"#,
        r#"{"units":[{"name":"no-desired-state.service"}]}"#,
        r#"{"units":[{"desiredState":"loaded","options":[{"name":"x","value":"no section"}]}]}"#,
        r#"{"units":[{"desiredState":"loaded","name":"a\ud800"}]}"#,
        r#"{"units":[{"desiredState":"loaded","name":"tab	inside"}]}"#,
        r#"{"units":[],}"#,
        r#"{"units":[]} x"#,
        r#"{"units":[]"#,
        r#"{"units":[],"units":[]}"#,
        r#"{"units":null}"#,
        "",
    ] {
        let (fast, slow) = both::<Unit>(text);
        assert!(fast.is_none(), "{text}");
        assert!(slow.is_err(), "{text}");
    }
}

#[test]
fn machine_metadata_keeps_the_last_of_a_repeated_key_like_serde() {
    let page = assert_fast_agrees::<Machine>(
        r#"{"machines":[{"id":"m1","metadata":{"role":"web","role":"db","k\u00e9y":"v"}}]}"#,
    );
    assert_eq!(page.items[0].metadata["role"], "db");
    assert_eq!(page.items[0].metadata["kéy"], "v");
}

// --- generated pages -------------------------------------------------------------------------

/// A JSON tree that keeps key order, written in several styles.
#[derive(Clone, Debug)]
enum J {
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// How a tree is written: Go's escaping (`<`, `>`, `&`, U+2028/9 as `\u….`) or serde's, and
/// whether whitespace is sprinkled between tokens.
#[derive(Clone, Copy, Debug)]
struct Style {
    go_escapes: bool,
    spaces: bool,
}

fn write_str(out: &mut String, s: &str, style: Style) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if style.go_escapes => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write(out: &mut String, j: &J, style: Style) {
    let ws = |out: &mut String| {
        if style.spaces {
            out.push_str(" \n\t");
        }
    };
    match j {
        J::Str(s) => write_str(out, s, style),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(out);
                write(out, item, style);
                ws(out);
            }
            out.push(']');
        }
        J::Obj(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(out);
                write_str(out, k, style);
                ws(out);
                out.push(':');
                ws(out);
                write(out, v, style);
            }
            ws(out);
            out.push('}');
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9@:._-]{0,24}",
        1 => "[ -~]{0,24}",
        1 => any::<String>(),
        1 => prop::sample::select(vec![
            "a && b > c < d".to_string(),
            "\"quoted\" \\back\\slash\\".to_string(),
            "line\u{2028}sep\u{2029}".to_string(),
            "emoji 😀 é ü".to_string(),
            "ctl \u{1}\u{1f}\u{7f}".to_string(),
        ]),
    ]
}

fn state() -> impl Strategy<Value = DesiredState> {
    prop::sample::select(DesiredState::ALL.to_vec())
}

fn unit_json() -> impl Strategy<Value = J> {
    let option = (text(), text(), prop::option::of(text())).prop_map(|(s, n, v)| {
        let mut f = vec![("name".into(), J::Str(n)), ("section".into(), J::Str(s))];
        if let Some(v) = v {
            f.push(("value".into(), J::Str(v)));
        }
        J::Obj(f)
    });
    (
        prop::option::of(text()),
        prop::option::of(prop::collection::vec(option, 0..5)),
        state(),
        prop::option::of(state()),
        prop::option::of("[0-9a-f]{0,32}"),
    )
        .prop_map(|(name, options, desired, current, machine)| {
            let mut f = Vec::new();
            if let Some(c) = current {
                f.push(("currentState".into(), J::Str(c.as_str().into())));
            }
            f.push(("desiredState".into(), J::Str(desired.as_str().into())));
            if let Some(m) = machine {
                f.push(("machineID".into(), J::Str(m)));
            }
            if let Some(n) = name {
                f.push(("name".into(), J::Str(n)));
            }
            if let Some(o) = options {
                f.push(("options".into(), J::Arr(o)));
            }
            J::Obj(f)
        })
}

fn state_json() -> impl Strategy<Value = J> {
    let keys = [
        "hash",
        "machineID",
        "name",
        "systemdActiveState",
        "systemdLoadState",
        "systemdSubState",
    ];
    prop::collection::vec(prop::option::of(text()), 6).prop_map(move |values| {
        J::Obj(
            keys.iter()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), J::Str(v))))
                .collect(),
        )
    })
}

fn machine_json() -> impl Strategy<Value = J> {
    (
        prop::option::of(text()),
        prop::option::of(prop::collection::vec((text(), text()), 0..4)),
        prop::option::of(text()),
    )
        .prop_map(|(id, metadata, ip)| {
            let mut f = Vec::new();
            if let Some(id) = id {
                f.push(("id".into(), J::Str(id)));
            }
            if let Some(m) = metadata {
                f.push((
                    "metadata".into(),
                    J::Obj(m.into_iter().map(|(k, v)| (k, J::Str(v))).collect()),
                ));
            }
            if let Some(ip) = ip {
                f.push(("primaryIP".into(), J::Str(ip)));
            }
            J::Obj(f)
        })
}

/// A page of `items` under `key`, in any key order, written in any style.
fn page_text(key: &'static str, item: impl Strategy<Value = J>) -> impl Strategy<Value = String> {
    (
        prop::option::of(prop::collection::vec(item, 0..6)),
        prop::option::of("[A-Za-z0-9=_-]{0,12}"),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            move |(items, token, go_escapes, spaces, reverse, shuffle)| {
                let mut fields = Vec::new();
                if let Some(t) = token {
                    fields.push(("nextPageToken".to_string(), J::Str(t)));
                }
                if let Some(items) = items {
                    fields.push((key.to_string(), J::Arr(items)));
                }
                if reverse {
                    fields.reverse();
                }
                let mut j = J::Obj(fields);
                shuffle_keys(&mut j, shuffle);
                let mut out = String::new();
                write(&mut out, &j, Style { go_escapes, spaces });
                out
            },
        )
}

/// Rotate every object's keys by a seed-dependent amount (fleet's order is sorted; the reader
/// must not depend on it).
fn shuffle_keys(j: &mut J, seed: u64) {
    match j {
        J::Str(_) => {}
        J::Arr(items) => items.iter_mut().for_each(|i| shuffle_keys(i, seed / 3)),
        J::Obj(fields) => {
            if !fields.is_empty() {
                let n = fields.len();
                fields.rotate_left((seed % n as u64) as usize);
            }
            fields
                .iter_mut()
                .for_each(|(_, v)| shuffle_keys(v, seed / 7));
        }
    }
}

/// `text` damaged at a position `at` (a fraction of its length) by one of a few edits.
fn damage(text: &str, at: f64, edit: usize) -> String {
    let mut cut = ((text.len() as f64) * at) as usize;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let (head, tail) = text.split_at(cut);
    let tail_after_one = tail.char_indices().nth(1).map_or("", |(i, _)| &tail[i..]);
    let inserts = [
        "null",
        ",",
        "}",
        "]",
        "\"",
        "\\",
        "1",
        "\\u",
        "\\ud800",
        "\u{1}",
        ":",
        "{}",
        "[]",
        "\"name\":\"x\",",
        "\"extra\":\"x\",",
    ];
    match edit % (inserts.len() + 2) {
        0 => format!("{head}{tail_after_one}"),
        1 => head.to_string(),
        i => format!("{head}{}{tail}", inserts[i - 2]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_unit_pages_take_the_fast_path(text in page_text("units", unit_json())) {
        assert_fast_agrees::<Unit>(&text);
    }

    #[test]
    fn generated_state_pages_take_the_fast_path(text in page_text("states", state_json())) {
        assert_fast_agrees::<UnitState>(&text);
    }

    #[test]
    fn generated_machine_pages_take_the_fast_path(text in page_text("machines", machine_json())) {
        assert_fast_agrees::<Machine>(&text);
    }

    #[test]
    fn damaged_pages_never_decode_differently(
        units in page_text("units", unit_json()),
        states in page_text("states", state_json()),
        machines in page_text("machines", machine_json()),
        at in 0.0..1.0f64,
        edit in any::<usize>(),
    ) {
        assert_never_disagrees::<Unit>(&damage(&units, at, edit));
        assert_never_disagrees::<UnitState>(&damage(&states, at, edit));
        assert_never_disagrees::<Machine>(&damage(&machines, at, edit));
    }
}

#[test]
fn a_unit_from_the_reader_is_a_whole_unit() {
    let page = assert_fast_agrees::<Unit>(
        r#"{"units":[{"currentState":"loaded","desiredState":"launched","machineID":"m1","name":"a.service","options":[{"name":"ExecStart","section":"Service","value":"/bin/true"},{"name":"Global","section":"X-Fleet","value":"true"}]}]}"#,
    );
    let unit = &page.items[0];
    assert_eq!(unit.name(), Some("a.service"));
    assert_eq!(unit.current_state(), Some(DesiredState::Loaded));
    assert_eq!(unit.desired_state(), DesiredState::Launched);
    assert_eq!(unit.machine_id(), Some("m1"));
    assert_eq!(
        unit.options(),
        [
            UnitOption::new("Service", "ExecStart", "/bin/true"),
            UnitOption::new("X-Fleet", "Global", "true")
        ]
    );
}

#[test]
fn options_kept_as_json_decode_once_and_edit_like_a_list() {
    let text = r#"{"units":[{"desiredState":"loaded","name":"a.service","options":[{"name":"ExecStart","section":"Service","value":"a \u0026\u0026 b"},{"name":"Global","section":"X-Fleet"}]},{"desiredState":"loaded","name":"b.service","options":[]}]}"#;
    let page = assert_fast_agrees::<Unit>(text);
    let mut unit = page.items[0].clone();
    let first = unit.options().as_ptr();
    assert_eq!(unit.options()[0].value, "a && b");
    assert_eq!(unit.options()[1].value, "");
    assert_eq!(unit.options().as_ptr(), first, "decoded once, then kept");
    assert_eq!(
        unit.hash(),
        Unit::from_options(unit.options().to_vec()).hash()
    );
    assert!(unit.remove_option("X-Fleet", "Global", None));
    unit.add_option("Unit", "Description", "d");
    assert_eq!(
        unit.options(),
        [
            UnitOption::new("Service", "ExecStart", "a && b"),
            UnitOption::new("Unit", "Description", "d")
        ]
    );
    assert!(page.items[1].options().is_empty());
    // A fresh copy edits without ever having been read.
    let mut fresh = page.items[0].clone();
    fresh.add_option("Unit", "After", "x");
    assert_eq!(fresh.options().len(), 3);
}

#[test]
fn string_runs_end_at_the_first_quote_backslash_or_control_byte_at_any_offset() {
    // Every position of the ending byte relative to the 8-byte steps, with bytes around it
    // that sit near the flagged ranges (0x1f/0x20, '"'/'#', '\\'/']', 0x7f/0x80/0xff).
    let fillers = ["a", " ", "#", "]", "\u{7f}", "é", "\u{ffff}", "!"];
    for len in 0..24 {
        for filler in fillers {
            for end in ["\"", "\\\\\"", "\\n\""] {
                let plain: String = filler.repeat(len);
                let text = format!(r#"{{"nextPageToken":"{plain}{end}}}"#);
                let page = assert_fast_agrees::<Unit>(&text);
                let want = match end {
                    "\"" => plain.clone(),
                    "\\\\\"" => format!("{plain}\\"),
                    _ => format!("{plain}\n"),
                };
                assert_eq!(page.next_page_token.unwrap_or_default(), want, "{text}");
            }
            let raw_control = format!("{{\"nextPageToken\":\"{}\u{1f}x\"}}", filler.repeat(len));
            let (fast, slow) = both::<Unit>(&raw_control);
            assert!(fast.is_none() && slow.is_err(), "{raw_control:?}");
        }
    }
}

#[test]
fn a_listed_unit_shares_its_page_until_edited() {
    let text = r#"{"units":[{"desiredState":"loaded","name":"a.service","options":[{"name":"ExecStart","section":"Service","value":"x"}]}]}"#;
    let body = bytes::Bytes::from(text.as_bytes().to_vec());
    let mut page = Page::<Unit>::from_bytes(&body).expect("decodes");
    let mut unit = page.items.pop().expect("one unit");
    drop(page);
    assert!(!body.is_unique(), "a listed unit keeps slices of its page");
    assert_eq!(unit.options().len(), 1);
    assert!(
        !body.is_unique(),
        "reading the options keeps the name's slice"
    );
    unit.add_option("Unit", "Description", "d");
    assert!(body.is_unique(), "an edited unit holds nothing of its page");
    assert_eq!(unit.name(), Some("a.service"));
    assert_eq!(unit.options().len(), 2);
}
