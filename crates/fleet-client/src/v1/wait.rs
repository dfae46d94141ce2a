//! Waiting for a condition by polling, with a timeout: the helper behind
//! [`Client::wait_for_unit_state`](crate::v1::Client::wait_for_unit_state), usable for any
//! condition (like kube's `await_condition`).

use std::future::Future;
use std::time::Duration;

use super::{DesiredState, Error, Result, Unit, UnitOption};

/// Call `check` until it returns `Ok(Some(value))`, sleeping `interval` between calls, and
/// return that value; [`Error::Timeout`] (with `what` as the thing waited for) when `timeout`
/// runs out first, even in the middle of a check. The first check runs at once. An error from
/// `check` ends the wait with that error.
///
/// ```
/// use std::time::Duration;
/// use fleet::v1::{wait, Error};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mut calls = 0;
/// let n = wait::poll_until("three calls", Duration::from_secs(5), Duration::from_millis(1), || {
///     calls += 1;
///     let n = calls;
///     async move { Ok((n == 3).then_some(n)) }
/// }).await.unwrap();
/// assert_eq!(n, 3);
///
/// let never = wait::poll_until("nothing", Duration::from_millis(20), Duration::from_millis(5), || async {
///     Ok(None::<()>)
/// }).await;
/// assert!(matches!(never, Err(Error::Timeout { .. })));
/// # }
/// ```
pub async fn poll_until<T, F, Fut>(
    what: impl Into<String>,
    timeout: Duration,
    interval: Duration,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let polling = async {
        loop {
            if let Some(value) = check().await? {
                return Ok(value);
            }
            tokio::time::sleep(interval).await;
        }
    };
    match tokio::time::timeout(timeout, polling).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout {
            what: what.into(),
            after: timeout,
        }),
    }
}

/// Whether a unit from fleet is in state `target`, as fleetctl v1.0.0 judges it
/// (`assertUnitState`): its current state, except for global units (`Global=true` in
/// `[X-Fleet]`, the last value winning), which never carry a current state and are judged by
/// their desired state.
///
/// ```
/// use fleet::v1::{wait, DesiredState, Unit};
///
/// let global = Unit::from_string("[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=true\n").unwrap();
/// assert!(wait::unit_reached(&global, DesiredState::Launched));
/// assert!(!wait::unit_reached(&Unit::new(), DesiredState::Launched)); // no current state
/// ```
pub fn unit_reached(unit: &Unit, target: DesiredState) -> bool {
    if is_global(unit.options()) {
        unit.desired_state() == target
    } else {
        unit.current_state() == Some(target)
    }
}

/// Whether options make a global unit: the last `Global` in `[X-Fleet]` is one of fleet's
/// true values (`true`, `yes`, `1`, `on`, `t`, any case).
pub fn is_global(options: &[UnitOption]) -> bool {
    options
        .iter()
        .rev()
        .find(|o| o.section == "X-Fleet" && o.name == "Global")
        .is_some_and(|o| {
            matches!(
                o.value.to_ascii_lowercase().as_str(),
                "true" | "yes" | "1" | "on" | "t"
            )
        })
}
