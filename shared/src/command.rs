//! Remote commands (`pitlane.command.v1`), their results (`pitlane.command.result.v1`), and the
//! sans-IO [`CommandVerifier`] that decides whether the device may execute one.
//!
//! # The sequence rule
//!
//! The cloud numbers the commands it sends to one device `1, 2, 3, …` (`seq`, strictly
//! increasing per device, never reused). The device remembers the highest `seq` of every
//! *authentic* command it has processed — executed, failed, expired or rejected after the
//! signature and subject checked out — and refuses any command whose `seq` is not greater
//! ([`RejectCode::StaleSeq`]). Consequences, all deliberate:
//! - a captured envelope cannot be replayed, even after the device forgot its request id;
//! - two commands that arrive out of order (an unlock overtaking a lock) never both run:
//!   the older one is refused, so the car never ends up in a stale state;
//! - forged envelopes cannot advance the counter (they fail the signature first).
//!
//! Checks run in this order, and the first failure is the reason reported: signature
//! ([`RejectCode::ForeignSigner`]), subject ([`RejectCode::WrongSubject`]), envelope type and
//! payload ([`RejectCode::Malformed`]), request id already seen ([`RejectCode::Replayed`]),
//! `seq` ([`RejectCode::StaleSeq`]), expiry (status `expired`), action
//! ([`RejectCode::UnknownAction`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde_json::Value;

use crate::envelope::{Envelope, EnvelopeError, Expected, SignedEnvelope};
use crate::identity::Address;

/// The envelope `type` of commands.
pub const COMMAND_EVENT_TYPE: &str = "pitlane.command.v1";
/// The envelope `type` of command results.
pub const RESULT_EVENT_TYPE: &str = "pitlane.command.result.v1";

/// What a command asks the device to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Action {
    #[serde(rename = "doors.lock")]
    DoorsLock,
    #[serde(rename = "doors.unlock")]
    DoorsUnlock,
    #[serde(rename = "trunk.open")]
    TrunkOpen,
    #[serde(rename = "frunk.open")]
    FrunkOpen,
    #[serde(rename = "dtc.read")]
    DtcRead,
    #[serde(rename = "dtc.clear")]
    DtcClear,
    #[serde(rename = "vin.read")]
    VinRead,
    #[serde(rename = "sign.typed_data")]
    SignTypedData,
}

impl Action {
    pub const ALL: [Self; 8] = [
        Self::DoorsLock,
        Self::DoorsUnlock,
        Self::TrunkOpen,
        Self::FrunkOpen,
        Self::DtcRead,
        Self::DtcClear,
        Self::VinRead,
        Self::SignTypedData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoorsLock => "doors.lock",
            Self::DoorsUnlock => "doors.unlock",
            Self::TrunkOpen => "trunk.open",
            Self::FrunkOpen => "frunk.open",
            Self::DtcRead => "dtc.read",
            Self::DtcClear => "dtc.clear",
            Self::VinRead => "vin.read",
            Self::SignTypedData => "sign.typed_data",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown action {s:?}"))
    }
}

/// `data` of `pitlane.command.v1`. `action` stays a string on the wire so an unknown action
/// still parses and gets a `rejected` result naming it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Command {
    pub request_id: String,
    pub action: String,
    /// Action parameters: `{"typed_data": {...}}` for `sign.typed_data`, else `{}`.
    #[serde(default)]
    pub params: Value,
    /// RFC 3339 UTC.
    pub issued_at: String,
    /// RFC 3339 UTC; the device never executes at or after this instant.
    pub expires_at: String,
    /// Per-device sequence number (see the module docs).
    pub seq: u64,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    Executed,
    Failed,
    Rejected,
    Expired,
}

/// Why a command was refused (machine-readable; `reason` has the words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    ForeignSigner,
    WrongSubject,
    Malformed,
    Replayed,
    StaleSeq,
    Expired,
    UnknownAction,
    /// The action needs something this device lacks (no actuation profile, no signing policy).
    Unsupported,
    /// A signing request its policy refuses.
    Policy,
}

/// `data` of `pitlane.command.result.v1`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CommandResult {
    /// The command's request id (empty when it could not be read from a malformed command).
    pub request_id: String,
    pub action: String,
    pub status: ResultStatus,
    /// Set for `rejected` and `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<RejectCode>,
    /// Human-readable why, for every status but `executed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The vehicle state observed after the action (body fields for door and lid actions).
    #[serde(default)]
    pub state: BTreeMap<String, Value>,
    /// Action output: `{"vin":…}`, the trouble codes, or `{"hash","signature","address"}`.
    #[serde(default)]
    pub output: Value,
    /// The command's `seq`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl CommandResult {
    /// A result that refuses a command.
    pub fn refused(rejection: &Rejection) -> Self {
        CommandResult {
            request_id: rejection.request_id.clone().unwrap_or_default(),
            action: rejection.action.clone().unwrap_or_default(),
            status: if rejection.code == RejectCode::Expired {
                ResultStatus::Expired
            } else {
                ResultStatus::Rejected
            },
            code: Some(rejection.code),
            reason: Some(rejection.reason.clone()),
            state: BTreeMap::new(),
            output: Value::Null,
            seq: rejection.seq,
        }
    }
}

/// What the device remembers about commands it has processed.
pub trait SeenCommands {
    /// Whether a command with this request id was processed before.
    fn seen(&self, request_id: &str) -> bool;
    /// The highest `seq` processed so far.
    fn highest_seq(&self) -> Option<u64>;
}

/// A command refused, with whatever could be read of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectCode,
    pub reason: String,
    pub request_id: Option<String>,
    pub action: Option<String>,
    pub seq: Option<u64>,
    /// The command was authentic, so its `seq` counts (see the module docs).
    pub authentic: bool,
}

/// A command that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCommand {
    pub action: Action,
    pub command: Command,
    pub envelope_id: String,
    pub expires_at: SystemTime,
}

/// The verifier's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Execute(VerifiedCommand),
    Reject(Rejection),
}

/// Decides execute vs reject for received command envelopes. No I/O, no clock: the caller
/// passes the time and its memory of processed commands.
#[derive(Debug, Clone)]
pub struct CommandVerifier {
    expected: Expected,
}

impl CommandVerifier {
    /// Commands must be signed by `cloud` (the pinned command key) and be about `device`.
    pub fn new(cloud: Address, device: Address) -> Self {
        CommandVerifier {
            expected: Expected {
                signer: cloud,
                subject: device.to_lowercase_hex(),
            },
        }
    }

    /// Checks the received bytes of one `down/command` message.
    pub fn verify(&self, bytes: &[u8], now: SystemTime, seen: &impl SeenCommands) -> Verdict {
        match self.check(bytes, now, seen) {
            Ok(v) => Verdict::Execute(v),
            Err(r) => Verdict::Reject(r),
        }
    }

    fn check(
        &self,
        bytes: &[u8],
        now: SystemTime,
        seen: &impl SeenCommands,
    ) -> Result<VerifiedCommand, Rejection> {
        let reject = |code, reason: String| Rejection {
            code,
            reason,
            request_id: None,
            action: None,
            seq: None,
            authentic: false,
        };
        let signed = SignedEnvelope::<Value>::from_slice(bytes)
            .map_err(|e| reject(RejectCode::Malformed, e.to_string()))?;
        // Best effort, for the result of a refused envelope: who it claims to be.
        let claimed: Option<Command> = serde_json::from_value(signed.envelope().data.clone()).ok();
        let envelope: Envelope<Value> = signed.verify(&self.expected).map_err(|e| {
            let code = match e {
                EnvelopeError::WrongSubject { .. } => RejectCode::WrongSubject,
                EnvelopeError::WrongSigner { .. } => RejectCode::ForeignSigner,
                _ => RejectCode::Malformed,
            };
            Rejection {
                request_id: claimed.as_ref().map(|c| c.request_id.clone()),
                action: claimed.as_ref().map(|c| c.action.clone()),
                seq: claimed.as_ref().map(|c| c.seq),
                ..reject(code, e.to_string())
            }
        })?;
        if envelope.event_type != COMMAND_EVENT_TYPE {
            return Err(reject(
                RejectCode::Malformed,
                format!(
                    "envelope type is {:?}, expected {COMMAND_EVENT_TYPE:?}",
                    envelope.event_type
                ),
            ));
        }
        let command: Command = serde_json::from_value(envelope.data)
            .map_err(|e| reject(RejectCode::Malformed, format!("command data: {e}")))?;
        let authentic = |code, reason: String| Rejection {
            code,
            reason,
            request_id: Some(command.request_id.clone()),
            action: Some(command.action.clone()),
            seq: Some(command.seq),
            authentic: true,
        };
        let time = |field: &str, text: &str| {
            humantime::parse_rfc3339(text).map_err(|_| {
                authentic(
                    RejectCode::Malformed,
                    format!("{field} {text:?} is not an RFC 3339 UTC timestamp"),
                )
            })
        };
        let issued_at = time("issued_at", &command.issued_at)?;
        let expires_at = time("expires_at", &command.expires_at)?;
        if command.request_id.is_empty() {
            return Err(authentic(RejectCode::Malformed, "empty request_id".into()));
        }
        if expires_at <= issued_at {
            return Err(authentic(
                RejectCode::Malformed,
                "expires_at is not after issued_at".into(),
            ));
        }
        if seen.seen(&command.request_id) {
            return Err(authentic(
                RejectCode::Replayed,
                format!(
                    "request {} was already processed; a request runs at most once",
                    command.request_id
                ),
            ));
        }
        if let Some(high) = seen.highest_seq()
            && command.seq <= high
        {
            return Err(authentic(
                RejectCode::StaleSeq,
                format!(
                    "seq {} is not newer than {high}, the highest already processed",
                    command.seq
                ),
            ));
        }
        if now >= expires_at {
            return Err(authentic(
                RejectCode::Expired,
                format!("expired at {}", command.expires_at),
            ));
        }
        let action: Action = command
            .action
            .parse()
            .map_err(|e| authentic(RejectCode::UnknownAction, e))?;
        Ok(VerifiedCommand {
            action,
            envelope_id: envelope.id,
            expires_at,
            command,
        })
    }
}

#[cfg(test)]
mod tests;
