//! The simulated cluster behind the API: registry, scheduler and agents.
//!
//! Every change (a unit written or deleted, a machine added, removed or re-labelled) runs the
//! engine and the agents at once, under the registry's write lock, so scheduling is decided
//! before the request that caused it is answered. Agents then publish unit states
//! (`loaded`/`inactive`/`dead` once loaded, `loaded`/`active`/`running` once launched) after the
//! configured state delay; with a zero delay they publish at once. [`Cluster::wait_settled`]
//! waits, on a notification, until no publication is pending.

pub(crate) mod registry;
pub(crate) mod scheduler;
pub(crate) mod unit_info;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use fleet::v1::{Machine, UnitOption, UnitState};
use tokio::sync::watch;

use registry::{MachineRecord, Publication, Registry, UnitRecord};
use unit_info::Requirements;

/// A unit as the registry holds it (for tests that look behind the API).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnitSnapshot {
    /// The unit name.
    pub name: String,
    /// Its options.
    pub options: Vec<UnitOption>,
    /// The desired state exactly as stored (fleet stores an invalid one too).
    pub desired_state: String,
    /// fleet's `currentState` of it (`inactive`, `loaded` or `launched`).
    pub current_state: String,
    /// The machine it is scheduled to.
    pub machine_id: Option<String>,
    /// fleet's hash of its unit file.
    pub hash: String,
}

pub(crate) struct Cluster {
    reg: RwLock<Registry>,
    state_delay: Duration,
    /// Number of unit-state publications not yet made.
    pending: watch::Sender<usize>,
    runtime: tokio::runtime::Handle,
}

/// How many publications are in flight; the receiver side lets tests wait for zero.
impl Cluster {
    pub(crate) fn new(
        machines: Vec<Machine>,
        state_delay: Duration,
        runtime: tokio::runtime::Handle,
    ) -> Arc<Self> {
        let mut reg = Registry::default();
        for m in machines {
            reg.machines.insert(
                m.id,
                MachineRecord {
                    primary_ip: m.primary_ip,
                    metadata: m.metadata,
                },
            );
        }
        let (pending, _) = watch::channel(0);
        Arc::new(Cluster {
            reg: RwLock::new(reg),
            state_delay,
            pending,
            runtime,
        })
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.reg.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.reg.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the registry, then let the engine and the agents react (everywhere).
    pub(crate) fn mutate<T>(self: &Arc<Self>, f: impl FnOnce(&mut Registry) -> T) -> T {
        self.mutate_scoped(None, f)
    }

    /// Change the registry; when only the named units changed and no unit depends on another,
    /// the engine and agents look at those units alone (a full pass otherwise).
    pub(crate) fn mutate_scoped<T>(
        self: &Arc<Self>,
        units: Option<&[String]>,
        f: impl FnOnce(&mut Registry) -> T,
    ) -> T {
        let (out, publications) = {
            let mut reg = self.write();
            let related_before = reg.has_relations();
            let out = f(&mut reg);
            reg.version += 1;
            let publications = match units {
                Some(names) if !related_before && !reg.has_relations() => {
                    for name in names {
                        scheduler::reconcile_unit(&mut reg, name);
                    }
                    reg.reconcile_agents_for(names)
                }
                _ => {
                    scheduler::reconcile(&mut reg);
                    reg.reconcile_agents()
                }
            };
            if self.state_delay.is_zero() {
                for p in publications {
                    reg.publish(p);
                }
                (out, Vec::new())
            } else {
                (out, publications)
            }
        };
        if !publications.is_empty() {
            self.schedule_publications(publications);
        }
        out
    }

    fn schedule_publications(self: &Arc<Self>, publications: Vec<Publication>) {
        self.pending.send_modify(|n| *n += publications.len());
        let cluster = Arc::clone(self);
        let delay = self.state_delay;
        self.runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            let count = publications.len();
            {
                let mut reg = cluster.write();
                for p in publications {
                    reg.publish(p);
                }
            }
            cluster
                .pending
                .send_modify(|n| *n = n.saturating_sub(count));
        });
    }

    /// Wait until every pending unit-state publication was made, at most `timeout`.
    pub(crate) async fn wait_settled(&self, timeout: Duration) -> bool {
        let mut rx = self.pending.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Store a unit (create or replace), fleet's `CreateUnit`.
    pub(crate) fn create_unit(
        self: &Arc<Self>,
        name: &str,
        options: Vec<UnitOption>,
        target_state: &str,
    ) {
        let record = UnitRecord {
            name: name.to_string(),
            hash: unit_info::hash(&options),
            req: Arc::new(Requirements::of(name, &options)),
            template: unit_info::is_template(name),
            options_json: crate::json::options_array(&options),
            options,
            target_state: target_state.to_string(),
            target_machine: None,
            heartbeat: None,
        };
        let names = [name.to_string()];
        self.mutate_scoped(Some(&names), |reg| {
            let old = reg.insert_unit(record);
            // The schedule survives a replace (fleet keeps the job's target key).
            if let (Some(old), Some(new)) = (old, reg.units.get_mut(name)) {
                new.target_machine = old.target_machine;
                new.heartbeat = old.heartbeat;
            }
        });
    }

    /// fleet's `SetUnitTargetState`: stores the value unchecked.
    pub(crate) fn set_target_state(self: &Arc<Self>, name: &str, state: &str) {
        let names = [name.to_string()];
        self.mutate_scoped(Some(&names), |reg| {
            if let Some(u) = reg.units.get_mut(name) {
                u.target_state = state.to_string();
            }
        });
    }

    pub(crate) fn destroy_unit(self: &Arc<Self>, name: &str) -> bool {
        let names = [name.to_string()];
        self.mutate_scoped(Some(&names), |reg| reg.remove_unit(name).is_some())
    }

    pub(crate) fn add_machine(self: &Arc<Self>, m: Machine) {
        self.mutate(|reg| {
            reg.machines.insert(
                m.id,
                MachineRecord {
                    primary_ip: m.primary_ip,
                    metadata: m.metadata,
                },
            );
        });
    }

    pub(crate) fn remove_machine(self: &Arc<Self>, id: &str) -> bool {
        self.mutate(|reg| reg.machines.remove(id).is_some())
    }

    pub(crate) fn set_machine_metadata(self: &Arc<Self>, id: &str, key: &str, value: &str) {
        self.mutate(|reg| {
            reg.dynamic_metadata
                .entry(id.to_string())
                .or_default()
                .insert(key.to_string(), value.to_string());
        });
    }

    /// The machines as the API lists them.
    pub(crate) fn machines(&self) -> Vec<Machine> {
        let reg = self.read();
        reg.machines
            .iter()
            .map(|(id, m)| Machine {
                id: id.clone(),
                primary_ip: m.primary_ip.clone(),
                metadata: reg.machine_metadata(id),
            })
            .collect()
    }

    pub(crate) fn unit(&self, name: &str) -> Option<UnitSnapshot> {
        let reg = self.read();
        reg.units.get(name).map(|u| snapshot(&reg, u))
    }

    pub(crate) fn units(&self) -> Vec<UnitSnapshot> {
        let reg = self.read();
        reg.units.values().map(|u| snapshot(&reg, u)).collect()
    }

    pub(crate) fn unit_states(&self) -> Vec<UnitState> {
        let reg = self.read();
        reg.states
            .iter()
            .map(|((name, machine), s)| UnitState {
                name: name.clone(),
                hash: s.hash.clone(),
                machine_id: machine.clone(),
                systemd_load_state: s.load.to_string(),
                systemd_active_state: s.active.to_string(),
                systemd_sub_state: s.sub.to_string(),
            })
            .collect()
    }
}

fn snapshot(reg: &Registry, u: &UnitRecord) -> UnitSnapshot {
    UnitSnapshot {
        name: u.name.clone(),
        options: u.options.clone(),
        desired_state: u.target_state.clone(),
        current_state: reg.current_state(u).to_string(),
        machine_id: u.target_machine.clone(),
        hash: u.hash.clone(),
    }
}
