//! MQTT topics (`pitlane/v1/dev/{address}/…`) and the payloads devices publish on them.
//!
//! | topic | event `type` | `data` |
//! |---|---|---|
//! | `…/up/status` (retained) | `pitlane.status.v1` | [`StatusReport`] |
//! | `…/up/vin` | `pitlane.vin.v1` | [`VinReport`] |
//! | `…/up/dtc` | `pitlane.dtc.v1` | [`DtcReport`] |
//! | `…/up/telemetry` | `pitlane.telemetry.v1` | [`TelemetryReport`] |
//! | `…/up/event` | `pitlane.event.v1` | free-form object |
//! | `…/up/result` | `pitlane.command.result.v1` | [`crate::command::CommandResult`] |
//! | `…/down/command` | `pitlane.command.v1` | [`crate::command::Command`] |
//!
//! `{address}` is always the device's lowercase 0x address; a topic with a checksummed or
//! otherwise malformed address does not parse, so one device has exactly one topic tree.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::identity::Address;

/// The prefix of every device topic.
pub const PREFIX: &str = "pitlane/v1/dev";
/// The filter cloud instances subscribe with (a shared subscription, so they scale out).
pub const CLOUD_SHARED_SUBSCRIPTION: &str = "$share/pitlane-cloud/pitlane/v1/dev/+/up/#";
/// The filter of every device's upstream traffic, for a single (non-shared) subscriber.
pub const ALL_UP: &str = "pitlane/v1/dev/+/up/#";
/// The `source` of envelopes the cloud signs.
pub const CLOUD_SOURCE: &str = "pitlane://cloud";

/// The `source` of envelopes the device `address` signs: `pitlane://dev/0x…`.
pub fn device_source(address: Address) -> String {
    format!("pitlane://dev/{}", address.to_lowercase_hex())
}

/// The device → cloud topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UpKind {
    Status,
    Vin,
    Dtc,
    Telemetry,
    Event,
    Result,
}

impl UpKind {
    pub const ALL: [Self; 6] = [
        Self::Status,
        Self::Vin,
        Self::Dtc,
        Self::Telemetry,
        Self::Event,
        Self::Result,
    ];

    /// The last topic level.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Vin => "vin",
            Self::Dtc => "dtc",
            Self::Telemetry => "telemetry",
            Self::Event => "event",
            Self::Result => "result",
        }
    }

    /// The envelope `type` of messages on this topic.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Status => "pitlane.status.v1",
            Self::Vin => "pitlane.vin.v1",
            Self::Dtc => "pitlane.dtc.v1",
            Self::Telemetry => "pitlane.telemetry.v1",
            Self::Event => "pitlane.event.v1",
            Self::Result => crate::command::RESULT_EVENT_TYPE,
        }
    }

    /// Whether the broker keeps the last message (only the status is retained).
    pub fn retained(self) -> bool {
        self == Self::Status
    }
}

impl FromStr for UpKind {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, TopicError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| TopicError::UnknownKind(s.to_owned()))
    }
}

impl fmt::Display for UpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed device topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `pitlane/v1/dev/{address}/up/{kind}`
    Up { device: Address, kind: UpKind },
    /// `pitlane/v1/dev/{address}/down/command`
    Command { device: Address },
}

impl Topic {
    /// The device the topic belongs to.
    pub fn device(&self) -> Address {
        match *self {
            Self::Up { device, .. } | Self::Command { device } => device,
        }
    }
}

/// `pitlane/v1/dev/{address}/up/{kind}`.
pub fn up(device: Address, kind: UpKind) -> String {
    format!("{PREFIX}/{}/up/{kind}", device.to_lowercase_hex())
}

/// `pitlane/v1/dev/{address}/down/command`.
pub fn command(device: Address) -> String {
    format!("{PREFIX}/{}/down/command", device.to_lowercase_hex())
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Up { device, kind } => f.write_str(&up(device, kind)),
            Self::Command { device } => f.write_str(&command(device)),
        }
    }
}

/// Why a topic is not a Pitlane device topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic {0:?} is not under {PREFIX}/{{address}}/")]
    NotPitlane(String),
    #[error("topic address {0:?} is not a lowercase 0x address")]
    Address(String),
    #[error("unknown upstream topic kind {0:?}")]
    UnknownKind(String),
    #[error("topic {0:?} has an unknown direction or suffix")]
    Suffix(String),
}

impl FromStr for Topic {
    type Err = TopicError;

    fn from_str(topic: &str) -> Result<Self, TopicError> {
        let rest = topic
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| TopicError::NotPitlane(topic.to_owned()))?;
        let mut parts = rest.split('/');
        let (Some(addr), Some(dir), Some(last), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TopicError::Suffix(topic.to_owned()));
        };
        let lowercase = addr.len() == 42
            && addr.starts_with("0x")
            && addr[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !lowercase {
            return Err(TopicError::Address(addr.to_owned()));
        }
        let device: Address = addr
            .parse()
            .map_err(|_| TopicError::Address(addr.to_owned()))?;
        match (dir, last) {
            ("up", kind) => Ok(Self::Up {
                device,
                kind: kind.parse()?,
            }),
            ("down", "command") => Ok(Self::Command { device }),
            _ => Err(TopicError::Suffix(topic.to_owned())),
        }
    }
}

/// `online` or `offline` (the last will).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Online,
    Offline,
}

/// Ignition as the agent infers it (battery voltage and engine speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ignition {
    On,
    Off,
    Unknown,
}

/// `data` of `pitlane.status.v1`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusReport {
    pub state: Presence,
    /// The agent's version.
    pub firmware: String,
    /// The bus spec the agent reads the car through.
    pub bus: String,
    pub ignition: Ignition,
}

/// `data` of `pitlane.vin.v1`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VinReport {
    pub vin: String,
    /// The query that returned it, e.g. `functional0902`.
    pub query: String,
    pub check_digit_valid: bool,
}

/// `data` of `pitlane.dtc.v1`: codes by list, then by the answering ECU's id (e.g. `7E8`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DtcReport {
    pub stored: BTreeMap<String, Vec<String>>,
    pub pending: BTreeMap<String, Vec<String>>,
    pub permanent: BTreeMap<String, Vec<String>>,
}

/// One live value in a [`TelemetryReport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TelemetryValue {
    pub ecu: String,
    /// Two hex digits, e.g. `0C`.
    pub pid: String,
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// `data` of `pitlane.telemetry.v1`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TelemetryReport {
    pub ignition: Ignition,
    pub values: Vec<TelemetryValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = "0x9858effd232b4033e47d90003d41ec34ecaeda94";

    fn check(topic: &str, expected: Result<Topic, TopicError>) {
        assert_eq!(topic.parse::<Topic>(), expected, "{topic}");
        if let Ok(t) = expected {
            assert_eq!(t.to_string(), topic);
        }
    }

    #[test]
    fn topics_round_trip_and_bad_ones_are_refused() {
        let device: Address = ADDR.parse().unwrap();
        for kind in UpKind::ALL {
            check(
                &format!("pitlane/v1/dev/{ADDR}/up/{kind}"),
                Ok(Topic::Up { device, kind }),
            );
        }
        check(
            &format!("pitlane/v1/dev/{ADDR}/down/command"),
            Ok(Topic::Command { device }),
        );
        let checksum = device.to_checksum();
        check(
            &format!("pitlane/v1/dev/{checksum}/up/vin"),
            Err(TopicError::Address(checksum.clone())),
        );
        check(
            "pitlane/v1/dev/0x12/up/vin",
            Err(TopicError::Address("0x12".into())),
        );
        check(
            &format!("pitlane/v1/dev/{ADDR}/up/gps"),
            Err(TopicError::UnknownKind("gps".into())),
        );
        let t = format!("pitlane/v1/dev/{ADDR}/down/status");
        check(&t, Err(TopicError::Suffix(t.clone())));
        let t = format!("pitlane/v1/dev/{ADDR}/up/vin/extra");
        check(&t, Err(TopicError::Suffix(t.clone())));
        check(
            "other/v1/dev/x/up/vin",
            Err(TopicError::NotPitlane("other/v1/dev/x/up/vin".into())),
        );
    }

    #[test]
    fn builders_use_the_lowercase_address() {
        let device: Address = ADDR.to_uppercase().replace("0X", "0x").parse().unwrap();
        assert_eq!(
            up(device, UpKind::Status),
            format!("pitlane/v1/dev/{ADDR}/up/status")
        );
        assert_eq!(
            command(device),
            format!("pitlane/v1/dev/{ADDR}/down/command")
        );
        assert_eq!(device_source(device), format!("pitlane://dev/{ADDR}"));
        assert!(UpKind::Status.retained() && !UpKind::Vin.retained());
    }
}
