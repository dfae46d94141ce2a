//! What fleetctl prints: tables aligned like Go's tabwriter, JSON for scripts, and messages.

pub mod json;
pub mod table;
pub mod tabwriter;

use std::io::{IsTerminal, Write};

/// Writes `msg` to stderr with a newline added unless it ends in one (fleetctl's `stderr()`).
/// On a terminal (and without `NO_COLOR`) a leading `WARNING:` is yellow and a leading error
/// phrase red; elsewhere the bytes are exactly fleetctl's.
pub fn stderr(msg: &str) {
    let msg = decorate(msg, stderr_color());
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(msg.as_bytes());
    if !msg.ends_with('\n') {
        let _ = err.write_all(b"\n");
    }
}

/// Writes `msg` to stdout with a newline added unless it ends in one (fleetctl's `stdout()`).
pub fn stdout(msg: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(msg.as_bytes());
    if !msg.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Writes `text` to stdout as is.
pub fn stdout_raw(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Whether stderr is a terminal and colour is allowed there (`NO_COLOR` unset or empty).
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Colours the lead of a message: up to its first `:` when it starts with a warning or error
/// word; the message unchanged without `color`.
///
/// ```
/// # use fleetctl::output::decorate;
/// assert_eq!(decorate("WARNING: x", false), "WARNING: x");
/// assert_eq!(decorate("WARNING: x", true), "\x1b[1;33mWARNING:\x1b[0m x");
/// assert_eq!(decorate("Error creating units: x", true), "\x1b[1;31mError creating units:\x1b[0m x");
/// assert_eq!(decorate("Unit a.service launched", true), "Unit a.service launched");
/// ```
pub fn decorate(msg: &str, color: bool) -> String {
    if !color {
        return msg.to_string();
    }
    let code = if msg.starts_with("WARNING") || msg.starts_with("Warning") {
        "1;33"
    } else if ["Error", "Unable", "Failed", "Invalid", "Must"]
        .iter()
        .any(|w| msg.starts_with(w))
    {
        "1;31"
    } else {
        return msg.to_string();
    };
    match msg.find(':') {
        Some(i) => format!("\x1b[{code}m{}\x1b[0m{}", &msg[..=i], &msg[i + 1..]),
        None => format!("\x1b[{code}m{msg}\x1b[0m"),
    }
}

/// Go's `%v` of a `[]string`: `[a b c]`.
pub fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// A library error as fleetctl 1.0 prints API errors (its Google API client's wording):
/// `googleapi: Error 400: <message>`, or for an error without a message
/// `googleapi: got HTTP response code 500 with body: <fleet's error body>`. Other errors
/// (transport, timeouts) keep the library's wording.
///
/// ```
/// use fleet::v1 as fleet;
/// use fleetctl::output::go_err;
/// let e = fleet::Error::Api { code: 409, message: "unit does not exist and options field empty".into() };
/// assert_eq!(go_err(&e), "googleapi: Error 409: unit does not exist and options field empty");
/// let e = fleet::Error::Api { code: 500, message: String::new() };
/// assert_eq!(go_err(&e),
///     r#"googleapi: got HTTP response code 500 with body: {"error":{"code":500,"message":""}}"#);
/// ```
pub fn go_err(e: &fleet::v1::Error) -> String {
    match e {
        fleet::v1::Error::Api { code, message } if message.is_empty() => format!(
            "googleapi: got HTTP response code {code} with body: {{\"error\":{{\"code\":{code},\"message\":\"\"}}}}"
        ),
        fleet::v1::Error::Api { code, message } => format!("googleapi: Error {code}: {message}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_list_format() {
        assert_eq!(go_list(&[]), "[]");
        assert_eq!(
            go_list(&["a.service".into(), "b.service".into()]),
            "[a.service b.service]"
        );
    }
}
