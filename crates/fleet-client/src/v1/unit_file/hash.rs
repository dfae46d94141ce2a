//! [`UnitHash`]: fleet's SHA-1 of a unit file.

use std::fmt;
use std::str::FromStr;

use crate::v1::{Error, UnitOption};

/// fleet's hash of a unit: the SHA-1 of its serialized unit file.
///
/// This is fleet's `unit.UnitFile.Hash()`: `sha1.Sum(unit.Serialize(options))`, where the
/// serialization is [`serialize`](super::serialize). It is the `hash` field of fleet's unit
/// states. Two option lists with the same hash are the same unit file to fleet (that is how
/// fleet's API decides whether a `PUT` replaces a unit).
///
/// Its `Display` is 40 lowercase hex characters (Go's `%x`); [`short`](UnitHash::short) is
/// the first 7 of them, as `fleetctl list-unit-files` prints it. It parses back from 40 hex
/// characters of either case, like fleet's `HashFromHexString`.
///
/// ```
/// use fleet::v1::{unit_file, UnitHash};
///
/// // fleet's own test vector (unit/unit_test.go, TestUnitHash)
/// let options = unit_file::parse("[Service]\nExecStart=/bin/sleep 100\n").unwrap();
/// let hash = UnitHash::of(&options);
/// assert_eq!(hash.to_string(), "1c6fb6f3684bafb0c173d8b8b957ceff031180c1");
/// assert_eq!(hash.short(), "1c6fb6f");
/// assert_eq!("1c6fb6f3684bafb0c173d8b8b957ceff031180c1".parse::<UnitHash>().unwrap(), hash);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct UnitHash([u8; 20]);

impl UnitHash {
    /// The hash of a unit with these options: SHA-1 over [`serialize`](super::serialize)`(options)`.
    ///
    /// ```
    /// use fleet::v1::{UnitHash, UnitOption};
    /// let opts = [UnitOption::new("Service", "ExecStart", "/usr/bin/sleep 1d"),
    ///             UnitOption::new("X-Fleet", "Global", "true")];
    /// // the hash fleet v1.0.0 reported for this unit (fixture state-list.json)
    /// assert_eq!(UnitHash::of(&opts).to_string(), "ced3e6ac28b7e35fb409299852c534fb1126445d");
    /// ```
    pub fn of(options: &[UnitOption]) -> UnitHash {
        UnitHash::of_text(&super::serialize(options))
    }

    /// The SHA-1 of unit-file text as it is, without parsing it. Equal to
    /// [`UnitHash::of`] the parsed options only when the text is already in fleet's
    /// serialized form.
    ///
    /// ```
    /// use fleet::v1::UnitHash;
    /// assert_eq!(UnitHash::of_text("[Service]\nExecStart=/bin/sleep 100\n").short(), "1c6fb6f");
    /// ```
    pub fn of_text(text: &str) -> UnitHash {
        use sha1::{Digest, Sha1};
        UnitHash(Sha1::digest(text.as_bytes()).into())
    }

    /// A hash from its raw 20 bytes.
    ///
    /// ```
    /// use fleet::v1::UnitHash;
    /// let h = UnitHash::from_bytes([0xab; 20]);
    /// assert_eq!(h.as_bytes(), &[0xab; 20]);
    /// ```
    pub const fn from_bytes(bytes: [u8; 20]) -> UnitHash {
        UnitHash(bytes)
    }

    /// The raw 20 bytes.
    ///
    /// ```
    /// use fleet::v1::UnitHash;
    /// assert_eq!(UnitHash::default().as_bytes(), &[0u8; 20]);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The first 7 hex characters, as fleet's `Hash.Short()` and `fleetctl list-unit-files`.
    ///
    /// ```
    /// use fleet::v1::UnitHash;
    /// let h: UnitHash = "5c53d90a64eef576c4622d74bd37a9d2efcb6a4e".parse().unwrap();
    /// assert_eq!(h.short(), "5c53d90");
    /// ```
    pub fn short(&self) -> String {
        let mut s = self.to_string();
        s.truncate(7);
        s
    }

    /// Whether this is the all-zero hash (fleet's `Hash.Empty()`), which no real unit has.
    ///
    /// ```
    /// use fleet::v1::UnitHash;
    /// assert!(UnitHash::default().is_empty());
    /// assert!(!UnitHash::of(&[]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 20]
    }
}

impl fmt::Display for UnitHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for UnitHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitHash({self})")
    }
}

impl FromStr for UnitHash {
    type Err = Error;

    /// Parse 40 hex characters (either case), as fleet's `HashFromHexString`.
    ///
    /// Errors are [`Error::InvalidArgument`].
    ///
    /// ```
    /// use fleet::v1::UnitHash;
    /// assert!("1C6FB6F3684BAFB0C173D8B8B957CEFF031180C1".parse::<UnitHash>().is_ok());
    /// let err = "1c6fb6f".parse::<UnitHash>().unwrap_err();
    /// assert!(err.to_string().contains("40 hex characters"));
    /// ```
    fn from_str(s: &str) -> Result<UnitHash, Error> {
        let bad = |why: &str| {
            Error::InvalidArgument(format!(
                "invalid unit hash {s:?}: {why} (expected 40 hex characters)"
            ))
        };
        if s.len() != 40 {
            return Err(bad(&format!("length {}", s.len())));
        }
        let mut out = [0u8; 20];
        let digits = s.as_bytes();
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let mut value = 0u8;
            for &c in pair {
                let d = match c {
                    b'0'..=b'9' => c - b'0',
                    b'a'..=b'f' => c - b'a' + 10,
                    b'A'..=b'F' => c - b'A' + 10,
                    _ => return Err(bad(&format!("{:?} is not a hex digit", char::from(c)))),
                };
                value = value << 4 | d;
            }
            *byte = value;
        }
        Ok(UnitHash(out))
    }
}

impl From<[u8; 20]> for UnitHash {
    fn from(bytes: [u8; 20]) -> UnitHash {
        UnitHash(bytes)
    }
}
