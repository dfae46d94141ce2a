//! One module per command; [`run`] dispatches.

pub mod cat;
pub mod completion;
pub mod create;
pub mod destroy;
pub mod fd_forward;
pub mod help;
#[cfg(feature = "ssh")]
pub mod journal;
pub mod list_machines;
pub mod list_unit_files;
pub mod list_units;
pub mod load;
#[cfg(feature = "ssh")]
pub mod ssh;
pub mod start;
pub mod state_change;
#[cfg(feature = "ssh")]
pub mod status;
pub mod stop;
pub mod submit;
pub mod unload;
pub mod version;

use crate::api::{self, Api};
use crate::cli::{Cli, Command, FieldSet, ListArgs, OutputFormat};
use crate::output;
use crate::wait::WaitError;

/// The message of the commands that run on fleet machines over SSH, in a fleetctl built
/// without the `ssh` feature.
#[cfg(not(feature = "ssh"))]
pub fn needs_ssh(command: &str) -> i32 {
    output::stderr(&format!(
        "fleetctl {command} needs SSH, and this fleetctl was built without SSH support (cargo \
         feature \"ssh\")"
    ));
    1
}

/// fleetctl's `Error waiting for units: <error>` line.
pub fn report_wait_error(err: &WaitError) {
    output::stderr(&format!("Error waiting for units: {err}"));
}

/// The `--fields` of a list command, checked against its field names; `Err(exit code)` after
/// saying what is wrong.
pub fn list_columns<F: FieldSet>(args: &ListArgs<F>) -> Result<Vec<&str>, i32> {
    output::table::parse_fields(&args.fields, F::NAMES).map_err(|msg| {
        output::stderr(&msg);
        1
    })
}

/// Prints a list command's result in its `--output` format.
pub fn print_list(
    format: OutputFormat,
    json: impl FnOnce() -> String,
    table: impl FnOnce() -> String,
) {
    match format {
        OutputFormat::Json => output::stdout_raw(&json()),
        OutputFormat::Table => output::stdout_raw(&table()),
    }
}

/// fleetctl's message when the units cannot be listed; returns the exit code.
pub fn report_list_units_error(err: &fleet::v1::Error) -> i32 {
    output::stderr(&format!(
        "Error retrieving list of units from repository: {}",
        output::go_err(err)
    ));
    1
}

/// The unit a command on its machine (`status`, `journal`) is about; `Err(exit code)` after
/// printing `<retrieving>: <error>` or `Unit <name> does not exist.`.
#[cfg(feature = "ssh")]
pub async fn existing_unit(
    api: &Api,
    name: &str,
    retrieving: &str,
) -> Result<fleet::v1::Unit, i32> {
    match api.unit(name).await {
        Err(e) => {
            output::stderr(&format!("{retrieving}: {}", output::go_err(&e)));
            Err(1)
        }
        Ok(None) => {
            output::stderr(&format!("Unit {name} does not exist."));
            Err(1)
        }
        Ok(Some(u)) => Ok(u),
    }
}

/// Whether the command talks to fleet (and so needs a client and a runtime).
pub fn needs_client(command: &Command) -> bool {
    !matches!(
        command,
        Command::Version | Command::Help(_) | Command::Completion(_) | Command::FdForward(_)
    ) && (cfg!(feature = "ssh")
        || !matches!(
            command,
            Command::Status(_) | Command::Journal(_) | Command::Ssh(_)
        ))
}

/// Runs a command that needs no client; `None` for the others.
pub fn run_local(command: &Command) -> Option<i32> {
    Some(match command {
        Command::Version => version::run(),
        Command::Help(h) => help::run(&h.command),
        Command::Completion(c) => completion::run(c.shell),
        #[cfg(not(feature = "ssh"))]
        Command::Status(_) => needs_ssh("status"),
        #[cfg(not(feature = "ssh"))]
        Command::Journal(_) => needs_ssh("journal"),
        #[cfg(not(feature = "ssh"))]
        Command::Ssh(_) => needs_ssh("ssh"),
        Command::FdForward(a) => fd_forward::run(a),
        _ => return None,
    })
}

/// Runs a command that talks to fleet.
pub async fn run(cli: &Cli, command: &Command) -> i32 {
    let mut api: Api = match api::connect(&cli.global) {
        Ok(api) => api,
        Err(e) => {
            output::stderr(&format!("Unable to initialize client: {e}"));
            return 1;
        }
    };
    if let Err(e) = api.connect_tunnel().await {
        output::stderr(&format!("Unable to initialize client: {e}"));
        return 1;
    }
    let api = &mut api;
    match command {
        Command::ListMachines(a) => list_machines::run(api, a).await,
        Command::ListUnits(a) => list_units::run(api, a).await,
        Command::ListUnitFiles(a) => list_unit_files::run(api, a).await,
        Command::Submit(a) => submit::run(api, a).await,
        Command::Load(a) => load::run(api, a).await,
        Command::Start(a) => start::run(api, a).await,
        Command::Stop(a) => stop::run(api, a).await,
        Command::Unload(a) => unload::run(api, a).await,
        Command::Destroy(a) => destroy::run(api, a).await,
        Command::Cat(a) => cat::run(api, a).await,
        #[cfg(feature = "ssh")]
        Command::Status(a) => status::run(api, &cli.global, a).await,
        #[cfg(feature = "ssh")]
        Command::Journal(a) => journal::run(api, &cli.global, a).await,
        #[cfg(feature = "ssh")]
        Command::Ssh(a) => ssh::run(api, &cli.global, a).await,
        other => run_local(other).unwrap_or(0),
    }
}
