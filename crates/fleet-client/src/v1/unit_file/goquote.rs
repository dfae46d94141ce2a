//! Go's `%q` formatting (`strconv.Quote` / `strconv.QuoteRune`), needed to reproduce fleet's
//! error messages to the letter.

use std::fmt::Write;

/// Go's `strconv.Quote(s)` (`%q` of a string): a double-quoted Go string literal, as fleet and
/// fleetctl print names in their messages.
///
/// ```
/// use fleet::v1::unit_file::go_quote;
/// assert_eq!(go_quote("a b\n"), r#""a b\n""#);
/// assert_eq!(go_quote("tab\there"), r#""tab\there""#);
/// ```
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune(r)` (`%q` of a rune): a single-quoted Go rune literal.
///
/// ```
/// use fleet::v1::unit_file::go_quote_rune;
/// assert_eq!(go_quote_rune(' '), "' '");
/// assert_eq!(go_quote_rune('\''), r"'\''");
/// ```
pub fn go_quote_rune(c: char) -> String {
    let mut out = String::with_capacity(6);
    out.push('\'');
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// An approximation of Go's `strconv.IsPrint`: exact for Latin-1; above it, control,
/// format, separator (other than U+0020), private-use and noncharacter code points are
/// not printable. (Go also treats unassigned code points as unprintable; those are rare in
/// unit names and are printed as is here.)
fn is_print(c: char) -> bool {
    let r = c as u32;
    if r <= 0xff {
        return (0x20..=0x7e).contains(&r) || ((0xa1..=0xff).contains(&r) && r != 0xad);
    }
    if c.is_whitespace() || c.is_control() {
        return false;
    }
    let unprintable: &[(u32, u32)] = &[
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x206f),
        (0xd800, 0xdfff),
        (0xe000, 0xf8ff),
        (0xfdd0, 0xfdef),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0x10ffff),
    ];
    if unprintable.iter().any(|&(lo, hi)| (lo..=hi).contains(&r)) {
        return false;
    }
    // U+xxFFFE and U+xxFFFF are noncharacters in every plane.
    r & 0xfffe != 0xfffe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("txt"), r#""txt""#);
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("t\tx\u{0}"), r#""t\tx\x00""#);
        assert_eq!(go_quote("é☃"), "\"é☃\"");
        assert_eq!(go_quote("\u{a0}\u{200b}\u{1F600}"), r#""\u00a0\u200b😀""#);
        assert_eq!(go_quote_rune(' '), "' '");
        assert_eq!(go_quote_rune('%'), "'%'");
        assert_eq!(go_quote_rune('\''), r"'\''");
        assert_eq!(go_quote_rune('"'), "'\"'");
        assert_eq!(go_quote_rune('\u{7f}'), r"'\x7f'");
        assert_eq!(go_quote_rune('\u{feff}'), r"'\ufeff'");
        assert_eq!(go_quote_rune('\u{e0001}'), r"'\U000e0001'");
    }
}
