use std::fmt;

use crate::v1::UnitOption;

/// fleet's hash of a unit: the SHA-1 of its serialized unit file.
///
/// Its `Display` is 40 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitHash([u8; 20]);

impl UnitHash {
    /// The hash of a unit with these options.
    pub fn of(options: &[UnitOption]) -> UnitHash {
        use sha1::{Digest, Sha1};
        let text = super::serialize(options);
        UnitHash(Sha1::digest(text.as_bytes()).into())
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
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
