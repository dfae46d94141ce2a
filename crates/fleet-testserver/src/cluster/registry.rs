//! The registry: what fleet keeps in etcd (units, their schedule, machines, unit states), and the
//! agents of the simulated machines.

use std::collections::BTreeMap;

use fleet::v1::UnitOption;

use super::unit_info::Requirements;

/// One unit (fleet's job) as stored.
#[derive(Clone, Debug)]
pub(crate) struct UnitRecord {
    pub(crate) name: String,
    pub(crate) options: Vec<UnitOption>,
    /// The options as fleet's JSON array, written once (lists copy it).
    pub(crate) options_json: Vec<u8>,
    /// fleet's hash of the unit file (40 hex characters).
    pub(crate) hash: String,
    /// The desired state exactly as stored; fleet does not validate it on update, so it can be
    /// anything (`bogus`), and then the unit answers 500 and drops out of lists.
    pub(crate) target_state: String,
    /// The machine the engine scheduled it to.
    pub(crate) target_machine: Option<String>,
    /// The machine whose agent launched it (fleet's `job-state` heartbeat key).
    pub(crate) heartbeat: Option<String>,
    /// Its `[X-Fleet]` requirements.
    pub(crate) req: std::sync::Arc<Requirements>,
    /// A template (`name@.service`): never scheduled.
    pub(crate) template: bool,
}

impl UnitRecord {
    /// The desired state is one of fleet's three.
    pub(crate) fn valid(&self) -> bool {
        matches!(
            self.target_state.as_str(),
            "inactive" | "loaded" | "launched"
        )
    }

    pub(crate) fn is_inactive(&self) -> bool {
        self.target_state == "inactive"
    }
}

/// A machine as registered.
#[derive(Clone, Debug)]
pub(crate) struct MachineRecord {
    pub(crate) primary_ip: String,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// What an agent has loaded into (simulated) systemd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AgentUnit {
    pub(crate) hash: String,
    pub(crate) launched: bool,
    /// Bumped on every change, so a delayed publication can tell it is stale.
    pub(crate) generation: u64,
    /// A state of this unit from this machine is in the registry (not necessarily the state
    /// of the current generation yet).
    pub(crate) published: bool,
}

/// A unit state as an agent published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublishedState {
    pub(crate) hash: String,
    pub(crate) load: &'static str,
    pub(crate) active: &'static str,
    pub(crate) sub: &'static str,
}

impl PublishedState {
    pub(crate) fn of(hash: &str, launched: bool) -> Self {
        PublishedState {
            hash: hash.to_string(),
            load: "loaded",
            active: if launched { "active" } else { "inactive" },
            sub: if launched { "running" } else { "dead" },
        }
    }
}

/// A unit state an agent will publish once the state delay has passed.
#[derive(Clone, Debug)]
pub(crate) struct Publication {
    pub(crate) machine: String,
    pub(crate) name: String,
    pub(crate) generation: u64,
    pub(crate) state: PublishedState,
}

/// Everything fleet would keep in etcd, plus the agents.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) units: BTreeMap<String, UnitRecord>,
    pub(crate) machines: BTreeMap<String, MachineRecord>,
    /// Metadata set with PATCH, per machine id (kept even for unknown machines, like etcd keys).
    /// An empty value deletes the key from the machine's metadata.
    pub(crate) dynamic_metadata: BTreeMap<String, BTreeMap<String, String>>,
    /// machine -> unit -> what its agent has loaded.
    pub(crate) agents: BTreeMap<String, BTreeMap<String, AgentUnit>>,
    /// (unit, machine) -> published state; sorted like fleet's `MUSKeys`.
    pub(crate) states: BTreeMap<(String, String), PublishedState>,
    next_generation: u64,
    /// Bumped on every change (of units, machines or states), for the page cache.
    pub(crate) version: u64,
    /// How many units have `Global`, `MachineOf`, `Conflicts` or `Replaces`.
    related_units: usize,
}

impl Registry {
    /// Units whose desired state is valid, in name order (fleet's `Registry.Units()`).
    pub(crate) fn valid_units(&self) -> impl Iterator<Item = &UnitRecord> {
        self.units.values().filter(|u| u.valid())
    }

    /// The jobs the engine schedules: valid, not global, not templates.
    pub(crate) fn jobs(&self) -> impl Iterator<Item = &UnitRecord> {
        self.valid_units().filter(|u| !u.req.global && !u.template)
    }

    /// A machine's metadata with PATCHed metadata merged in.
    pub(crate) fn machine_metadata(&self, id: &str) -> BTreeMap<String, String> {
        let mut md = self
            .machines
            .get(id)
            .map(|m| m.metadata.clone())
            .unwrap_or_default();
        if let Some(dynamic) = self.dynamic_metadata.get(id) {
            for (k, v) in dynamic {
                if v.is_empty() {
                    md.remove(k);
                } else {
                    md.insert(k.clone(), v.clone());
                }
            }
        }
        md
    }

    pub(crate) fn schedule(&mut self, name: &str, machine: &str) {
        if let Some(u) = self.units.get_mut(name) {
            u.target_machine = Some(machine.to_string());
        }
    }

    pub(crate) fn unschedule(&mut self, name: &str) {
        if let Some(u) = self.units.get_mut(name) {
            u.target_machine = None;
        }
    }

    /// fleet's `determineJobState`: `inactive` unless scheduled and a state was published from
    /// the target machine; `launched` only when that machine's heartbeat is there too.
    pub(crate) fn current_state(&self, unit: &UnitRecord) -> &'static str {
        let Some(target) = &unit.target_machine else {
            return "inactive";
        };
        let published = self
            .agents
            .get(target.as_str())
            .and_then(|a| a.get(unit.name.as_str()))
            .is_some_and(|a| a.published);
        if !published {
            return "inactive";
        }
        if unit.heartbeat.as_deref() == Some(target.as_str()) {
            "launched"
        } else {
            "loaded"
        }
    }

    fn bump(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Every agent's reconciler: load, start, stop and unload units so that each machine runs
    /// what it should. Returns the unit states to publish after the state delay.
    pub(crate) fn reconcile_agents(&mut self) -> Vec<Publication> {
        let mut out = Vec::new();
        let machines: Vec<String> = self.machines.keys().cloned().collect();
        // Agents of machines that went away stop existing, with their states.
        let gone: Vec<String> = self
            .agents
            .keys()
            .filter(|m| !self.machines.contains_key(*m))
            .cloned()
            .collect();
        for m in gone {
            self.agents.remove(&m);
            self.states.retain(|(_, sm), _| *sm != m);
        }
        for machine in machines {
            let desired = super::scheduler::desired_on(self, &machine);
            let current: Vec<String> = self
                .agents
                .get(&machine)
                .map(|a| a.keys().cloned().collect())
                .unwrap_or_default();
            for name in current.iter().filter(|n| desired.binary_search(n).is_err()) {
                self.unload(&machine, name);
            }
            for name in desired {
                self.agent_task(&machine, &name, &mut out);
            }
        }
        out
    }

    /// The agents' reconcilers for these units only: valid when no unit in the registry has
    /// `Global`, `MachineOf`, `Conflicts` or `Replaces` (so no unit's placement depends on
    /// another's), which [`Registry::has_relations`] tells.
    pub(crate) fn reconcile_agents_for(&mut self, names: &[String]) -> Vec<Publication> {
        let mut out = Vec::new();
        let machines: Vec<String> = self.machines.keys().cloned().collect();
        for name in names {
            let target = self
                .units
                .get(name)
                .filter(|u| u.valid())
                .and_then(|u| u.target_machine.clone());
            for machine in &machines {
                if target.as_deref() == Some(machine.as_str()) {
                    self.agent_task(machine, name, &mut out);
                } else if self
                    .agents
                    .get(machine)
                    .is_some_and(|a| a.contains_key(name))
                {
                    self.unload(machine, name);
                }
            }
        }
        out
    }

    /// fleet's `calculateTasksForUnit` for a unit the machine should run.
    fn agent_task(&mut self, machine: &str, name: &str, out: &mut Vec<Publication>) {
        let Some(unit) = self.units.get(name) else {
            return;
        };
        let want_launched = unit.target_state == "launched";
        let want_loaded = unit.target_state != "inactive";
        let have = self.agents.get(machine).and_then(|a| a.get(name));
        if !want_loaded {
            if have.is_some() {
                self.unload(machine, name);
            }
            return;
        }
        let next = match have {
            None => Some((want_launched, want_launched)),
            // A replaced unit is reloaded under its new hash (and started again if it should
            // run), but, as captured from fleet v1.0.0, its launch heartbeat is not renewed:
            // currentState stays `loaded` until the desired state changes.
            Some(h) if h.hash != unit.hash => Some((want_launched, false)),
            Some(h) if h.launched != want_launched => Some((want_launched, want_launched)),
            Some(_) => None,
        };
        let Some((launched, heartbeat)) = next else {
            return;
        };
        let published = have.is_some_and(|h| h.published);
        let hash = unit.hash.clone();
        let generation = self.bump();
        self.agents.entry(machine.to_string()).or_default().insert(
            name.to_string(),
            AgentUnit {
                hash: hash.clone(),
                launched,
                generation,
                published,
            },
        );
        if let Some(u) = self.units.get_mut(name) {
            if heartbeat {
                u.heartbeat = Some(machine.to_string());
            } else if u.heartbeat.as_deref() == Some(machine) {
                u.heartbeat = None;
            }
        }
        out.push(Publication {
            machine: machine.to_string(),
            name: name.to_string(),
            generation,
            state: PublishedState::of(&hash, launched),
        });
    }

    /// Some unit's placement depends on other units (`Global`, `MachineOf`, `Conflicts`,
    /// `Replaces`): changes then need a full engine pass.
    pub(crate) fn has_relations(&self) -> bool {
        self.related_units > 0
    }

    /// Insert or replace a unit, keeping the count of related units.
    pub(crate) fn insert_unit(&mut self, unit: UnitRecord) -> Option<UnitRecord> {
        if unit.req.is_related() {
            self.related_units += 1;
        }
        let old = self.units.insert(unit.name.clone(), unit);
        if old.as_ref().is_some_and(|o| o.req.is_related()) {
            self.related_units -= 1;
        }
        old
    }

    /// Remove a unit, keeping the count of related units.
    pub(crate) fn remove_unit(&mut self, name: &str) -> Option<UnitRecord> {
        let old = self.units.remove(name);
        if old.as_ref().is_some_and(|o| o.req.is_related()) {
            self.related_units -= 1;
        }
        old
    }

    fn unload(&mut self, machine: &str, name: &str) {
        if let Some(agent) = self.agents.get_mut(machine) {
            agent.remove(name);
        }
        if let Some(u) = self.units.get_mut(name) {
            if u.heartbeat.as_deref() == Some(machine) {
                u.heartbeat = None;
            }
        }
        self.states.remove(&(name.to_string(), machine.to_string()));
    }

    /// Publish a unit state, unless the agent changed the unit since.
    pub(crate) fn publish(&mut self, p: Publication) -> bool {
        let Some(agent_unit) = self
            .agents
            .get_mut(&p.machine)
            .and_then(|a| a.get_mut(&p.name))
            .filter(|u| u.generation == p.generation)
        else {
            return false;
        };
        agent_unit.published = true;
        self.version += 1;
        self.states.insert((p.name, p.machine), p.state);
        true
    }
}
