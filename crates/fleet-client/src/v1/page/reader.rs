//! The fast path of page decoding: a reader for the JSON fleet sends, and nothing more.
//!
//! fleet's pages come from Go's `encoding/json`: objects with a handful of known keys in sorted
//! order, strings with few escapes, no numbers, no whitespace. serde_json's derived decoders
//! spend most of their time in generic machinery (field visitors, `Option` wrappers,
//! per-string bookkeeping) and in allocating one `String` per string; this reader decodes
//! exactly the shapes of a [`Unit`], [`UnitState`] and [`Machine`] page by hand. Units are read
//! fastest in fleet's own layout (the expected key bytes are matched, not read), in any other
//! layout otherwise; their names and options stay slices of the page's body (see
//! [`Options`]), so a listed unit costs no allocation.
//!
//! It only ever *accepts* input. Whenever a page is not plainly one of those shapes (a `null`,
//! an unknown key, a repeated field, a number, an unpaired surrogate escape, malformed JSON,
//! trailing bytes) it gives up with `None`, and [`Page::from_slice`](super::Page::from_slice)
//! decodes the same bytes with serde_json, so values and error messages for everything unusual
//! are serde's. Where this reader answers, it answers exactly what serde would: the tests in
//! `super::tests` check that on fleet's captured pages and on generated and damaged ones.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::super::unit::{Options, Text};
use super::super::{DesiredState, Machine, Unit, UnitOption, UnitState};
use super::Page;

/// Items a full page holds (fleet's `tokenLimit`): the capacity the item vector starts with.
const PAGE_SIZE: usize = super::FLEET_PAGE_SIZE;

/// A page of units, or `None` to let serde decode it.
///
/// `text` is `body` as UTF-8: units keep their options as slices of `body`.
pub(super) fn units(body: &Bytes, text: &str) -> Option<Page<Unit>> {
    let mut reader = Reader::new(text);
    reader.body = Some(body);
    reader.page(b"units", Reader::unit)
}

/// A page of unit states, or `None` to let serde decode it.
pub(super) fn states(_body: &Bytes, text: &str) -> Option<Page<UnitState>> {
    Reader::new(text).page(b"states", Reader::unit_state)
}

/// A page of machines, or `None` to let serde decode it.
pub(super) fn machines(_body: &Bytes, text: &str) -> Option<Page<Machine>> {
    Reader::new(text).page(b"machines", Reader::machine)
}

/// The options array of one unit, as [`Reader::unit`] checked and kept it, decoded.
pub(crate) fn unit_options(json: &str) -> Option<Vec<UnitOption>> {
    let mut reader = Reader::new(json);
    let mut options = Vec::new();
    reader.array(|r| {
        let (section, name, value) = r.unit_option_parts(Reader::string)?;
        options.push(UnitOption {
            section,
            name,
            value: value.unwrap_or_default(),
        });
        Some(())
    })?;
    reader.end()?;
    Some(options)
}

/// A cursor over a JSON text. Every method returns `None` as soon as the input is not what it
/// expects; the position is then meaningless and the reader is dropped.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// The bytes of `text`, shared, when units may keep slices of them.
    body: Option<&'a Bytes>,
}

/// The bytes that end a plain run inside a JSON string: the closing quote, an escape, or a
/// control character (which JSON forbids unescaped).
#[inline]
fn ends_run(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The bytes of `word` (little-endian) for which [`ends_run`] holds, as their high bits. Bytes
/// above the first such byte may be flagged falsely (borrows), so only the lowest flag counts.
#[inline]
fn run_enders(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            body: None,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skip JSON whitespace; the next byte, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        loop {
            let b = *self.bytes().get(self.pos)?;
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                return Some(b);
            }
        }
    }

    /// Skip JSON whitespace; the next byte, consumed.
    #[inline]
    fn next_byte(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next_byte()? == want).then_some(())
    }

    /// Only whitespace is left.
    fn end(mut self) -> Option<()> {
        match self.peek() {
            None => Some(()),
            Some(_) => None,
        }
    }

    /// The length of the plain run of string bytes starting at `from` (up to the first byte
    /// for which [`ends_run`] holds); `None` when the text ends first.
    #[inline]
    fn run_len(&self, from: usize) -> Option<usize> {
        let rest = self.bytes().get(from..)?;
        // Eight bytes at a time: most strings fleet sends are short and plain.
        let mut chunks = rest.chunks_exact(8);
        let mut done = 0;
        for chunk in chunks.by_ref() {
            let word = u64::from_le_bytes(chunk.try_into().ok()?);
            let hits = run_enders(word);
            if hits != 0 {
                return Some(done + (hits.trailing_zeros() / 8) as usize);
            }
            done += 8;
        }
        let tail = chunks.remainder().iter().position(|&b| ends_run(b))?;
        Some(done + tail)
    }

    /// An object key without escapes (fleet's keys never have any), and the `:` after it.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        let key = self.plain_str()?;
        self.expect(b':')?;
        Some(key.as_bytes())
    }

    /// A string value without escapes, borrowed.
    #[inline]
    fn plain_str(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = start + self.run_len(start)?;
        if *self.bytes().get(end)? != b'"' {
            return None;
        }
        self.pos = end + 1;
        self.text.get(start..end)
    }

    /// A string value's text between its quotes, checked up to its escapes (which
    /// [`unescape`] checks); `plain` when it has none.
    #[inline]
    fn raw_string(&mut self) -> Option<RawStr<'a>> {
        self.expect(b'"')?;
        let start = self.pos;
        let mut end = start;
        let mut plain = true;
        loop {
            end += self.run_len(end)?;
            match *self.bytes().get(end)? {
                b'"' => break,
                b'\\' => {
                    plain = false;
                    end += 2;
                }
                _ => return None,
            }
        }
        self.pos = end + 1;
        Some(RawStr {
            text: self.text.get(start..end)?,
            plain,
        })
    }

    /// A string value, owned, escapes decoded.
    #[inline]
    fn string(&mut self) -> Option<String> {
        let raw = self.raw_string()?;
        if raw.plain {
            Some(raw.text.to_owned())
        } else {
            unescape(raw.text)
        }
    }

    /// A string value: a slice of the shared body when there is one and the string has no
    /// escapes, owned otherwise.
    #[inline]
    fn text(&mut self) -> Option<Text> {
        let raw = self.raw_string()?;
        if raw.plain {
            if let Some(body) = self.body {
                // `raw.text` is a subslice of `self.text`, which is `body` as UTF-8.
                let end = self.pos - 1;
                let start = end - raw.text.len();
                if end <= body.len() {
                    return Some(Text::Shared(body.slice(start..end)));
                }
            }
            Some(Text::Owned(raw.text.to_owned()))
        } else {
            unescape(raw.text).map(Text::Owned)
        }
    }

    /// A string value, checked exactly as [`string`](Self::string) would read it, not kept.
    #[inline]
    fn skip_string(&mut self) -> Option<()> {
        let raw = self.raw_string()?;
        if !raw.plain {
            unescape(raw.text)?;
        }
        Some(())
    }

    /// A desired state (`inactive`, `loaded`, `launched`).
    #[inline]
    fn desired_state(&mut self) -> Option<DesiredState> {
        match self.plain_str()?.as_bytes() {
            b"inactive" => Some(DesiredState::Inactive),
            b"loaded" => Some(DesiredState::Loaded),
            b"launched" => Some(DesiredState::Launched),
            _ => None,
        }
    }

    /// An object: `field` is called with each key, the reader at its value, and must read it.
    #[inline]
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.key()?;
            field(self, key)?;
            match self.next_byte()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// An array: `element` is called at each element and must read it.
    #[inline]
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.next_byte()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A whole page `{"<key>":[…],"nextPageToken":"…"}` (either key may be missing).
    fn page<T>(
        mut self,
        key: &[u8],
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Page<T>> {
        let mut items: Option<Vec<T>> = None;
        let mut token: Option<String> = None;
        self.object(|r, k| {
            if k == key && items.is_none() {
                let mut v = Vec::with_capacity(PAGE_SIZE);
                r.array(|r| {
                    v.push(item(r)?);
                    Some(())
                })?;
                items = Some(v);
            } else if k == b"nextPageToken" && token.is_none() {
                token = Some(r.string()?);
            } else {
                return None;
            }
            Some(())
        })?;
        self.end()?;
        Some(Page {
            items: items.unwrap_or_default(),
            next_page_token: token.filter(|t| !t.is_empty()),
        })
    }

    /// One unit. Its options are checked, not decoded: the unit keeps their JSON text (see
    /// [`Options`]).
    fn unit(&mut self) -> Option<Unit> {
        let start = self.pos;
        if let Some(unit) = self.unit_in_fleet_layout() {
            return Some(unit);
        }
        self.pos = start;
        self.unit_in_any_layout()
    }

    /// The next bytes are `literal`: consume them.
    #[inline]
    fn eat(&mut self, literal: &[u8]) -> bool {
        let here = self.bytes().get(self.pos..).unwrap_or_default();
        let found = here.starts_with(literal);
        if found {
            self.pos += literal.len();
        }
        found
    }

    /// A desired state written as fleet writes it (no whitespace, no escapes).
    #[inline]
    fn desired_state_literal(&mut self) -> Option<DesiredState> {
        if self.eat(b"\"launched\"") {
            Some(DesiredState::Launched)
        } else if self.eat(b"\"inactive\"") {
            Some(DesiredState::Inactive)
        } else if self.eat(b"\"loaded\"") {
            Some(DesiredState::Loaded)
        } else {
            None
        }
    }

    /// One unit exactly as fleet's `encoding/json` writes it: keys in their sorted order
    /// (`currentState`, `desiredState`, `machineID`, `name`, `options`; empty ones omitted), no
    /// whitespace. Checking for the expected key bytes is much cheaper than reading keys.
    /// `None` as soon as the unit is written any other way; [`unit_in_any_layout`]
    /// (Self::unit_in_any_layout) then reads it from its start. Whatever this accepts, that
    /// accepts too, with the same result.
    #[inline]
    fn unit_in_fleet_layout(&mut self) -> Option<Unit> {
        if !self.eat(b"{") {
            return None;
        }
        // After the first field, each key is preceded by a comma.
        let mut first = true;
        let mut field = |r: &mut Self, key: &[u8]| -> bool {
            if !first && !r.eat(b",") {
                return false;
            }
            let found = r.eat(key);
            if found {
                first = false;
            } else if !first {
                r.pos -= 1;
            }
            found
        };
        let current_state = if field(self, b"\"currentState\":") {
            Some(self.desired_state_literal()?)
        } else {
            None
        };
        if !field(self, b"\"desiredState\":") {
            return None;
        }
        let desired_state = self.desired_state_literal()?;
        let machine_id = if field(self, b"\"machineID\":") {
            Some(self.string()?)
        } else {
            None
        };
        let name = if field(self, b"\"name\":") {
            Some(self.text()?)
        } else {
            None
        };
        let options = if field(self, b"\"options\":") {
            Some(self.options_in_fleet_layout()?)
        } else {
            None
        };
        if !self.eat(b"}") {
            return None;
        }
        Some(Unit {
            name,
            options: options.unwrap_or_default(),
            desired_state,
            current_state,
            machine_id: machine_id.filter(|m| !m.is_empty()),
            origin: None,
        })
    }

    /// A unit's options array as fleet writes it (`{"name":…,"section":…,"value":…}`, `value`
    /// omitted when empty, no whitespace), checked and kept as text.
    #[inline]
    fn options_in_fleet_layout(&mut self) -> Option<Options> {
        let start = self.pos;
        if !self.eat(b"[") {
            return None;
        }
        if self.eat(b"]") {
            return Some(Options::default());
        }
        loop {
            if !self.eat(b"{\"name\":") {
                return None;
            }
            self.skip_string()?;
            if !self.eat(b",\"section\":") {
                return None;
            }
            self.skip_string()?;
            if self.eat(b",\"value\":") {
                self.skip_string()?;
            }
            if !self.eat(b"}") {
                return None;
            }
            if self.eat(b"]") {
                break;
            }
            if !self.eat(b",") {
                return None;
            }
        }
        self.checked_options(start)
    }

    /// The options array just checked, from `start` to here, kept as JSON: a slice of the
    /// shared body when there is one, a copy otherwise.
    fn checked_options(&self, start: usize) -> Option<Options> {
        let text = self.text.get(start..self.pos)?;
        Some(match self.body {
            Some(body) if self.pos <= body.len() => {
                Options::from_checked_json(body.slice(start..self.pos))
            }
            _ => Options::from_checked_json(Bytes::copy_from_slice(text.as_bytes())),
        })
    }

    /// One unit, keys in any order, whitespace anywhere.
    fn unit_in_any_layout(&mut self) -> Option<Unit> {
        let mut name = None;
        let mut options = None;
        let mut desired_state = None;
        let mut current_state = None;
        let mut machine_id: Option<String> = None;
        self.object(|r, key| {
            match key {
                b"name" if name.is_none() => name = Some(r.text()?),
                b"options" if options.is_none() => {
                    r.peek()?;
                    let start = r.pos;
                    let mut count = 0;
                    r.array(|r| {
                        r.unit_option_parts(Reader::skip_string)?;
                        count += 1;
                        Some(())
                    })?;
                    options = Some(if count == 0 {
                        Options::default()
                    } else {
                        r.checked_options(start)?
                    });
                }
                b"desiredState" if desired_state.is_none() => {
                    desired_state = Some(r.desired_state()?)
                }
                b"currentState" if current_state.is_none() => {
                    current_state = Some(r.desired_state()?)
                }
                b"machineID" if machine_id.is_none() => machine_id = Some(r.string()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(Unit {
            name,
            options: options.unwrap_or_default(),
            desired_state: desired_state?,
            current_state,
            machine_id: machine_id.filter(|m| !m.is_empty()),
            origin: None,
        })
    }

    /// One `{"name":…,"section":…,"value":…}`, its strings read with `read` (to keep them
    /// or only to check them): `(section, name, value)`; `value` may be missing.
    #[inline]
    fn unit_option_parts<S>(
        &mut self,
        mut read: impl FnMut(&mut Self) -> Option<S>,
    ) -> Option<(S, S, Option<S>)> {
        let mut section = None;
        let mut name = None;
        let mut value = None;
        self.object(|r, key| {
            match key {
                b"name" if name.is_none() => name = Some(read(r)?),
                b"section" if section.is_none() => section = Some(read(r)?),
                b"value" if value.is_none() => value = Some(read(r)?),
                _ => return None,
            }
            Some(())
        })?;
        Some((section?, name?, value))
    }

    /// One unit state; every field may be missing (empty).
    fn unit_state(&mut self) -> Option<UnitState> {
        let mut fields: [Option<String>; 6] = Default::default();
        self.object(|r, key| {
            let slot = match key {
                b"name" => 0,
                b"hash" => 1,
                b"machineID" => 2,
                b"systemdLoadState" => 3,
                b"systemdActiveState" => 4,
                b"systemdSubState" => 5,
                _ => return None,
            };
            let field = fields.get_mut(slot)?;
            if field.is_some() {
                return None;
            }
            *field = Some(r.string()?);
            Some(())
        })?;
        let [name, hash, machine_id, load, active, sub] = fields;
        Some(UnitState {
            name: name.unwrap_or_default(),
            hash: hash.unwrap_or_default(),
            machine_id: machine_id.unwrap_or_default(),
            systemd_load_state: load.unwrap_or_default(),
            systemd_active_state: active.unwrap_or_default(),
            systemd_sub_state: sub.unwrap_or_default(),
        })
    }

    /// One machine; every field may be missing (empty). A repeated metadata key keeps its last
    /// value, as serde's map decoding does.
    fn machine(&mut self) -> Option<Machine> {
        let mut id = None;
        let mut primary_ip = None;
        let mut metadata: Option<BTreeMap<String, String>> = None;
        self.object(|r, key| {
            match key {
                b"id" if id.is_none() => id = Some(r.string()?),
                b"primaryIP" if primary_ip.is_none() => primary_ip = Some(r.string()?),
                b"metadata" if metadata.is_none() => {
                    let mut map = BTreeMap::new();
                    r.expect_object_of_strings(&mut map)?;
                    metadata = Some(map);
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(Machine {
            id: id.unwrap_or_default(),
            primary_ip: primary_ip.unwrap_or_default(),
            metadata: metadata.unwrap_or_default(),
        })
    }

    /// An object whose values are all strings, into `map` (keys may have escapes here).
    fn expect_object_of_strings(&mut self, map: &mut BTreeMap<String, String>) -> Option<()> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            map.insert(key, self.string()?);
            match self.next_byte()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }
}

/// The text of a JSON string between its quotes.
struct RawStr<'a> {
    text: &'a str,
    /// Without escapes: the text is the value.
    plain: bool,
}

/// The value of a JSON string's text (between its quotes, no unescaped quote or control
/// character in it), escapes decoded; `None` for an escape serde would refuse (or that this
/// reader leaves to serde: an unpaired surrogate).
#[cold]
fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while pos < bytes.len() {
        let run = bytes.get(pos..)?.iter().position(|&b| b == b'\\');
        let run_end = run.map_or(bytes.len(), |n| pos + n);
        out.push_str(text.get(pos..run_end)?);
        pos = run_end;
        if pos == bytes.len() {
            break;
        }
        let escape = *bytes.get(pos + 1)?;
        pos += 2;
        let c = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = hex4(bytes.get(pos..pos + 4)?)?;
                pos += 4;
                match high {
                    0xD800..=0xDBFF => {
                        if bytes.get(pos..pos + 2)? != b"\\u" {
                            return None;
                        }
                        let low = hex4(bytes.get(pos + 2..pos + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        pos += 6;
                        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => char::from_u32(high)?,
                }
            }
            _ => return None,
        };
        out.push(c);
    }
    Some(out)
}

/// Four hex digits of a `\u` escape.
fn hex4(digits: &[u8]) -> Option<u32> {
    let mut n = 0;
    for &d in digits {
        n = n * 16 + char::from(d).to_digit(16)?;
    }
    Some(n)
}
