//! The real fleetctl binary against fleet-testserver: full stdout, stderr and exit code of every
//! command and flag, compared with snapshots reviewed against what fleetctl 1.0 prints.

mod common;

use std::io::Write as _;
use std::time::Duration;

use common::*;

fn server() -> TestServer {
    TestServer::start().expect("start test server")
}

macro_rules! snap {
    ($name:expr, $run:expr) => {
        insta::assert_snapshot!($name, $run.transcript())
    };
}

/// Snapshots `run(args)` under `name` for each `(name, args)` case.
fn snaps(run: impl Fn(&[&str]) -> Run, cases: &[(&str, &[&str])]) {
    for &(name, args) in cases {
        snap!(name, run(args));
    }
}

/// Runs a sequence of commands in one work dir against one server; each step is snapshotted.
fn steps(endpoint: &str, wd: &Workdir, steps: &[&[&str]]) -> String {
    let mut all = String::new();
    for args in steps {
        let run = fleetctl(endpoint, wd.path(), args);
        all.push_str(&format!(
            "$ fleetctl {}\n{}\n",
            args.join(" "),
            run.transcript()
        ));
    }
    all
}

/// A test server, its endpoint and an empty work dir: what most tests run fleetctl with.
struct Fleet {
    server: TestServer,
    ep: String,
    wd: Workdir,
}

impl Fleet {
    fn new() -> Fleet {
        Fleet::with(server())
    }

    fn with(server: TestServer) -> Fleet {
        Fleet {
            ep: server.http_endpoint(),
            server,
            wd: Workdir::new(),
        }
    }

    /// A server whose agents take `delay` to reach each unit state.
    fn with_state_delay(delay: Duration) -> Fleet {
        Fleet::with(
            TestServer::builder()
                .state_delay(delay)
                .start()
                .expect("server"),
        )
    }

    /// Runs fleetctl against the server in the work dir.
    fn run(&self, args: &[&str]) -> Run {
        fleetctl(&self.ep, self.wd.path(), args)
    }

    /// [`steps`] against the server in the work dir.
    fn steps(&self, commands: &[&[&str]]) -> String {
        steps(&self.ep, &self.wd, commands)
    }
}

#[test]
fn list_machines() {
    let t = Fleet::new();
    snaps(
        |args| t.run(args),
        &[
            ("list_machines", &["list-machines"]),
            ("list_machines_full", &["list-machines", "--full"]),
            (
                "list_machines_l_no_legend",
                &["list-machines", "-l", "--no-legend"],
            ),
            (
                "list_machines_fields",
                &["list-machines", "--fields=ip,machine"],
            ),
            (
                "list_machines_bad_field",
                &["list-machines", "--fields=ip,bogus"],
            ),
            (
                "list_machines_empty_fields",
                &["list-machines", "--fields="],
            ),
            ("list_machines_json", &["list-machines", "-o", "json"]),
        ],
    );
}

#[test]
fn list_on_empty_cluster() {
    let t = Fleet::new();
    snaps(
        |args| t.run(args),
        &[
            ("list_units_empty", &["list-units"]),
            ("list_unit_files_empty", &["list-unit-files"]),
            ("list_units_empty_json", &["list-units", "-o", "json"]),
        ],
    );
}

#[test]
fn submit_start_list_stop_unload_destroy() {
    let t = Fleet::new();
    t.wd.write("hello.service", HELLO);
    let transcript = t.steps(&[
        &["submit", "hello.service"],
        &["submit", "hello.service"],
        &["list-unit-files"],
        &["start", "hello"],
        &["start", "hello.service"],
        &["list-units"],
        &[
            "list-units",
            "--full",
            "--fields=unit,hash,load,active,sub,machine",
        ],
        &["list-unit-files", "--full"],
        &[
            "list-unit-files",
            "--fields=unit,desc,global,dstate,state,target",
            "--no-legend",
        ],
        &["stop", "hello"],
        &["list-units", "--no-legend"],
        &["stop", "hello"],
        &["unload", "hello"],
        &["stop", "hello"],
        &["unload", "hello"],
        &["list-unit-files"],
        &["destroy", "hello"],
        &["destroy", "hello"],
        &["list-unit-files"],
    ]);
    insta::assert_snapshot!("lifecycle", transcript);
}

#[test]
fn templates_and_instances() {
    let t = Fleet::new();
    t.wd.write("units/web@.service", WEB_TEMPLATE);
    let transcript = t.steps(&[
        // The instance is built from the template file next to it.
        &["start", "units/web@1.service"],
        // The template itself can be submitted; instances then come from fleet's copy.
        &["submit", "units/web@.service"],
        &["start", "web@2"],
        &["load", "web@3"],
        &["list-unit-files"],
        &["list-units", "--fields=unit,machine,sub"],
        &["cat", "web@2"],
        &["cat", "web@.service"],
        // No template anywhere.
        &["start", "api@1"],
        // Not an instance, no file.
        &["start", "nothing"],
        &["destroy", "web@1", "web@2.service", "web@3", "web@.service"],
    ]);
    insta::assert_snapshot!("templates", transcript);
}

#[test]
fn different_contents_are_refused_unless_replace() {
    let t = Fleet::new();
    t.wd.write("hello.service", HELLO);
    let mut transcript = t.steps(&[&["submit", "hello.service"], &["list-unit-files"]]);
    t.wd.write(
        "hello.service",
        "[Unit]\nDescription=Hello again\n\n[Service]\nExecStart=/bin/sleep 2d\n",
    );
    transcript.push_str(&t.steps(&[
        &["submit", "hello.service"],
        &["list-unit-files", "--fields=unit,hash,desc"],
        &["submit", "--replace", "hello.service"],
        &["list-unit-files", "--fields=unit,hash,desc"],
        &["submit", "--replace", "hello.service"],
        &["start", "hello.service"],
    ]));
    t.wd.write("hello.service", HELLO);
    transcript.push_str(&t.steps(&[
        // submit may not replace a launched unit; start may.
        &["submit", "--replace", "hello.service"],
        &["start", "--replace", "hello.service"],
        &["list-unit-files", "--fields=unit,hash,desc,dstate"],
    ]));
    insta::assert_snapshot!("replace", transcript);
}

#[test]
fn no_block_and_globals() {
    let t = Fleet::new();
    t.wd.write("hello.service", HELLO)
        .write("everywhere.service", GLOBAL);
    let transcript = t.steps(&[
        &["load", "--no-block", "hello.service"],
        &["start", "--no-block", "hello.service"],
        &["start", "everywhere.service"],
        &["list-unit-files"],
        &["stop", "--no-block", "everywhere", "hello"],
        &["unload", "everywhere", "hello"],
        &["destroy", "--no-block", "everywhere", "hello"],
    ]);
    insta::assert_snapshot!("no_block_globals", transcript);
}

#[test]
fn waiting_gives_up() {
    let t = Fleet::new();
    t.wd.write("nowhere.service", NOWHERE);
    // No machine has role=nothing: the unit is never scheduled.
    let run = t.run(&["start", "--block-attempts=1", "nowhere.service"]);
    snap!("start_block_attempts", run);
    let run = t.run(&["load", "--wait-timeout=0.3", "nowhere"]);
    snap!("load_wait_timeout", run);
}

#[test]
fn waiting_follows_the_agents() {
    let t = Fleet::with_state_delay(Duration::from_millis(300));
    t.wd.write("hello.service", HELLO);
    let transcript = t.steps(&[
        &["start", "hello.service"],
        &["list-units"],
        &["stop", "hello"],
    ]);
    insta::assert_snapshot!("slow_agents", transcript);
}

#[test]
fn cat() {
    let t = Fleet::new();
    t.wd.write("hello.service", HELLO);
    t.run(&["submit", "hello.service"]);
    snaps(
        |args| t.run(args),
        &[
            ("cat", &["cat", "hello"]),
            ("cat_json", &["cat", "-o", "json", "hello"]),
            ("cat_missing", &["cat", "missing"]),
            ("cat_two", &["cat", "a", "b"]),
            ("cat_none", &["cat"]),
        ],
    );
}

#[test]
fn json_lists() {
    let t = Fleet::new();
    t.wd.write("hello.service", HELLO)
        .write("everywhere.service", GLOBAL);
    t.run(&["start", "hello.service", "everywhere.service"]);
    snap!("list_units_json", t.run(&["list-units", "-o", "json"]));
    snap!(
        "list_unit_files_json",
        t.run(&["list-unit-files", "--output=json"])
    );
}

#[test]
fn argument_errors() {
    let t = Fleet::new();
    for (name, args) in [
        ("submit_none", &["submit"][..]),
        ("start_none", &["start"][..]),
        ("stop_none", &["stop"][..]),
        ("unload_none", &["unload"][..]),
        ("destroy_none", &["destroy"][..]),
        ("load_none", &["load"][..]),
        ("stop_unknown", &["stop", "nothere"][..]),
        ("unload_unknown", &["unload", "nothere"][..]),
        ("destroy_unknown", &["destroy", "nothere"][..]),
        ("submit_missing_file", &["submit", "missing.service"][..]),
        ("submit_bad_name", &["submit", "bad name.service"][..]),
        ("submit_sign", &["submit", "--sign", "x.service"][..]),
        (
            "list_unit_files_bad_field",
            &["list-unit-files", "--fields=unit,tmachine,nope"][..],
        ),
        (
            "list_units_bad_field",
            &["list-units", "--fields=unit,"][..],
        ),
        ("unknown_flag", &["list-units", "--bogus"][..]),
        ("bad_output", &["list-units", "-o", "yaml"][..]),
        // Usage errors as fleetctl 1.0 (cobra + pflag) reports them, exit code 0 included.
        ("unknown_short_flag", &["list-units", "-lx"][..]),
        ("missing_value", &["list-units", "--fields"][..]),
        ("missing_value_short", &["cat", "-o"][..]),
        (
            "bad_int",
            &["start", "--block-attempts=abc", "x.service"][..],
        ),
        ("bad_bool", &["list-machines", "--full=maybe"][..]),
        (
            "bad_float",
            &["--request-timeout", "soon", "list-units"][..],
        ),
        ("unknown_command", &["bogus"][..]),
        ("unknown_command_suggest", &["list", "--full"][..]),
    ] {
        snap!(format!("error_{name}"), t.run(args));
    }
}

#[test]
fn client_setup_errors() {
    let wd = Workdir::new();
    let run = |args: &[&str]| fleetctl_env(None, wd.path(), args, &[]);
    snaps(
        run,
        &[
            ("driver_etcd", &["--driver=etcd", "list-units"]),
            ("driver_unknown", &["--driver=foo", "list-units"]),
            // Nothing listens on port 1: the tunnel is opened before the command runs, as in
            // fleetctl.
            ("tunnel", &["--tunnel", "127.0.0.1:1", "list-machines"]),
            (
                "endpoint_no_scheme",
                &["--endpoint=/var/run/fleet.sock", "list-units"],
            ),
            (
                "endpoint_unix_host",
                &["--endpoint=unix://var/run/fleet.sock", "list-units"],
            ),
            (
                "endpoint_unreachable",
                &[
                    "--endpoint=unix:///nonexistent/fleet.sock",
                    "list-unit-files",
                ],
            ),
        ],
    );
    let tunnel_env = fleetctl_env(
        None,
        wd.path(),
        &["list-units"],
        &[("FLEETCTL_TUNNEL", "core@127.0.0.1:1")],
    );
    snap!("tunnel_env", tunnel_env);
    // Without a fleet to ask (and, for fd-forward, no such socket); tests/ssh.rs runs them
    // against a real sshd.
    for cmd in ["status", "journal", "ssh", "fd-forward"] {
        snap!(format!("no_fleet_{cmd}"), run(&[cmd, "hello.service"]));
    }
}

#[test]
fn environment_variables() {
    let s = server();
    let wd = Workdir::new();
    let ep = s.http_endpoint();
    let with_env = fleetctl_env(
        None,
        wd.path(),
        &["list-machines"],
        &[("FLEETCTL_ENDPOINT", &ep)],
    );
    let with_flag = fleetctl(&ep, wd.path(), &["list-machines"]);
    assert_eq!(with_env.code, 0, "{}", with_env.stderr);
    assert_eq!(with_env.stdout, with_flag.stdout);
    // The flag wins over the variable.
    let both = fleetctl_env(
        Some(&ep),
        wd.path(),
        &["list-machines"],
        &[("FLEETCTL_ENDPOINT", "unix:///nonexistent.sock")],
    );
    assert_eq!(both.stdout, with_flag.stdout);
    // An empty variable is ignored, as fleetctl does: the default endpoint is used.
    let empty = fleetctl_env(
        None,
        wd.path(),
        &["list-machines"],
        &[("FLEETCTL_ENDPOINT", "")],
    );
    assert!(
        empty.stderr.contains("unix:///var/run/fleet.sock"),
        "{}",
        empty.stderr
    );
    // A variable for the driver is honoured.
    let etcd = fleetctl_env(
        Some(&ep),
        wd.path(),
        &["list-machines"],
        &[("FLEETCTL_DRIVER", "etcd")],
    );
    assert_eq!(etcd.code, 1);
    assert!(etcd.stderr.contains("etcd driver is not supported"));
    // --debug (or FLEETCTL_DEBUG) logs the requests on stderr, without colour off a terminal;
    // stdout is unchanged.
    let debug = fleetctl_env(
        Some(&ep),
        wd.path(),
        &["list-machines"],
        &[("FLEETCTL_DEBUG", "true")],
    );
    assert_eq!(debug.code, 0);
    assert_eq!(debug.stdout, with_flag.stdout);
    assert!(debug.stderr.contains("DEBUG"), "{}", debug.stderr);
    assert!(
        debug.stderr.contains("/fleet/v1/machines"),
        "{}",
        debug.stderr
    );
    assert!(!debug.stderr.contains('\x1b'));
    // --request-timeout from the environment must be a number.
    let bad = fleetctl_env(
        Some(&ep),
        wd.path(),
        &["list-machines"],
        &[("FLEETCTL_REQUEST_TIMEOUT", "soon")],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("invalid number of seconds"),
        "{}",
        bad.stderr
    );
}

#[test]
fn unix_socket_and_tcp_print_the_same() {
    let s = server();
    let wd = Workdir::new();
    wd.write("hello.service", HELLO)
        .write("web@.service", WEB_TEMPLATE);
    let http = s.http_endpoint();
    let unix = s.unix_endpoint().expect("unix endpoint");
    let http_unix = s.http_unix_endpoint().expect("http+unix endpoint");
    let scenario: &[&[&str]] = &[
        &["list-machines"],
        &["start", "hello.service", "web@7"],
        &["list-units"],
        &["list-unit-files"],
        &["cat", "web@7"],
        &["stop", "hello", "web@7"],
        &["destroy", "hello", "web@7", "web@.service"],
        &["list-unit-files"],
    ];
    let over_tcp = steps(&http, &wd, scenario);
    let over_unix = steps(&unix, &wd, scenario);
    let over_http_unix = steps(&http_unix, &wd, scenario);
    assert_eq!(over_tcp, over_unix);
    assert_eq!(over_tcp, over_http_unix);
    insta::assert_snapshot!("same_over_every_transport", over_unix);
}

#[test]
fn version_and_help() {
    let wd = Workdir::new();
    let run = |args: &[&str]| fleetctl_env(None, wd.path(), args, &[]);
    let v = run(&["--version"]);
    snap!("version_flag", v);
    assert_eq!(run(&["-v"]).stdout, v.stdout);
    assert_eq!(run(&["version"]).stdout, v.stdout);
    assert_eq!(run(&["list-units", "--version"]).stdout, v.stdout);
    for cmd in [
        "list-machines",
        "list-units",
        "list-unit-files",
        "submit",
        "load",
        "start",
        "stop",
        "unload",
        "destroy",
        "cat",
        "status",
        "journal",
        "ssh",
        "fd-forward",
        "version",
        "help",
        "completion",
    ] {
        let help = run(&[cmd, "--help"]);
        assert_eq!(help.code, 0, "{cmd}: {}", help.stderr);
        assert!(
            help.stdout.contains("Examples:"),
            "{cmd} --help has no example:\n{}",
            help.stdout
        );
        let via_help = run(&["help", cmd]);
        assert_eq!(via_help.code, 0, "help {cmd}");
        assert!(via_help.stdout.contains("Examples:"));
    }
    let top = run(&[]);
    assert_eq!(top.code, 0);
    assert!(top.stdout.contains("list-unit-files"));
    let unknown = run(&["help", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("Unknown help topic `nope`"));
}

#[test]
fn completion_scripts() {
    let wd = Workdir::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef fleetctl"),
        ("fish", "complete -c fleetctl"),
    ] {
        let run = fleetctl_env(None, wd.path(), &["completion", shell], &[]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}");
        assert!(run.stdout.contains("list-unit-files"), "{shell}");
    }
    let bad = fleetctl_env(None, wd.path(), &["completion", "tcsh"], &[]);
    assert_eq!(bad.code, 2);
}

#[test]
fn no_color_and_no_spinner_without_terminal() {
    let t = Fleet::new();
    t.wd.write("hello.service", HELLO);
    let run = t.run(&["start", "hello.service"]);
    assert_eq!(run.code, 0);
    assert!(!run.stderr.contains('\x1b') && !run.stdout.contains('\x1b'));
    assert!(!run.stderr.contains('\r'));
}

#[test]
fn invalid_units_are_refused_with_the_reason() {
    let t = Fleet::new();
    t.wd.write("bad name.service", HELLO)
        .write("broken.service", "[Service\nExecStart=/bin/true\n")
        .write(
            "odd.service",
            "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nFoo=bar\n",
        )
        .write(
            "clash.service",
            "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\nMachineOf=odd.service\n",
        );
    let transcript = t.steps(&[
        &["submit", "bad name.service"],
        &["submit", "broken.service"],
        &["submit", "odd.service"],
        &["submit", "clash.service"],
        &["list-unit-files", "--fields=unit"],
    ]);
    insta::assert_snapshot!("invalid_units", transcript);
}

#[test]
fn server_errors() {
    use fleet_testserver::{Fault, FaultKind};
    let t = Fleet::new();
    // The client fetches the discovery document first, then the list.
    t.server
        .inject(Fault::new(FaultKind::Status(500)).path("/fleet/v1/machines"));
    snap!("list_machines_500", t.run(&["list-machines"]));
    t.server
        .inject(Fault::new(FaultKind::Status(503)).path("/fleet/v1/units"));
    snap!("list_unit_files_503", t.run(&["list-unit-files"]));
    t.server
        .inject(Fault::new(FaultKind::Status(500)).path("/fleet/v1/state"));
    snap!("list_units_500", t.run(&["list-units"]));
    t.server
        .inject(Fault::new(FaultKind::Status(500)).path("/fleet/v1/units"));
    snap!("cat_500", t.run(&["cat", "hello"]));
}

#[test]
fn request_timeout_is_honoured() {
    use fleet_testserver::{Fault, FaultKind};
    let t = Fleet::new();
    t.server
        .inject(Fault::new(FaultKind::Delay(Duration::from_secs(5))).path("/fleet/v1/machines"));
    let started = std::time::Instant::now();
    let run = t.run(&["--request-timeout=0.3", "list-machines"]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    run.assert_error("Error retrieving list of active machines from fleet API (");
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
}

/// Runs fleetctl under a pseudo-terminal (util-linux `script`), returning everything it wrote.
fn on_terminal(endpoint: &str, wd: &Workdir, args: &str, no_color: bool) -> Option<String> {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        // Straight to stderr: the test harness captures `eprintln!`, and a skip must show.
        let _ = writeln!(
            std::io::stderr(),
            "skipping: /usr/bin/script (util-linux) is not installed"
        );
        return None;
    }
    let cmd = format!(
        "{} --endpoint={endpoint} {args}",
        env!("CARGO_BIN_EXE_fleetctl")
    );
    let mut c = std::process::Command::new(script);
    c.args(["-qec", &cmd, "/dev/null"]).current_dir(wd.path());
    c.env_remove("NO_COLOR");
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let out = c.output().expect("run script");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn terminal_gets_progress_and_colour_unless_no_color() {
    let t = Fleet::with_state_delay(Duration::from_millis(700));
    t.wd.write("hello.service", HELLO);
    let Some(out) = on_terminal(&t.ep, &t.wd, "start hello.service", false) else {
        return;
    };
    assert!(
        out.contains("waiting for hello.service to become launched"),
        "{out:?}"
    );
    assert!(out.contains("\r\x1b[2K"), "{out:?}");
    assert!(out.contains("Unit hello.service launched on 113f16a7.../172.17.8.101"));
    let colored = on_terminal(&t.ep, &t.wd, "list-units --fields=nope", false).unwrap_or_default();
    assert!(
        colored.contains("\x1b[1;31mInvalid key in output format:\x1b[0m \"nope\""),
        "{colored:?}"
    );
    let plain = on_terminal(&t.ep, &t.wd, "list-units --fields=nope", true).unwrap_or_default();
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("Invalid key in output format: \"nope\""));
}

#[test]
fn a_machine_address_that_is_no_host_is_never_handed_to_ssh() {
    // The address comes from the server: one that OpenSSH could read as something else is
    // refused before any SSH client runs.
    let t = Fleet::with(
        TestServer::builder()
            .machines(vec![fleet::v1::Machine {
                id: "c0ffee00c0ffee00c0ffee00c0ffee00".into(),
                primary_ip: "$(touch pwned)".into(),
                ..Default::default()
            }])
            .start()
            .expect("server"),
    );
    let run = t.run(&["ssh", "c0ffee", "true"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "Unable to proceed: the machine's address \"$(touch pwned)\" is not an IP address or \
             host name\n"
        ),
        "{}",
        run.transcript()
    );
    t.server.put_unit_raw(
        "hello.service",
        vec![fleet::v1::UnitOption::new(
            "Service",
            "ExecStart",
            "/bin/true",
        )],
        "launched",
    );
    assert!(t.server.wait_settled(Duration::from_secs(10)));
    let run = t.run(&["status", "hello.service"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            255,
            "Unable to SSH to remote host: machine c0ffee00c0ffee00c0ffee00c0ffee00 has the \
             address \"$(touch pwned)\", which is not an IP address or host name\n"
        ),
        "{}",
        run.transcript()
    );
    assert!(!t.wd.path().join("pwned").exists());
}
