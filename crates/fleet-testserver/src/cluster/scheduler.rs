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
use std::sync::Arc;

use super::registry::Registry;
use super::unit_info::{glob_matches, Requirements};

/// What one machine runs, as the engine sees it.
struct AgentView {
    id: String,
    metadata: BTreeMap<String, String>,
    /// The units on it (scheduled jobs and matching global units).
    units: BTreeSet<String>,
    /// Those of them with `Conflicts` or `Replaces` (the only ones that can object to a
    /// newcomer), so checking a unit does not walk every unit of the machine.
    special: Vec<(String, Arc<Requirements>)>,
}

enum Able {
    Yes,
    No,
    /// The job replaces this unit on the machine.
    Replace(String),
}

impl AgentView {
    fn add(&mut self, name: &str, req: &Arc<Requirements>) {
        if self.units.insert(name.to_string())
            && (!req.conflicts.is_empty() || !req.replaces.is_empty())
        {
            self.special.push((name.to_string(), Arc::clone(req)));
        }
    }

    fn remove(&mut self, name: &str) {
        if self.units.remove(name) {
            self.special.retain(|(n, _)| n != name);
        }
    }

    /// fleet's `AgentState.AbleToRun`.
    fn able_to_run(&self, name: &str, req: &Requirements) -> Able {
        if let Some(target) = &req.machine_id {
            let short = self.id.get(..8).unwrap_or(&self.id);
            if *target != self.id && target != short {
                return Able::No;
            }
        }
        if !req.metadata_matches(&self.metadata) {
            return Able::No;
        }
        if req.peers.iter().any(|p| !self.units.contains(p)) {
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
        self.special.iter().any(|(other, oreq)| {
            other != name && oreq.conflicts.iter().any(|c| glob_matches(c, name))
        }) || req.conflicts.iter().any(|c| {
            self.units
                .iter()
                .any(|other| other != name && glob_matches(c, other))
        })
    }

    /// fleet's `hasReplace`: exactly one side names the other.
    fn replaced_unit(&self, name: &str, req: &Requirements) -> Option<String> {
        let theirs = |other: &str| {
            self.special
                .iter()
                .find(|(n, _)| n == other)
                .is_some_and(|(_, oreq)| oreq.replaces.iter().any(|r| glob_matches(r, name)))
        };
        let check = |other: &String| {
            if other == name {
                return None;
            }
            let mine = req.replaces.iter().any(|r| glob_matches(r, other));
            (mine != theirs(other)).then(|| other.clone())
        };
        if req.replaces.is_empty() {
            self.special.iter().find_map(|(other, _)| check(other))
        } else {
            self.units.iter().find_map(check)
        }
    }
}

/// Indices of the agents in the scheduler's order: fewest units first, then by machine id.
fn sorted(agents: &[AgentView]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..agents.len()).collect();
    idx.sort_by(|a, b| {
        let (a, b) = (&agents[*a], &agents[*b]);
        (a.units.len(), &a.id).cmp(&(b.units.len(), &b.id))
    });
    idx
}

/// Run engine passes until the schedule stops changing (fleet's engine runs periodically; here
/// the passes run back to back, at most a few times, so a `Replaces` eviction lands at once).
pub(crate) fn reconcile(reg: &mut Registry) {
    for _ in 0..8 {
        if !reconcile_once(reg) {
            return;
        }
    }
}

/// One engine pass over the registry; `true` if the schedule changed.
fn reconcile_once(reg: &mut Registry) -> bool {
    let mut agents = agent_views(reg);
    let mut changed = false;
    let names: Vec<String> = reg.jobs().map(|u| u.name.clone()).collect();
    // Pass 1: check scheduled jobs.
    for name in &names {
        let Some(unit) = reg.units.get(name) else {
            continue;
        };
        let Some(machine) = unit.target_machine.clone() else {
            continue;
        };
        let req = Arc::clone(&unit.req);
        let pos = agents.iter().position(|a| a.id == machine);
        let able = match pos.and_then(|p| agents.get(p)) {
            _ if unit.is_inactive() => Able::No,
            None => Able::No,
            Some(agent) => agent.able_to_run(name, &req),
        };
        match able {
            Able::Yes => {}
            Able::No => {
                reg.unschedule(name);
                if let Some(a) = pos.and_then(|p| agents.get_mut(p)) {
                    a.remove(name);
                }
                changed = true;
            }
            Able::Replace(replaced) => {
                // DecideReschedule: the first other machine in the scheduler's order.
                let target = sorted(&agents)
                    .into_iter()
                    .find(|i| agents.get(*i).is_some_and(|a| a.id != machine));
                reg.unschedule(&replaced);
                if let Some(a) = pos.and_then(|p| agents.get_mut(p)) {
                    a.remove(&replaced);
                }
                if let Some(t) = target {
                    if let Some(a) = agents.get_mut(t) {
                        reg.schedule(&replaced, &a.id);
                        if let Some(r) = reg.units.get(&replaced).map(|u| Arc::clone(&u.req)) {
                            a.add(&replaced, &r);
                        }
                    }
                }
                changed = true;
            }
        }
    }
    // Pass 2: schedule what is unscheduled.
    for name in &names {
        let Some(unit) = reg.units.get(name) else {
            continue;
        };
        if unit.target_machine.is_some() || unit.is_inactive() {
            continue;
        }
        let req = Arc::clone(&unit.req);
        let target = sorted(&agents).into_iter().find(|i| {
            agents
                .get(*i)
                .is_some_and(|a| !matches!(a.able_to_run(name, &req), Able::No))
        });
        if let Some(a) = target.and_then(|t| agents.get_mut(t)) {
            reg.schedule(name, &a.id);
            a.add(name, &req);
            changed = true;
        }
    }
    changed
}

/// The engine for one unit whose placement depends on no other unit (and no other unit's on
/// it): keep, drop or find its machine. Loads are counted without building the agents' views.
pub(crate) fn reconcile_unit(reg: &mut Registry, name: &str) {
    let Some(unit) = reg.units.get(name) else {
        return;
    };
    if !unit.valid() || unit.template || unit.req.global {
        return;
    }
    let able = |reg: &Registry, machine: &str, req: &Requirements| {
        if let Some(target) = &req.machine_id {
            let short = machine.get(..8).unwrap_or(machine);
            if target != machine && target != short {
                return false;
            }
        }
        req.metadata_matches(&reg.machine_metadata(machine))
    };
    let req = Arc::clone(&unit.req);
    if let Some(m) = unit.target_machine.clone() {
        if unit.is_inactive() || !reg.machines.contains_key(&m) || !able(reg, &m, &req) {
            reg.unschedule(name);
        } else {
            return;
        }
    }
    if reg.units.get(name).is_none_or(|u| u.is_inactive()) {
        return;
    }
    let mut load: BTreeMap<&str, usize> = reg.machines.keys().map(|m| (m.as_str(), 0)).collect();
    for u in reg.jobs() {
        if let Some(m) = u.target_machine.as_deref() {
            if !u.is_inactive() {
                if let Some(n) = load.get_mut(m) {
                    *n += 1;
                }
            }
        }
    }
    let mut order: Vec<(usize, &str)> = load.into_iter().map(|(m, n)| (n, m)).collect();
    order.sort();
    let target = order
        .into_iter()
        .find(|(_, m)| able(reg, m, &req))
        .map(|(_, m)| m.to_string());
    if let Some(t) = target {
        reg.schedule(name, &t);
    }
}

/// The machines, each with its units.
fn agent_views(reg: &Registry) -> Vec<AgentView> {
    let mut agents: Vec<AgentView> = reg
        .machines
        .keys()
        .map(|id| AgentView {
            id: id.clone(),
            metadata: reg.machine_metadata(id),
            units: BTreeSet::new(),
            special: Vec::new(),
        })
        .collect();
    for unit in reg.jobs() {
        if unit.is_inactive() {
            continue;
        }
        if let Some(m) = &unit.target_machine {
            if let Some(agent) = agents.iter_mut().find(|a| a.id == *m) {
                agent.add(&unit.name, &unit.req);
            }
        }
    }
    for unit in reg.valid_units().filter(|u| u.req.global) {
        for agent in agents.iter_mut() {
            if unit.req.metadata_matches(&agent.metadata) {
                agent.add(&unit.name, &unit.req);
            }
        }
    }
    agents
}

/// The units an agent should run (fleet's `desiredAgentState`): matching global units and the
/// units scheduled to it, minus conflicts, in name order.
pub(crate) fn desired_on(reg: &Registry, machine: &str) -> Vec<String> {
    let metadata = reg.machine_metadata(machine);
    let mut chosen: Vec<String> = Vec::new();
    let mut with_conflicts: Vec<(&str, &Requirements)> = Vec::new();
    for unit in reg.valid_units() {
        if unit.req.global {
            if !unit.req.metadata_matches(&metadata) {
                continue;
            }
        } else if unit.target_machine.as_deref() != Some(machine) {
            continue;
        }
        let conflict = with_conflicts
            .iter()
            .any(|(_, oreq)| oreq.conflicts.iter().any(|c| glob_matches(c, &unit.name)))
            || unit
                .req
                .conflicts
                .iter()
                .any(|c| chosen.iter().any(|other| glob_matches(c, other)));
        if conflict {
            continue;
        }
        if !unit.req.conflicts.is_empty() {
            with_conflicts.push((&unit.name, &unit.req));
        }
        chosen.push(unit.name.clone());
    }
    chosen
}
