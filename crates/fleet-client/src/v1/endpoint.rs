//! Where fleet's API listens: [`Endpoint`], parsed from the strings fleetctl and python-fleet accept.
//!
//! | form | example | used by |
//! |---|---|---|
//! | `http://host[:port]` | `http://127.0.0.1:49153` | both (port defaults to 80) |
//! | `https://host[:port]` | `https://fleet.example.com:8443` | fleetctl (port defaults to 443) |
//! | `http+unix://<percent-encoded socket path>` | `http+unix://%2Fvar%2Frun%2Ffleet.sock` | python-fleet |
//! | `unix://<socket path>` | `unix:///var/run/fleet.sock` | fleetctl (its default endpoint) |
//!
//! Schemes are case-insensitive. A single trailing `/` is accepted; any other path, a query, a
//! fragment or user information is refused: fleet's API always lives at `/fleet/v1/` under the
//! endpoint.
//!
//! Socket paths are used exactly as written. python-fleet differs here: its HTTP library
//! (httplib2) lowercases the authority of every URL, socket path included, so python-fleet
//! cannot reach a socket whose path has an upper-case letter (`http+unix://%2Ftmp%2FA.sock`
//! connects to `/tmp/a.sock`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::transport::Target;
use super::{Error, Result};

/// A parsed fleet endpoint.
///
/// | form | example | used by |
/// |---|---|---|
/// | `http://host[:port]` | `http://127.0.0.1:49153` | both (port defaults to 80) |
/// | `https://host[:port]` | `https://fleet.example.com:8443` | fleetctl (port defaults to 443) |
/// | `http+unix://<percent-encoded socket path>` | `http+unix://%2Fvar%2Frun%2Ffleet.sock` | python-fleet |
/// | `unix://<socket path>` | `unix:///var/run/fleet.sock` | fleetctl (its default endpoint) |
///
/// Schemes are case-insensitive. A single trailing `/` is accepted; any other path, a query, a
/// fragment or user information is refused ([`Error::InvalidEndpoint`] saying what is wrong):
/// fleet's API always lives at `/fleet/v1/` under the endpoint.
///
/// ```
/// use fleet::v1::{Endpoint, transport::Target};
///
/// let ep: Endpoint = "http+unix://%2Fvar%2Frun%2Ffleet.sock".parse()?;
/// assert_eq!(ep.target(), Target::Unix { path: "/var/run/fleet.sock".into() });
/// assert!(!ep.is_tls());
///
/// let ep = Endpoint::parse("https://10.0.0.1")?;
/// assert_eq!(ep.target(), Target::Tcp { host: "10.0.0.1".into(), port: 443 });
/// assert!(ep.is_tls());
///
/// let err = Endpoint::parse("ftp://example.com").unwrap_err();
/// assert!(err.to_string().contains("unsupported scheme \"ftp\""));
/// # Ok::<(), fleet::v1::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    original: String,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Tcp { tls: bool, host: String, port: u16 },
    Unix { path: PathBuf },
}

impl Endpoint {
    /// Parse an endpoint string (see [`Endpoint`] for the accepted forms).
    ///
    /// A malformed endpoint is [`Error::InvalidEndpoint`] with the reason.
    pub fn parse(endpoint: &str) -> Result<Endpoint> {
        let invalid = |message: String| Error::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            message,
        };
        let Some((scheme, rest)) = endpoint.split_once("://") else {
            return Err(invalid(
                "expected scheme://…, one of http://host[:port], https://host[:port], \
                 http+unix://<percent-encoded socket path> or unix:///path/to.sock"
                    .into(),
            ));
        };
        let scheme_lc = scheme.to_ascii_lowercase();
        let kind = match scheme_lc.as_str() {
            "http" | "https" => {
                let tls = scheme_lc == "https";
                let authority = strip_trailing_slash(rest).map_err(invalid)?;
                let (host, port) =
                    split_host_port(authority, if tls { 443 } else { 80 }).map_err(invalid)?;
                Kind::Tcp { tls, host, port }
            }
            "http+unix" => {
                let encoded = strip_trailing_slash(rest).map_err(invalid)?;
                if encoded.is_empty() {
                    return Err(invalid(
                        "missing socket path: write it percent-encoded, as in \
                         http+unix://%2Fvar%2Frun%2Ffleet.sock"
                            .into(),
                    ));
                }
                let path = percent_decode(encoded).map_err(invalid)?;
                Kind::Unix {
                    path: PathBuf::from(path),
                }
            }
            "unix" => {
                if !rest.starts_with('/') {
                    return Err(invalid(
                        "unix endpoints need an absolute socket path, as in unix:///var/run/fleet.sock"
                            .into(),
                    ));
                }
                if rest.contains(['?', '#']) {
                    return Err(invalid(
                        "a unix socket path cannot contain '?' or '#'".into(),
                    ));
                }
                let path = percent_decode(rest).map_err(invalid)?;
                if path == "/" {
                    return Err(invalid("missing socket path".into()));
                }
                Kind::Unix {
                    path: PathBuf::from(path),
                }
            }
            _ => {
                return Err(invalid(format!(
                    "unsupported scheme {scheme:?}: use http, https, http+unix or unix"
                )))
            }
        };
        Ok(Endpoint {
            original: endpoint.to_string(),
            kind,
        })
    }

    /// Where to connect: a TCP host and port, or a unix socket path.
    pub fn target(&self) -> Target {
        match &self.kind {
            Kind::Tcp { host, port, .. } => Target::Tcp {
                host: host.clone(),
                port: *port,
            },
            Kind::Unix { path } => Target::Unix { path: path.clone() },
        }
    }

    /// Whether the endpoint is `https://` (TLS is layered over the connection).
    pub fn is_tls(&self) -> bool {
        matches!(self.kind, Kind::Tcp { tls: true, .. })
    }

    /// The endpoint exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The TCP host name or address, for TLS server-name checks (`None` for unix sockets).
    pub fn host(&self) -> Option<&str> {
        match &self.kind {
            Kind::Tcp { host, .. } => Some(host),
            Kind::Unix { .. } => None,
        }
    }

    /// The `scheme://authority` the client puts in request URIs (and so in the `Host` header):
    /// `http://host:port` / `https://host:port` for TCP, `http://localhost` for unix sockets
    /// (as curl and fleetctl do).
    ///
    /// ```
    /// # use fleet::v1::Endpoint;
    /// assert_eq!(Endpoint::parse("http://[::1]:4001/")?.base_uri(), "http://[::1]:4001");
    /// assert_eq!(Endpoint::parse("unix:///run/fleet.sock")?.base_uri(), "http://localhost");
    /// # Ok::<(), fleet::v1::Error>(())
    /// ```
    pub fn base_uri(&self) -> String {
        match &self.kind {
            Kind::Tcp { tls, host, port } => {
                let scheme = if *tls { "https" } else { "http" };
                if host.contains(':') {
                    format!("{scheme}://[{host}]:{port}")
                } else {
                    format!("{scheme}://{host}:{port}")
                }
            }
            Kind::Unix { .. } => "http://localhost".to_string(),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({:?})", self.original)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for Endpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Endpoint> {
        Endpoint::parse(s)
    }
}

fn strip_trailing_slash(rest: &str) -> std::result::Result<&str, String> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if let Some(pos) = rest.find(['/', '?', '#']) {
        let extra = rest.get(pos..).unwrap_or_default();
        return Err(format!(
            "unexpected {extra:?} after the host: the endpoint is only scheme://host[:port] \
             (fleet's API lives at /fleet/v1/ under it)"
        ));
    }
    Ok(rest)
}

fn split_host_port(
    authority: &str,
    default_port: u16,
) -> std::result::Result<(String, u16), String> {
    if authority.is_empty() {
        return Err("missing host".into());
    }
    if authority.contains('@') {
        return Err("user information (user@host) is not supported".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err("unterminated '[' in IPv6 address".into());
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{host:?} is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => Some(p),
                None => return Err(format!("unexpected {p:?} after the IPv6 address")),
            },
        };
        (host, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("missing host".into());
    }
    if !host.starts_with(|c: char| c.is_ascii_alphanumeric())
        && host.parse::<std::net::Ipv6Addr>().is_err()
    {
        return Err(format!("invalid host {host:?}"));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
    {
        return Err(format!("invalid character {bad:?} in host {host:?}"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("{p:?} is not a valid TCP port (1-65535)")),
            Ok(port) => port,
        },
    };
    Ok((host.to_string(), port))
}

fn percent_decode(s: &str) -> std::result::Result<String, String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| format!("socket path {s:?} does not percent-decode to UTF-8"))
}
