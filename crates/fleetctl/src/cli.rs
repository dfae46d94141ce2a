//! The command line: fleetctl 1.0's global flags, environment variables and commands.
//!
//! Global flags may come before or after the command, as with fleetctl's cobra persistent flags.
//! Every global flag can also be set with `FLEETCTL_<FLAG>` (upper case, dashes as underscores);
//! an empty variable counts as unset, as in fleetctl. Boolean flags accept `--flag`,
//! `--flag=true` and `--flag=false`, as Go's flag packages do.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The default `--endpoint`.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/fleet.sock";

/// The fleetctl release whose behaviour this one reproduces.
pub const COMPAT_VERSION: &str = "1.0.0";

const ABOUT: &str =
    "fleetctl is a command-line interface to fleet, the cluster-wide CoreOS init system.";

const AFTER_HELP: &str = "\
Examples:
  fleetctl list-machines
  fleetctl --endpoint http://127.0.0.1:49153 list-units
  FLEETCTL_ENDPOINT=unix:///var/run/fleet.sock fleetctl start web@1.service";

/// `fleetctl [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]`
#[derive(Debug, Parser)]
#[command(
    name = "fleetctl",
    about = ABOUT,
    after_help = AFTER_HELP,
    disable_version_flag = true,
    disable_help_subcommand = true,
    infer_subcommands = true,
    args_override_self = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Global flags.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// fleetctl's persistent (global) flags.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Print out more debug information to stderr
    #[arg(long, global = true, env = "FLEETCTL_DEBUG", num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, default_value = "false",
          hide_env_values = true, value_name = "BOOL")]
    pub debug: bool,

    /// Print the version and exit
    #[arg(long, global = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, default_value = "false", value_name = "BOOL")]
    pub version: bool,

    /// Adapter used to execute fleetctl commands ("API"; "etcd" is not supported)
    #[arg(long, global = true, env = "FLEETCTL_DRIVER", default_value = "API")]
    pub driver: String,

    /// Location of the fleet API: unix:///path, http://host:port, https://host:port or
    /// http+unix://%2Fpath
    #[arg(long, global = true, env = "FLEETCTL_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,

    /// Amount of time in seconds to allow a single request before considering it failed
    #[arg(long, global = true, env = "FLEETCTL_REQUEST_TIMEOUT", default_value = "3",
          value_name = "SECONDS", value_parser = parse_seconds)]
    pub request_timeout: f64,

    /// Location of TLS key file used to secure communication with the fleet API
    #[arg(
        long,
        global = true,
        env = "FLEETCTL_KEY_FILE",
        alias = "etcd-keyfile",
        value_name = "PATH"
    )]
    pub key_file: Option<PathBuf>,

    /// Location of TLS cert file used to secure communication with the fleet API
    #[arg(
        long,
        global = true,
        env = "FLEETCTL_CERT_FILE",
        alias = "etcd-certfile",
        value_name = "PATH"
    )]
    pub cert_file: Option<PathBuf>,

    /// Location of TLS CA file used to secure communication with the fleet API
    #[arg(
        long,
        global = true,
        env = "FLEETCTL_CA_FILE",
        alias = "etcd-cafile",
        value_name = "PATH"
    )]
    pub ca_file: Option<PathBuf>,

    /// File used to store remote machine fingerprints. Ignored if strict host key checking is
    /// disabled.
    #[arg(
        long,
        global = true,
        env = "FLEETCTL_KNOWN_HOSTS_FILE",
        default_value = "~/.fleetctl/known_hosts",
        value_name = "PATH"
    )]
    pub known_hosts_file: String,

    /// Verify host keys presented by remote machines before initiating SSH connections
    #[arg(long, global = true, env = "FLEETCTL_STRICT_HOST_KEY_CHECKING", num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, default_value = "true",
          value_name = "BOOL")]
    pub strict_host_key_checking: bool,

    /// Amount of time in seconds to allow for SSH connection initialization before failing
    #[arg(long, global = true, env = "FLEETCTL_SSH_TIMEOUT", default_value = "10",
          value_name = "SECONDS", value_parser = parse_seconds)]
    pub ssh_timeout: f64,

    /// Establish an SSH tunnel through the provided address for communication with fleet
    #[arg(
        long,
        global = true,
        env = "FLEETCTL_TUNNEL",
        value_name = "HOST[:PORT]"
    )]
    pub tunnel: Option<String>,

    /// Username to use when connecting to CoreOS instance [default: core, or the User that
    /// ~/.ssh/config gives the --tunnel host]
    #[arg(
        long,
        global = true,
        env = "FLEETCTL_SSH_USERNAME",
        value_name = "USER"
    )]
    pub ssh_username: Option<String>,

    /// Keyspace for fleet data in etcd (only meaningful with --driver=etcd, which is refused)
    #[arg(
        long,
        global = true,
        env = "FLEETCTL_ETCD_KEY_PREFIX",
        default_value = "/_coreos.com/fleet/",
        hide = true
    )]
    pub etcd_key_prefix: String,

    /// DEPRECATED: do not use this flag
    #[arg(long, global = true, env = "FLEETCTL_EXPERIMENTAL_API", num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, default_value = "true",
          hide = true)]
    pub experimental_api: bool,
}

impl GlobalArgs {
    /// `--ssh-username`, or fleetctl's default `core`.
    pub fn ssh_user(&self) -> &str {
        self.ssh_username
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_SSH_USERNAME)
    }
}

/// fleetctl's default `--ssh-username`.
pub const DEFAULT_SSH_USERNAME: &str = "core";

/// Go's `strconv.ParseBool`, which fleetctl's flags and environment variables use.
fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {s:?}")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid number of seconds {s:?}"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "invalid number of seconds {s:?}: must be 0 or more"
        ));
    }
    Ok(v)
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enumerate the current hosts in the cluster
    #[command(
        long_about = "Lists all active machines within the cluster. Previously active machines \
                      will not appear in this list.",
        after_help = "Examples:\n  fleetctl list-machines --no-legend\n  \
                      fleetctl list-machines --full\n  \
                      fleetctl list-machines --fields=machine,metadata\n  \
                      fleetctl list-machines -o json"
    )]
    ListMachines(ListArgs<MachineFields>),

    /// List the current state of units in the cluster
    #[command(
        long_about = "Lists the state of all units in the cluster loaded onto a machine.",
        after_help = "Examples:\n  fleetctl list-units --no-legend\n  \
                      fleetctl list-units --full\n  \
                      fleetctl list-units --fields=unit,machine\n  \
                      fleetctl list-units -o json"
    )]
    ListUnits(ListArgs<UnitFields>),

    /// List the units that exist in the cluster.
    #[command(
        long_about = "Lists all unit files that exist in the cluster (whether or not they are \
                      loaded onto a machine).",
        after_help = "Examples:\n  fleetctl list-unit-files\n  \
                      fleetctl list-unit-files --fields=unit,desc,global\n  \
                      fleetctl list-unit-files -o json"
    )]
    ListUnitFiles(ListArgs<UnitFileFields>),

    /// Upload one or more units to the cluster without starting them
    #[command(
        long_about = "Upload one or more units to the cluster without starting them. Useful for \
                      validating units before they are started.\n\nThis operation is idempotent; \
                      if a named unit already exists in the cluster, it will not be resubmitted.",
        after_help = "Examples:\n  fleetctl submit foo.service\n  fleetctl submit myservice/*"
    )]
    Submit(CreateArgs),

    /// Schedule one or more units in the cluster, first submitting them if necessary.
    #[command(
        long_about = "Load one or many units in the cluster into systemd, but do not start.\n\n\
                      For units which are not global, fleetctl waits until the units are loaded; \
                      see --block-attempts, --no-block and --wait-timeout.",
        after_help = "Examples:\n  fleetctl load foo.service\n  \
                      fleetctl load --no-block web@1 web@2"
    )]
    Load(WaitCreateArgs),

    /// Instruct systemd to start one or more units in the cluster, first submitting and loading
    /// if necessary.
    #[command(
        long_about = "Start one or many units on the cluster.\n\n\
                      For units which are not global, fleetctl waits until the units are \
                      launched; see --block-attempts, --no-block and --wait-timeout.",
        after_help = "Examples:\n  fleetctl start foo.service\n  \
                      fleetctl start myservice/*\n  \
                      fleetctl start --wait-timeout=30 web@1.service"
    )]
    Start(WaitCreateArgs),

    /// Instruct systemd to stop one or more units in the cluster.
    #[command(
        long_about = "Stop one or more units from running in the cluster, but allow them to be \
                      started again in the future.",
        after_help = "Examples:\n  fleetctl stop foo.service\n  \
                      fleetctl stop --no-block myservice/*"
    )]
    Stop(WaitArgs),

    /// Unschedule one or more units in the cluster.
    #[command(after_help = "Examples:\n  fleetctl unload foo.service")]
    Unload(WaitArgs),

    /// Destroy one or more units in the cluster
    #[command(
        long_about = "Completely remove one or more running or submitted units from the cluster.\n\n\
                      Destroyed units are impossible to start unless re-submitted.",
        after_help = "Examples:\n  fleetctl destroy foo.service\n  fleetctl destroy web@1 web@2"
    )]
    Destroy(DestroyArgs),

    /// Output the contents of a submitted unit
    #[command(
        long_about = "Outputs the unit file that is currently loaded in the cluster. Useful to \
                      verify the correct version of a unit is running.",
        after_help = "Examples:\n  fleetctl cat foo.service\n  fleetctl cat -o json foo"
    )]
    Cat(CatArgs),

    /// Output the status of one or more units in the cluster
    #[command(
        long_about = "Output the status of one or more units currently running in the cluster: \
                      `systemctl status -l UNIT` on the unit's machine, over SSH to its primary \
                      IP (through the --tunnel host when one is given).\n\n\
                      This command does not work with global units.",
        after_help = "Examples:\n  fleetctl status foo.service\n  \
                      fleetctl --tunnel 10.10.10.10 status foo.service bar.service"
    )]
    Status(SshCommandArgs),

    /// Print the journal of a unit in the cluster to stdout
    #[command(
        long_about = "Outputs the journal of a unit by connecting to the machine that the unit \
                      occupies (over SSH to its primary IP, through the --tunnel host when one \
                      is given).\n\nThis command does not work with global units.",
        after_help = "Examples:\n  fleetctl journal foo.service\n  \
                      fleetctl journal --lines 100 foo.service\n  \
                      fleetctl journal -f --sudo foo.service"
    )]
    Journal(JournalArgs),

    /// Open interactive shell on a machine in the cluster
    #[command(
        long_about = "Open an interactive shell, or run a command, on a specific machine in the \
                      cluster or on the machine where the specified unit is located.\n\n\
                      fleetctl tries to detect whether your first argument is a machine (an id \
                      or a unique prefix of one) or a unit. To skip this check use the \
                      --machine or --unit flags.\n\n\
                      Commands run over fleetctl's own SSH connection; interactive shells and \
                      agent forwarding (-A) use the OpenSSH client `ssh`, with the same user, \
                      port, known-hosts file and tunnel.\n\n\
                      This command does not work with global units.",
        after_help = "Examples:\n  fleetctl ssh 2444264c-eac2-4eff-a490-32d5e5e4af24\n  \
                      fleetctl --tunnel 10.10.10.10 ssh foo.service\n  \
                      fleetctl ssh --forward-agent 2444264c\n  \
                      fleetctl ssh --unit foo.service -- systemctl is-active foo.service"
    )]
    Ssh(SshArgs),

    /// Proxy stdin and stdout to a unix domain socket
    #[command(
        name = "fd-forward",
        after_help = "fleetctl uses fd-forward on the remote machine when --tunnel is used and \
                      --endpoint is a unix socket.\n\nExamples:\n  \
                      fleetctl fd-forward /var/run/fleet.sock"
    )]
    FdForward(FdForwardArgs),

    /// Print the version and exit
    #[command(after_help = "Examples:\n  fleetctl version")]
    Version,

    /// Print help for fleetctl or one of its commands
    #[command(after_help = "Examples:\n  fleetctl help\n  fleetctl help list-units")]
    Help(HelpArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  fleetctl completion bash > /etc/bash_completion.d/fleetctl\n  \
                            fleetctl completion zsh > \"${fpath[1]}/_fleetctl\"\n  \
                            fleetctl completion fish > ~/.config/fish/completions/fleetctl.fish"
    )]
    Completion(CompletionArgs),
}

/// Output formats of the list commands and `cat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// fleetctl's aligned columns (or unit file text for `cat`).
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// The column names one list command accepts in `--fields`.
pub trait FieldSet: Clone + Send + Sync + 'static {
    /// The default `--fields`.
    const DEFAULT: &'static str;
    /// The valid field names, in the order fleetctl lists them in its help.
    const NAMES: &'static [&'static str];
}

/// `list-machines` fields.
#[derive(Debug, Clone)]
pub struct MachineFields;
impl FieldSet for MachineFields {
    const DEFAULT: &'static str = "machine,ip,metadata";
    const NAMES: &'static [&'static str] = &["ip", "machine", "metadata"];
}

/// `list-units` fields.
#[derive(Debug, Clone)]
pub struct UnitFields;
impl FieldSet for UnitFields {
    const DEFAULT: &'static str = "unit,machine,active,sub";
    const NAMES: &'static [&'static str] = &["active", "hash", "load", "machine", "sub", "unit"];
}

/// `list-unit-files` fields.
#[derive(Debug, Clone)]
pub struct UnitFileFields;
impl FieldSet for UnitFileFields {
    const DEFAULT: &'static str = "unit,hash,dstate,state,target";
    const NAMES: &'static [&'static str] = &[
        "desc", "dstate", "global", "hash", "state", "target", "tmachine", "unit",
    ];
}

/// Flags of the list commands.
#[derive(Debug, Args)]
pub struct ListArgs<F: FieldSet> {
    /// Do not ellipsize fields on output
    #[arg(long, short = 'l', alias = "l", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, default_value = "false", value_name = "BOOL")]
    pub full: bool,

    /// Do not print a legend (column headers)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          default_value = "false", value_name = "BOOL")]
    pub no_legend: bool,

    /// Columns to print, comma-separated (see the command's help for the valid names)
    #[arg(long, default_value = F::DEFAULT, value_name = "FIELDS", long_help = fields_help::<F>())]
    pub fields: String,

    /// Output format: "table" (fleetctl's columns) or "json" (one document, for scripts)
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    #[arg(skip)]
    _fields: std::marker::PhantomData<F>,
}

fn fields_help<F: FieldSet>() -> String {
    format!(
        "Columns to print, comma-separated. Valid fields are {:?}",
        F::NAMES.join(",")
    )
}

/// Flags of `submit`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Units: names (foo, foo.service, web@1.service) or unit file paths
    #[arg(value_name = "UNIT")]
    pub units: Vec<String>,

    /// DEPRECATED - this option cannot be used
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          default_value = "false", value_name = "BOOL")]
    pub sign: bool,

    /// Replace the units already in the cluster with the new versions
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          default_value = "false", value_name = "BOOL")]
    pub replace: bool,
}

/// Waiting flags of `start`, `stop`, `load` and `unload`.
#[derive(Debug, Args, Clone)]
pub struct WaitFlags {
    /// Wait until the units reach their state, performing up to N attempts (of up to 2 seconds
    /// each) before giving up. A value of 0 indicates no limit. Does not apply to global units.
    #[arg(long, default_value = "0", value_name = "N")]
    pub block_attempts: i64,

    /// Do not wait until the units reach their state before exiting. Always the case for global
    /// units.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          default_value = "false", value_name = "BOOL")]
    pub no_block: bool,

    /// Give up waiting after this many seconds, saying which units did not reach their state
    /// (0: no limit)
    #[arg(long, default_value = "0", value_name = "SECONDS", value_parser = parse_seconds)]
    pub wait_timeout: f64,
}

/// Flags of `load` and `start`.
#[derive(Debug, Args)]
pub struct WaitCreateArgs {
    /// Submission flags and units.
    #[command(flatten)]
    pub create: CreateArgs,
    /// Waiting flags.
    #[command(flatten)]
    pub wait: WaitFlags,
}

/// Flags of `stop` and `unload`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Unit names
    #[arg(value_name = "UNIT")]
    pub units: Vec<String>,
    /// Waiting flags.
    #[command(flatten)]
    pub wait: WaitFlags,
}

/// Flags of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Unit names
    #[arg(value_name = "UNIT")]
    pub units: Vec<String>,

    /// With --no-block, check up to N times (2 seconds apart) that the unit is gone (0: no
    /// limit)
    #[arg(long, default_value = "0", value_name = "N")]
    pub block_attempts: i64,

    /// See --block-attempts
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          default_value = "false", value_name = "BOOL")]
    pub no_block: bool,
}

/// Flags of `cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// The unit name
    #[arg(value_name = "UNIT")]
    pub units: Vec<String>,

    /// Output format: "table" (the unit file text) or "json"
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct SshCommandArgs {
    /// Connect to remote hosts over SSH using this TCP port
    #[arg(long, default_value = "22")]
    pub ssh_port: u16,
    /// Unit names
    #[arg(value_name = "UNIT")]
    pub units: Vec<String>,
}

/// Arguments of `journal`.
#[derive(Debug, Args)]
pub struct JournalArgs {
    /// Number of recent log lines to return
    #[arg(long, short = 'n', default_value = "10")]
    pub lines: u64,
    /// Continuously print new entries as they are appended to the journal
    #[arg(long, short = 'f', alias = "f", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, default_value = "false", value_name = "BOOL")]
    pub follow: bool,
    /// Connect to remote hosts over SSH using this TCP port
    #[arg(long, default_value = "22")]
    pub ssh_port: u16,
    /// Execute journal command with sudo
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse_go_bool, default_value = "false", value_name = "BOOL")]
    pub sudo: bool,
    /// Output mode, passed unaltered to journalctl on the remote host
    #[arg(long, default_value = "short")]
    pub output: String,
    /// The unit
    #[arg(value_name = "UNIT")]
    pub units: Vec<String>,
}

/// Arguments of `ssh`.
#[derive(Debug, Args)]
pub struct SshArgs {
    /// Forward local ssh-agent to target machine
    #[arg(long, short = 'A', alias = "A", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, default_value = "false", value_name = "BOOL")]
    pub forward_agent: bool,
    /// Connect to remote hosts over SSH using this TCP port
    #[arg(long, default_value = "22")]
    pub ssh_port: u16,
    /// Open SSH connection to machine running provided unit
    #[arg(long, short = 'u')]
    pub unit: Option<String>,
    /// Open SSH connection to a specific machine (an id or a unique prefix)
    #[arg(long, short = 'm')]
    pub machine: Option<String>,
    /// The machine or unit, then an optional command to run
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Arguments of `fd-forward`.
#[derive(Debug, Args)]
pub struct FdForwardArgs {
    /// The unix socket (fleetctl runs this on the tunnel host; not meant to be called
    /// directly)
    #[arg(value_name = "SOCKET")]
    pub socket: Vec<String>,
}

/// Arguments of `help`.
#[derive(Debug, Args)]
pub struct HelpArgs {
    /// The command to describe
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Arguments of `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `completion` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fleetctl").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_before_and_after_the_command() {
        let cli = parse(&["--endpoint", "http://127.0.0.1:1", "list-units"]).unwrap();
        assert_eq!(cli.global.endpoint, "http://127.0.0.1:1");
        let cli = parse(&["list-units", "--endpoint=http://127.0.0.1:2"]).unwrap();
        assert_eq!(cli.global.endpoint, "http://127.0.0.1:2");
    }

    #[test]
    fn fleetctl_defaults() {
        let cli = parse(&["list-units"]).unwrap();
        let g = cli.global;
        assert_eq!(g.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(g.driver, "API");
        assert_eq!(g.request_timeout, 3.0);
        assert_eq!(g.ssh_timeout, 10.0);
        assert_eq!(g.ssh_username, None);
        assert_eq!(g.ssh_user(), "core");
        assert!(g.strict_host_key_checking);
        assert_eq!(g.known_hosts_file, "~/.fleetctl/known_hosts");
        assert!(g.tunnel.is_none());
        match cli.command {
            Some(Command::ListUnits(a)) => {
                assert_eq!(a.fields, "unit,machine,active,sub");
                assert!(!a.full && !a.no_legend);
                assert_eq!(a.output, OutputFormat::Table);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn go_style_booleans() {
        let cli = parse(&["--strict-host-key-checking=false", "list-machines", "-l"]).unwrap();
        assert!(!cli.global.strict_host_key_checking);
        match cli.command {
            Some(Command::ListMachines(a)) => assert!(a.full),
            other => panic!("{other:?}"),
        }
        for args in [
            ["list-units", "--full"],
            ["list-units", "--l"],
            ["list-units", "--full=true"],
        ] {
            match parse(&args).unwrap().command {
                Some(Command::ListUnits(a)) => assert!(a.full, "{args:?}"),
                other => panic!("{other:?}"),
            }
        }
        // A boolean flag does not swallow the next argument.
        match parse(&["start", "--no-block", "foo"]).unwrap().command {
            Some(Command::Start(a)) => {
                assert!(a.wait.no_block);
                assert_eq!(a.create.units, ["foo"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn output_json() {
        match parse(&["list-unit-files", "-o", "json"]).unwrap().command {
            Some(Command::ListUnitFiles(a)) => assert_eq!(a.output, OutputFormat::Json),
            other => panic!("{other:?}"),
        }
        match parse(&["cat", "--output=json", "foo"]).unwrap().command {
            Some(Command::Cat(a)) => assert_eq!(a.output, OutputFormat::Json),
            other => panic!("{other:?}"),
        }
        assert!(parse(&["list-units", "-o", "yaml"]).is_err());
    }

    #[test]
    fn wait_flags() {
        match parse(&[
            "load",
            "--block-attempts=3",
            "--wait-timeout",
            "1.5",
            "a",
            "b",
        ])
        .unwrap()
        .command
        {
            Some(Command::Load(a)) => {
                assert_eq!(a.wait.block_attempts, 3);
                assert_eq!(a.wait.wait_timeout, 1.5);
                assert_eq!(a.create.units, ["a", "b"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["stop", "--wait-timeout=-1", "a"]).is_err());
    }

    #[test]
    fn prefix_matching_like_cobra() {
        // fleetctl enables cobra's prefix matching: an unambiguous prefix names the command.
        assert!(matches!(
            parse(&["list-m"]).unwrap().command,
            Some(Command::ListMachines(_))
        ));
        assert!(parse(&["list"]).is_err());
    }

    #[test]
    fn repeated_flags_last_wins_like_go() {
        let cli = parse(&[
            "--endpoint=a://x",
            "list-units",
            "--endpoint=b://y",
            "-l",
            "--full=false",
        ])
        .unwrap();
        assert_eq!(cli.global.endpoint, "b://y");
        match cli.command {
            Some(Command::ListUnits(a)) => assert!(!a.full),
            other => panic!("{other:?}"),
        }
    }
}
