//! fleet's engine: the least-loaded scheduler and its reconciler.
//!
//! Each pass (run after every change) does what fleet's `engine.Reconciler` does:
//!
//! 1. every scheduled job is checked against its machine: unscheduled when its desired state is
//!    `inactive`, when the machine went away, or when the machine can no longer run it
//!    (`MachineID`, `MachineMetadata`, `MachineOf`, `Conflicts`); a job that `Replaces` a unit on
//!    its machine pushes that unit to another machine instead;
//! 2. every unscheduled job whose desired state is not `inactive` goes to the first machine able to
//!    run it, machines sorted by (number of units, machine id).
//!
//! Global units are not scheduled; every machine whose metadata matches runs them. A job no
//! machine can take stays unscheduled, as in fleet.

use std::collections::{BTreeMap, BTreeSet};

use super::registry::Registry;
use super::unit_info::{glob_matches, Requirements};

/// What one machine runs, as the engine sees it.
struct AgentView<'a> {
    id: &'a str,
    metadata: BTreeMap<String, String>,
    /// name -> requirements of the units on it (scheduled jobs and matching global units).
    units: BTreeMap<String, &'a Requirements>,
}

enum Able {
    Yes,
    No,
    /// The job replaces this unit on the machine.
    Replace(String),
}

impl AgentView<'_> {
    fn able_to_run(&self, name: &str, req: &Requirements) -> Able {
        if let Some(target) = &req.machine_id {
            let short = self.id.get(..8).unwrap_or(self.id);
            if target != self.id && target != short {
                return Able::No;
            }
        }
        if !req.metadata_matches(&self.metadata) {
            return Able::No;
        }
        if req.peers.iter().any(|p| !self.units.contains_key(p)) {
            return Able::No;
        }
        if self.has_conflict(name, req) {
            return Able::No;
        }
        if let Some(replaced) = self.replaced_unit(name, req) {
            return Able::Replace(replaced);
        }
        Able::Yes
    }

    fn has_conflict(&self, name: &str, req: &Requirements) -> bool {
        self.units.iter().any(|(other, oreq)| {
            other != name
                && (oreq.conflicts.iter().any(|c| glob_matches(c, name))
                    || req.conflicts.iter().any(|c| glob_matches(c, other)))
        })
    }

    /// fleet's `hasReplace`: exactly one side names the other.
    fn replaced_unit(&self, name: &str, req: &Requirements) -> Option<String> {
        self.units.iter().find_map(|(other, oreq)| {
            if other == name {
                return None;
            }
            let mine = req.replaces.iter().any(|r| glob_matches(r, other));
            let theirs = oreq.replaces.iter().any(|r| glob_matches(r, name));
            (mine != theirs).then(|| other.clone())
        })
    }
}

/// Run engine passes until the schedule stops changing (fleet's engine runs periodically; here
/// the passes run back to back, at most a few times, so a `Replaces` eviction lands at once).
pub(crate) fn reconcile(reg: &mut Registry) {
    for _ in 0..8 {
        let before: Vec<Option<String>> = reg
            .units
            .values()
            .map(|u| u.target_machine.clone())
            .collect();
        reconcile_once(reg);
        let after: Vec<Option<String>> = reg
            .units
            .values()
            .map(|u| u.target_machine.clone())
            .collect();
        if before == after {
            return;
        }
    }
}

/// One engine pass over the registry.
fn reconcile_once(reg: &mut Registry) {
    // Pass 1: check scheduled jobs.
    let names: Vec<String> = reg.jobs().map(|u| u.name.clone()).collect();
    for name in &names {
        let Some((machine, inactive)) = reg
            .units
            .get(name)
            .and_then(|u| Some((u.target_machine.clone()?, u.is_inactive())))
        else {
            continue;
        };
        if inactive || !reg.machines.contains_key(&machine) {
            reg.unschedule(name);
            continue;
        }
        let decision = {
            let agents = agent_views(reg);
            let Some(unit) = reg.units.get(name) else {
                continue;
            };
            match agents.iter().find(|a| a.id == machine) {
                Some(agent) => match agent.able_to_run(name, &unit.req) {
                    Able::Yes => None,
                    Able::No => Some(None),
                    Able::Replace(replaced) => {
                        // DecideReschedule: the first other machine, sorted by load and id.
                        let target = agents
                            .iter()
                            .find(|a| a.id != machine)
                            .map(|a| a.id.to_string());
                        Some(Some((replaced, target)))
                    }
                },
                None => Some(None),
            }
        };
        match decision {
            None => {}
            Some(None) => reg.unschedule(name),
            Some(Some((replaced, target))) => {
                reg.unschedule(&replaced);
                if let Some(target) = target {
                    reg.schedule(&replaced, &target);
                }
            }
        }
    }
    // Pass 2: schedule what is unscheduled.
    for name in &names {
        let wants = reg
            .units
            .get(name)
            .is_some_and(|u| u.target_machine.is_none() && !u.is_inactive());
        if !wants {
            continue;
        }
        let target = {
            let agents = agent_views(reg);
            let Some(unit) = reg.units.get(name) else {
                continue;
            };
            agents
                .iter()
                .find(|a| !matches!(a.able_to_run(name, &unit.req), Able::No))
                .map(|a| a.id.to_string())
        };
        if let Some(target) = target {
            reg.schedule(name, &target);
        }
    }
}

/// The machines, each with its units, sorted the way fleet's scheduler sorts them.
fn agent_views(reg: &Registry) -> Vec<AgentView<'_>> {
    let mut agents: Vec<AgentView<'_>> = reg
        .machines
        .keys()
        .map(|id| AgentView {
            id,
            metadata: reg.machine_metadata(id),
            units: BTreeMap::new(),
        })
        .collect();
    for unit in reg.jobs() {
        if unit.is_inactive() {
            continue;
        }
        if let Some(m) = &unit.target_machine {
            if let Some(agent) = agents.iter_mut().find(|a| a.id == m) {
                agent.units.insert(unit.name.clone(), &unit.req);
            }
        }
    }
    for unit in reg.valid_units().filter(|u| u.req.global) {
        for agent in agents.iter_mut() {
            if unit.req.metadata_matches(&agent.metadata) {
                agent.units.insert(unit.name.clone(), &unit.req);
            }
        }
    }
    agents.sort_by(|a, b| (a.units.len(), a.id).cmp(&(b.units.len(), b.id)));
    agents
}

/// The units an agent should run (fleet's `desiredAgentState`): matching global units and the
/// units scheduled to it, minus conflicts, in name order.
pub(crate) fn desired_on(reg: &Registry, machine: &str) -> BTreeSet<String> {
    let metadata = reg.machine_metadata(machine);
    let mut chosen: BTreeMap<String, &Requirements> = BTreeMap::new();
    for unit in reg.valid_units() {
        if unit.req.global {
            if !unit.req.metadata_matches(&metadata) {
                continue;
            }
        } else if unit.target_machine.as_deref() != Some(machine) {
            continue;
        }
        let conflict = chosen.iter().any(|(other, oreq)| {
            oreq.conflicts.iter().any(|c| glob_matches(c, &unit.name))
                || unit.req.conflicts.iter().any(|c| glob_matches(c, other))
        });
        if conflict {
            continue;
        }
        chosen.insert(unit.name.clone(), &unit.req);
    }
    chosen.into_keys().collect()
}
