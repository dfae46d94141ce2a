//! Machines: list, and metadata edits through `PATCH /fleet/v1/machines`.

use futures::Stream;

use super::{Client, List};
use crate::v1::request::Call;
use crate::v1::{Machine, MachineMetadataOp, Result};

impl Client {
    /// The machines of the cluster, as a lazy paged stream (metadata empty when fleet sends
    /// none).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// let machines: Vec<fleet::v1::Machine> = client.list_machines().try_collect().await?;
    /// for m in &machines {
    ///     println!("{} {} {:?}", m.id, m.primary_ip, m.metadata);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_machines(&self) -> impl Stream<Item = Result<Machine>> + Send + Unpin + 'static {
        self.paginate(List::Machines, |_, _| {})
    }

    /// Set metadata `key` of machine `machine_id` to `value` (a JSON-patch `add`, which also
    /// overwrites). The machine id must be the full id; fleet keeps such metadata apart from
    /// the metadata the machine was started with and merges them in listings.
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// client.set_machine_metadata("113f16a7b4b64e9a8c1a3f0e5d2c7b01", "rack", "r42").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_machine_metadata(
        &self,
        machine_id: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        self.patch_machine_metadata(&[MachineMetadataOp::Add {
            machine_id: machine_id.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        }])
        .await
    }

    /// Remove metadata `key` of machine `machine_id` (a JSON-patch `remove`).
    ///
    /// ```no_run
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// client.remove_machine_metadata("113f16a7b4b64e9a8c1a3f0e5d2c7b01", "rack").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_machine_metadata(&self, machine_id: &str, key: &str) -> Result<()> {
        self.patch_machine_metadata(&[MachineMetadataOp::Remove {
            machine_id: machine_id.to_string(),
            key: key.to_string(),
        }])
        .await
    }

    /// Apply several metadata edits in one `PATCH /fleet/v1/machines`, in the wire format
    /// fleet accepts (the value nested as `{"value": …}`). Machine ids and keys must be
    /// non-empty and free of `/` ([`Error::InvalidArgument`](crate::v1::Error::InvalidArgument),
    /// nothing sent).
    ///
    /// ```no_run
    /// use fleet::v1::MachineMetadataOp;
    /// # async fn run(client: fleet::v1::Client) -> fleet::v1::Result<()> {
    /// client.patch_machine_metadata(&[
    ///     MachineMetadataOp::Add { machine_id: "113f16a7b4b64e9a8c1a3f0e5d2c7b01".into(), key: "rack".into(), value: "r42".into() },
    ///     MachineMetadataOp::Remove { machine_id: "9a4b2c7d8e1f40a2b3c4d5e6f7a8b902".into(), key: "role".into() },
    /// ]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch_machine_metadata(&self, ops: &[MachineMetadataOp]) -> Result<()> {
        self.call_empty(&Call::PatchMachines { ops }).await
    }
}
