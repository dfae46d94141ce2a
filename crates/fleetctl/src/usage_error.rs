//! Command-line usage errors reported the way fleetctl 1.0 reports them.
//!
//! fleetctl 1.0 parses its command line with cobra and pflag. A usage error goes like this:
//!
//! - An unknown command (cobra's `Find` fails): stderr gets `Error: unknown command "x" for
//!   "fleetctl"` (with cobra's `Did you mean this?` suggestions when some command is within an
//!   edit distance of 2 or starts with the word), then `Run 'fleetctl --help' for usage.`.
//! - A flag that does not parse (pflag's `unknown flag: --x`, `unknown shorthand flag: 'x' in
//!   -x`, `flag needs an argument: --x`, `invalid argument "v" for --x=v: <reason>`): stderr gets
//!   `Error: <message>`, the command's usage goes to **stdout** (fleetctl's usage function writes
//!   to stdout, so cobra's `UsageString()` is empty) and stderr gets an empty line.
//! - In both cases fleetctl's `main` then prints `cannot execute cmdFleet: <message>` on stderr
//!   and exits with its command exit code, which is still 0.
//!
//! The usage shown on stdout is this fleetctl's own `--help` text for the command.

use fleet::v1::unit_file::{go_quote, go_quote_rune};
use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, CommandFactory};

use crate::cli::Cli;

/// The exit code fleetctl 1.0 gives a usage error: its `cmdExitCode`, never set when cobra
/// fails before running a command.
pub const USAGE_ERROR_EXIT: i32 = 0;

/// A usage error as fleetctl 1.0 words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// cobra's `Find` failed: the word is no command.
    UnknownCommand {
        /// cobra's whole error text, suggestions included.
        message: String,
    },
    /// pflag refused a flag of `command` (`None`: the root command).
    Flag {
        /// The command whose flags were being parsed.
        command: Option<String>,
        /// pflag's error text.
        message: String,
    },
}

impl UsageError {
    /// The error text (what follows `Error: ` and `cannot execute cmdFleet: `).
    pub fn message(&self) -> &str {
        match self {
            UsageError::UnknownCommand { message } | UsageError::Flag { message, .. } => message,
        }
    }

    /// What fleetctl 1.0 writes to stderr, in order, around the usage on stdout:
    /// `(before_usage, after_usage)`. Only flag errors print a usage.
    pub fn stderr_parts(&self) -> (String, String) {
        let msg = self.message();
        let tail = format!("cannot execute cmdFleet: {}", with_newline(msg));
        match self {
            UsageError::UnknownCommand { .. } => (
                format!("Error: {msg}\nRun 'fleetctl --help' for usage.\n{tail}"),
                String::new(),
            ),
            UsageError::Flag { .. } => (format!("Error: {msg}\n"), format!("\n{tail}")),
        }
    }

    /// Prints the error as fleetctl 1.0 does; returns the exit code.
    pub fn print(&self) -> i32 {
        use std::io::Write;
        let (before, after) = self.stderr_parts();
        let _ = std::io::stderr().write_all(before.as_bytes());
        if let UsageError::Flag { command, .. } = self {
            let _ = std::io::stdout().write_all(help_text(command.as_deref()).as_bytes());
            let _ = std::io::stdout().flush();
        }
        let _ = std::io::stderr().write_all(after.as_bytes());
        USAGE_ERROR_EXIT
    }
}

/// fleetctl's `stderr()` helper adds a newline unless the text ends with one.
fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_owned()
    } else {
        format!("{s}\n")
    }
}

/// This fleetctl's `--help` text for a command (the root when `None`).
fn help_text(command: Option<&str>) -> String {
    let mut argv = vec!["fleetctl"];
    argv.extend(command);
    argv.push("--help");
    match Cli::command().try_get_matches_from(argv) {
        Err(e) => e.render().to_string(),
        Ok(_) => String::new(),
    }
}

/// Maps a clap parse error for `args` (the whole argv) to fleetctl 1.0's wording; `None` for
/// errors fleetctl 1.0 has no counterpart for (those keep clap's own report).
pub fn from_clap(err: &clap::Error, args: &[OsString]) -> Option<UsageError> {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return None;
    }
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let root = Cli::command();
    // cobra finds the command before it parses any flag.
    let command = match find_command(&root, &args) {
        Ok(c) => c,
        Err(word) => {
            return Some(UsageError::UnknownCommand {
                message: unknown_command(&root, &word),
            })
        }
    };
    let cmd = command
        .as_deref()
        .and_then(|c| root.find_subcommand(c))
        .unwrap_or(&root);
    let invalid = context_str(err, ContextKind::InvalidArg)?;
    let message = match err.kind() {
        ErrorKind::UnknownArgument => unknown_flag(&invalid, &args)?,
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let value = context_str(err, ContextKind::InvalidValue).unwrap_or_default();
            let arg = find_arg(&root, cmd, flag_name(&invalid)?)?;
            // A bad value from a `FLEETCTL_*` variable is not in argv: fleetctl 1.0 silently
            // ignores it; this one keeps its clear error (clap's report, exit 2).
            let token = flag_token(&arg, &value, &args)?;
            if err.kind() == ErrorKind::InvalidValue && value.is_empty() && !token.1 {
                needs_argument(&arg, &token.0)
            } else {
                let reason = reason(err, &arg, &value);
                format!(
                    "invalid argument {} for {}: {reason}",
                    go_quote(&value),
                    token.0
                )
            }
        }
        _ => return None,
    };
    Some(UsageError::Flag { command, message })
}

fn context_str(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

/// The command word as cobra's `Find` (its `stripFlags`) picks it: a `--flag` without `=` takes
/// the next word as its value unless it is a known boolean flag (an unknown `--flag` takes it
/// too), and so does a two-letter `-x`; the first other word not starting with `-` is the
/// command, resolved by exact name or alias, else by a single prefix match. `Ok(None)`: no
/// command word (the root command); `Err(word)`: no command has that name.
fn find_command(root: &clap::Command, args: &[String]) -> Result<Option<String>, String> {
    let mut in_flag = false;
    for a in args {
        if let Some(long) = a.strip_prefix("--").filter(|_| !a.contains('=')) {
            in_flag = !is_bool_flag(root, long);
        } else if a.starts_with('-') && !a.contains('=') && a.chars().count() == 2 {
            in_flag = true;
        } else if in_flag {
            in_flag = false;
        } else if !a.is_empty() && !a.starts_with('-') {
            return resolve(root, a).map(Some).ok_or_else(|| a.clone());
        }
    }
    Ok(None)
}

/// Whether a global long flag is one of the Go-style booleans (`--debug`, `--help`, ...).
fn is_bool_flag(root: &clap::Command, long: &str) -> bool {
    long == "help"
        || root
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long) || has_alias(arg, long))
            .is_some_and(Arg::is_require_equals_set)
}

fn has_alias(arg: &Arg, name: &str) -> bool {
    arg.get_all_aliases()
        .is_some_and(|aliases| aliases.contains(&name))
}

fn resolve(root: &clap::Command, word: &str) -> Option<String> {
    let mut matches = Vec::new();
    for sub in root.get_subcommands() {
        let name = sub.get_name();
        if name == word || sub.get_all_aliases().any(|a| a == word) {
            return Some(name.to_owned());
        }
        if name.starts_with(word) {
            matches.push(name.to_owned());
        }
    }
    if matches.len() == 1 {
        matches.pop()
    } else {
        None
    }
}

/// cobra's `unknown command %q for %q` with its suggestions.
fn unknown_command(root: &clap::Command, word: &str) -> String {
    let mut names: Vec<&str> = root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name())
        .collect();
    // fleetctl 1.0 adds its commands in the order of its source files, which is this order.
    names.sort_unstable();
    let lower = word.to_lowercase();
    let suggestions: Vec<&str> = names
        .into_iter()
        .filter(|n| {
            levenshtein(&lower, &n.to_lowercase()) <= 2 || n.to_lowercase().starts_with(&lower)
        })
        .collect();
    let mut msg = format!("unknown command {} for \"fleetctl\"", go_quote(word));
    if !suggestions.is_empty() {
        msg.push_str("\n\nDid you mean this?\n");
        for s in suggestions {
            msg.push_str(&format!("\t{s}\n"));
        }
    }
    msg
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// pflag's `unknown flag: --x` / `unknown shorthand flag: 'x' in -xyz`.
fn unknown_flag(invalid: &str, args: &[String]) -> Option<String> {
    if let Some(long) = invalid.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        return Some(format!("unknown flag: --{name}"));
    }
    let c = invalid.strip_prefix('-')?.chars().next()?;
    // pflag names the rest of the cluster, from the offending letter on.
    let rest = args
        .iter()
        .filter(|a| a.starts_with('-') && !a.starts_with("--"))
        .find_map(|a| {
            let cluster = a.get(1..)?;
            let head = cluster.split('=').next().unwrap_or(cluster);
            head.find(c).and_then(|i| cluster.get(i..))
        })
        .unwrap_or(invalid.get(1..)?)
        .to_owned();
    Some(format!(
        "unknown shorthand flag: {} in -{rest}",
        go_quote_rune(c)
    ))
}

/// `--name <VALUE>` / `--name=<VALUE>` / `-n` → the flag's name as clap shows it.
fn flag_name(invalid: &str) -> Option<FlagName> {
    let head = invalid.split([' ', '=', '[']).next()?;
    if let Some(long) = head.strip_prefix("--") {
        Some(FlagName::Long(long.to_owned()))
    } else {
        head.strip_prefix('-')?.chars().next().map(FlagName::Short)
    }
}

enum FlagName {
    Long(String),
    Short(char),
}

fn find_arg(root: &clap::Command, cmd: &clap::Command, name: FlagName) -> Option<Arg> {
    cmd.get_arguments()
        .chain(root.get_arguments())
        .find(|arg| match &name {
            FlagName::Long(l) => arg.get_long() == Some(l.as_str()) || has_alias(arg, l),
            FlagName::Short(c) => arg.get_short() == Some(*c),
        })
        .cloned()
}

/// The word pflag names for a flag (its `origArg`): the whole `--flag=value` word, `--flag`
/// when the value came next, or the short cluster from the letter on (no dash). The `bool` says
/// whether the word carried the value itself. `None`: the flag is not on the command line.
fn flag_token(arg: &Arg, value: &str, args: &[String]) -> Option<(String, bool)> {
    let mut longs: Vec<&str> = arg.get_long().into_iter().collect();
    longs.extend(arg.get_all_aliases().unwrap_or_default());
    let mut last = None;
    for (i, a) in args.iter().enumerate() {
        if let Some(rest) = a.strip_prefix("--") {
            let name = rest.split('=').next().unwrap_or(rest);
            if longs.contains(&name) {
                last = Some((a.clone(), rest.contains('=')));
            }
        } else if let (Some(c), Some(cluster)) = (arg.get_short(), a.strip_prefix('-')) {
            if let Some(pos) = cluster.find(c) {
                if let Some(from) = cluster.get(pos..) {
                    let inline = from.len() > c.len_utf8();
                    last = Some((from.to_owned(), inline));
                }
            }
        }
        // clap reports the first bad value; stop at the word that carries or precedes it.
        if let Some((_, inline)) = &last {
            let next = args.get(i + 1).map(String::as_str);
            if (*inline && a.ends_with(value)) || (!*inline && next.is_none_or(|n| n == value)) {
                break;
            }
        }
    }
    last
}

/// pflag's `flag needs an argument: --x` / `'x' in -x`.
fn needs_argument(arg: &Arg, token: &str) -> String {
    if token.starts_with("--") {
        format!("flag needs an argument: {token}")
    } else {
        let c = arg.get_short().unwrap_or('?');
        format!("flag needs an argument: {} in -{token}", go_quote_rune(c))
    }
}

/// fleetctl 1.0's integer flags (pflag `IntVar`).
const INT_FLAGS: &[&str] = &["block-attempts", "lines", "ssh-port"];
/// fleetctl 1.0's float flags (pflag `Float64Var`).
const FLOAT_FLAGS: &[&str] = &["request-timeout", "ssh-timeout"];

/// The reason after `invalid argument "v" for --x: `, worded as Go's strconv does for
/// fleetctl's own flags; this fleetctl's own reason for the flags fleetctl 1.0 lacks.
fn reason(err: &clap::Error, arg: &Arg, value: &str) -> String {
    let long = arg.get_long().unwrap_or_default();
    let q = go_quote(value);
    // The Go-style booleans are the only flags that need `--flag=value`.
    let is_bool = arg.is_require_equals_set();
    if is_bool {
        return format!("strconv.ParseBool: parsing {q}: invalid syntax");
    }
    if INT_FLAGS.contains(&long) {
        let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
        let why = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        return format!("strconv.ParseInt: parsing {q}: {why}");
    }
    if FLOAT_FLAGS.contains(&long) && value.trim().parse::<f64>().is_err() {
        return format!("strconv.ParseFloat: parsing {q}: invalid syntax");
    }
    if let Some(source) = std::error::Error::source(err) {
        return source.to_string();
    }
    match err.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) => format!("valid values are {}", valid.join(", ")),
        _ => "invalid value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(args: &[&str]) -> Option<UsageError> {
        use clap::Parser;
        let argv: Vec<OsString> = std::iter::once("fleetctl")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let err = Cli::try_parse_from(&argv).err()?;
        from_clap(&err, &argv)
    }

    fn msg(args: &[&str]) -> String {
        map(args)
            .map(|e| e.message().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn pflag_texts() {
        assert_eq!(msg(&["list-units", "--bogus"]), "unknown flag: --bogus");
        assert_eq!(msg(&["list-units", "--bogus=1"]), "unknown flag: --bogus");
        assert_eq!(
            msg(&["list-units", "-x"]),
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            msg(&["list-units", "-lx"]),
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            msg(&["list-units", "--fields"]),
            "flag needs an argument: --fields"
        );
        assert_eq!(
            msg(&["start", "--block-attempts=abc", "a"]),
            "invalid argument \"abc\" for --block-attempts=abc: \
             strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            msg(&["start", "--block-attempts", "abc", "a"]),
            "invalid argument \"abc\" for --block-attempts: \
             strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            msg(&["list-units", "--full=yes"]),
            "invalid argument \"yes\" for --full=yes: \
             strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(
            msg(&["--request-timeout=abc", "list-units"]),
            "invalid argument \"abc\" for --request-timeout=abc: \
             strconv.ParseFloat: parsing \"abc\": invalid syntax"
        );
    }

    #[test]
    fn unknown_commands_like_cobra() {
        assert_eq!(
            msg(&["bogus"]),
            "unknown command \"bogus\" for \"fleetctl\""
        );
        assert_eq!(
            msg(&["--endpoint", "http://x", "lisst-units"]),
            "unknown command \"lisst-units\" for \"fleetctl\"\n\nDid you mean this?\n\tlist-units\n"
        );
    }

    #[test]
    fn stderr_layout() {
        let e = UsageError::Flag {
            command: Some("list-units".into()),
            message: "unknown flag: --bogus".into(),
        };
        assert_eq!(
            e.stderr_parts(),
            (
                "Error: unknown flag: --bogus\n".to_owned(),
                "\ncannot execute cmdFleet: unknown flag: --bogus\n".to_owned()
            )
        );
        let e = UsageError::UnknownCommand {
            message: "unknown command \"x\" for \"fleetctl\"".into(),
        };
        assert_eq!(
            e.stderr_parts().0,
            "Error: unknown command \"x\" for \"fleetctl\"\nRun 'fleetctl --help' for usage.\n\
             cannot execute cmdFleet: unknown command \"x\" for \"fleetctl\"\n"
        );
    }

    #[test]
    fn short_flags_name_the_cluster_like_pflag() {
        assert_eq!(
            msg(&["list-units", "-o"]),
            "flag needs an argument: 'o' in -o"
        );
        assert_eq!(
            msg(&["journal", "-n", "abc", "x"]),
            "invalid argument \"abc\" for n: strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            msg(&["journal", "-nabc", "x"]),
            "invalid argument \"abc\" for nabc: strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
    }

    #[test]
    fn command_word_found_like_cobra() {
        // An unknown long flag takes the next word as its value: no command, the root's error.
        assert_eq!(
            map(&["--bogus", "list-units"]),
            Some(UsageError::Flag {
                command: None,
                message: "unknown flag: --bogus".into()
            })
        );
        // A boolean global flag does not.
        assert_eq!(
            map(&["--debug", "list-units", "--bogus"]),
            Some(UsageError::Flag {
                command: Some("list-units".into()),
                message: "unknown flag: --bogus".into()
            })
        );
        // A unique prefix is the command.
        assert_eq!(
            map(&["list-m", "--bogus"]),
            Some(UsageError::Flag {
                command: Some("list-machines".into()),
                message: "unknown flag: --bogus".into()
            })
        );
    }

    #[test]
    fn help_is_no_usage_error() {
        assert_eq!(map(&["list-units", "--help"]), None);
    }
}
