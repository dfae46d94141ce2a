//! The real OpenSSH server of the SSH tests (`fleet_testserver::sshd`), set up for fleetctl:
//! every session command is recorded ([`Sshd::commands`]) and runs with fake `systemctl`,
//! `journalctl` and `sudo` first on `PATH`. The fakes print recognisable output and append
//! their arguments, one per line, to `<name>.args` ([`args_of`]).

use fleet_testserver::sshd::Sshd;

/// Starts sshd for fleetctl's tests; `debug_log` sets `LogLevel DEBUG1`, which logs each
/// forwarded channel; without `allow_streamlocal`, `direct-streamlocal` channels are refused
/// (and fleetctl falls back to running `fleetctl fd-forward` on the server).
pub fn start(debug_log: bool, allow_streamlocal: bool) -> Sshd {
    let sshd = Sshd::builder()
        .debug_log(debug_log)
        .allow_streamlocal(allow_streamlocal)
        .record_commands(true)
        .start()
        .expect("sshd starts");
    let dd = sshd.dir().display().to_string();
    // systemctl status exits 3 for a unit that is not running, as the real one does.
    let fakes = [
        (
            "systemctl",
            format!(
                "#!/bin/sh\n\
                 printf '%s\\n' \"$@\" >> {dd}/systemctl.args\n\
                 unit=\"$3\"\n\
                 [ -n \"$unit\" ] || unit=\"$2\"\n\
                 echo \"* $unit - fake systemctl $1\"\n\
                 echo \"   Active: active (running)\"\n\
                 case \"$unit\" in failing.service) exit 3;; esac\n\
                 exit 0\n"
            ),
        ),
        (
            "journalctl",
            format!(
                "#!/bin/sh\n\
                 printf '%s\\n' \"$@\" >> {dd}/journalctl.args\n\
                 echo \"-- fake journal of $2 --\"\n\
                 i=1; while [ $i -le \"$5\" ]; do echo \"line $i\"; i=$((i+1)); done\n"
            ),
        ),
        (
            "sudo",
            format!(
                "#!/bin/sh\n\
                 echo sudo >> {dd}/sudo.args\n\
                 exec \"$@\"\n"
            ),
        ),
    ];
    for (name, script) in fakes {
        sshd.install_script(name, &script).expect("fake installed");
    }
    sshd
}

/// The arguments a fake command received (one per line, across calls).
pub fn args_of(sshd: &Sshd, fake: &str) -> Vec<String> {
    std::fs::read_to_string(sshd.dir().join(format!("{fake}.args")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}
