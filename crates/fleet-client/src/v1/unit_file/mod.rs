//! Unit files exactly as fleet reads, writes and hashes them. Pure: no I/O.
//!
//! fleet (v1.0.0, the reference) never sends unit-file text over its API: `fleetctl` parses
//! the file with go-systemd's `unit` package and sends the resulting options. Everything
//! here follows fleet's code, not systemd's documentation and not python-fleet:
//!
//! * [`parse`]: text to options, go-systemd's `unit.Deserialize` (the version fleet vendors);
//! * [`serialize`]: options to text, go-systemd's `unit.Serialize`;
//! * [`UnitHash`]: SHA-1 of the serialized text, fleet's `UnitFile.Hash()`;
//! * [`validate_unit_name`] and [`UnitName`]: fleet's API name check and `UnitNameInfo`;
//! * [`XFleet`]: the `[X-Fleet]` scheduling requirements as fleet's `job` package reads them,
//!   with [`validate_options`] reproducing the API server's checks and messages.
//!
//! # How fleet parses (see [`parse`] for the full rules)
//!
//! `[Section]` headers; `Name=Value` options, both trimmed, duplicates kept in order; `#` and
//! `;` comments; a value line ending in `\` continues on the next line **keeping** the
//! backslash, the newline and the next line; text before the first section is skipped; lines
//! of 2048 bytes or more are refused exactly where go-systemd refuses them.
//!
//! # Differences from python-fleet 0.1.3
//!
//! python-fleet's own line-based parser disagrees with fleet in many places; here fleet's
//! behaviour wins, because fleet (through `fleetctl`) decides what options, and so what hash,
//! a unit file has. In short, python-fleet:
//!
//! * drops the backslash of a continuation and glues the next line on (fleet keeps
//!   `\` + newline + line), skips blank and `#` lines inside a continuation and even appends
//!   lines after a new `[Section]` to the continued value;
//! * treats `;` lines as errors (fleet: comments) and does not continue comments ending in `\`;
//! * rejects any text outside a section, including a UTF-8 BOM (fleet skips it);
//! * rejects `[]` and accepts `[[Unit]]` as `Unit` (fleet: the opposite);
//! * keeps spaces around `=` in names and values (fleet trims them);
//! * splits lines at `\r`, `\v`, `\f`, U+0085, U+2028… (fleet: only at `\n`), so CRLF
//!   continuations work there and not in fleet;
//! * has no line limit;
//! * writes sections in random order without blank lines or a final newline.
//!
//! `docs/UNIT_FILES.md` has the full table, each entry checked by running both parsers.
//!
//! ```
//! use fleet::v1::unit_file::{self, UnitName, XFleet};
//! use fleet::v1::UnitHash;
//!
//! let text = "[Service]\nExecStart=/usr/bin/sleep 1d\n\n[X-Fleet]\nGlobal=true\n";
//! let options = unit_file::parse(text)?;
//! assert_eq!(unit_file::serialize(&options), text);
//! assert_eq!(UnitHash::of(&options).short(), "ced3e6a");
//! assert!(XFleet::from_options("global.service", &options).is_global());
//! assert!(UnitName::parse("global.service")?.suffix() == "service");
//! # Ok::<(), fleet::v1::Error>(())
//! ```

mod glob;
mod goquote;
mod hash;
mod name;
mod parse;
mod serialize;
mod xfleet;

pub use goquote::{go_quote, go_quote_rune};

pub use glob::glob_match;
pub use hash::UnitHash;
pub use name::{validate_unit_name, UnitName, TEMPLATE_UNIT_TYPES, UNIT_NAME_MAX, UNIT_TYPES};
pub use parse::{parse, LINE_MAX};
pub use serialize::serialize;
pub use xfleet::{validate_options, XFleet, KNOWN_REQUIREMENTS, XFLEET_SECTION};
