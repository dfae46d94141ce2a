//! Page tokens, as fleet makes and checks them.
//!
//! A token is the URL-safe base64 (with padding) of two little-endian `u16`: the page size
//! (fleetd's `token_limit`) and the 1-based page number. `ZAACAA==` is limit 100, page 2.
//! fleet's errors are kept to the letter:
//!
//! | token | answer |
//! |---|---|
//! | not base64 (`garbage`) | 400 `illegal base64 data at input byte 4` (Go's decoder, position and all) |
//! | fewer than 4 bytes | 400 `unexpected EOF` (`EOF` when empty) |
//! | another limit | 400 `token limit must be 100` |
//! | page 0 | 400 `token page must be greater than zero` |
//! | two `nextPageToken` parameters | 400 `too many values for page token` |
//! | a page past the end | 200 `{}` |
//!
//! fleet computes the page bounds in `uint16` arithmetic, which wraps; [`bounds`] does the same.
//! So with fleet's page size of 100 no list gets past 65,500 items: page 656 would start at
//! 65,500 and stop at 65,600, which wraps to 64, and fleet's handler panics slicing
//! `[65500:64]`.
//!
//! [`wide_bounds`] is the opt-in departure from fleet ([`Builder::wide_paging`](crate::Builder::wide_paging),
//! `fleet-testserver --wide-paging`): the same tokens, the same answers, but the bounds computed
//! without wrap-around, for lists longer than fleet can page through (up to 65,535 pages, the
//! page number being a `u16` in the token).

/// A decoded page token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageToken {
    /// The page size the token was made for.
    pub limit: u16,
    /// The 1-based page number.
    pub page: u16,
}

impl PageToken {
    /// The first page for a page size.
    pub fn first(limit: u16) -> Self {
        PageToken { limit, page: 1 }
    }

    /// The token of the following page (the page number wraps like Go's `uint16`).
    pub fn next(self) -> Self {
        PageToken {
            limit: self.limit,
            page: self.page.wrapping_add(1),
        }
    }

    /// The token as fleet writes it.
    ///
    /// ```
    /// use fleet_testserver::paging::PageToken;
    /// assert_eq!(PageToken { limit: 100, page: 2 }.encode(), "ZAACAA==");
    /// ```
    pub fn encode(self) -> String {
        use base64::Engine;
        let mut raw = [0u8; 4];
        raw[..2].copy_from_slice(&self.limit.to_le_bytes());
        raw[2..].copy_from_slice(&self.page.to_le_bytes());
        base64::engine::general_purpose::URL_SAFE.encode(raw)
    }

    /// Decode a token, with the error text fleet sends for a bad one.
    ///
    /// ```
    /// use fleet_testserver::paging::PageToken;
    /// assert_eq!(PageToken::decode("ZAACAA==").unwrap(), PageToken { limit: 100, page: 2 });
    /// assert_eq!(PageToken::decode("garbage").unwrap_err(), "illegal base64 data at input byte 4");
    /// assert_eq!(PageToken::decode("ZAA=").unwrap_err(), "unexpected EOF");
    /// ```
    pub fn decode(value: &str) -> Result<PageToken, String> {
        let bytes = go_base64_url_decode(value.as_bytes())
            .map_err(|pos| format!("illegal base64 data at input byte {pos}"))?;
        match bytes.as_slice() {
            [] => Err("EOF".into()),
            [a, b, c, d, ..] => Ok(PageToken {
                limit: u16::from_le_bytes([*a, *b]),
                page: u16::from_le_bytes([*c, *d]),
            }),
            _ => Err("unexpected EOF".into()),
        }
    }
}

/// fleet's `findNextPageToken` + `validatePageToken`: the token of a list request, if any.
///
/// `values` are the decoded values of every `nextPageToken` query parameter.
pub fn find_next_page_token(values: &[String], limit: u16) -> Result<Option<PageToken>, String> {
    match values {
        [] => Ok(None),
        [value] => {
            let tok = PageToken::decode(value)?;
            if tok.limit != limit {
                return Err(format!("token limit must be {limit}"));
            }
            if tok.page == 0 {
                return Err("token page must be greater than zero".into());
            }
            Ok(Some(tok))
        }
        _ => Err("too many values for page token".into()),
    }
}

/// Which items of a list of `total` a token selects.
#[derive(Debug, PartialEq, Eq)]
pub enum Bounds {
    /// Items `start..stop`, and the next token when the page was full.
    Items {
        /// First index.
        start: usize,
        /// One past the last index.
        stop: usize,
        /// The token for the next page (fleet sends one whenever the page is full, even when
        /// nothing follows).
        next: Option<PageToken>,
    },
    /// Nothing on this page: `{}`.
    Empty,
    /// fleet would slice with start > stop (after `uint16` wrap-around) and panic: the
    /// connection is closed without a response.
    Panic,
}

/// fleet's page arithmetic (`extractUnitPageData` and friends), `uint16` wrap-around included.
///
/// ```
/// use fleet_testserver::paging::{bounds, Bounds, PageToken};
/// assert_eq!(bounds(105, PageToken { limit: 100, page: 2 }),
///            Bounds::Items { start: 100, stop: 105, next: None });
/// assert_eq!(bounds(105, PageToken { limit: 100, page: 9 }), Bounds::Empty);
/// ```
pub fn bounds(total: usize, tok: PageToken) -> Bounds {
    let start = usize::from(tok.page.wrapping_sub(1).wrapping_mul(tok.limit));
    let mut stop = usize::from(tok.page.wrapping_mul(tok.limit));
    if start >= total {
        return Bounds::Empty;
    }
    let mut next = None;
    if stop > total {
        stop = total;
    } else {
        next = Some(tok.next());
    }
    if start > stop {
        return Bounds::Panic;
    }
    Bounds::Items { start, stop, next }
}

/// Page bounds without fleet's `uint16` wrap-around: what [`bounds`] would give if fleet did its
/// arithmetic in `usize`. Used by a server started with
/// [`Builder::wide_paging`](crate::Builder::wide_paging).
///
/// As in fleet, a full page carries a next token even when nothing follows, except the last page
/// a token can name (page 65,535) when nothing follows it. When items do follow page 65,535, its
/// next token wraps to page 0 like fleet's, which the server rejects with 400 `token page must
/// be greater than zero`: the list ends in an error, never silently short.
///
/// ```
/// use fleet_testserver::paging::{bounds, wide_bounds, Bounds, PageToken};
/// let page_656 = PageToken { limit: 100, page: 656 };
/// // fleet: 65500..(65600 wrapped to 64), a panic and a closed connection.
/// assert_eq!(bounds(100_000, page_656), Bounds::Panic);
/// assert_eq!(wide_bounds(100_000, page_656),
///            Bounds::Items { start: 65_500, stop: 65_600, next: Some(page_656.next()) });
/// ```
pub fn wide_bounds(total: usize, tok: PageToken) -> Bounds {
    let limit = usize::from(tok.limit);
    // Page 0 never gets here (the token is rejected first); it is an empty page if it does.
    let start = usize::from(tok.page).saturating_sub(1) * limit;
    let stop = usize::from(tok.page) * limit;
    if tok.page == 0 || start >= total {
        return Bounds::Empty;
    }
    if stop > total {
        return Bounds::Items {
            start,
            stop: total,
            next: None,
        };
    }
    let next = (tok.page < u16::MAX || stop < total).then(|| tok.next());
    Bounds::Items { start, stop, next }
}

/// Go's `base64.URLEncoding.DecodeString` (padded, not strict), returning the offset Go reports
/// in `illegal base64 data at input byte N` on error.
fn go_base64_url_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'-' => Some(62),
            b'_' => Some(63),
            _ => None,
        }
    }
    let at = |i: usize| src.get(i).copied();
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0usize;
    loop {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0usize;
        let mut trailing_err = None;
        while j < 4 {
            let Some(c) = at(si) else {
                if j == 0 {
                    return Ok(out);
                }
                // Padding is required: a short final quantum is an error at its start.
                return Err(si - j);
            };
            si += 1;
            if let Some(v) = value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while matches!(at(si), Some(b'\n' | b'\r')) {
                        si += 1;
                    }
                    match at(si) {
                        None => return Err(src.len()),
                        Some(b'=') => si += 1,
                        Some(_) => return Err(si - 1),
                    }
                }
                _ => {}
            }
            while matches!(at(si), Some(b'\n' | b'\r')) {
                si += 1;
            }
            if si < src.len() {
                trailing_err = Some(si);
            }
            dlen = j;
            break;
        }
        let val = u32::from(dbuf[0]) << 18
            | u32::from(dbuf[1]) << 12
            | u32::from(dbuf[2]) << 6
            | u32::from(dbuf[3]);
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(bytes.get(..dlen - 1).unwrap_or_default());
        if let Some(pos) = trailing_err {
            return Err(pos);
        }
        if dlen < 4 {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for (limit, page) in [(100, 1), (100, 2), (50, 2), (1, 65535)] {
            let tok = PageToken { limit, page };
            assert_eq!(PageToken::decode(&tok.encode()), Ok(tok));
        }
        assert_eq!(
            PageToken {
                limit: 100,
                page: 9
            }
            .encode(),
            "ZAAJAA=="
        );
    }

    #[test]
    fn go_error_texts() {
        let err = |s: &str| PageToken::decode(s).unwrap_err();
        assert_eq!(err("garbage"), "illegal base64 data at input byte 4");
        assert_eq!(err(""), "EOF");
        assert_eq!(err("ZA=="), "unexpected EOF");
        assert_eq!(err("ZAAC"), "unexpected EOF");
        assert_eq!(err("ZA!A"), "illegal base64 data at input byte 2");
        assert_eq!(err("Z==="), "illegal base64 data at input byte 1");
        assert_eq!(err("ZA="), "illegal base64 data at input byte 3");
        assert_eq!(err("ZAACAA==x"), "illegal base64 data at input byte 8");
        assert_eq!(err("ZAACAA+/"), "illegal base64 data at input byte 6");
        // Standard-alphabet padding is fine; extra bytes after the first four are ignored.
        assert_eq!(
            PageToken::decode("ZAACAAAA").unwrap(),
            PageToken {
                limit: 100,
                page: 2
            }
        );
    }

    #[test]
    fn validation_texts() {
        let v = |s: &[&str]| {
            find_next_page_token(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 100)
        };
        assert_eq!(v(&[]), Ok(None));
        assert_eq!(v(&["MgACAA=="]).unwrap_err(), "token limit must be 100");
        assert_eq!(
            v(&["ZAAAAA=="]).unwrap_err(),
            "token page must be greater than zero"
        );
        assert_eq!(
            v(&["a", "b"]).unwrap_err(),
            "too many values for page token"
        );
    }

    #[test]
    fn page_arithmetic_wraps_like_go() {
        let t = |page| PageToken { limit: 100, page };
        assert_eq!(
            bounds(100, t(1)),
            Bounds::Items {
                start: 0,
                stop: 100,
                next: Some(t(2))
            }
        );
        assert_eq!(bounds(100, t(2)), Bounds::Empty);
        assert_eq!(bounds(0, t(1)), Bounds::Empty);
        // page 656: start 65500, stop wraps to 64 -> Go panics slicing.
        assert_eq!(bounds(70000, t(656)), Bounds::Panic);
        // page 700: start wraps to 4364 and stop to 4464.
        assert_eq!(
            bounds(5000, t(700)),
            Bounds::Items {
                start: 4364,
                stop: 4464,
                next: Some(t(701))
            }
        );
    }

    #[test]
    fn wide_paging_does_not_wrap() {
        let t = |page| PageToken { limit: 100, page };
        // 100,000 units: fleet's arithmetic fails at page 656, the wide one does not.
        assert_eq!(bounds(100_000, t(656)), Bounds::Panic);
        assert_eq!(
            wide_bounds(100_000, t(656)),
            Bounds::Items {
                start: 65_500,
                stop: 65_600,
                next: Some(t(657))
            }
        );
        // fleet's page 700 wraps into the first thousands; the wide one is where it says.
        assert_eq!(
            wide_bounds(100_000, t(700)),
            Bounds::Items {
                start: 69_900,
                stop: 70_000,
                next: Some(t(701))
            }
        );
        // The last page is full, so it still carries a token (as fleet's would), which names
        // an empty page.
        assert_eq!(
            wide_bounds(100_000, t(1000)),
            Bounds::Items {
                start: 99_900,
                stop: 100_000,
                next: Some(t(1001))
            }
        );
        assert_eq!(wide_bounds(100_000, t(1001)), Bounds::Empty);
        assert_eq!(
            wide_bounds(100_050, t(1001)),
            Bounds::Items {
                start: 100_000,
                stop: 100_050,
                next: None
            }
        );
        assert_eq!(wide_bounds(0, t(1)), Bounds::Empty);
        assert_eq!(wide_bounds(5, t(0)), Bounds::Empty);
        // Where fleet does not wrap, both agree.
        for total in [0, 1, 99, 100, 101, 250, 65_535] {
            for page in [1, 2, 3, 655] {
                assert_eq!(wide_bounds(total, t(page)), bounds(total, t(page)));
            }
        }
    }

    #[test]
    fn wide_paging_ends_at_the_last_page_a_token_can_name() {
        let last = PageToken {
            limit: 1,
            page: u16::MAX,
        };
        let total_exact = usize::from(u16::MAX);
        // Nothing follows: no token (a wrapped one would be rejected instead of answering `{}`).
        assert_eq!(
            wide_bounds(total_exact, last),
            Bounds::Items {
                start: total_exact - 1,
                stop: total_exact,
                next: None
            }
        );
        // More follows: the token wraps to page 0, which the server answers with a 400.
        assert_eq!(
            wide_bounds(total_exact + 1, last),
            Bounds::Items {
                start: total_exact - 1,
                stop: total_exact,
                next: Some(PageToken { limit: 1, page: 0 })
            }
        );
        assert_eq!(
            find_next_page_token(&[PageToken { limit: 1, page: 0 }.encode()], 1).unwrap_err(),
            "token page must be greater than zero"
        );
    }
}
