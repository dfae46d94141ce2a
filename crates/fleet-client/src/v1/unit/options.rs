//! A unit's options: a list, or still the JSON text they arrived in.
//!
//! Units listed from fleet come a hundred to a page, each with a few options of three strings
//! each. Decoding every option of every unit into owned `String`s would cost one allocation per
//! string (about 800 per page of typical units), most of the time spent listing. Instead the
//! page reader checks each unit's `options` array completely (every key, every string and
//! escape, exactly as it would decode it) and keeps it as a slice of the page's body, which
//! the units of a page share (no copy, no allocation); the [`UnitOption`]s are made the first
//! time they are asked for ([`Unit::options`](super::Unit::options), hashing, display,
//! comparison, serialization) and kept. Editing the options turns the text into a plain list
//! first, and the edit detaches the unit, which makes its name owned too: an edited unit no
//! longer holds the body.
//!
//! The price: a unit from a list keeps its page's body (the page's JSON, copied once out of
//! the connection's buffers: about 200 bytes per unit of the page) alive until it is dropped
//! or edited. Listing and dropping, or keeping all units, costs no more than decoded options
//! would; keeping one unit out of each of many pages keeps those pages. The units'
//! documentation says so.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::v1::UnitOption;

/// The options of a [`Unit`](super::Unit).
#[derive(Clone, Default)]
pub(crate) struct Options {
    /// The options, when `json` is `None`.
    list: Vec<UnitOption>,
    /// The options as fleet sent them, not decoded yet (or decoded into `decoded`).
    json: Option<Json>,
}

#[derive(Clone)]
struct Json {
    /// The `options` array of one unit, as the page reader found and checked it: a slice of
    /// the page's body, shared with the other units of the page.
    text: Bytes,
    /// The decoded options, once asked for.
    decoded: OnceLock<Vec<UnitOption>>,
}

impl Json {
    fn decode(&self) -> Vec<UnitOption> {
        decode(&self.text)
    }
}

fn decode(text: &[u8]) -> Vec<UnitOption> {
    {
        // The page reader accepted `text` with the same code that decodes it here, so this
        // cannot fail; an empty list would only ever stand for a bug in the reader.
        let options = std::str::from_utf8(text)
            .ok()
            .and_then(crate::v1::page::decode_unit_options);
        debug_assert!(options.is_some(), "checked options JSON must decode");
        options.unwrap_or_default()
    }
}

impl Options {
    /// Options that are already a list.
    pub(crate) fn new(list: Vec<UnitOption>) -> Self {
        Options { list, json: None }
    }

    /// Options kept as the JSON array `text`, which the page reader has checked.
    pub(crate) fn from_checked_json(text: Bytes) -> Self {
        Options {
            list: Vec::new(),
            json: Some(Json {
                text,
                decoded: OnceLock::new(),
            }),
        }
    }

    /// The options, decoding them on first use.
    pub(crate) fn as_slice(&self) -> &[UnitOption] {
        match &self.json {
            None => &self.list,
            Some(json) => json.decoded.get_or_init(|| json.decode()),
        }
    }

    /// The options as a list to edit (decoded first if need be).
    pub(crate) fn to_mut(&mut self) -> &mut Vec<UnitOption> {
        if let Some(json) = self.json.take() {
            let Json { text, decoded } = json;
            self.list = match decoded.into_inner() {
                Some(list) => list,
                None => decode(&text),
            };
        }
        &mut self.list
    }
}

impl PartialEq for Options {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}
