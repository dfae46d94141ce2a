//! Unit states: list (with filters) and get.

use futures::Stream;

use super::{Client, List};
use crate::v1::request::Call;
use crate::v1::{Result, UnitState};

impl Client {
    /// The unit states of the cluster (one per unit per machine), as a lazy paged stream,
    /// optionally only those on machine `machine_id` (the full 32-character id: fleet matches
    /// it exactly) and/or of unit `unit_name`.
    ///
    /// A `unit_name` fleet could never hold makes the stream's first (and only) item
    /// [`Error::InvalidUnitName`](crate::v1::Error::InvalidUnitName); nothing is sent.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// let states: Vec<_> = client.list_unit_states(None, Some("hello.service")).try_collect().await?;
    /// for s in &states {
    ///     println!("{} on {}: {}", s.name, s.machine_id, s.systemd_sub_state);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_unit_states(
        &self,
        machine_id: Option<&str>,
        unit_name: Option<&str>,
    ) -> impl Stream<Item = Result<UnitState>> + Send + Unpin + 'static {
        self.paginate(
            List::UnitStates {
                machine_id: machine_id.map(str::to_string),
                unit_name: unit_name.map(str::to_string),
            },
            |_, _| {},
        )
    }

    /// The state of unit `name` (`GET /fleet/v1/state/<name>`).
    ///
    /// fleet v1.0.0 closes the connection without any answer when the unit has no state (it
    /// crashes serving the request), which is [`Error::NoResponse`](crate::v1::Error::NoResponse)
    /// here; a fleet that answers `404` gives `Error::Api { code: 404, .. }`. A name fleet could
    /// never hold is [`Error::InvalidUnitName`](crate::v1::Error::InvalidUnitName), refused
    /// before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// let state = client.get_unit_state("hello.service").await?;
    /// println!("{}", state.systemd_active_state);
    /// # Ok(()) }
    /// ```
    pub async fn get_unit_state(&self, name: &str) -> Result<UnitState> {
        self.call_value(&Call::GetUnitState { name }).await
    }
}
