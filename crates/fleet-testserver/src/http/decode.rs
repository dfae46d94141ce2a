//! Request bodies decoded the way fleet's Go `json.Decoder` decodes them, with its error texts.
//!
//! What is kept from Go: only the first JSON value counts (trailing bytes are ignored); keys
//! match struct fields case-insensitively; unknown keys are ignored; `null` leaves a field empty;
//! an empty body is `EOF`, a truncated one `unexpected EOF`; a value of the wrong type is
//! `json: cannot unmarshal <kind> into Go struct field <Struct>.<path> of type <type>` (the first
//! such error, after the whole value was read). Syntax errors say `invalid character 'c' ...`
//! like Go, but the part after the character is a best effort (serde_json finds the error; the
//! wording for an unusual position may differ from Go's).

use fleet::v1::UnitOption;
use serde_json::Value;

/// The fields of fleet's `schema.Unit` a PUT may carry.
#[derive(Debug, Default)]
pub(crate) struct UnitBody {
    pub(crate) name: String,
    pub(crate) desired_state: String,
    /// `None` for a `null` element, which makes fleet dereference a nil pointer.
    pub(crate) options: Vec<Option<UnitOption>>,
}

/// One `machineMetadataOp` of a machines PATCH.
#[derive(Debug, Default)]
pub(crate) struct MetadataOp {
    pub(crate) op: String,
    pub(crate) path: String,
    pub(crate) value: String,
}

/// Read the first JSON value of `body` as Go's decoder would; the error is Go's text.
fn first_value(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("EOF".into());
    }
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    match stream.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) if e.is_eof() => Err("unexpected EOF".into()),
        Some(Err(e)) => Err(syntax_message(body, &e)),
        None => Err("EOF".into()),
    }
}

fn syntax_message(body: &[u8], e: &serde_json::Error) -> String {
    // serde_json reports 1-based line and column of the offending character.
    let mut line = 1usize;
    let mut col = 0usize;
    let mut found = None;
    for &b in body {
        if line == e.line() && col + 1 == e.column() {
            found = Some(b);
            break;
        }
        if b == b'\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
        if line == e.line() && col == e.column() {
            found = Some(b);
            break;
        }
    }
    let ch = found.map(go_quote_char).unwrap_or_else(|| "'?'".into());
    let msg = e.to_string();
    let context = if msg.contains("trailing comma") && found == Some(b'}') {
        "looking for beginning of object key string"
    } else if msg.contains("expected `:`") {
        "after object key"
    } else if msg.contains("expected `,` or `}`") {
        "after object key:value pair"
    } else if msg.contains("expected `,` or `]`") {
        "after array element"
    } else if msg.contains("key must be a string") {
        "looking for beginning of object key string"
    } else if msg.contains("control character") {
        "in string literal"
    } else if msg.contains("escape") {
        "in string escape code"
    } else if msg.contains("ident") {
        "in literal"
    } else {
        "looking for beginning of value"
    };
    format!("invalid character {ch} {context}")
}

/// Go's `quoteChar`.
fn go_quote_char(b: u8) -> String {
    match b {
        b'\'' => r"'\''".into(),
        b'"' => r#"'"'"#.into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("{:?}", char::from(b)),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Keeps Go's first type error while decoding goes on.
struct Ctx {
    first_error: Option<String>,
}

impl Ctx {
    fn mismatch(&mut self, value: &Value, strukt: &str, field: &str, ty: &str) {
        if self.first_error.is_none() {
            self.first_error = Some(format!(
                "json: cannot unmarshal {} into Go struct field {strukt}.{field} of type {ty}",
                kind(value)
            ));
        }
    }

    fn string(&mut self, value: &Value, strukt: &str, field: &str) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => {
                self.mismatch(other, strukt, field, "string");
                String::new()
            }
        }
    }
}

/// Go's field matching: exact name first, else the last case-insensitive match wins over
/// nothing (duplicates: the later key overwrites, as Go assigns in order).
fn fields<'a>(
    obj: &'a serde_json::Map<String, Value>,
    names: &'a [&'a str],
) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
    obj.iter().filter_map(move |(k, v)| {
        names
            .iter()
            .find(|n| **n == k.as_str())
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(k)))
            .map(|n| (*n, v))
    })
}

/// Decode a unit PUT body (`schema.Unit`).
pub(crate) fn unit(body: &[u8]) -> Result<UnitBody, String> {
    let value = first_value(body)?;
    let mut ctx = Ctx { first_error: None };
    let mut out = UnitBody::default();
    match &value {
        Value::Object(obj) => {
            let names = [
                "currentState",
                "desiredState",
                "machineID",
                "name",
                "options",
            ];
            for (field, v) in fields(obj, &names) {
                match field {
                    "desiredState" => out.desired_state = ctx.string(v, "Unit", field),
                    "name" => out.name = ctx.string(v, "Unit", field),
                    "options" => out.options = options(&mut ctx, v),
                    _ => {
                        ctx.string(v, "Unit", field);
                    }
                }
            }
        }
        Value::Null => {}
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type schema.Unit",
                kind(other)
            ))
        }
    }
    match ctx.first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn options(ctx: &mut Ctx, v: &Value) -> Vec<Option<UnitOption>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Null => None,
                Value::Object(obj) => {
                    let mut opt = UnitOption::new("", "", "");
                    for (field, v) in fields(obj, &["name", "section", "value"]) {
                        let path = format!("options.{field}");
                        let s = ctx.string(v, "UnitOption", &path);
                        match field {
                            "name" => opt.name = s,
                            "section" => opt.section = s,
                            _ => opt.value = s,
                        }
                    }
                    Some(opt)
                }
                other => {
                    ctx.mismatch(other, "Unit", "options", "schema.UnitOption");
                    Some(UnitOption::new("", "", ""))
                }
            })
            .collect(),
        Value::Null => Vec::new(),
        other => {
            ctx.mismatch(other, "Unit", "options", "[]*schema.UnitOption");
            Vec::new()
        }
    }
}

/// Decode a machines PATCH body (`[]machineMetadataOp`).
pub(crate) fn metadata_ops(body: &[u8]) -> Result<Vec<MetadataOp>, String> {
    let value = first_value(body)?;
    let mut ctx = Ctx { first_error: None };
    let items = match &value {
        Value::Array(items) => items,
        Value::Null => return Ok(Vec::new()),
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type []api.machineMetadataOp",
                kind(other)
            ))
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut op = MetadataOp::default();
        match item {
            Value::Object(obj) => {
                for (field, v) in fields(obj, &["op", "path", "Value"]) {
                    match field {
                        "op" => op.op = ctx.string(v, "machineMetadataOp", "op"),
                        "path" => op.path = ctx.string(v, "machineMetadataOp", "path"),
                        _ => match v {
                            Value::Object(inner) => {
                                for (_, iv) in fields(inner, &["value"]) {
                                    op.value = ctx.string(iv, "", "Value.value");
                                }
                            }
                            Value::Null => {}
                            other => ctx.mismatch(
                                other,
                                "machineMetadataOp",
                                "Value",
                                r#"struct { Value string "json:\"value\"" }"#,
                            ),
                        },
                    }
                }
            }
            Value::Null => {}
            other => {
                if ctx.first_error.is_none() {
                    ctx.first_error = Some(format!(
                        "json: cannot unmarshal {} into Go value of type api.machineMetadataOp",
                        kind(other)
                    ));
                }
            }
        }
        out.push(op);
    }
    match ctx.first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_messages() {
        assert_eq!(unit(b"").unwrap_err(), "EOF");
        assert_eq!(
            unit(br#"{"desiredState": "launched", "options": ["#).unwrap_err(),
            "unexpected EOF"
        );
        assert_eq!(
            unit(br#"{"desiredState": "launched", "options": "ExecStart=/bin/true"}"#)
                .unwrap_err(),
            "json: cannot unmarshal string into Go struct field Unit.options of type []*schema.UnitOption"
        );
        assert_eq!(
            unit(br#"{"options": [{"name": 5}]}"#).unwrap_err(),
            "json: cannot unmarshal number into Go struct field UnitOption.options.name of type string"
        );
        assert_eq!(
            unit(b"xyz").unwrap_err(),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            unit(br#"{"desiredState": launched}"#).unwrap_err(),
            "invalid character 'l' looking for beginning of value"
        );
        assert_eq!(
            unit(br#"{desiredState: 1}"#).unwrap_err(),
            "invalid character 'd' looking for beginning of object key string"
        );
        assert_eq!(
            unit(br#"{"a" 1}"#).unwrap_err(),
            "invalid character '1' after object key"
        );
        assert_eq!(
            unit(br#"{"a":1 "b":2}"#).unwrap_err(),
            r#"invalid character '"' after object key:value pair"#
        );
        assert_eq!(
            unit(br#"{"a":1,}"#).unwrap_err(),
            "invalid character '}' looking for beginning of object key string"
        );
        assert_eq!(
            metadata_ops(b"[1 2]").unwrap_err(),
            "invalid character '2' after array element"
        );
        assert_eq!(
            metadata_ops(br#"[{"op": "add","#).unwrap_err(),
            "unexpected EOF"
        );
        assert_eq!(
            metadata_ops(br#"{"op": "add"}"#).unwrap_err(),
            "json: cannot unmarshal object into Go value of type []api.machineMetadataOp"
        );
        assert_eq!(
            metadata_ops(br#"[{"op": "add", "path": "/m/metadata/k", "value": "r42"}]"#)
                .unwrap_err(),
            r#"json: cannot unmarshal string into Go struct field machineMetadataOp.Value of type struct { Value string "json:\"value\"" }"#
        );
    }

    #[test]
    fn go_leniency() {
        let u = unit(br#"{"DesiredState": "loaded", "NAME": "a.service"} trailing"#).unwrap();
        assert_eq!(u.desired_state, "loaded");
        assert_eq!(u.name, "a.service");
        let u = unit(br#"{"options": [null, {"section": "S", "name": "N"}]}"#).unwrap();
        assert!(u.options[0].is_none());
        assert_eq!(u.options[1].as_ref().unwrap().value, "");
    }
}
