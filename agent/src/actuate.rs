//! Body actuation: carry out `doors.lock`, `doors.unlock`, `trunk.open` or `frunk.open` as a
//! vehicle profile says (CAN frames and/or a relay pulse), then watch the body module's status
//! frame until it confirms the new state or the action's timeout passes.

#[cfg(feature = "gpio")]
pub mod gpio;
pub mod profile;
pub mod relay;

use std::collections::BTreeMap;
use std::time::Duration;

use pitlane_shared::can::CanFrame;
use tokio::time::Instant;

use crate::bus::{BusError, CanBus, recv_until};
pub use profile::{Action, ActionPlan, Profile, ProfileError};
pub use relay::{NoRelays, PinRelays, Relay, RelayBank, RelayError};

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum ActuateError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("{action}: {source}")]
    Bus {
        action: Action,
        #[source]
        source: BusError,
    },
    #[error("{action}: {source}")]
    Relay {
        action: Action,
        #[source]
        source: RelayError,
    },
    #[error("{action} not confirmed within {timeout:?}: {detail}")]
    NotConfirmed {
        action: Action,
        timeout: Duration,
        detail: String,
    },
}

/// A confirmed action and the body state the status frame reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub action: String,
    /// Every status field, decoded from the confirming frame.
    pub state: BTreeMap<String, bool>,
    /// The confirming status frame, candump style.
    pub status_frame: String,
    /// From the first frame sent to the confirmation.
    pub elapsed_ms: u128,
}

/// Carries out `action` and waits for its confirmation.
pub async fn execute<B: CanBus, R: RelayBank>(
    profile: &Profile,
    action: Action,
    bus: &mut B,
    relays: &mut R,
) -> Result<Outcome, ActuateError> {
    let plan = profile.plan(action)?;
    let start = Instant::now();
    let deadline = start + plan.timeout;
    for frame in &plan.frames {
        bus.send(frame)
            .await
            .map_err(|source| ActuateError::Bus { action, source })?;
    }
    if let Some(spec) = &plan.relay {
        relays
            .pulse(spec)
            .await
            .map_err(|source| ActuateError::Relay { action, source })?;
    }
    let field = profile.fields[&plan.confirm.field];
    let mut seen = 0usize;
    let mut last: Option<bool> = None;
    loop {
        let frame: Option<CanFrame> = recv_until(bus, deadline)
            .await
            .map_err(|source| ActuateError::Bus { action, source })?;
        let Some(frame) = frame else {
            let detail = match last {
                None if seen == 0 => format!(
                    "no status frame {} was seen (is the body module awake?)",
                    profile.status_id
                ),
                None => format!(
                    "{seen} status frames {} were too short to hold `{}`",
                    profile.status_id, plan.confirm.field
                ),
                Some(v) => format!(
                    "{seen} status frames {} seen, `{}` stayed {v} (wanted {}): the body module did not act",
                    profile.status_id, plan.confirm.field, plan.confirm.value
                ),
            };
            return Err(ActuateError::NotConfirmed {
                action,
                timeout: plan.timeout,
                detail,
            });
        };
        if frame.id() != profile.status_id {
            continue;
        }
        seen += 1;
        last = field.read(frame.data());
        if last == Some(plan.confirm.value) {
            return Ok(Outcome {
                action: action.to_string(),
                state: profile.decode_status(frame.data()),
                status_frame: frame.to_string(),
                elapsed_ms: start.elapsed().as_millis(),
            });
        }
    }
}
