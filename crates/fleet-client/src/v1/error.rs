//! The one error type of the library.

use std::time::Duration;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to fleet or reading a unit.
///
/// ```
/// use fleet::v1 as fleet;
///
/// let err = fleet::Error::Api { code: 404, message: "unit does not exist".into() };
/// assert_eq!(err.code(), Some(404));
/// assert_eq!(err.to_string(), "unit does not exist (404)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint string could not be understood.
    #[error("invalid endpoint {endpoint:?}: {message}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        message: String,
    },

    /// The discovery document could not be fetched, or does not describe the fleet v1 API.
    /// python-fleet raises `ValueError` here.
    #[error("fleet API discovery failed for {endpoint}: {message}")]
    Discovery {
        /// The endpoint the client was built for.
        endpoint: String,
        /// Why discovery failed.
        message: String,
    },

    /// fleet answered with an error (any HTTP status of 400 or more).
    #[error("{message} ({code})")]
    Api {
        /// The HTTP status code (also the `code` of fleet's error body).
        code: u16,
        /// fleet's error message; empty for some errors (fleet sends `""` for 404s from
        /// routing and for every 500).
        message: String,
    },

    /// fleet answered, but not with what the API promises.
    #[error(
        "unexpected response to {request} (HTTP {status}): {message}; body starts {excerpt:?}"
    )]
    UnexpectedResponse {
        /// The request, as `METHOD path`.
        request: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
        /// The first bytes of the body (at most 200 characters).
        excerpt: String,
    },

    /// The connection was closed before fleet sent any response.
    ///
    /// fleet v1.0.0 does this for `GET /fleet/v1/state/<unknown unit>`.
    #[error("fleet closed the connection without a response to {request}")]
    NoResponse {
        /// The request, as `METHOD path`.
        request: String,
    },

    /// A transport failure: connecting, reading or writing.
    #[error("transport error talking to {endpoint}: {message}")]
    Transport {
        /// The endpoint.
        endpoint: String,
        /// What failed.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// TLS could not be set up or the peer's certificate was refused.
    #[error("TLS error: {message}")]
    Tls {
        /// What was wrong (which file, which certificate).
        message: String,
    },

    /// The SSH tunnel could not be opened or used.
    #[error("SSH tunnel error: {message}")]
    Ssh {
        /// What was wrong.
        message: String,
    },

    /// An operation did not finish in time.
    #[error("timed out after {after:?}: {what}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long was waited.
        after: Duration,
    },

    /// A unit file could not be parsed.
    #[error(
        "invalid unit{}{}: {message}",
        file.as_ref().map(|f| format!(" {}", f.display())).unwrap_or_default(),
        line.map(|l| format!(" at line {l}")).unwrap_or_default()
    )]
    InvalidUnit {
        /// The file the unit was read from, for [`Unit::from_file`](crate::v1::Unit::from_file).
        file: Option<std::path::PathBuf>,
        /// The 1-based line number, when the error belongs to a line.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },

    /// A unit name that fleet would refuse.
    #[error("invalid unit name {name:?}: {message}")]
    InvalidUnitName {
        /// The name as given.
        name: String,
        /// fleet's reason.
        message: String,
    },

    /// A value that is not a valid desired state.
    #[error("invalid desired state {value:?}: expected one of inactive, loaded, launched")]
    InvalidDesiredState {
        /// The value as given.
        value: String,
    },

    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// An operation that needs a unit fetched from the cluster was called on a local unit.
    #[error("{operation} needs a unit that came from the cluster; this unit was built locally")]
    LocalUnit {
        /// The operation, such as `set_desired_state`.
        operation: &'static str,
    },

    /// A blocking call was made from inside an async runtime, where it would block a worker thread.
    #[error("fleet::v1::blocking::Client called from inside an async runtime; use fleet::v1::Client there")]
    BlockingInAsyncContext,

    /// The caller gave an invalid argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// The HTTP status of an [`Error::Api`] (or of an [`Error::UnexpectedResponse`]), if any.
    ///
    /// ```
    /// # use fleet::v1::Error;
    /// let err = Error::Api { code: 404, message: "unit does not exist".into() };
    /// assert_eq!(err.code(), Some(404));
    /// assert_eq!(Error::InvalidArgument("x".into()).code(), None);
    /// ```
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Api { code, .. } => Some(*code),
            Error::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error message as python-fleet's `APIError.message` would carry it.
    pub fn message(&self) -> String {
        match self {
            Error::Api { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}
