//! Units: create, change desired state, destroy, list, get, wait.

use std::time::Duration;

use futures::Stream;

use super::{Client, List};
use crate::v1::request::Call;
use crate::v1::{wait, DesiredState, Result, Unit};

impl Client {
    /// Create (or replace) unit `name` in the cluster with `unit`'s options and desired state
    /// (`PUT /fleet/v1/units/<name>`), then return the unit as fleet holds it
    /// (`GET`), linked to this client.
    ///
    /// The name is checked with fleet's rules first ([`Error::InvalidUnitName`](crate::v1::Error::InvalidUnitName),
    /// nothing sent). fleet answers `409` when `unit` has no options, `400` for options it
    /// refuses ([`Error::Api`](crate::v1::Error::Api)).
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// use fleet::v1 as fleet;
    /// let unit = fleet::Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n")?
    ///     .with_desired_state(fleet::DesiredState::Loaded);
    /// let created = client.create_unit("sleep.service", &unit).await?;
    /// assert_eq!(created.name(), Some("sleep.service"));
    /// # Ok(()) }
    /// ```
    pub async fn create_unit(&self, name: &str, unit: &Unit) -> Result<Unit> {
        self.call_empty(&Call::CreateUnit { name, unit }).await?;
        self.get_unit(name).await
    }

    /// Set the desired state of unit `name` (`PUT` with only `desiredState`), then return the
    /// unit as fleet holds it. The name is checked with fleet's rules first
    /// ([`Error::InvalidUnitName`](crate::v1::Error::InvalidUnitName), nothing sent).
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// let unit = client.set_unit_desired_state("sleep.service", fleet::v1::DesiredState::Launched).await?;
    /// assert_eq!(unit.desired_state(), fleet::v1::DesiredState::Launched);
    /// # Ok(()) }
    /// ```
    pub async fn set_unit_desired_state(&self, name: &str, state: DesiredState) -> Result<Unit> {
        self.call_empty(&Call::SetUnitDesiredState { name, state })
            .await?;
        self.get_unit(name).await
    }

    /// Destroy unit `name` (`DELETE`). A missing unit is `Error::Api { code: 404, .. }`; a name
    /// fleet could never hold is [`Error::InvalidUnitName`](crate::v1::Error::InvalidUnitName),
    /// refused before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// client.destroy_unit("sleep.service").await?;
    /// # Ok(()) }
    /// ```
    pub async fn destroy_unit(&self, name: &str) -> Result<()> {
        self.call_empty(&Call::DestroyUnit { name }).await
    }

    /// Every unit of the cluster, as a lazy stream: nothing is requested until it is polled,
    /// pages are fetched one at a time as they are consumed (following `nextPageToken`), and
    /// the stream ends after the first error.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// let mut units = client.list_units();
    /// while let Some(unit) = units.try_next().await? {
    ///     println!("{} {:?}", unit.name().unwrap_or_default(), unit.current_state());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_units(&self) -> impl Stream<Item = Result<Unit>> + Send + Unpin + 'static {
        self.paginate(List::Units, |unit: &mut Unit, client| {
            unit.origin = Some(client.clone())
        })
    }

    /// One unit. A missing unit is `Error::Api { code: 404, .. }` (`code() == Some(404)`).
    ///
    /// The name is checked with fleet's rules first: a name fleet could never hold is
    /// [`Error::InvalidUnitName`](crate::v1::Error::InvalidUnitName) and nothing is sent (fleet
    /// itself, and python-fleet, would answer `404 unit does not exist` for it).
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// match client.get_unit("missing.service").await {
    ///     Err(e) if e.code() == Some(404) => println!("no such unit"),
    ///     other => { other?; }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_unit(&self, name: &str) -> Result<Unit> {
        let unit: Unit = self.call_value(&Call::GetUnit { name }).await?;
        Ok(unit.with_origin(self))
    }

    /// Poll unit `name` until it reaches `target`, as fleetctl's `start`/`stop`/`load` wait
    /// (see [`wait::unit_reached`]: the current state, or the desired state of global units,
    /// which carry no current state), polling every [`poll_interval`](Client::poll_interval).
    ///
    /// Returns the unit once it is there; [`Error::Timeout`](crate::v1::Error::Timeout) when
    /// `timeout` runs out first; [`Error::InvalidUnitName`](crate::v1::Error::InvalidUnitName)
    /// at once, before any request, for a name fleet could never hold. Unlike fleetctl, which retries on any error until it gives up,
    /// an error from fleet (a `404` because the unit was destroyed, say) ends the wait at once.
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// use std::time::Duration;
    /// use fleet::v1::DesiredState;
    /// client.set_unit_desired_state("sleep.service", DesiredState::Launched).await?;
    /// let unit = client.wait_for_unit_state("sleep.service", DesiredState::Launched, Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_unit_state(
        &self,
        name: &str,
        target: DesiredState,
        timeout: Duration,
    ) -> Result<Unit> {
        crate::v1::unit_file::validate_unit_name(name)?;
        let what = format!("unit {name} to report state {target}");
        wait::poll_until(what, timeout, self.poll_interval(), || async {
            let unit = self.get_unit(name).await?;
            Ok(wait::unit_reached(&unit, target).then_some(unit))
        })
        .await
    }
}
