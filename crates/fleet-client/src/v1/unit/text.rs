//! A unit's name: owned, or a slice of the page body it arrived in.

use bytes::Bytes;

/// A string that is either owned or a slice of a shared response body (see
/// [`Options`](super::Options) for why list pages are shared).
#[derive(Clone)]
pub(crate) enum Text {
    /// An owned string.
    Owned(String),
    /// Bytes the page reader found to be a complete JSON string without escapes, inside a body
    /// it checked to be UTF-8: the string's value, as it is.
    Shared(Bytes),
}

impl Text {
    /// The string.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Owned(s) => s,
            // The reader checked the whole body as UTF-8 and cut it at quote characters, so
            // this cannot fail; an empty name would only ever stand for a bug in the reader.
            Text::Shared(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Owned(s)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}
