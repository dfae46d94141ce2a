//! Unit files exactly as fleet reads, writes and hashes them. Pure: no I/O.
//!
//! fleet parses unit files with go-systemd's `unit` package; this module follows that parser
//! option for option. See the module docs of [`parse`] for every difference from python-fleet.

mod hash;
mod parse;
mod serialize;

pub use hash::UnitHash;
pub use parse::parse;
pub use serialize::serialize;
