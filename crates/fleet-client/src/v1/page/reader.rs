//! The fast path of page decoding: a reader for the JSON fleet sends, and nothing more.
//!
//! fleet's pages come from Go's `encoding/json`: objects with a handful of known keys, strings
//! with few escapes, no numbers, no whitespace. serde_json's derived decoders spend most of
//! their time in generic machinery (field visitors, `Option` wrappers, per-string bookkeeping);
//! this reader decodes exactly the shapes of a [`Unit`], [`UnitState`] and [`Machine`] page by
//! hand, allocating nothing but the owned strings and vectors of the result.
//!
//! It only ever *accepts* input. Whenever a page is not plainly one of those shapes (a `null`,
//! an unknown or repeated key, a number, an unpaired surrogate escape, malformed JSON,
//! trailing bytes) it gives up with `None`, and [`Page::from_slice`](super::Page::from_slice)
//! decodes the same bytes with serde_json, so values and error messages for everything unusual
//! are serde's. Where this reader answers, it answers exactly what serde would: the tests in
//! `super::tests` check that on fleet's captured pages and on generated ones.

use std::collections::BTreeMap;

use super::super::{DesiredState, Machine, Unit, UnitOption, UnitState};
use super::Page;

/// Items a full page holds (fleet's `tokenLimit`): the capacity the item vector starts with.
const PAGE_SIZE: usize = super::FLEET_PAGE_SIZE;

/// A page of units, or `None` to let serde decode it.
pub(super) fn units(text: &str) -> Option<Page<Unit>> {
    let mut scratch = Vec::new();
    Reader::new(text).page(b"units", |r| r.unit(&mut scratch))
}

/// A page of unit states, or `None` to let serde decode it.
pub(super) fn states(text: &str) -> Option<Page<UnitState>> {
    Reader::new(text).page(b"states", Reader::unit_state)
}

/// A page of machines, or `None` to let serde decode it.
pub(super) fn machines(text: &str) -> Option<Page<Machine>> {
    Reader::new(text).page(b"machines", Reader::machine)
}

/// A cursor over a JSON text. Every method returns `None` as soon as the input is not what it
/// expects; the position is then meaningless and the reader is dropped.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

/// The bytes that end a plain run inside a JSON string: the closing quote, an escape, or a
/// control character (which JSON forbids unescaped).
#[inline]
fn ends_run(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader { text, pos: 0 }
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

    /// The length of the plain run of string bytes starting at `from`.
    #[inline]
    fn run_len(&self, from: usize) -> Option<usize> {
        self.bytes().get(from..)?.iter().position(|&b| ends_run(b))
    }

    /// An object key without escapes (fleet's keys never have any), and the `:` after it.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = start + self.run_len(start)?;
        if *self.bytes().get(end)? != b'"' {
            return None;
        }
        self.pos = end + 1;
        self.expect(b':')?;
        self.bytes().get(start..end)
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

    /// A string value, owned, escapes decoded.
    #[inline]
    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = start + self.run_len(start)?;
        match *self.bytes().get(end)? {
            b'"' => {
                self.pos = end + 1;
                self.text.get(start..end).map(str::to_owned)
            }
            b'\\' => self.escaped(start, end),
            _ => None,
        }
    }

    /// The rest of a string whose plain run `start..end` stopped at a backslash.
    #[cold]
    fn escaped(&mut self, start: usize, end: usize) -> Option<String> {
        let bytes = self.bytes();
        let mut out = String::with_capacity(end - start + 16);
        out.push_str(self.text.get(start..end)?);
        let mut pos = end;
        loop {
            match *bytes.get(pos)? {
                b'"' => {
                    self.pos = pos + 1;
                    return Some(out);
                }
                b'\\' => {
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
                                    char::from_u32(
                                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00),
                                    )?
                                }
                                0xDC00..=0xDFFF => return None,
                                _ => char::from_u32(high)?,
                            }
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                b if b < 0x20 => return None,
                _ => {
                    let run_end = pos + self.run_len(pos)?;
                    out.push_str(self.text.get(pos..run_end)?);
                    pos = run_end;
                }
            }
        }
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

    /// One unit. `scratch` collects its options so that their vector is allocated once, at
    /// its final size.
    fn unit(&mut self, scratch: &mut Vec<UnitOption>) -> Option<Unit> {
        let mut name = None;
        let mut options = None;
        let mut desired_state = None;
        let mut current_state = None;
        let mut machine_id: Option<String> = None;
        self.object(|r, key| {
            match key {
                b"name" if name.is_none() => name = Some(r.string()?),
                b"options" if options.is_none() => {
                    scratch.clear();
                    r.array(|r| {
                        scratch.push(r.unit_option()?);
                        Some(())
                    })?;
                    // Moved out at exactly its length (`mem::take` would hand over the
                    // scratch vector's spare capacity and leave it empty for the next unit).
                    let mut exact = Vec::with_capacity(scratch.len());
                    exact.append(scratch);
                    options = Some(exact);
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

    /// One `{"name":…,"section":…,"value":…}` (`value` may be missing: empty).
    fn unit_option(&mut self) -> Option<UnitOption> {
        let mut section = None;
        let mut name = None;
        let mut value = None;
        self.object(|r, key| {
            match key {
                b"name" if name.is_none() => name = Some(r.string()?),
                b"section" if section.is_none() => section = Some(r.string()?),
                b"value" if value.is_none() => value = Some(r.string()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(UnitOption {
            section: section?,
            name: name?,
            value: value.unwrap_or_default(),
        })
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

/// Four hex digits of a `\u` escape.
fn hex4(digits: &[u8]) -> Option<u32> {
    let mut n = 0;
    for &d in digits {
        n = n * 16 + char::from(d).to_digit(16)?;
    }
    Some(n)
}
