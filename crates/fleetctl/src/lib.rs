//! fleetctl: a drop-in for fleetctl 1.0, built on the fleet-client library.
//!
//! The binary is [`main`]; the modules are public so that their pieces (the tabwriter, the name
//! rules) can be tested and reused.
//!
//! # Bug-compatible with fleetctl 1.0
//!
//! Scripts written against fleetctl 1.0 see the same behaviour here, including its quirks:
//!
//! - Usage errors exit with status **0**: an unknown flag, a flag missing its value, a value that
//!   does not parse, an unknown command. fleetctl 1.0's cobra fails before any command sets its
//!   exit code, and `main` exits with that still-zero code.
//! - Their messages are cobra's and pflag's, byte for byte: `Error: unknown flag: --bogus`,
//!   `unknown shorthand flag: 'x' in -x`, `flag needs an argument: --fields`,
//!   `invalid argument "abc" for --block-attempts=abc: strconv.ParseInt: parsing "abc": invalid
//!   syntax` (the whole `--flag=value` word, or the short cluster without its dash, as pflag
//!   names it), `unknown command "x" for "fleetctl"` with cobra's `Did you mean this?`, then
//!   `cannot execute cmdFleet: <error>`. After a flag error the command's usage goes to stdout
//!   and an empty line to stderr, as fleetctl 1.0's stdout-writing usage function makes cobra do.
//!   See [`usage_error`].
//! - The command word is found as cobra finds it: an unknown `--flag` swallows the next word.
//! - `status`/`journal`/`ssh` print `Error getting machine IP: …` and exit 0 when the unit's
//!   machine cannot be found; `fd-forward` prints `Failed dialing remote address: …` and exits 0
//!   when the socket cannot be reached (fleetctl 1.0 never sets its exit code on those paths).
//!
//! Where this fleetctl differs on purpose: the usage text is this fleetctl's `--help`; a bad
//! `FLEETCTL_*` value (which fleetctl 1.0 silently ignores) and unexpected positional
//! arguments or a bad `completion` shell keep clap's report and exit 2; `--output` and
//! `--wait-timeout` errors use the pflag layout with this fleetctl's own reason.

pub mod api;
pub mod cli;
pub mod commands;
pub mod names;
pub mod output;
#[cfg(feature = "ssh")]
pub mod remote;
pub mod usage_error;
pub mod wait;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

const SIGN_DEPRECATED: &str =
    "WARNING: The signed/verified units feature is DEPRECATED and cannot be used.";

fn uses_sign(command: &Command) -> bool {
    match command {
        Command::Submit(a) => a.sign,
        Command::Load(a) | Command::Start(a) => a.create.sign,
        _ => false,
    }
}

/// fleetctl ignores `FLEETCTL_*` variables that are set but empty; clap would take them as
/// empty values, so they are removed before parsing (single-threaded, before anything else).
fn drop_empty_env() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(k, v)| k.to_str().is_some_and(|k| k.starts_with("FLEETCTL_")) && v.is_empty())
        .map(|(k, _)| k)
        .collect();
    for k in empty {
        std::env::remove_var(k);
    }
}

/// Runs fleetctl with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // fleetctl answers these two before anything else.
    match args.get(1).and_then(|a| a.to_str()) {
        None => {
            let _ = Cli::command().print_help();
            return 0;
        }
        Some("--version" | "-v") => return commands::version::run(),
        _ => {}
    }
    drop_empty_env();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(usage) = usage_error::from_clap(&e, &args) {
                return usage.print();
            }
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 2,
            };
        }
    };
    if cli.global.version {
        return commands::version::run();
    }
    if cli.global.debug {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(output::stderr_color())
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .try_init();
    }
    let Some(command) = &cli.command else {
        let _ = Cli::command().print_help();
        return 0;
    };
    if uses_sign(command) {
        output::stderr(SIGN_DEPRECATED);
        return 2;
    }
    if !commands::needs_client(command) {
        return commands::run_local(command).unwrap_or(0);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::stderr(&format!("cannot start the async runtime: {e}"));
            return 1;
        }
    };
    runtime.block_on(commands::run(&cli, command))
}
