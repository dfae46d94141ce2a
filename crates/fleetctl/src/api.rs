//! The one place fleetctl talks to fleet: a thin layer over [`fleet::Client`] with the calls
//! fleetctl's commands make (`cAPI` in fleetctl), and the machine cache
//! (`cachedMachineState`).
//!
//! Connecting (endpoint, TLS files, timeouts, the refused etcd driver and the SSH tunnel of
//! `--tunnel`) is decided in [`connect`], from the global flags.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use fleet::v1 as fleet;
use futures::TryStreamExt;

use crate::cli::GlobalArgs;

/// An error while setting up the client, printed as `Unable to initialize client: <error>`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// `--driver=etcd`.
    #[error(
        "the etcd driver is not supported: this fleetctl talks to fleet only through the fleet \
         API; use --driver=API (the default) with --endpoint pointing at fleet's API"
    )]
    EtcdDriver,
    /// A driver name fleetctl does not know.
    #[error("unrecognized driver {0:?}")]
    UnknownDriver(String),
    /// `--tunnel` in a fleetctl built without the `ssh` feature.
    #[error(
        "--tunnel {0}: this fleetctl was built without SSH support (cargo feature \"ssh\"); \
         reach fleet directly with --endpoint (http://, https:// or unix://)"
    )]
    TunnelUnsupported(String),
    /// The SSH tunnel could not be set up (fleetctl: `failed initializing SSH client: ...`).
    #[error("failed initializing SSH client: {0}")]
    Tunnel(fleet::Error),
    /// The endpoint has no scheme.
    #[error("URL scheme undefined")]
    NoScheme,
    /// `unix://var/run/fleet.sock` (missing slash).
    #[error("unable to connect to host {host:?} with scheme {scheme:?}")]
    UnixWithHost {
        /// The host part.
        host: String,
        /// The scheme.
        scheme: String,
    },
    /// The library refused the configuration.
    #[error("{0}")]
    Client(#[from] fleet::Error),
}

/// The fleet API as fleetctl's commands use it.
///
/// The client is built on first use, as fleetctl's is used: a command first checks its own
/// arguments (`--fields`, unit names) and reports a fleet that cannot be reached in its own
/// words (`Error retrieving list of units from repository: ...`).
pub struct Api {
    builder: fleet::ClientBuilder,
    client: tokio::sync::OnceCell<fleet::Client>,
    machines: Option<HashMap<String, fleet::Machine>>,
    #[cfg(feature = "ssh")]
    tunnel: Option<fleet::transport::ssh::SshTunnel>,
}

/// The first of a comma-separated endpoint list, checked as fleetctl checks it.
pub fn endpoint_from_flag(flag: &str) -> Result<String, SetupError> {
    let first = flag.split(',').next().unwrap_or_default().trim();
    if flag.contains(',') {
        crate::output::stderr(&format!(
            "WARNING: multiple endpoints provided but only the first ({first}) is used"
        ));
    }
    let Some((scheme, rest)) = first.split_once("://") else {
        return Err(SetupError::NoScheme);
    };
    if scheme.is_empty() {
        return Err(SetupError::NoScheme);
    }
    if scheme == "unix" || scheme == "file" {
        let host = rest.split('/').next().unwrap_or_default();
        if !host.is_empty() {
            return Err(SetupError::UnixWithHost {
                host: host.to_string(),
                scheme: scheme.to_string(),
            });
        }
        if scheme == "file" {
            return Ok(format!("unix://{rest}"));
        }
    }
    Ok(first.to_string())
}

fn seconds(s: f64) -> Duration {
    Duration::from_millis((s * 1000.0) as u64)
}

/// Builds the client from the global flags.
pub fn connect(global: &GlobalArgs) -> Result<Api, SetupError> {
    match global.driver.as_str() {
        "API" | "api" => {}
        "etcd" => return Err(SetupError::EtcdDriver),
        other => return Err(SetupError::UnknownDriver(other.to_string())),
    }
    #[cfg(not(feature = "ssh"))]
    if let Some(tunnel) = global.tunnel.as_deref().filter(|t| !t.is_empty()) {
        let tunnel = if tunnel.contains(':') {
            tunnel.to_string()
        } else {
            format!("{tunnel}:22")
        };
        return Err(SetupError::TunnelUnsupported(tunnel));
    }
    let endpoint = endpoint_from_flag(&global.endpoint)?;
    fleet::Endpoint::parse(&endpoint)?;
    let mut builder = fleet::Client::builder(endpoint.as_str());
    if global.request_timeout > 0.0 {
        builder = builder
            .timeout(seconds(global.request_timeout))
            .connect_timeout(seconds(global.request_timeout));
    }
    if let Some(ca) = &global.ca_file {
        builder = builder.ca_file(ca);
    }
    match (&global.cert_file, &global.key_file) {
        (Some(cert), Some(key)) => builder = builder.client_cert(cert, key),
        (None, None) => {}
        (Some(_), None) => {
            return Err(SetupError::Client(fleet::Error::Tls {
                message: "--cert-file was given without --key-file".into(),
            }))
        }
        (None, Some(_)) => {
            return Err(SetupError::Client(fleet::Error::Tls {
                message: "--key-file was given without --cert-file".into(),
            }))
        }
    }
    #[cfg(feature = "ssh")]
    let tunnel = crate::remote::tunnel(global).map_err(SetupError::Tunnel)?;
    #[cfg(feature = "ssh")]
    if let Some(tunnel) = &tunnel {
        builder = builder.tunnel(tunnel.clone());
    }
    Ok(Api {
        builder,
        client: tokio::sync::OnceCell::new(),
        machines: None,
        #[cfg(feature = "ssh")]
        tunnel,
    })
}

impl Api {
    /// The SSH tunnel of `--tunnel`, shared by the API requests and the hops to machines.
    #[cfg(feature = "ssh")]
    pub fn tunnel(&self) -> Option<&fleet::transport::ssh::SshTunnel> {
        self.tunnel.as_ref()
    }

    /// Opens the `--tunnel` session now (fleetctl connects it before running a command), so
    /// that an unreachable host, a refused host key or failed authentication is reported as
    /// `Unable to initialize client: failed initializing SSH client: ...`.
    pub async fn connect_tunnel(&self) -> Result<(), SetupError> {
        #[cfg(feature = "ssh")]
        if let Some(tunnel) = &self.tunnel {
            tunnel
                .ensure_connected()
                .await
                .map_err(SetupError::Tunnel)?;
        }
        Ok(())
    }

    async fn client(&self) -> fleet::Result<&fleet::Client> {
        self.client
            .get_or_try_init(|| self.builder.clone().build())
            .await
    }

    /// All units (`cAPI.Units()`).
    pub async fn units(&self) -> fleet::Result<Vec<fleet::Unit>> {
        self.client().await?.list_units().try_collect().await
    }

    /// One unit, `None` when fleet does not know it (`cAPI.Unit(name)`). A name fleet could
    /// never hold, which the library refuses before asking, is not known either: fleet answers
    /// 404 for it.
    pub async fn unit(&self, name: &str) -> fleet::Result<Option<fleet::Unit>> {
        match self.client().await?.get_unit(name).await {
            Ok(u) => Ok(Some(u)),
            Err(e) if e.code() == Some(404) => Ok(None),
            Err(fleet::Error::InvalidUnitName { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a unit with desired state `inactive`, as fleetctl's `createUnit` does (it sends no
    /// desired state, which fleet takes as inactive).
    pub async fn create_unit(&self, name: &str, unit: &fleet::Unit) -> fleet::Result<()> {
        let unit = unit
            .clone()
            .with_desired_state(fleet::DesiredState::Inactive);
        self.client()
            .await?
            .create_unit(name, &unit)
            .await
            .map(|_| ())
    }

    /// Sets a unit's desired state (`cAPI.SetUnitTargetState`).
    pub async fn set_target_state(
        &self,
        name: &str,
        state: fleet::DesiredState,
    ) -> fleet::Result<()> {
        self.client()
            .await?
            .set_unit_desired_state(name, state)
            .await
            .map(|_| ())
    }

    /// Destroys a unit.
    pub async fn destroy_unit(&self, name: &str) -> fleet::Result<()> {
        self.client().await?.destroy_unit(name).await
    }

    /// All unit states (`cAPI.UnitStates()`).
    pub async fn unit_states(&self) -> fleet::Result<Vec<fleet::UnitState>> {
        self.client()
            .await?
            .list_unit_states(None, None)
            .try_collect()
            .await
    }

    /// The state of one unit, `None` when fleet reports none.
    pub async fn unit_state(&self, name: &str) -> fleet::Result<Option<fleet::UnitState>> {
        let states: Vec<fleet::UnitState> = self
            .client()
            .await?
            .list_unit_states(None, Some(name))
            .try_collect()
            .await?;
        Ok(states.into_iter().find(|s| s.name == name))
    }

    /// All machines (`cAPI.Machines()`).
    pub async fn machines(&self) -> fleet::Result<Vec<fleet::Machine>> {
        self.client().await?.list_machines().try_collect().await
    }

    /// The machine with this id, from a list fetched once per run; `None` when the machine is
    /// unknown or the list could not be fetched (fleetctl's `cachedMachineState`).
    pub async fn cached_machine(&mut self, id: &str) -> Option<&fleet::Machine> {
        self.load_machine_cache().await.get(id)
    }

    /// Fetches the machine list once, so later lookups need no `.await`; failures leave the
    /// cache empty (lookups then fall back to the bare machine id).
    pub async fn load_machine_cache(&mut self) -> &HashMap<String, fleet::Machine> {
        if self.machines.is_none() {
            let machines = self.machines().await.unwrap_or_default();
            self.machines = Some(machines.into_iter().map(|m| (m.id.clone(), m)).collect());
        }
        self.machines.get_or_insert_with(HashMap::new)
    }

    /// [`Api::load_machine_cache`] when `needed`; otherwise an empty map, without asking fleet.
    pub async fn machine_cache_if(&mut self, needed: bool) -> &HashMap<String, fleet::Machine> {
        static EMPTY: LazyLock<HashMap<String, fleet::Machine>> = LazyLock::new(HashMap::new);
        if needed {
            self.load_machine_cache().await
        } else {
            &EMPTY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_checks() {
        assert_eq!(
            endpoint_from_flag("unix:///var/run/fleet.sock").unwrap(),
            "unix:///var/run/fleet.sock"
        );
        assert_eq!(
            endpoint_from_flag("http://127.0.0.1:1,http://127.0.0.1:2").unwrap(),
            "http://127.0.0.1:1"
        );
        assert_eq!(
            endpoint_from_flag("file:///tmp/f.sock").unwrap(),
            "unix:///tmp/f.sock"
        );
        assert_eq!(
            endpoint_from_flag("/var/run/fleet.sock")
                .unwrap_err()
                .to_string(),
            "URL scheme undefined"
        );
        assert_eq!(
            endpoint_from_flag("unix://var/run/fleet.sock")
                .unwrap_err()
                .to_string(),
            "unable to connect to host \"var\" with scheme \"unix\""
        );
    }
}
