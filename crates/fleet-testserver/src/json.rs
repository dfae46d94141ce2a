//! fleet's JSON, byte for byte: the entities written the way Go's `encoding/json` writes them.
//!
//! Go's encoder writes struct fields in declaration order (fleet's generated schema declares
//! them alphabetically), map keys sorted, drops every `omitempty` field that is empty, and escapes
//! `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`-style sequences. serde_json does none of the
//! escaping, so the bodies are written here directly into a byte buffer (which is also the
//! cheapest way to serve a page of 100 units).

use std::collections::BTreeMap;

use fleet::v1::UnitOption;

/// Append `s` as a JSON string, escaped exactly as Go's `json.Marshal` escapes it.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    // Fast path: nothing to escape (0xE2 starts U+2028/U+2029, which take the slow path).
    if !bytes
        .iter()
        .any(|&b| b < 0x20 || matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&' | 0xE2))
    {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        let escape: Option<&[u8]> = match ch {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{2028}' => Some(b"\\u2028"),
            '\u{2029}' => Some(b"\\u2029"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => None,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                let b = ch as u32 as u8;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + ch.len_utf8();
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Writes the fields of one JSON object, dropping empty ones (Go's `omitempty`).
pub(crate) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A string field, left out when empty.
    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.key(key);
            write_str(self.out, value);
        }
        self
    }

    /// A string field that is always written (no `omitempty`).
    pub(crate) fn str_always(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_str(self.out, value);
        self
    }

    /// An integer field, always written.
    pub(crate) fn int(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.out.extend_from_slice(value.to_string().as_bytes());
        self
    }

    /// A field whose value the closure writes.
    pub(crate) fn raw(&mut self, key: &str, write: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.key(key);
        write(self.out);
        self
    }

    pub(crate) fn end(&mut self) {
        self.out.push(b'}');
    }
}

/// `{"error":{"code":N,"message":"..."}}`: fleet's error body (the message is always present).
pub(crate) fn error_body(code: u16, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + message.len());
    Obj::new(&mut out)
        .raw("error", |o| {
            Obj::new(o)
                .int("code", u64::from(code))
                .str_always("message", message)
                .end()
        })
        .end();
    out
}

/// One unit option: `name`, `section`, `value`, each left out when empty.
pub(crate) fn write_option(out: &mut Vec<u8>, opt: &UnitOption) {
    Obj::new(out)
        .str("name", &opt.name)
        .str("section", &opt.section)
        .str("value", &opt.value)
        .end();
}

/// The JSON array of a unit's options; empty (to be left out) when there are none.
pub(crate) fn options_array(options: &[UnitOption]) -> Vec<u8> {
    let mut out = Vec::new();
    if !options.is_empty() {
        write_array(&mut out, options, write_option);
    }
    out
}

/// A `schema.Unit`: `currentState`, `desiredState`, `machineID`, `name`, `options` (given as
/// the array [`options_array`] wrote).
pub(crate) fn write_unit(
    out: &mut Vec<u8>,
    current_state: &str,
    desired_state: &str,
    machine_id: &str,
    name: &str,
    options_json: &[u8],
) {
    let mut obj = Obj::new(out);
    obj.str("currentState", current_state)
        .str("desiredState", desired_state)
        .str("machineID", machine_id)
        .str("name", name);
    if !options_json.is_empty() {
        obj.raw("options", |o| o.extend_from_slice(options_json));
    }
    obj.end();
}

/// A `schema.UnitState`.
pub(crate) fn write_state(
    out: &mut Vec<u8>,
    hash: &str,
    machine_id: &str,
    name: &str,
    active: &str,
    load: &str,
    sub: &str,
) {
    Obj::new(out)
        .str("hash", hash)
        .str("machineID", machine_id)
        .str("name", name)
        .str("systemdActiveState", active)
        .str("systemdLoadState", load)
        .str("systemdSubState", sub)
        .end();
}

/// A `schema.Machine`: `id`, `metadata` (keys sorted, left out when empty), `primaryIP`.
pub(crate) fn write_machine(
    out: &mut Vec<u8>,
    id: &str,
    metadata: &BTreeMap<String, String>,
    primary_ip: &str,
) {
    let mut obj = Obj::new(out);
    obj.str("id", id);
    if !metadata.is_empty() {
        obj.raw("metadata", |o| {
            let mut m = Obj::new(o);
            for (k, v) in metadata {
                m.str_always(k, v);
            }
            m.end();
        });
    }
    obj.str("primaryIP", primary_ip).end();
}

/// A JSON array of `items`, each written by `write`.
pub(crate) fn write_array<T>(out: &mut Vec<u8>, items: &[T], write: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_like_go() {
        assert_eq!(s("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(s("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(s("x\ny\u{1}\u{2028}"), r#""x\ny\u0001\u2028""#);
        assert_eq!(s("foo\\x2dbar.service"), r#""foo\\x2dbar.service""#);
        assert_eq!(s("ünï"), "\"ünï\"");
    }

    #[test]
    fn error_bodies_match_fleet() {
        assert_eq!(
            error_body(404, "unit does not exist"),
            br#"{"error":{"code":404,"message":"unit does not exist"}}"#
        );
        assert_eq!(
            error_body(500, ""),
            br#"{"error":{"code":500,"message":""}}"#
        );
    }

    #[test]
    fn empty_option_value_is_omitted() {
        let mut out = Vec::new();
        write_option(&mut out, &UnitOption::new("Service", "Environment", ""));
        assert_eq!(out, br#"{"name":"Environment","section":"Service"}"#);
    }
}
