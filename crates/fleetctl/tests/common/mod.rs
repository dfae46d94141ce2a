//! Running the real fleetctl binary against a fleet-testserver.

#![allow(dead_code)]

pub mod sshd;

use std::path::Path;
use std::process::{Command, Stdio};

pub use fleet_testserver::TestServer;

/// What one run printed and returned.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    /// The whole outcome as one text, for snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Asserts that fleetctl exited with `code`, showing the whole transcript if not.
    #[track_caller]
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{}", self.transcript());
    }

    /// Asserts that fleetctl exited with 1 and a message on stderr that starts with `prefix`.
    #[track_caller]
    pub fn assert_error(&self, prefix: &str) {
        self.assert_code(1);
        assert!(self.stderr.starts_with(prefix), "{}", self.stderr);
    }
}

/// A temporary directory with unit files, used as fleetctl's working directory.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn write(&self, name: &str, text: &str) -> &Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write unit file");
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs fleetctl with `args` in `cwd`, with `endpoint` given by `--endpoint`, a clean
/// environment (no `FLEETCTL_*`, no terminal) and the given extra variables.
pub fn fleetctl_env(
    endpoint: Option<&str>,
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetctl"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FLEETCTL_") {
            cmd.env_remove(k);
        }
    }
    if let Some(endpoint) = endpoint {
        cmd.arg(format!("--endpoint={endpoint}"));
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::null());
    let out = cmd.output().expect("run fleetctl");
    let scrub = |bytes: &[u8]| {
        let mut s = String::from_utf8_lossy(bytes).into_owned();
        if let Some(endpoint) = endpoint {
            s = s.replace(endpoint, "[ENDPOINT]");
        }
        s
    };
    Run {
        stdout: scrub(&out.stdout),
        stderr: scrub(&out.stderr),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Runs fleetctl against `endpoint` in `cwd`.
pub fn fleetctl(endpoint: &str, cwd: &Path, args: &[&str]) -> Run {
    fleetctl_env(Some(endpoint), cwd, args, &[])
}

pub const HELLO: &str = "[Unit]\nDescription=Hello World\n\n[Service]\nExecStart=/bin/sh -c \"while true; do echo Hello; sleep 1; done\"\n";
pub const WEB_TEMPLATE: &str = "[Unit]\nDescription=Web server %i\n\n[Service]\nExecStart=/usr/bin/docker run --name web-%i nginx\n\n[X-Fleet]\nConflicts=web@*.service\n";
pub const GLOBAL: &str = "[Unit]\nDescription=Everywhere\n\n[Service]\nExecStart=/bin/sleep 1d\n\n[X-Fleet]\nGlobal=true\n";
pub const NOWHERE: &str =
    "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineMetadata=role=nothing\n";
