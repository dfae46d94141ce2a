//! Waiting for units to reach a state, as fleetctl 1.0 waits, plus a deadline.
//!
//! fleetctl polls each unit every 250 ms; an *attempt* lasts up to 2 seconds, and
//! `--block-attempts=N` allows N attempts (0: no limit), after which it reports
//! `timed out waiting for unit X to report state S`. `--no-block` does not wait at all and prints
//! `Triggered unit X <verb>`. A unit reached its state when its current state (its desired state,
//! for global units) equals the target; fleetctl then prints `Unit X <state>` and, when the unit
//! has a machine, ` on <machine>/<ip>`.
//!
//! Beyond fleetctl: `--wait-timeout` bounds the whole wait; on expiry the message names every
//! unit still pending, the state it was waited for and where it is. On a terminal, a progress
//! line is shown on stderr while waiting (none otherwise, so logs and pipes stay clean).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use fleet::v1 as fleet;

use crate::api::Api;
use crate::output::{self, table};

/// How often fleetctl polls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long one attempt lasts (fleetctl's `defaultSleepTime`).
pub const ATTEMPT: Duration = Duration::from_millis(2000);

/// How to wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// fleetctl's `getBlockAttempts`: negative = do not wait, 0 = no limit, N = N attempts.
    pub attempts: i64,
    /// The overall deadline (`--wait-timeout`), if any.
    pub timeout: Option<Duration>,
}

impl WaitOptions {
    /// From `--block-attempts`, `--no-block` and `--wait-timeout`.
    pub fn from_flags(flags: &crate::cli::WaitFlags) -> WaitOptions {
        let mut attempts = flags.block_attempts.max(0);
        if flags.no_block {
            attempts = -1;
        }
        WaitOptions {
            attempts,
            timeout: (flags.wait_timeout > 0.0)
                .then(|| Duration::from_millis((flags.wait_timeout * 1000.0) as u64)),
        }
    }
}

/// Why waiting failed; the message is what fleetctl prints after `Error waiting for units: `.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// `--block-attempts` ran out for a unit (fleetctl's message).
    #[error("timed out waiting for unit {unit} to report state {state}")]
    Attempts {
        /// The unit.
        unit: String,
        /// The state waited for.
        state: String,
    },
    /// systemd did not report the unit active in time (fleetctl's message).
    #[error(
        "Failed to find an active unit {unit} within 2s, err: Failed to fetch states within 2s"
    )]
    NotActive {
        /// The unit.
        unit: String,
    },
    /// `--wait-timeout` expired.
    #[error("gave up after {after:?} (--wait-timeout): {}", pending.join("; "))]
    Deadline {
        /// How long was waited.
        after: Duration,
        /// One description per unit still pending.
        pending: Vec<String>,
    },
}

struct Pending {
    name: String,
    attempts_used: i64,
    attempt_started: Instant,
    last_seen: Option<fleet::Unit>,
    seen_missing: bool,
}

/// A progress line on stderr when it is a terminal.
struct Progress {
    enabled: bool,
    frame: usize,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            frame: 0,
            shown: false,
        }
    }

    fn show(&mut self, text: &str) {
        if !self.enabled {
            return;
        }
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        let spinner = FRAMES[self.frame % FRAMES.len()];
        self.frame += 1;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{spinner} {text}");
        let _ = err.flush();
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Where a unit is, for the deadline message.
async fn whereabouts(api: &mut Api, unit: &Option<fleet::Unit>, missing: bool) -> String {
    match unit {
        None if missing => "it does not exist".to_string(),
        None => "its state could not be read".to_string(),
        Some(u) => {
            let state = u
                .current_state()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "in no state".to_string());
            match u.machine_id().filter(|m| !m.is_empty()) {
                Some(id) => {
                    let ip = api.cached_machine(id).await.map(|m| m.primary_ip.clone());
                    format!(
                        "it is {state} on {}",
                        table::machine_legend(id, ip.as_deref(), false)
                    )
                }
                None => format!("it is {state} and not scheduled to any machine"),
            }
        }
    }
}

/// fleetctl's `tryWaitForUnitStates`: waits until every unit in `units` reports `target`,
/// printing `Unit X <state> on <machine>` as each one does.
pub async fn wait_for_unit_states(
    api: &mut Api,
    units: &[String],
    verb: &str,
    target: fleet::DesiredState,
    opts: WaitOptions,
) -> Result<(), WaitError> {
    if opts.attempts < 0 {
        for name in units {
            output::stdout(&format!("Triggered unit {name} {verb}"));
        }
        return Ok(());
    }
    if units.is_empty() {
        return Ok(());
    }
    let start = Instant::now();
    let now = Instant::now();
    let mut pending: Vec<Pending> = units
        .iter()
        .map(|n| Pending {
            name: n.clone(),
            attempts_used: 0,
            attempt_started: now,
            last_seen: None,
            seen_missing: false,
        })
        .collect();
    let mut progress = Progress::new();
    loop {
        let mut i = 0;
        while i < pending.len() {
            let p = &mut pending[i];
            let reached = match api.unit(&p.name).await {
                Ok(Some(u)) => {
                    let state = if table::is_global(u.options()) {
                        Some(u.desired_state())
                    } else {
                        u.current_state()
                    };
                    let reached = state == Some(target);
                    p.seen_missing = false;
                    p.last_seen = Some(u);
                    reached
                }
                Ok(None) => {
                    p.seen_missing = true;
                    p.last_seen = None;
                    false
                }
                Err(e) => {
                    tracing::debug!("Retrying assertion of states. err: {e}");
                    false
                }
            };
            if reached {
                let p = pending.remove(i);
                let Some(u) = p.last_seen else { continue };
                let mut msg = format!(
                    "Unit {} {}",
                    p.name,
                    u.current_state().map(|s| s.to_string()).unwrap_or_default()
                );
                if let Some(id) = u.machine_id().filter(|m| !m.is_empty()) {
                    if let Some(m) = api.cached_machine(id).await {
                        msg.push_str(" on ");
                        msg.push_str(&table::machine_legend(&m.id, Some(&m.primary_ip), false));
                    }
                }
                progress.clear();
                output::stdout(&msg);
                continue;
            }
            i += 1;
        }
        if pending.is_empty() {
            return Ok(());
        }
        // Attempts: each lasts ATTEMPT; after the last one the unit has timed out.
        let now = Instant::now();
        for p in pending.iter_mut() {
            if now.duration_since(p.attempt_started) >= ATTEMPT {
                p.attempts_used += 1;
                p.attempt_started = now;
                if opts.attempts > 0 && p.attempts_used >= opts.attempts {
                    return Err(WaitError::Attempts {
                        unit: p.name.clone(),
                        state: target.to_string(),
                    });
                }
            }
        }
        if let Some(limit) = opts.timeout {
            if now.duration_since(start) >= limit {
                let mut descriptions = Vec::new();
                for p in &pending {
                    let at = whereabouts(api, &p.last_seen, p.seen_missing).await;
                    descriptions.push(format!("{} did not become {target} ({at})", p.name));
                }
                return Err(WaitError::Deadline {
                    after: limit,
                    pending: descriptions,
                });
            }
        }
        progress.show(&format!(
            "waiting for {} to become {target} ({:.0}s)",
            if pending.len() == 1 {
                pending[0].name.clone()
            } else {
                format!("{} units", pending.len())
            },
            start.elapsed().as_secs_f64()
        ));
        let mut sleep = POLL_INTERVAL;
        if let Some(limit) = opts.timeout {
            sleep = sleep.min(limit.saturating_sub(start.elapsed()));
        }
        tokio::time::sleep(sleep).await;
    }
}

/// fleetctl's `tryWaitForSystemdActiveState`, for `start`: waits (up to one 2-second attempt,
/// as fleetctl effectively does) until systemd reports each unit `active` and `loaded`.
pub async fn wait_for_systemd_active(
    api: &mut Api,
    units: &[String],
    opts: WaitOptions,
) -> Result<(), WaitError> {
    if opts.attempts < 0 {
        for name in units {
            output::stdout(&format!("Triggered unit {name} start"));
        }
        return Ok(());
    }
    let start = Instant::now();
    let mut progress = Progress::new();
    for name in units {
        let unit_start = Instant::now();
        loop {
            if let Ok(Some(s)) = api.unit_state(name).await {
                if s.systemd_active_state == "active" && s.systemd_load_state == "loaded" {
                    break;
                }
            }
            let elapsed = unit_start.elapsed();
            if elapsed >= ATTEMPT {
                return Err(WaitError::NotActive { unit: name.clone() });
            }
            if let Some(limit) = opts.timeout {
                if start.elapsed() >= limit {
                    let state = api.unit_state(name).await.ok().flatten();
                    let at = match state {
                        Some(s) => format!(
                            "systemd reports it {}/{}",
                            s.systemd_active_state, s.systemd_sub_state
                        ),
                        None => "no machine reports its state".to_string(),
                    };
                    return Err(WaitError::Deadline {
                        after: limit,
                        pending: vec![format!("{name} did not become active ({at})")],
                    });
                }
            }
            progress.show(&format!("waiting for systemd to report {name} active"));
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::WaitFlags;

    #[test]
    fn block_attempts_like_fleetctl() {
        let f = |block_attempts, no_block, wait_timeout| WaitFlags {
            block_attempts,
            no_block,
            wait_timeout,
        };
        assert_eq!(WaitOptions::from_flags(&f(0, false, 0.0)).attempts, 0);
        assert_eq!(WaitOptions::from_flags(&f(-5, false, 0.0)).attempts, 0);
        assert_eq!(WaitOptions::from_flags(&f(3, false, 0.0)).attempts, 3);
        assert_eq!(WaitOptions::from_flags(&f(3, true, 0.0)).attempts, -1);
        assert_eq!(WaitOptions::from_flags(&f(0, false, 0.0)).timeout, None);
        assert_eq!(
            WaitOptions::from_flags(&f(0, false, 1.5)).timeout,
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn messages_like_fleetctl() {
        let e = WaitError::Attempts {
            unit: "a.service".into(),
            state: "launched".into(),
        };
        assert_eq!(
            e.to_string(),
            "timed out waiting for unit a.service to report state launched"
        );
    }
}
