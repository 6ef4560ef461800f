//! Vehicle profiles (TOML): for each body action, the CAN frames to send or the relay to pulse,
//! and the status-frame bits that confirm the new state. Parsed and checked once on load.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use pitlane_shared::can::{CanFrame, CanId};
use serde::Deserialize;

/// The body actions DESIGN.md names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    DoorsLock,
    DoorsUnlock,
    TrunkOpen,
    FrunkOpen,
}

impl Action {
    pub const ALL: [Self; 4] = [
        Self::DoorsLock,
        Self::DoorsUnlock,
        Self::TrunkOpen,
        Self::FrunkOpen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoorsLock => "doors.lock",
            Self::DoorsUnlock => "doors.unlock",
            Self::TrunkOpen => "trunk.open",
            Self::FrunkOpen => "frunk.open",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = ProfileError;
    fn from_str(s: &str) -> Result<Self, ProfileError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ProfileError::UnknownAction(s.to_owned()))
    }
}

/// Why a profile was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("profile is not valid TOML for a vehicle profile: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("unknown action `{0}` (known: doors.lock, doors.unlock, trunk.open, frunk.open)")]
    UnknownAction(String),
    #[error("action `{action}`: {problem}")]
    Action { action: String, problem: String },
    #[error("status field `{field}`: {problem}")]
    Field { field: String, problem: String },
    #[error("the profile has no `{0}` action")]
    NotInProfile(Action),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    status: RawStatus,
    actions: BTreeMap<String, RawAction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    id: u32,
    #[serde(default)]
    extended: bool,
    fields: BTreeMap<String, Field>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    #[serde(default)]
    frames: Vec<RawFrame>,
    relay: Option<RelaySpec>,
    confirm: Confirm,
    timeout_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrame {
    id: u32,
    #[serde(default)]
    extended: bool,
    data: String,
}

/// One bit field of the status frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub byte: usize,
    pub mask: u8,
}

impl Field {
    /// The field's value in `data`, or `None` when the frame is too short.
    pub fn read(&self, data: &[u8]) -> Option<bool> {
        data.get(self.byte).map(|b| b & self.mask != 0)
    }
}

/// Which status field must read which value once the action took effect.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub field: String,
    pub value: bool,
}

/// A relay wired in parallel with a switch (GPIO line on a character device).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySpec {
    /// GPIO character device, e.g. `/dev/gpiochip0`.
    #[serde(default = "default_chip")]
    pub chip: String,
    /// Line offset on the chip.
    pub line: u32,
    /// How long the relay stays closed.
    pub pulse_ms: u64,
    /// Whether the relay closes when the line is driven low.
    #[serde(default)]
    pub active_low: bool,
}

fn default_chip() -> String {
    "/dev/gpiochip0".to_owned()
}

/// How to carry out one action and how to confirm it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPlan {
    pub frames: Vec<CanFrame>,
    pub relay: Option<RelaySpec>,
    pub confirm: Confirm,
    pub timeout: Duration,
}

/// A checked vehicle profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub status_id: CanId,
    pub fields: BTreeMap<String, Field>,
    pub actions: BTreeMap<Action, ActionPlan>,
}

impl Profile {
    /// Reads and checks a profile file.
    pub fn load(path: &std::path::Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        text.parse()
    }

    /// The plan for `action`.
    pub fn plan(&self, action: Action) -> Result<&ActionPlan, ProfileError> {
        self.actions
            .get(&action)
            .ok_or(ProfileError::NotInProfile(action))
    }

    /// Every status field decoded from a status frame's data (fields beyond its end are left out).
    pub fn decode_status(&self, data: &[u8]) -> BTreeMap<String, bool> {
        self.fields
            .iter()
            .filter_map(|(name, f)| f.read(data).map(|v| (name.clone(), v)))
            .collect()
    }
}

impl FromStr for Profile {
    type Err = ProfileError;

    fn from_str(text: &str) -> Result<Self, ProfileError> {
        let raw: RawProfile = toml::from_str(text)?;
        for (name, f) in &raw.status.fields {
            let problem = if f.byte > 7 {
                "byte must be 0-7"
            } else if f.mask == 0 {
                "mask must not be 0"
            } else {
                continue;
            };
            return Err(ProfileError::Field {
                field: name.clone(),
                problem: problem.to_owned(),
            });
        }
        let status_id =
            can_id(raw.status.id, raw.status.extended).map_err(|p| ProfileError::Field {
                field: "status.id".into(),
                problem: p,
            })?;
        let mut actions = BTreeMap::new();
        for (name, a) in raw.actions {
            let action: Action = name.parse()?;
            let bad = |problem: String| ProfileError::Action {
                action: name.clone(),
                problem,
            };
            if !raw.status.fields.contains_key(&a.confirm.field) {
                return Err(bad(format!(
                    "confirm field `{}` is not a status field",
                    a.confirm.field
                )));
            }
            if a.frames.is_empty() && a.relay.is_none() {
                return Err(bad("has neither frames nor a relay".into()));
            }
            if a.timeout_ms == 0 {
                return Err(bad("timeout_ms must be positive".into()));
            }
            let frames = a
                .frames
                .iter()
                .map(|f| frame(f).map_err(&bad))
                .collect::<Result<_, _>>()?;
            actions.insert(
                action,
                ActionPlan {
                    frames,
                    relay: a.relay,
                    confirm: a.confirm,
                    timeout: Duration::from_millis(a.timeout_ms),
                },
            );
        }
        Ok(Self {
            name: raw.name,
            status_id,
            fields: raw.status.fields,
            actions,
        })
    }
}

fn can_id(id: u32, extended: bool) -> Result<CanId, String> {
    let r = if extended {
        CanId::extended(id)
    } else {
        u16::try_from(id)
            .map_err(|_| pitlane_shared::can::FrameError::IdOutOfRange {
                id,
                extended: false,
            })
            .and_then(CanId::standard)
    };
    r.map_err(|e| e.to_string())
}

fn frame(f: &RawFrame) -> Result<CanFrame, String> {
    let id = can_id(f.id, f.extended)?;
    let compact: String = f.data.chars().filter(|c| !c.is_whitespace()).collect();
    let data = hex::decode(&compact).map_err(|e| format!("frame data `{}`: {e}", f.data))?;
    CanFrame::new(id, &data).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIM: &str = include_str!("../../profiles/pitlane-sim.toml");

    #[test]
    fn the_shipped_sim_profile_encodes_the_body_protocol() {
        let p: Profile = SIM.parse().unwrap();
        assert_eq!(p.status_id, CanId::Standard(0x2F1));
        for (action, code, field, value) in [
            (Action::DoorsLock, 1, "doors_locked", true),
            (Action::DoorsUnlock, 2, "doors_locked", false),
            (Action::TrunkOpen, 3, "trunk_open", true),
            (Action::FrunkOpen, 4, "frunk_open", true),
        ] {
            let plan = p.plan(action).unwrap();
            assert_eq!(plan.frames.len(), 1);
            assert_eq!(plan.frames[0].id(), CanId::Standard(0x2F0));
            assert_eq!(plan.frames[0].data(), &[code, 0, 0, 0, 0, 0, 0, 0]);
            assert_eq!(plan.confirm.field, field);
            assert_eq!(plan.confirm.value, value);
        }
        let state = p.decode_status(&[0b101, 7, 0, 0, 0, 0, 0, 0]);
        assert!(state["doors_locked"]);
        assert!(!state["trunk_open"]);
        assert!(state["frunk_open"]);
    }

    fn check(edit: (&str, &str), fragment: &str) {
        let text = SIM.replacen(edit.0, edit.1, 1);
        assert_ne!(text, SIM, "edit {edit:?} did not apply");
        let err = text.parse::<Profile>().unwrap_err().to_string();
        assert!(err.contains(fragment), "`{err}` lacks `{fragment}`");
    }

    #[test]
    fn bad_profiles_are_rejected_with_a_reason() {
        check(
            ("doors.lock\"]", "doors.smash\"]"),
            "unknown action `doors.smash`",
        );
        check(
            ("field = \"trunk_open\"", "field = \"boot\""),
            "`boot` is not a status field",
        );
        check(("mask = 0x04", "mask = 0"), "mask must not be 0");
        check(
            ("byte = 0, mask = 0x02", "byte = 8, mask = 0x02"),
            "byte must be 0-7",
        );
        check(("id = 0x2F1", "id = 0x12F1"), "does not fit in 11 bits");
        check(("\"04 00 00 00 00 00 00 00\"", "\"04 0\""), "frame data");
        check(
            (
                "\"04 00 00 00 00 00 00 00\"",
                "\"04 00 00 00 00 00 00 00 00\"",
            ),
            "at most 8",
        );
        check(
            (
                "timeout_ms = 1000\n\n[actions.\"doors.unlock\"]",
                "timeout_ms = 0\n\n[actions.\"doors.unlock\"]",
            ),
            "timeout_ms must be positive",
        );
        check(
            (
                "frames = [{ id = 0x2F0, data = \"01 00 00 00 00 00 00 00\" }]",
                "",
            ),
            "neither frames nor a relay",
        );
        check(("name = ", "nome = "), "not valid TOML");
    }

    #[test]
    fn actions_parse_from_their_design_names() {
        for a in Action::ALL {
            assert_eq!(a.to_string().parse::<Action>().unwrap(), a);
        }
        assert!("doors.open".parse::<Action>().is_err());
    }
}
