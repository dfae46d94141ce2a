//! A blocking client: the same calls as [`crate::v1::Client`], for code without an async
//! runtime.
//!
//! [`Client`] is a thin wrapper over the async client that owns a small tokio runtime (one
//! worker thread, which keeps the pooled connection serviced); every call blocks on it. Lists are iterators that fetch a page when the previous
//! one is used up.
//!
//! Calling it from inside an async runtime (where blocking would stall a worker thread, and
//! tokio would panic) returns [`Error::BlockingInAsyncContext`] instead — from any runtime
//! context, `spawn_blocking` included: use the async client there.
//!
//! Units returned by this client can change their desired state and be destroyed through
//! themselves with the [`UnitExt`] trait (`unit.set_desired_state_blocking(..)`,
//! `unit.destroy_blocking()`), or by name with [`Client::set_unit_desired_state`] and
//! [`Client::destroy_unit`].
//!
//! ```no_run
//! use fleet::v1::blocking::{self, UnitExt};
//! use fleet::v1::{DesiredState, Unit};
//!
//! # fn main() -> fleet::v1::Result<()> {
//! let client = blocking::Client::new("unix:///var/run/fleet.sock")?;
//! let unit = Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n")?;
//! let mut unit = client.create_unit("sleep.service", &unit)?;
//! for u in client.list_units() {
//!     println!("{:?}", u?.name());
//! }
//! unit.set_desired_state_blocking(DesiredState::Inactive)?;
//! unit.destroy_blocking()?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};

use super::transport::Connect;
use super::{DesiredState, Endpoint, Error, Machine, MachineMetadataOp, Result, Unit, UnitState};

/// The runtime a blocking client's connections live on. Dropped without panicking even from
/// inside another runtime.
pub(crate) struct Runtime {
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("blocking::Runtime")
    }
}

impl Runtime {
    fn new() -> Result<Runtime> {
        // One worker thread drives the pooled connections between calls (so a connection
        // fleet closed while idle is noticed, and units of this client can also be awaited
        // from another runtime); the calls themselves run on the calling thread.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fleet-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::Transport {
                endpoint: String::new(),
                message: format!("cannot start the blocking client's runtime: {e}"),
                source: Some(Box::new(e)),
            })?;
        Ok(Runtime { rt: Some(rt) })
    }

    /// Run `future` to completion, or [`Error::BlockingInAsyncContext`] from inside a runtime.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::BlockingInAsyncContext);
        }
        match &self.rt {
            Some(rt) => Ok(rt.block_on(future)),
            None => Err(Error::BlockingInAsyncContext),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                drop(rt);
            }
        }
    }
}

/// The blocking fleet client. Cheap to clone; `Send + Sync`.
///
/// ```no_run
/// # fn main() -> fleet::v1::Result<()> {
/// let client = fleet::v1::blocking::Client::new("http://127.0.0.1:49153")?;
/// let machines: Vec<_> = client.list_machines().collect::<Result<_, _>>()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: super::Client,
    rt: Arc<Runtime>,
}

/// Configures a blocking [`Client`]: the same settings and defaults as
/// [`crate::v1::ClientBuilder`].
///
/// ```no_run
/// use std::time::Duration;
/// # fn main() -> fleet::v1::Result<()> {
/// let client = fleet::v1::blocking::Client::builder("http://127.0.0.1:49153")
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct ClientBuilder {
    inner: super::ClientBuilder,
}

impl From<super::ClientBuilder> for ClientBuilder {
    /// A blocking builder with the settings of an async one.
    fn from(inner: super::ClientBuilder) -> Self {
        ClientBuilder { inner }
    }
}

impl ClientBuilder {
    /// See [`crate::v1::ClientBuilder::timeout`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.inner.timeout(timeout).into()
    }
    /// See [`crate::v1::ClientBuilder::connect_timeout`].
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.inner.connect_timeout(timeout).into()
    }
    /// See [`crate::v1::ClientBuilder::ca_file`].
    pub fn ca_file(self, path: impl Into<PathBuf>) -> Self {
        self.inner.ca_file(path).into()
    }
    /// See [`crate::v1::ClientBuilder::client_cert`].
    pub fn client_cert(self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.inner.client_cert(cert, key).into()
    }
    /// See [`crate::v1::ClientBuilder::user_agent`].
    pub fn user_agent(self, user_agent: impl Into<String>) -> Self {
        self.inner.user_agent(user_agent).into()
    }
    /// See [`crate::v1::ClientBuilder::connector`].
    pub fn connector(self, connector: impl Connect) -> Self {
        self.inner.connector(connector).into()
    }
    /// See [`crate::v1::ClientBuilder::tunnel`] (feature `ssh`).
    #[cfg(feature = "ssh")]
    pub fn tunnel(self, tunnel: crate::v1::transport::ssh::SshTunnel) -> Self {
        self.inner.tunnel(tunnel).into()
    }
    /// See [`crate::v1::ClientBuilder::poll_interval`].
    pub fn poll_interval(self, interval: Duration) -> Self {
        self.inner.poll_interval(interval).into()
    }
    /// See [`crate::v1::ClientBuilder::max_response_bytes`].
    pub fn max_response_bytes(self, limit: usize) -> Self {
        self.inner.max_response_bytes(limit).into()
    }
    /// Start the client's runtime and build the client (discovery included); the errors of
    /// [`crate::v1::Client::new`], or [`Error::BlockingInAsyncContext`].
    pub fn build(self) -> Result<Client> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::BlockingInAsyncContext);
        }
        let rt = Arc::new(Runtime::new()?);
        let mut builder = self.inner;
        builder.blocking_runtime = Some(rt.clone());
        let inner = rt.block_on(builder.build())??;
        Ok(Client { inner, rt })
    }
}

/// A blocking iterator over a paged list: fetches the next page when the current one is used
/// up, ends after the first error.
struct Pages<S> {
    stream: S,
    rt: Arc<Runtime>,
    done: bool,
}

impl<T, S: Stream<Item = Result<T>> + Unpin> Iterator for Pages<S> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        match self.rt.block_on(self.stream.next()) {
            Ok(Some(Ok(item))) => Some(Ok(item)),
            Ok(Some(Err(e))) | Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(None) => {
                self.done = true;
                None
            }
        }
    }
}

impl Client {
    /// Connect to fleet at `endpoint` (see [`crate::v1::Client::new`]).
    pub fn new(endpoint: &str) -> Result<Client> {
        Client::builder(endpoint).build()
    }

    /// A builder for `endpoint`.
    pub fn builder(endpoint: &str) -> ClientBuilder {
        super::Client::builder(endpoint).into()
    }

    /// The async client inside (usable only on this client's runtime, so mostly for
    /// inspection).
    pub fn as_async(&self) -> &super::Client {
        &self.inner
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        self.inner.endpoint()
    }

    fn pages<T>(
        &self,
        stream: impl Stream<Item = Result<T>> + Send + Unpin + 'static,
    ) -> impl Iterator<Item = Result<T>> + Send + 'static
    where
        T: Send + 'static,
    {
        Pages {
            stream,
            rt: self.rt.clone(),
            done: false,
        }
    }

    /// See [`crate::v1::Client::create_unit`].
    pub fn create_unit(&self, name: &str, unit: &Unit) -> Result<Unit> {
        self.rt.block_on(self.inner.create_unit(name, unit))?
    }

    /// See [`crate::v1::Client::set_unit_desired_state`].
    pub fn set_unit_desired_state(&self, name: &str, state: DesiredState) -> Result<Unit> {
        self.rt
            .block_on(self.inner.set_unit_desired_state(name, state))?
    }

    /// See [`crate::v1::Client::destroy_unit`].
    pub fn destroy_unit(&self, name: &str) -> Result<()> {
        self.rt.block_on(self.inner.destroy_unit(name))?
    }

    /// See [`crate::v1::Client::list_units`]; an iterator fetching one page at a time.
    pub fn list_units(&self) -> impl Iterator<Item = Result<Unit>> + Send + 'static {
        self.pages(self.inner.list_units())
    }

    /// See [`crate::v1::Client::get_unit`].
    pub fn get_unit(&self, name: &str) -> Result<Unit> {
        self.rt.block_on(self.inner.get_unit(name))?
    }

    /// See [`crate::v1::Client::list_unit_states`].
    pub fn list_unit_states(
        &self,
        machine_id: Option<&str>,
        unit_name: Option<&str>,
    ) -> impl Iterator<Item = Result<UnitState>> + Send + 'static {
        self.pages(self.inner.list_unit_states(machine_id, unit_name))
    }

    /// See [`crate::v1::Client::get_unit_state`].
    pub fn get_unit_state(&self, name: &str) -> Result<UnitState> {
        self.rt.block_on(self.inner.get_unit_state(name))?
    }

    /// See [`crate::v1::Client::list_machines`].
    pub fn list_machines(&self) -> impl Iterator<Item = Result<Machine>> + Send + 'static {
        self.pages(self.inner.list_machines())
    }

    /// See [`crate::v1::Client::set_machine_metadata`].
    pub fn set_machine_metadata(&self, machine_id: &str, key: &str, value: &str) -> Result<()> {
        self.rt
            .block_on(self.inner.set_machine_metadata(machine_id, key, value))?
    }

    /// See [`crate::v1::Client::remove_machine_metadata`].
    pub fn remove_machine_metadata(&self, machine_id: &str, key: &str) -> Result<()> {
        self.rt
            .block_on(self.inner.remove_machine_metadata(machine_id, key))?
    }

    /// See [`crate::v1::Client::patch_machine_metadata`].
    pub fn patch_machine_metadata(&self, ops: &[MachineMetadataOp]) -> Result<()> {
        self.rt.block_on(self.inner.patch_machine_metadata(ops))?
    }

    /// See [`crate::v1::Client::wait_for_unit_state`].
    pub fn wait_for_unit_state(
        &self,
        name: &str,
        target: DesiredState,
        timeout: Duration,
    ) -> Result<Unit> {
        self.rt
            .block_on(self.inner.wait_for_unit_state(name, target, timeout))?
    }
}

/// Blocking versions of [`Unit::set_desired_state`] and [`Unit::destroy`], for units that came
/// from a blocking [`Client`].
///
/// On a local unit they return [`Error::LocalUnit`]; on a unit from an async
/// [`crate::v1::Client`] (whose connections live on another runtime)
/// [`Error::InvalidArgument`]: use the async methods there.
pub trait UnitExt {
    /// Set the desired state in the cluster and update `self` (see [`Unit::set_desired_state`]).
    fn set_desired_state_blocking(&mut self, state: DesiredState) -> Result<Unit>;
    /// Destroy the unit in the cluster (see [`Unit::destroy`]).
    fn destroy_blocking(&self) -> Result<()>;
}

fn runtime_of(unit: &Unit, operation: &'static str) -> Result<Arc<Runtime>> {
    let (client, _) = unit.origin(operation)?;
    client.blocking_runtime().cloned().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "{operation}_blocking: this unit came from an async fleet::v1::Client; \
             call unit.{operation}(..).await instead"
        ))
    })
}

impl UnitExt for Unit {
    fn set_desired_state_blocking(&mut self, state: DesiredState) -> Result<Unit> {
        let rt = runtime_of(self, "set_desired_state")?;
        rt.block_on(self.set_desired_state(state))?
    }

    fn destroy_blocking(&self) -> Result<()> {
        let rt = runtime_of(self, "destroy")?;
        rt.block_on(self.destroy())?
    }
}
