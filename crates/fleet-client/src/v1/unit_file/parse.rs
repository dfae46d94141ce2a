//! Unit-file text to options, exactly as fleet v1.0.0 reads it (go-systemd's `unit.Deserialize`
//! at the version fleet vendors).
//!
//! go-systemd's deserializer is a small lexer reading runes from a 4096-byte `bufio.Reader`.
//! This module reproduces it step for step, including the one place where the buffer shows
//! through: the 2048-byte line limit is checked only at the start of a lexer step, and only
//! when at least 2048 bytes are buffered. The buffer is simulated exactly (it is just an
//! "end of buffered data" offset), so a long line is refused exactly when fleet refuses it.

use crate::v1::{Error, Result, UnitOption};

/// systemd's `LINE_MAX`, go-systemd's `SYSTEMD_LINE_MAX`: the line length (in bytes,
/// counting from the line start up to but excluding its newline) that fleet refuses.
///
/// ```
/// use fleet::v1::unit_file::{parse, LINE_MAX};
/// let line = format!("[Service]\nExecStart={}\n", "x".repeat(LINE_MAX));
/// assert!(parse(&line).is_err());
/// ```
pub const LINE_MAX: usize = 2048;

/// `bufio.Reader`'s default size, which go-systemd's lexer uses.
const BUFIO_SIZE: usize = 4096;

/// Parse unit-file text into options, exactly as fleet does (`fleetctl submit` calls
/// `unit.NewUnitFile`, which is go-systemd's `unit.Deserialize`).
///
/// The rules, all fleet's:
///
/// * `[Section]` starts a section. The name is everything up to the next `]` (even across
///   lines, kept as is); anything but whitespace after the `]` is an error.
/// * `Name=Value` is an option. Name and value are trimmed of (Unicode) whitespace; the value
///   may be empty. Duplicate names are all kept, in order.
/// * A line whose first non-blank character is `#` or `;` is a comment. A comment ending in
///   `\` (or `\ `) continues onto the next line, which is ignored too.
/// * A value line ending in `\` continues on the next line; the backslash, the newline and
///   the next line (with its leading whitespace) are all **kept** in the value. A blank line
///   ends a continued value, leaving a trailing `\n` in it. A continuation line is never a
///   comment or a section header.
/// * Text before the first section is skipped character by character — but a `[` anywhere
///   in it starts a section and a `#`/`;` anywhere starts a comment. A leading UTF-8 BOM is
///   skipped that way.
/// * A line of 2048 bytes or more is an error ("line too long (max 2048 bytes)") when fleet's
///   4096-byte read buffer holds at least 2048 bytes of it at the start of a lexer step; this
///   is always the case for such a line in the first ~2 KiB of the file, but not always
///   later (fleet's own quirk, reproduced byte for byte).
/// * CRLF: only `\n` ends a line; the `\r` stays in the line, where value trimming removes
///   it. So a `\` before CRLF is **not** a continuation, and a `\r` in an option name (a line
///   without `=`) is an error.
///
/// Errors are [`Error::InvalidUnit`] with the 1-based line number.
///
/// ```
/// use fleet::v1::{unit_file, Error, UnitOption};
///
/// let opts = unit_file::parse("\
/// ; comment
/// [Unit]
/// Description = Hello \\
///     World
/// [Service]
/// ExecStart=/usr/bin/sleep 1d
/// ").unwrap();
/// assert_eq!(opts, [
///     UnitOption::new("Unit", "Description", "Hello \\\n    World"),
///     UnitOption::new("Service", "ExecStart", "/usr/bin/sleep 1d"),
/// ]);
///
/// match unit_file::parse("[Unit]\nDescription\n") {
///     Err(Error::InvalidUnit { line, message, .. }) => {
///         assert_eq!(line, Some(2));
///         assert!(message.starts_with("unexpected newline encountered while parsing option name"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
pub fn parse(text: &str) -> Result<Vec<UnitOption>> {
    parse_raw(text).map_err(|e| Error::InvalidUnit {
        file: None,
        line: Some(e.line),
        message: e.message(),
    })
}

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// 1-based line.
    pub line: usize,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    LineTooLong,
    UnterminatedSection,
    GarbageAfterSection { section: String, garbage: String },
    NewlineInOptionName { partial: String },
    EofInOptionName { partial: String },
}

impl ParseError {
    /// A clear message (fleet's text, with the detail it lacks).
    pub(crate) fn message(&self) -> String {
        match &self.kind {
            ErrorKind::LineTooLong => format!("line too long (max {LINE_MAX} bytes)"),
            ErrorKind::UnterminatedSection => {
                "unable to find end of section (a \"[\" without a closing \"]\")".into()
            }
            ErrorKind::GarbageAfterSection { section, garbage } => {
                format!("found garbage after section name [{section}]: {garbage:?}")
            }
            ErrorKind::NewlineInOptionName { partial } => format!(
                "unexpected newline encountered while parsing option name {:?} (an option line needs \"=\")",
                partial.trim()
            ),
            ErrorKind::EofInOptionName { partial } => format!(
                "unexpected end of file while parsing option name {:?} (an option line needs \"=\")",
                partial.trim()
            ),
        }
    }

    /// go-systemd's error text, to the letter (what fleet's API puts in a 400).
    pub(crate) fn fleet_message(&self) -> String {
        match &self.kind {
            ErrorKind::LineTooLong => format!("line too long (max {LINE_MAX} bytes)"),
            ErrorKind::UnterminatedSection => "unable to find end of section".into(),
            // go-systemd prints its (never set) lexer section and the garbage with %v of []byte.
            ErrorKind::GarbageAfterSection { garbage, .. } => {
                let bytes: Vec<String> = garbage.bytes().map(|b| b.to_string()).collect();
                format!("found garbage after section name : [{}]", bytes.join(" "))
            }
            ErrorKind::NewlineInOptionName { .. } => {
                "unexpected newline encountered while parsing option name".into()
            }
            ErrorKind::EofInOptionName { .. } => "EOF".into(),
        }
    }
}

/// The lexer states of go-systemd's deserializer; one `Step` is one call of a `lexStep`.
enum Step {
    /// Before the first section (`lexNextSection`).
    NextSection,
    /// After `[` (`lexSectionName`).
    SectionName,
    /// After `]` (`lexSectionSuffixFunc`).
    SectionSuffix { at: usize },
    /// Inside a section (`lexNextSectionOrOptionFunc`).
    NextSectionOrOption,
    /// At the first character of an option name (`lexOptionNameFunc`).
    OptionName,
    /// After `=` (`lexOptionValueFunc`). The value read so far (continued lines, each
    /// with its `\n`) is always the source text `start..end`.
    OptionValue {
        name: String,
        start: usize,
        end: usize,
    },
    /// After `#` or `;` (`ignoreLineFunc`); then back to the section or pre-section state.
    IgnoreLine { in_section: bool },
}

struct Lexer<'a> {
    text: &'a str,
    src: &'a [u8],
    /// Read position (`bufio.Reader.r`, as an offset into `src`).
    pos: usize,
    /// End of the data in the simulated read buffer (`bufio.Reader.w`, as an offset).
    end: usize,
    /// Cached offset of the first `\r` or `\n` at or after some earlier step start.
    next_newline: usize,
    newline_valid_from: usize,
    section: String,
    /// The first options, kept here so that the result is allocated after their strings
    /// (see [`Lexer::emit`]).
    head: [Option<UnitOption>; HEAD],
    head_len: usize,
    /// Capacity for `out` once `head` is full (an upper bound on the options).
    capacity: usize,
    /// The options, once there are more than `HEAD`.
    out: Vec<UnitOption>,
}

/// Options held before the result vector is allocated: a typical unit fits.
const HEAD: usize = 64;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `word` equal to the byte repeated in `pattern` (`LO *
/// byte`), and possibly of some bytes above such a byte; the lowest flag is always exact.
#[inline(always)]
fn flag_equal(word: u64, pattern: u64) -> u64 {
    let x = word ^ pattern;
    x.wrapping_sub(LO) & !x & HI
}

/// Offset of the first byte in `hay` that `is_match` accepts, testing 8 bytes at a time
/// with `flags` (which flags every matching byte of a little-endian word, as
/// [`flag_equal`] does): `memchr` in safe code, without the dependency.
#[inline(always)]
fn find_with(
    hay: &[u8],
    flags: impl Fn(u64) -> u64,
    is_match: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let found = flags(<[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes));
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| is_match(b))
        .map(|i| offset + i)
}

/// Offset of the first `needle` in `hay`.
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pattern = LO * u64::from(needle);
    find_with(hay, |w| flag_equal(w, pattern), |b| b == needle)
}

/// Offset of the first `=`, `\n` or `\r` in `hay`: the end of an option name.
fn find_name_end(hay: &[u8]) -> Option<usize> {
    find_with(
        hay,
        |w| {
            flag_equal(w, LO * u64::from(b'='))
                | flag_equal(w, LO * u64::from(b'\n'))
                | flag_equal(w, LO * u64::from(b'\r'))
        },
        |b| matches!(b, b'=' | b'\n' | b'\r'),
    )
}

/// Trim Unicode whitespace like Go's `strings.TrimSpace`, with a fast path for the usual
/// case of no surrounding whitespace.
fn trim(s: &str) -> &str {
    let bytes = s.as_bytes();
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x80);
    if plain(bytes.first()) && plain(bytes.last()) {
        s
    } else {
        s.trim()
    }
}

/// Whether `s` is empty or all (Unicode) whitespace: `trim(s).is_empty()`, with a byte loop
/// up to the first non-blank ASCII character.
fn is_blank(s: &str) -> bool {
    for &b in s.as_bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {}
            0x80.. => return s.trim().is_empty(),
            _ => return false,
        }
    }
    true
}

pub(crate) fn parse_raw(text: &str) -> std::result::Result<Vec<UnitOption>, ParseError> {
    let (capacity, short) = prescan(text.as_bytes());
    parse_sized(text, short, capacity)
}

/// Parse with the line-oriented fast path (`fast`, valid only when [`lines_are_short`]) or
/// with the step-by-step lexer that simulates fleet's read buffer.
#[cfg(test)]
fn parse_with(text: &str, fast: bool) -> std::result::Result<Vec<UnitOption>, ParseError> {
    parse_sized(text, fast, max_options(text.as_bytes()))
}

/// [`parse_with`], the result sized for `capacity` options (an upper bound).
fn parse_sized(
    text: &str,
    fast: bool,
    capacity: usize,
) -> std::result::Result<Vec<UnitOption>, ParseError> {
    let mut lexer = Lexer {
        text,
        src: text.as_bytes(),
        pos: 0,
        end: 0,
        next_newline: 0,
        newline_valid_from: usize::MAX,
        section: String::new(),
        head: [const { None }; HEAD],
        head_len: 0,
        capacity,
        out: Vec::new(),
    };
    let result = if fast { lexer.run_fast() } else { lexer.run() };
    match result {
        Ok(()) => Ok(lexer.finish()),
        Err((at, kind)) => Err(ParseError {
            line: line_of(lexer.src, at),
            kind,
        }),
    }
}

/// Whether every run of bytes without a `\n` is shorter than [`LINE_MAX`]. Then no start
/// position has [`LINE_MAX`] bytes after it without a newline, so fleet's line-length check
/// can never fail, whatever its read buffer holds, and the buffer need not be simulated.
fn lines_are_short(src: &[u8]) -> bool {
    if src.len() < LINE_MAX {
        return true;
    }
    let mut start = 0;
    while let Some(rest) = src.get(start..) {
        match find_byte(rest, b'\n') {
            Some(i) if i < LINE_MAX => start += i + 1,
            Some(_) => return false,
            None => return rest.len() < LINE_MAX,
        }
    }
    true
}

/// An upper bound on the number of options in `src`, to size the result once: every
/// option has an `=` and ends its line.
#[cfg(test)]
fn max_options(src: &[u8]) -> usize {
    prescan(src).0
}

/// One pass over the text: [`max_options`], and whether [`lines_are_short`] holds.
///
/// The second is decided from the newline counts of aligned blocks of at most
/// `LINE_MAX / 2` bytes: a run of [`LINE_MAX`] bytes without a `\n` contains a whole
/// block, so when every block has a `\n`, every line is short. Only otherwise (a long line,
/// or a long stretch of text without newlines) does [`lines_are_short`] look closer.
fn prescan(src: &[u8]) -> (usize, bool) {
    // Runs of 128 bytes: byte-wide counters cannot overflow, and the compiler turns the
    // counting into vector code with no scalar remainder.
    const RUN: usize = 128;
    const BLOCK: usize = 8 * RUN;
    const _: () = assert!(2 * BLOCK <= LINE_MAX);
    let count = |bytes: &[u8]| {
        let (mut equals, mut newlines) = (0u8, 0u8);
        for &b in bytes {
            equals += u8::from(b == b'=');
            newlines += u8::from(b == b'\n');
        }
        (usize::from(equals), usize::from(newlines))
    };
    let (mut equals, mut newlines) = (0usize, 0usize);
    let mut every_block_has_newline = true;
    let mut blocks = src.chunks_exact(BLOCK);
    for block in &mut blocks {
        let mut block_newlines = 0;
        for run in block.chunks_exact(RUN) {
            let (e, n) = count(run);
            equals += e;
            block_newlines += n;
        }
        every_block_has_newline &= block_newlines != 0;
        newlines += block_newlines;
    }
    for run in blocks.remainder().chunks(RUN) {
        let (e, n) = count(run);
        equals += e;
        newlines += n;
    }
    let short = src.len() < LINE_MAX || every_block_has_newline || lines_are_short(src);
    (equals.min(newlines + 1), short)
}

/// An option's value from its source text: trimmed, keeping one final `\n` if it had one (a
/// continuation ended by a blank line or by the end of the text after a newline).
fn value_string(value: &str) -> String {
    if value.ends_with('\n') {
        let trimmed = trim(value);
        let mut v = String::with_capacity(trimmed.len() + 1);
        v.push_str(trimmed);
        v.push('\n');
        v
    } else {
        trim(value).to_string()
    }
}

/// 1-based line number of byte offset `at`.
fn line_of(src: &[u8], at: usize) -> usize {
    1 + src
        .get(..at.min(src.len()))
        .unwrap_or(&[])
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

type LexResult<T> = std::result::Result<T, (usize, ErrorKind)>;

impl<'a> Lexer<'a> {
    fn run(&mut self) -> LexResult<()> {
        let mut step = Step::NextSection;
        loop {
            self.check_line_max()?;
            step = match self.step(step)? {
                Some(next) => next,
                None => return Ok(()),
            };
        }
    }

    /// The check go-systemd runs before every step: with at least `LINE_MAX` bytes
    /// buffered, the next `LINE_MAX` bytes must hold a `\r` or `\n`.
    fn check_line_max(&mut self) -> LexResult<()> {
        if self.end.saturating_sub(self.pos) < LINE_MAX {
            return Ok(());
        }
        if self.newline_valid_from > self.pos || self.next_newline < self.pos {
            let rest = self.src.get(self.pos..).unwrap_or(&[]);
            self.next_newline = self.pos + find_byte(rest, b'\n').unwrap_or(rest.len());
            self.newline_valid_from = self.pos;
        }
        if self.next_newline >= self.pos + LINE_MAX {
            // No "\n" in the window; a "\r" also counts (rare: look only now).
            let window = self.src.get(self.pos..self.pos + LINE_MAX).unwrap_or(&[]);
            if find_byte(window, b'\r').is_none() {
                return Err((self.pos, ErrorKind::LineTooLong));
            }
        }
        Ok(())
    }

    /// `bufio.Reader.fill` with the read position at `from`.
    fn fill(&mut self, from: usize) {
        self.end = (from + BUFIO_SIZE).min(self.src.len());
    }

    /// Start of the character containing byte `i` (or `i` itself at a boundary / the end).
    fn char_start(&self, mut i: usize) -> usize {
        while i > 0 && i < self.src.len() && !self.text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    /// Account for the buffer refills `bufio.Reader.ReadRune` makes while reading every
    /// character from `self.pos` up to and including the one starting at `last`.
    fn fill_for_runes_through(&mut self, last: usize) {
        while self.end < self.src.len() {
            // The first rune not wholly buffered is the one containing byte `end`.
            let q = self.char_start(self.end);
            if q > last {
                break;
            }
            self.fill(q);
        }
    }

    /// `ReadRune`: the next character, or `None` at the end.
    fn read_rune(&mut self) -> Option<char> {
        let first = *self.src.get(self.pos)?;
        let c = if first < 0x80 {
            char::from(first)
        } else {
            self.text.get(self.pos..)?.chars().next()?
        };
        let w = c.len_utf8();
        if self.pos + w > self.end {
            self.fill(self.pos);
        }
        self.pos += w;
        Some(c)
    }

    /// `ReadBytes(delim)`: the bytes up to and including `delim`, or to the end; whether
    /// `delim` was found. Keeps the buffer simulation in step.
    fn read_until(&mut self, delim: u8) -> (usize, usize, bool) {
        let start = self.pos;
        let mut fragment_start = self.pos;
        let mut scanned = self.pos;
        loop {
            // The line-limit check may already know where the next "\n" is.
            let known = delim == b'\n'
                && self.newline_valid_from <= scanned
                && self.next_newline >= scanned
                && self.src.get(self.next_newline) == Some(&b'\n');
            let found = if known {
                (self.next_newline < self.end).then(|| self.next_newline - scanned)
            } else {
                let window = self.src.get(scanned..self.end).unwrap_or(&[]);
                find_byte(window, delim)
            };
            if let Some(i) = found {
                self.pos = scanned + i + 1;
                return (start, self.pos, true);
            }
            scanned = self.end;
            if self.end >= self.src.len() {
                self.pos = self.src.len();
                return (start, self.pos, false);
            }
            if self.end - fragment_start >= BUFIO_SIZE {
                // ErrBufferFull: the fragment is taken, reading restarts at the buffer end.
                fragment_start = self.end;
            }
            self.fill(fragment_start);
        }
    }

    /// go-systemd's `toEOL`: the rest of the line without its final `\n` (and without a final
    /// `\r` only when there is no `\n`, i.e. at the end of the text); whether the text ended.
    fn read_line(&mut self) -> (&'a str, bool) {
        let (start, stop, found) = self.read_until(b'\n');
        let mut line = self.text.get(start..stop).unwrap_or("");
        if let Some(l) = line.strip_suffix('\r') {
            line = l;
        }
        if let Some(l) = line.strip_suffix('\n') {
            line = l;
        }
        (line, !found)
    }

    /// The whole lexer for text where [`lines_are_short`] holds: the same states and the
    /// same results as [`Lexer::run`], a line at a time, without the buffer simulation.
    fn run_fast(&mut self) -> LexResult<()> {
        let src = self.src;
        let mut pos = self.pos;
        // Before the first section (`lexNextSection`): only "[", "#" and ";" matter, and
        // they are ASCII, so a byte search finds the same character the rune loop would.
        loop {
            let rest = src.get(pos..).unwrap_or(&[]);
            let Some(i) = rest.iter().position(|&b| matches!(b, b'[' | b'#' | b';')) else {
                return Ok(());
            };
            let found = rest.get(i).copied();
            pos += i + 1;
            if found == Some(b'[') {
                pos = self.section_fast(pos)?;
                break;
            }
            pos = self.ignore_line_fast(pos);
        }
        // Inside a section (`lexNextSectionOrOption`).
        loop {
            let Some(&b) = src.get(pos) else {
                return Ok(());
            };
            pos = match b {
                b'\n' | b' ' | b'\t' | b'\r' | 0x0b | 0x0c => pos + 1,
                b'[' => self.section_fast(pos + 1)?,
                b'#' | b';' => self.ignore_line_fast(pos + 1),
                0..=0x7f => self.option_fast(pos)?,
                _ => match self.text.get(pos..).and_then(|t| t.chars().next()) {
                    Some(c) if c.is_whitespace() => pos + c.len_utf8(),
                    _ => self.option_fast(pos)?,
                },
            };
        }
    }

    /// `toEOL` without the buffer: the line from `pos` without its `\n` (or, at the end of
    /// the text, without a final `\r`), where the next line starts, and whether the text ended.
    #[inline(always)]
    fn line_fast(&self, pos: usize) -> (&'a str, usize, bool) {
        let rest = self.text.get(pos..).unwrap_or("");
        match find_byte(rest.as_bytes(), b'\n') {
            Some(i) => (rest.get(..i).unwrap_or(""), pos + i + 1, false),
            None => (
                rest.strip_suffix('\r').unwrap_or(rest),
                self.src.len(),
                true,
            ),
        }
    }

    /// After `[` (at `pos`): the section name up to `]`, then the rest of that line, which
    /// must be blank. Returns where the next line starts.
    fn section_fast(&mut self, pos: usize) -> LexResult<usize> {
        let open = pos.saturating_sub(1);
        let rest = self.src.get(pos..).unwrap_or(&[]);
        let Some(i) = find_byte(rest, b']') else {
            return Err((open, ErrorKind::UnterminatedSection));
        };
        let close = pos + i;
        // Reuse the section string's buffer; each option gets its own copy anyway.
        self.section.clear();
        self.section
            .push_str(self.text.get(pos..close).unwrap_or(""));
        let (line, next, _) = self.line_fast(close + 1);
        let garbage = trim(line);
        if garbage.is_empty() {
            Ok(next)
        } else {
            Err((
                close,
                ErrorKind::GarbageAfterSection {
                    section: self.section.clone(),
                    garbage: garbage.to_string(),
                },
            ))
        }
    }

    /// After `#` or `;` (at `pos`): skip the line, and the next ones while a line ends in
    /// `\` or `\ `. Returns where the next line starts.
    fn ignore_line_fast(&self, mut pos: usize) -> usize {
        loop {
            let (line, next, _) = self.line_fast(pos);
            pos = next;
            let line = line.strip_suffix(' ').unwrap_or(line);
            if !line.ends_with('\\') {
                return pos;
            }
        }
    }

    /// An option at `start`: the name up to `=`, then the value with its continuation
    /// lines. Returns where the next line starts.
    #[inline(always)]
    fn option_fast(&mut self, start: usize) -> LexResult<usize> {
        let rest = self.src.get(start..).unwrap_or(&[]);
        let stop = find_name_end(rest).map_or(self.src.len(), |i| start + i);
        let partial = self.text.get(start..stop).unwrap_or("");
        if self.src.get(stop) != Some(&b'=') {
            let partial = partial.to_string();
            return Err((
                start,
                if stop < self.src.len() {
                    ErrorKind::NewlineInOptionName { partial }
                } else {
                    ErrorKind::EofInOptionName { partial }
                },
            ));
        }
        let name = trim(partial).to_string();
        // The usual case: a value on one line.
        let value_start = stop + 1;
        let (line, mut next, mut eof) = self.line_fast(value_start);
        let value = trim(line);
        if value.is_empty() || !line.ends_with('\\') {
            self.emit(name, value.to_string());
            return Ok(next);
        }
        // A continued value: it is always the source text `value_start..value_end` (see
        // `Step::OptionValue`), with the `\n` of every continued line.
        let mut value_end = value_start + line.len();
        loop {
            if !eof {
                value_end += 1;
            }
            let line_start = next;
            let (line, line_next, line_eof) = self.line_fast(line_start);
            (next, eof) = (line_next, line_eof);
            if is_blank(line) {
                let value = self.text.get(value_start..value_end).unwrap_or("");
                self.emit(name, value_string(value));
                return Ok(next);
            }
            value_end = line_start + line.len();
            if !line.ends_with('\\') {
                let value = self.text.get(value_start..value_end).unwrap_or(line);
                self.emit(name, value_string(value));
                return Ok(next);
            }
        }
    }

    fn step(&mut self, step: Step) -> LexResult<Option<Step>> {
        Ok(Some(match step {
            Step::NextSection => match self.read_rune() {
                None => return Ok(None),
                Some('[') => Step::SectionName,
                Some('#' | ';') => Step::IgnoreLine { in_section: false },
                Some(_) => Step::NextSection,
            },
            Step::SectionName => {
                let open = self.pos.saturating_sub(1);
                let (start, stop, found) = self.read_until(b']');
                if !found {
                    return Err((open, ErrorKind::UnterminatedSection));
                }
                self.section = self.text.get(start..stop - 1).unwrap_or("").to_string();
                Step::SectionSuffix { at: stop - 1 }
            }
            Step::SectionSuffix { at } => {
                let (line, _) = self.read_line();
                let garbage = trim(line);
                if !garbage.is_empty() {
                    return Err((
                        at,
                        ErrorKind::GarbageAfterSection {
                            section: self.section.clone(),
                            garbage: garbage.to_string(),
                        },
                    ));
                }
                Step::NextSectionOrOption
            }
            Step::NextSectionOrOption => {
                let before = self.pos;
                match self.read_rune() {
                    None => return Ok(None),
                    Some(c) if c.is_whitespace() => Step::NextSectionOrOption,
                    Some('[') => Step::SectionName,
                    Some('#' | ';') => Step::IgnoreLine { in_section: true },
                    Some(_) => {
                        self.pos = before; // UnreadRune
                        Step::OptionName
                    }
                }
            }
            Step::OptionName => {
                let start = self.pos;
                let rest = self.src.get(start..).unwrap_or(&[]);
                let stop = rest
                    .iter()
                    .position(|&b| b == b'=' || b == b'\n' || b == b'\r')
                    .map_or(self.src.len(), |i| start + i);
                self.fill_for_runes_through(stop);
                let partial = self.text.get(start..stop).unwrap_or("");
                match self.src.get(stop) {
                    Some(b'=') => {
                        self.pos = stop + 1;
                        Step::OptionValue {
                            name: trim(partial).to_string(),
                            start: self.pos,
                            end: self.pos,
                        }
                    }
                    Some(_) => {
                        self.pos = stop + 1;
                        return Err((
                            start,
                            ErrorKind::NewlineInOptionName {
                                partial: partial.to_string(),
                            },
                        ));
                    }
                    None => {
                        self.pos = stop;
                        return Err((
                            start,
                            ErrorKind::EofInOptionName {
                                partial: partial.to_string(),
                            },
                        ));
                    }
                }
            }
            Step::OptionValue { name, start, end } => {
                // go-systemd appends each line and a "\n" after every continued one; those
                // are exactly the source bytes, so the value is a slice of the text.
                let line_start = self.pos;
                let (line, eof) = self.read_line();
                let so_far = self.text.get(start..end).unwrap_or("");
                if trim(line).is_empty() {
                    self.emit(name, value_string(so_far));
                    return Ok(Some(Step::NextSectionOrOption));
                }
                let line_end = line_start + line.len();
                if !line.ends_with('\\') {
                    let value = self.text.get(start..line_end).unwrap_or(line);
                    self.emit(name, value_string(value));
                    return Ok(Some(Step::NextSectionOrOption));
                }
                Step::OptionValue {
                    name,
                    start,
                    end: if eof { line_end } else { line_end + 1 },
                }
            }
            Step::IgnoreLine { in_section } => {
                loop {
                    let (line, _) = self.read_line();
                    let line = line.strip_suffix(' ').unwrap_or(line);
                    if !line.ends_with('\\') {
                        break;
                    }
                }
                if in_section {
                    Step::NextSectionOrOption
                } else {
                    Step::NextSection
                }
            }
        }))
    }

    /// Emit an option.
    #[inline(always)]
    fn emit(&mut self, name: String, value: String) {
        let option = UnitOption {
            section: self.section.clone(),
            name,
            value,
        };
        if self.out.len() < self.out.capacity() {
            self.out.push(option);
        } else {
            self.emit_first(option);
        }
    }

    /// [`Lexer::emit`] while the result vector is not allocated yet (or full, which the
    /// upper bound it is sized with rules out).
    #[inline(never)]
    fn emit_first(&mut self, option: UnitOption) {
        // The result vector is allocated last for a unit of up to `HEAD` options (and
        // with its exact size). Allocated first, it is the one allocation too big for
        // glibc's fast bins, and requesting it merges all the small blocks the caller has
        // freed (typically the previous unit's strings) just before the many small string
        // allocations that could have reused them; that made up a third of the parse time.
        if self.out.capacity() == 0 {
            if let Some(slot) = self.head.get_mut(self.head_len) {
                *slot = Some(option);
                self.head_len += 1;
                return;
            }
            self.out.reserve_exact(self.capacity.max(HEAD + 1));
            self.out
                .extend(self.head.iter_mut().filter_map(Option::take));
        }
        self.out.push(option);
    }

    /// All options, in order.
    fn finish(mut self) -> Vec<UnitOption> {
        if self.out.capacity() == 0 {
            let head = self.head.get_mut(..self.head_len).unwrap_or(&mut []);
            let mut out = Vec::with_capacity(head.len());
            out.extend(head.iter_mut().filter_map(Option::take));
            out
        } else {
            self.out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fast path and the buffer-simulating lexer agree (options, or error line and kind).
    #[track_caller]
    fn same_both_ways(text: &str) {
        assert!(lines_are_short(text.as_bytes()), "{text:?}");
        let fast = parse_with(text, true);
        let exact = parse_with(text, false);
        assert_eq!(fast, exact, "{text:?}");
        if let Ok(options) = &fast {
            assert!(options.len() <= max_options(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn fast_path_edges() {
        let long = "x".repeat(LINE_MAX - 1);
        for text in [
            "",
            "[",
            "[Unit",
            "[Unit]",
            "[Unit] x\n",
            "[Unit]\r\nA=b\r\n",
            "[Unit]\nA=b \\\r\nc=d\r\n",
            "[Unit]\nA=b \\\n  c\n",
            "[Unit]\nA=b \\\n  c \\\n\nD=e\n",
            "[Unit]\nA=b \\",
            "[Unit]\nA=b \\\n",
            "[Unit]\nA=b \\\r",
            "[Unit]\nA=b\r",
            "[Unit]\nA\n",
            "[Unit]\nA\r\n",
            "[Unit]\nA",
            "[Unit]\n=\n",
            "[Unit]\n \t\u{a0}\u{2028}A = b \u{a0}\n",
            "[Unit]\n\u{feff}A=b\n",
            "\u{feff}[Unit]\nA=b\n",
            "x # y \\\n[Unit]\n;c \\ \nA=b\n[Unit]\nA=c\n",
            "[Unit]\n# a \\\n b=c\nD=e\n",
            "[Un\nit]\nA=b\n",
            "[Unit]\nA=é☃😀 \\\n😀\n",
            "[A]\n[B]\nC=d\n[A]\nE=f",
        ] {
            same_both_ways(text);
        }
        // Lines just under the limit, at the start and past fleet's first buffer.
        same_both_ways(&format!("[Unit]\nA={}", &long[2..]));
        same_both_ways(&format!(
            "[Unit]\n{}\nA={}\n",
            "#".repeat(3000 % LINE_MAX),
            &long[2..]
        ));
        let many = format!("[Unit]\n{}", format!("A={}\n", &long[2..]).repeat(5));
        same_both_ways(&many);
    }

    /// Around the number of options held before the result vector is allocated.
    #[test]
    fn many_options_keep_their_order() {
        for n in [0, 1, HEAD - 1, HEAD, HEAD + 1, 2 * HEAD + 3, 1000] {
            let text: String = (0..n)
                .map(|i| format!("[S{}]\nN{i}=v{i}\n", i % 3))
                .collect();
            let want: Vec<UnitOption> = (0..n)
                .map(|i| UnitOption::new(format!("S{}", i % 3), format!("N{i}"), format!("v{i}")))
                .collect();
            for fast in [true, false] {
                let got = parse_with(&text, fast).map_err(|e| e.message());
                assert_eq!(got.as_deref(), Ok(&want[..]), "{n} options, fast: {fast}");
            }
        }
    }

    #[test]
    fn long_lines_take_the_exact_path() {
        let at = |n: usize| {
            format!(
                "[Unit]\n{}\nA={}\n",
                "x=y\n".repeat(n),
                "v".repeat(LINE_MAX - 2)
            )
        };
        assert!(lines_are_short(
            format!("A={}", "v".repeat(LINE_MAX - 3)).as_bytes()
        ));
        assert!(!lines_are_short(
            format!("A={}", "v".repeat(LINE_MAX - 2)).as_bytes()
        ));
        assert!(!lines_are_short(at(0).as_bytes()));
        assert!(!lines_are_short(at(1000).as_bytes()));
        assert!(lines_are_short(
            format!("{}\n", "v".repeat(LINE_MAX - 1))
                .repeat(3)
                .as_bytes()
        ));
        // Through `parse_raw`, such a line is still refused (and the quirk kept) as before.
        assert!(matches!(
            parse_raw(&at(0)),
            Err(ParseError {
                line: 3,
                kind: ErrorKind::LineTooLong
            })
        ));
    }

    /// The pre-pass decides the fast path exactly as [`lines_are_short`] does: runs without
    /// a newline of every length around the limit and around the block size, at every
    /// offset within a block.
    #[test]
    fn prescan_agrees_with_lines_are_short() {
        let mut checked = 0;
        for run in (1000..1030).chain(LINE_MAX - 40..LINE_MAX + 10) {
            for offset in (0..1030).step_by(7) {
                let text = format!(
                    "{}\n{}\n{}",
                    "a=b\n".repeat(offset / 4) + &"#".repeat(offset % 4),
                    "x".repeat(run),
                    "c=d\n".repeat(300)
                );
                let (bound, short) = prescan(text.as_bytes());
                assert_eq!(short, lines_are_short(text.as_bytes()), "{run} at {offset}");
                assert_eq!(bound, max_options_slow(text.as_bytes()));
                // Also as the last line, without a final newline.
                let tail = format!("{}\n{}", "a=b\n".repeat(offset), "x".repeat(run));
                let short = prescan(tail.as_bytes()).1;
                assert_eq!(short, lines_are_short(tail.as_bytes()), "{run} at the end");
                checked += 1;
            }
        }
        assert!(checked > 1000);
    }

    fn max_options_slow(src: &[u8]) -> usize {
        let count = |c| src.iter().filter(|&&b| b == c).count();
        count(b'=').min(count(b'\n') + 1)
    }

    #[test]
    fn is_blank_is_trim_is_empty() {
        let chars = (0..=0x3100u32)
            .chain([0xfeff, 0x1_f600])
            .filter_map(char::from_u32);
        for c in chars {
            for text in [
                c.to_string(),
                format!(" \t{c}"),
                format!("{c} \u{a0}"),
                format!("\u{2028}{c}x"),
            ] {
                assert_eq!(is_blank(&text), text.trim().is_empty(), "{text:?}");
            }
        }
        assert!(is_blank("") && is_blank(" \t\r\u{b}\u{c}\u{85}\u{3000}"));
    }

    /// Pieces that drive the parser through all of its states (as in the proptest suite).
    fn unit_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("[".to_string()),
            Just("]".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just("\\".to_string()),
            Just("\\\n".to_string()),
            Just("\\ \n".to_string()),
            Just("#".to_string()),
            Just(";".to_string()),
            Just("=".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("\u{b}\u{c}".to_string()),
            Just("\u{feff}".to_string()),
            Just("\u{a0}".to_string()),
            Just("\u{85}\u{2028}".to_string()),
            Just("é☃😀".to_string()),
            Just("[Unit]\n".to_string()),
            Just("[X-Fleet]\n".to_string()),
            Just("Name=Value\n".to_string()),
            Just("Name = Value \\\n  more\n".to_string()),
            proptest::string::string_regex("[A-Za-z0-9 =]{0,12}").unwrap(),
            proptest::string::string_regex("\\PC{0,8}").unwrap(),
        ];
        prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn fast_path_matches_exact_lexer(text in unit_text()) {
            same_both_ways(&text);
        }
    }
}
