//! `fleetctl fd-forward SOCKET`: copies stdin to a unix socket and the socket to stdout.
//!
//! fleetctl runs this on the tunnel host to reach fleet's unix socket when the SSH server does
//! not open `direct-streamlocal` channels. As in fleetctl 1.0, it stops when either copy ends:
//! fleet closing the connection, or the end of stdin (the SSH channel closing). It does not
//! half-close the socket at the end of stdin, since fleet's HTTP server may take that as the
//! connection's end and drop an answer being prepared.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use crate::cli::FdForwardArgs;
use crate::output;

/// An I/O error in Go's words (`no such file or directory`), for fleetctl's messages.
fn go_io(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Copies until EOF, flushing after each read so that a request/answer protocol works.
fn copy(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut buf = [0u8; 32 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(buf.get(..n).unwrap_or_default())?;
        to.flush()?;
    }
}

/// Runs `fd-forward`; returns the exit code.
pub fn run(args: &FdForwardArgs) -> i32 {
    let [to] = args.socket.as_slice() else {
        output::stderr("Provide a single argument");
        return 1;
    };
    let sock = match UnixStream::connect(to) {
        Ok(s) => s,
        Err(e) => {
            // fleetctl 1.0 reports the failure and exits 0 (a bare `return` of its named result).
            output::stderr(&format!(
                "Failed dialing remote address: dial unix {to}: connect: {}",
                go_io(&e)
            ));
            return 0;
        }
    };
    let mut to_sock = match sock.try_clone() {
        Ok(s) => s,
        Err(e) => {
            output::stderr(&format!("Encountered error during copy: {}", go_io(&e)));
            return 1;
        }
    };
    // Whichever copy ends first ends the command (the other thread is not waited for).
    let (tx, rx) = std::sync::mpsc::channel();
    let to_stdout = tx.clone();
    std::thread::spawn(move || {
        let _ = tx.send(copy(&mut std::io::stdin().lock(), &mut to_sock));
    });
    std::thread::spawn(move || {
        let mut from_sock = sock;
        let _ = to_stdout.send(copy(&mut from_sock, &mut std::io::stdout().lock()));
    });
    let result = rx.recv().unwrap_or(Ok(()));
    match result {
        Ok(()) => 0,
        Err(e) => {
            output::stderr(&format!("Encountered error during copy: {}", go_io(&e)));
            1
        }
    }
}
