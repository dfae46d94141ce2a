//! Column alignment exactly as Go's `text/tabwriter` does it.
//!
//! fleetctl 1.0 writes every table through `tabwriter.NewWriter(os.Stdout, 0, 8, 1, '\t', 0)`
//! (`getTabOutWithWriter` in `fleetctl/help.go`): minimum cell width 0, tab width 8, padding 1,
//! padding character `'\t'`, no flags. This module reimplements Go's algorithm (cells are
//! tab-terminated, the last cell of a line is not part of a column, a column block ends at the
//! first line that has fewer cells, a line with a single cell flushes everything buffered) so
//! that our tables are byte-for-byte what fleetctl prints.
//!
//! Not supported, because fleetctl never uses them: the `AlignRight`, `DiscardEmptyColumns`,
//! `TabIndent`, `FilterHTML`, `StripEscape` and `Debug` flags, and `0xff` escape sequences (valid
//! UTF-8 never contains that byte).

/// Go's `tabwriter.Writer` configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Minimal cell width including any padding.
    pub minwidth: usize,
    /// Width of tab characters (equivalent number of spaces).
    pub tabwidth: usize,
    /// Padding added to a cell before computing its width.
    pub padding: usize,
    /// The padding character; `b'\t'` pads with tabs, cell widths rounded up to `tabwidth`.
    pub padchar: u8,
}

impl Config {
    /// fleetctl's configuration: `(0, 8, 1, '\t', 0)`.
    pub const FLEETCTL: Config = Config {
        minwidth: 0,
        tabwidth: 8,
        padding: 1,
        padchar: b'\t',
    };
}

#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    /// Byte length of the cell text.
    size: usize,
    /// Width in characters (Unicode scalar values, as Go's `utf8.RuneCount`).
    width: usize,
}

/// A buffering writer that aligns tab-separated cells into columns on [`TabWriter::flush`].
///
/// ```
/// # use fleetctl::output::tabwriter::{Config, TabWriter};
/// let mut tw = TabWriter::new(Config::FLEETCTL);
/// tw.write_str("UNIT\tSTATE\nweb.service\tlaunched\n");
/// assert_eq!(tw.into_string(), "UNIT\t\tSTATE\nweb.service\tlaunched\n");
/// ```
#[derive(Debug)]
pub struct TabWriter {
    config: Config,
    /// The text of all cells, without the tabs and newlines that terminated them.
    buf: String,
    /// Position in `buf` where the current (unterminated) cell starts.
    pos: usize,
    /// The current cell.
    cell: Cell,
    /// Buffered lines of terminated cells; the last line is the one being written.
    lines: Vec<Vec<Cell>>,
    /// Column widths of the enclosing column blocks while formatting.
    widths: Vec<usize>,
    /// Formatted output.
    out: String,
}

impl TabWriter {
    /// An empty writer.
    pub fn new(config: Config) -> TabWriter {
        TabWriter {
            config,
            buf: String::new(),
            pos: 0,
            cell: Cell::default(),
            lines: vec![Vec::new()],
            widths: Vec::new(),
            out: String::new(),
        }
    }

    /// Writes text; cells end at `'\t'`, lines at `'\n'`, and `'\x0c'` (form feed) ends a line
    /// and forces a flush, as in Go.
    pub fn write_str(&mut self, text: &str) {
        let mut start = 0;
        for (i, ch) in text.char_indices() {
            if matches!(ch, '\t' | '\x0b' | '\n' | '\x0c') {
                self.append(&text[start..i]);
                start = i + 1;
                let ncells = self.terminate_cell();
                if ch == '\n' || ch == '\x0c' {
                    self.lines.push(Vec::new());
                    if ch == '\x0c' || ncells == 1 {
                        // A single-cell line cannot influence the formatting of the lines after
                        // it (the last cell of a line is not part of any column): flush.
                        self.flush();
                    }
                }
            }
        }
        self.append(&text[start..]);
    }

    /// Formats and moves everything buffered to the output.
    pub fn flush(&mut self) {
        if self.cell.size > 0 {
            self.terminate_cell();
        }
        let line_count = self.lines.len();
        self.format(0, 0, line_count);
        self.buf.clear();
        self.pos = 0;
        self.cell = Cell::default();
        self.lines.clear();
        self.lines.push(Vec::new());
        self.widths.clear();
    }

    /// Flushes and returns all output.
    pub fn into_string(mut self) -> String {
        self.flush();
        self.out
    }

    /// Takes the output formatted so far (call [`TabWriter::flush`] first to include buffered
    /// lines).
    pub fn take_output(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    fn append(&mut self, text: &str) {
        self.buf.push_str(text);
        self.cell.size += text.len();
        self.cell.width += text.chars().count();
    }

    fn terminate_cell(&mut self) -> usize {
        let cell = std::mem::take(&mut self.cell);
        self.pos = self.buf.len();
        if self.lines.is_empty() {
            self.lines.push(Vec::new());
        }
        let last = self.lines.len() - 1;
        self.lines[last].push(cell);
        self.lines[last].len()
    }

    /// Go's `format`, which calls itself once per nested column block. Here the nesting is kept
    /// in a vector instead of on the call stack: a line with a very large number of cells
    /// (text from the server can hold any number of tabs) must not overflow the stack.
    fn format(&mut self, mut pos: usize, line0: usize, line1: usize) -> usize {
        /// One column block being formatted: lines `line0..line1`, scanned up to `this`.
        struct Block {
            line0: usize,
            line1: usize,
            this: usize,
        }
        let mut blocks = vec![Block {
            line0,
            line1,
            this: line0,
        }];
        // The block on top formats column `self.widths.len()`: every block but the outermost
        // pushed its column's width when it was opened.
        while let Some(block) = blocks.last_mut() {
            let column = self.widths.len();
            while block.this < block.line1 && column + 1 >= self.lines[block.this].len() {
                block.this += 1;
            }
            if block.this == block.line1 {
                // No more cells in this column: print the rest, close the block.
                pos = self.write_lines(pos, block.line0, block.line1);
                blocks.pop();
                if !blocks.is_empty() {
                    self.widths.pop();
                }
                continue;
            }
            // This line has a cell in this column: print the lines before it, then find the
            // extent of the column block and its width, and format the block's next column.
            pos = self.write_lines(pos, block.line0, block.this);
            let start = block.this;
            let mut width = self.config.minwidth;
            while block.this < block.line1 {
                let line = &self.lines[block.this];
                if column + 1 >= line.len() {
                    break;
                }
                let w = line[column].width + self.config.padding;
                if w > width {
                    width = w;
                }
                block.this += 1;
            }
            let end = block.this;
            block.line0 = end;
            self.widths.push(width);
            blocks.push(Block {
                line0: start,
                line1: end,
                this: start,
            });
        }
        pos
    }

    fn write_lines(&mut self, mut pos: usize, line0: usize, line1: usize) -> usize {
        for i in line0..line1 {
            for j in 0..self.lines[i].len() {
                let c = self.lines[i][j];
                if c.size > 0 {
                    self.out.push_str(&self.buf[pos..pos + c.size]);
                    pos += c.size;
                }
                if let Some(&cellw) = self.widths.get(j) {
                    self.write_padding(c.width, cellw);
                }
            }
            if i + 1 == self.lines.len() {
                // The last buffered line has no newline yet: write the pending cell text.
                self.out.push_str(&self.buf[pos..pos + self.cell.size]);
                pos += self.cell.size;
            } else {
                self.out.push('\n');
            }
        }
        pos
    }

    fn write_padding(&mut self, textw: usize, cellw: usize) {
        let Config {
            tabwidth, padchar, ..
        } = self.config;
        if padchar == b'\t' {
            if tabwidth == 0 {
                return;
            }
            let cellw = cellw.div_ceil(tabwidth) * tabwidth;
            let n = cellw.saturating_sub(textw);
            for _ in 0..n.div_ceil(tabwidth) {
                self.out.push('\t');
            }
        } else {
            for _ in 0..cellw.saturating_sub(textw) {
                self.out.push(padchar as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(config: Config, text: &str) -> String {
        let mut tw = TabWriter::new(config);
        tw.write_str(text);
        tw.into_string()
    }

    fn fleetctl(text: &str) -> String {
        fmt(Config::FLEETCTL, text)
    }

    fn cfg(minwidth: usize, tabwidth: usize, padding: usize, padchar: u8) -> Config {
        Config {
            minwidth,
            tabwidth,
            padding,
            padchar,
        }
    }

    type Case = (
        &'static str,
        usize,
        usize,
        usize,
        u8,
        &'static str,
        &'static str,
    );

    // Cases of Go's text/tabwriter test table (tabwriter_test.go) that use no flags, re-expressed
    // as data: (name, minwidth, tabwidth, padding, padchar, input, expected), then cases derived
    // from the algorithm by hand.
    const CASES: &[Case] = &[
        ("1a", 8, 0, 1, b'.', "", ""),
        ("2", 8, 0, 1, b'.', "\n\n\n", "\n\n\n"),
        ("3", 8, 0, 1, b'.', "a\nb\nc", "a\nb\nc"),
        ("4a", 8, 0, 1, b'.', "\t", ""),
        ("5", 8, 0, 1, b'.', "*\t*", "*.......*"),
        ("5b", 8, 0, 1, b'.', "*\t*\n", "*.......*\n"),
        ("5c", 8, 0, 1, b'.', "*\t*\t", "*.......*"),
        ("6", 8, 0, 1, b'.', "\t\n", "........\n"),
        ("7a", 8, 0, 1, b'.', "a) foo", "a) foo"),
        ("7b", 8, 0, 1, b' ', "b) foo\tbar", "b) foo  bar"),
        ("7c", 8, 0, 1, b'.', "c) foo\tbar\t", "c) foo..bar"),
        ("7d", 8, 0, 1, b'.', "d) foo\tbar\n", "d) foo..bar\n"),
        ("7e", 8, 0, 1, b'.', "e) foo\tbar\t\n", "e) foo..bar.....\n"),
        ("8", 8, 0, 1, b'*', "Hello, world!\n", "Hello, world!\n"),
        (
            "11",
            8,
            0,
            1,
            b'.',
            "本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n",
            "本.......b.......c\naa......本本本.....cccc....ddddd\naaa.....bbbb\n",
        ),
        (
            "12b",
            2,
            0,
            0,
            b' ',
            "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
            "a  b  c\naa bbbcccc\naaabbbb\n",
        ),
        (
            "12c",
            8,
            0,
            1,
            b'_',
            "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
            "a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n",
        ),
        ("15a", 4, 0, 0, b'.', "a\t\tb", "a.......b"),
        (
            "16a",
            100,
            100,
            0,
            b'\t',
            "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n",
            "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n",
        ),
        // The example in Go's package documentation: (0, 8, 0, '\t').
        (
            "doc",
            0,
            8,
            0,
            b'\t',
            "a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n\n",
            "a\tb\tc\td\t\t.\n123\t12345\t1234567\t123456789\t.\n\n",
        ),
        (
            "min0-pad1",
            0,
            0,
            1,
            b'.',
            "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
            "a...b...c\naa..bbb.cccc\naaa.bbbb\n",
        ),
        (
            "min0-pad0",
            0,
            0,
            0,
            b'.',
            "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
            "a..b..c\naa.bbbcccc\naaabbbb\n",
        ),
        (
            "blocks",
            0,
            0,
            1,
            b'.',
            "a\tb\tc\naa\tbbb\n\naaa\tbbbb\tcc\n",
            "a..b.c\naa.bbb\n\naaa.bbbb.cc\n",
        ),
        ("tabs-8", 0, 8, 1, b'\t', "12345678\t9\n", "12345678\t9\n"),
    ];

    #[test]
    fn go_test_table() {
        for (name, minwidth, tabwidth, padding, padchar, input, want) in CASES {
            let config = cfg(*minwidth, *tabwidth, *padding, *padchar);
            assert_eq!(&fmt(config, input), want, "case {name}: {input:?}");
            // Writing in pieces gives the same result (Go's test writes in slices too).
            let mut tw = TabWriter::new(config);
            let mut buf = [0u8; 4];
            for ch in input.chars() {
                tw.write_str(ch.encode_utf8(&mut buf));
            }
            assert_eq!(&tw.into_string(), want, "case {name} written char by char");
        }
    }

    #[test]
    fn fleetctl_list_machines() {
        let input = "MACHINE\tIP\tMETADATA\n\
                     113f16a7...\t172.17.8.101\tregion=us-west,role=web\n\
                     9a4b2c7d...\t172.17.8.102\tregion=us-west,role=db\n";
        assert_eq!(
            fleetctl(input),
            "MACHINE\t\tIP\t\tMETADATA\n\
             113f16a7...\t172.17.8.101\tregion=us-west,role=web\n\
             9a4b2c7d...\t172.17.8.102\tregion=us-west,role=db\n"
        );
    }

    #[test]
    fn fleetctl_width_rounds_up_to_tab_stops() {
        // "hello.service" (13) + padding 1 = 14 -> 16: one tab after it, two after "UNIT" (4).
        assert_eq!(
            fleetctl("UNIT\tHASH\nhello.service\tabc1234\n"),
            "UNIT\t\tHASH\nhello.service\tabc1234\n"
        );
        // A 7-wide cell + 1 padding = 8 -> exactly one tab stop.
        assert_eq!(fleetctl("1234567\tx\nab\ty\n"), "1234567\tx\nab\ty\n");
        // A 16-wide cell + 1 padding = 17 -> 24.
        assert_eq!(
            fleetctl("0123456789abcdef\tx\nab\ty\n"),
            "0123456789abcdef\tx\nab\t\t\ty\n"
        );
    }

    #[test]
    fn single_cell_lines_split_blocks() {
        // The single-cell line flushes, so the widths above and below are independent.
        assert_eq!(
            fleetctl("a\tb\nsingle\nlonger-than-eight\tc\n"),
            "a\tb\nsingle\nlonger-than-eight\tc\n"
        );
    }

    #[test]
    fn text_without_final_newline_is_kept() {
        assert_eq!(fleetctl("a\tb\nccc"), "a\tb\nccc");
    }

    #[test]
    fn empty_cells_are_padded() {
        assert_eq!(fleetctl("\tx\nabcdefghij\ty\n"), "\t\tx\nabcdefghij\ty\n");
    }

    #[test]
    fn a_line_of_very_many_cells_is_formatted_without_deep_recursion() {
        // Each cell opens a nested column block; Go's recursion per block would overflow a
        // thread's stack here. A server-provided value can carry this many tabs.
        let cells = 300_000;
        let line = format!("{}a\n", "a\t".repeat(cells - 1));
        let out = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || fleetctl(&line))
            .expect("spawn a thread")
            .join()
            .expect("formatting finished");
        // "a" plus padding 1 is 2 wide, rounded up to the tab width: one tab after each cell.
        assert_eq!(out, format!("{}a\n", "a\t".repeat(cells - 1)));
        // Nested blocks of different widths and lengths still come out as Go prints them.
        assert_eq!(
            fleetctl("a\tbb\tccc\td\naaaaaaaaa\tb\tc\nx\ty\n"),
            "a\t\tbb\tccc\td\naaaaaaaaa\tb\tc\nx\t\ty\n"
        );
    }
}
