//! `fleetctl help [COMMAND]`.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::output;

/// Prints the help of fleetctl or of the named command; returns the exit code.
pub fn run(topic: &[String]) -> i32 {
    let mut cmd = Cli::command();
    let Some(name) = topic.first() else {
        let _ = cmd.print_long_help();
        return 0;
    };
    match cmd.find_subcommand_mut(name) {
        Some(sub) => {
            let mut sub = sub.clone().bin_name(format!("fleetctl {name}"));
            let _ = sub.print_long_help();
            0
        }
        None => {
            output::stderr(&format!("Unknown help topic `{name}`"));
            let _ = cmd.print_help();
            1
        }
    }
}
