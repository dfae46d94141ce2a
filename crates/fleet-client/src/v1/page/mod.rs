//! [`Page`]: one page of a fleet collection, and its decoder.
//!
//! fleet sends collections a page at a time (100 items by default) as
//! `{"units":[…],"nextPageToken":"…"}` (`states`, `machines` for the other collections); every
//! key is omitted when empty, so an empty collection is `{}`. The list calls of
//! [`Client`](crate::v1::Client) follow the tokens for you; [`Page`] is public for callers
//! that want the pages themselves and for benchmarks.

use bytes::Bytes;
use serde::Deserialize;

use super::{Error, Machine, Result, Unit, UnitState};

mod reader;

pub(crate) use reader::unit_options as decode_unit_options;

/// One page of a collection: its items and the token of the next page, if there is one.
///
/// ```
/// use fleet::v1::{Page, Machine};
///
/// let page: Page<Machine> = Page::from_slice(br#"{"machines":[{"id":"113f16a7","primaryIP":"172.17.8.101"}],"nextPageToken":"ZAACAA=="}"#)?;
/// assert_eq!(page.items[0].id, "113f16a7");
/// assert_eq!(page.next_page_token.as_deref(), Some("ZAACAA=="));
///
/// let empty: Page<Machine> = Page::from_slice(b"{}")?;
/// assert!(empty.items.is_empty() && empty.next_page_token.is_none());
/// # Ok::<(), fleet::v1::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items of this page, in fleet's order.
    pub items: Vec<T>,
    /// The token that fetches the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            next_page_token: None,
        }
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Unit {}
    impl Sealed for super::UnitState {}
    impl Sealed for super::Machine {}
}

/// The types fleet sends in pages: [`Unit`], [`UnitState`] and [`Machine`].
pub trait PageItem: sealed::Sealed + Sized {
    /// The key of the item array in fleet's page object (`units`, `states`, `machines`).
    const KEY: &'static str;

    /// The fast reader ([`reader`]): `None` when the text is not plainly such a page.
    #[doc(hidden)]
    fn decode_page_fast(body: &Bytes, text: &str) -> Option<Page<Self>>;

    /// serde_json's decoder, which accepts every valid page and explains every invalid one.
    #[doc(hidden)]
    fn decode_page_serde(bytes: &[u8]) -> serde_json::Result<Page<Self>>;

    /// The fast reader when it answers, serde_json otherwise.
    #[doc(hidden)]
    fn decode_page(body: &Bytes) -> serde_json::Result<Page<Self>> {
        // Validating UTF-8 once for the whole body is cheaper than string by string.
        match std::str::from_utf8(body) {
            Ok(text) => match Self::decode_page_fast(body, text) {
                Some(page) => Ok(page),
                None => Self::decode_page_serde(text.as_bytes()),
            },
            Err(_) => Self::decode_page_serde(body),
        }
    }
}

macro_rules! page_item {
    ($ty:ty, $wire:ident, $key:literal, $fast:path) => {
        #[derive(Deserialize)]
        struct $wire {
            #[serde(rename = $key, default, deserialize_with = "presized::<_, _, FLEET_PAGE_SIZE>")]
            items: Vec<$ty>,
            #[serde(rename = "nextPageToken", default)]
            next_page_token: Option<String>,
        }

        impl PageItem for $ty {
            const KEY: &'static str = $key;

            fn decode_page_fast(body: &Bytes, text: &str) -> Option<Page<Self>> {
                $fast(body, text)
            }

            fn decode_page_serde(bytes: &[u8]) -> serde_json::Result<Page<Self>> {
                let wire: $wire = match std::str::from_utf8(bytes) {
                    Ok(text) => serde_json::from_str(text)?,
                    Err(_) => serde_json::from_slice(bytes)?,
                };
                Ok(Page {
                    items: wire.items,
                    next_page_token: wire.next_page_token.filter(|t| !t.is_empty()),
                })
            }
        }
    };
}

/// fleet's page size (`tokenLimit` 100 in fleet v1.0.0's API): the capacity an item array
/// starts with, so a full page is decoded into one allocation instead of growing 0, 4, 8 … 128.
const FLEET_PAGE_SIZE: usize = 100;

/// A JSON array decoded into a `Vec` that starts with room for `N` items (or fewer, when the
/// format knows the length), instead of growing from zero.
pub(crate) fn presized<'de, D, T, const N: usize>(
    deserializer: D,
) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Items<T, const N: usize>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>, const N: usize> serde::de::Visitor<'de> for Items<T, N> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Vec<T>, A::Error> {
            let capacity = seq.size_hint().unwrap_or(N).min(N);
            let mut items = Vec::with_capacity(capacity);
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }
    }
    deserializer.deserialize_seq(Items::<T, N>(std::marker::PhantomData))
}

page_item!(Unit, UnitPageWire, "units", reader::units);
page_item!(UnitState, UnitStatePageWire, "states", reader::states);
page_item!(Machine, MachinePageWire, "machines", reader::machines);

impl<T: PageItem> Page<T> {
    /// Decode a page exactly as fleet sends it (straight from the bytes, no intermediate JSON
    /// tree). A body that is not such a page is [`Error::UnexpectedResponse`] with a short
    /// excerpt.
    pub fn from_slice(bytes: &[u8]) -> Result<Page<T>> {
        Page::from_bytes(&Bytes::copy_from_slice(bytes))
    }

    /// [`from_slice`](Page::from_slice) on a body the page may share: units keep their options
    /// as slices of it (see `unit/options.rs`) instead of copies.
    pub(crate) fn from_bytes(body: &Bytes) -> Result<Page<T>> {
        T::decode_page(body).map_err(|e| Error::UnexpectedResponse {
            request: format!("a page of {}", T::KEY),
            status: 200,
            message: format!("not a page of {}: {e}", T::KEY),
            excerpt: excerpt(body),
        })
    }
}

/// The first 200 characters of a body, for error messages.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests;
