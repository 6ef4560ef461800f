//! The scenario: what car the simulator plays, read from TOML (a default one ships in the crate).
//!
//! Parsing is two steps: serde reads the file (unknown keys are errors, so a typo never goes
//! unnoticed), then [`Scenario::validate`] checks every value and names the field that is wrong.

mod faults;
mod validate;

use std::path::Path;

use serde::Deserialize;

pub use faults::{AdapterFaults, EcuFaults};

/// The scenario shipped with the simulator: a 2013 Hyundai Sonata with three ECUs.
pub const DEFAULT_SCENARIO: &str = include_str!("../scenarios/default.toml");

/// A simulated car.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A human-readable name, printed at start-up.
    #[serde(default)]
    pub name: String,
    /// The VIN the engine ECU reports (17 printable ASCII characters; deliberately not
    /// checked further, so a scenario can play a car with a bad VIN).
    pub vin: String,
    /// Which CAN identifiers the ECUs answer on.
    #[serde(default)]
    pub addressing: Addressing,
    /// The OBD-II ECUs, in the order they answer a functional request.
    #[serde(rename = "ecu")]
    pub ecus: Vec<EcuConfig>,
    /// Parameters of the live-data model.
    #[serde(default)]
    pub live: LiveConfig,
    /// The body control module.
    #[serde(default)]
    pub body: BodyConfig,
    /// Adapter-level fault injection.
    #[serde(default)]
    pub faults: AdapterFaults,
}

/// The CAN addressing the ECUs answer on (ISO 15765-4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Addressing {
    /// 11-bit: functional 0x7DF, physical 0x7E0.. / 0x7E8...
    #[default]
    #[serde(rename = "11bit")]
    Standard,
    /// 29-bit normal-fixed: functional 0x18DB33F1, physical 0x18DAxxF1 / 0x18DAF1xx.
    #[serde(rename = "29bit")]
    Extended,
    /// Both at once (some gateways do this).
    #[serde(rename = "both")]
    Both,
}

impl Addressing {
    /// Whether ECUs answer 11-bit requests.
    pub fn standard(self) -> bool {
        matches!(self, Self::Standard | Self::Both)
    }

    /// Whether ECUs answer 29-bit requests.
    pub fn extended(self) -> bool {
        matches!(self, Self::Extended | Self::Both)
    }
}

/// One OBD-II ECU.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcuConfig {
    /// The name reported by service 09 PID 0A (at most 20 ASCII characters).
    pub name: String,
    /// Physical 11-bit request id, 0x7E0..=0x7E7 (ISO 15765-4).
    pub request_id: u16,
    /// 11-bit response id: request id + 8.
    pub response_id: u16,
    /// 29-bit normal-fixed address (requests 0x18DA{addr}F1, answers 0x18DAF1{addr}).
    pub address29: u8,
    /// Whether this ECU answers 09 02 and UDS 22 F190 with the VIN.
    #[serde(default)]
    pub reports_vin: bool,
    /// Supported service 01 PIDs (the 0x00/0x20/.. bitmap PIDs are implied).
    #[serde(default)]
    pub pids: Vec<u8>,
    /// Stored trouble codes (service 03), SAE J2012 form such as `P0301`.
    #[serde(default)]
    pub stored: Vec<String>,
    /// Pending trouble codes (service 07).
    #[serde(default)]
    pub pending: Vec<String>,
    /// Permanent trouble codes (service 0A); service 04 does not clear these.
    #[serde(default)]
    pub permanent: Vec<String>,
    /// Fault injection for this ECU.
    #[serde(default)]
    pub faults: EcuFaults,
}

/// Parameters of the drive-cycle model behind the live PIDs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Length of one idle/accelerate/cruise/brake cycle, seconds.
    pub cycle_s: f64,
    /// Engine speed at idle, rpm.
    pub idle_rpm: f64,
    /// Cruising speed, km/h.
    pub max_speed_kmh: f64,
    /// Ambient (and cold-start coolant) temperature, °C.
    pub ambient_c: f64,
    /// Coolant temperature once warm, °C.
    pub coolant_target_c: f64,
    /// Control-module voltage with the engine running, V.
    pub battery_v: f64,
    /// Fuel level at start, percent.
    pub fuel_level_pct: f64,
    /// Odometer at start, km.
    pub odometer_km: f64,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            cycle_s: 60.0,
            idle_rpm: 780.0,
            max_speed_kmh: 90.0,
            ambient_c: 21.0,
            coolant_target_c: 90.0,
            battery_v: 14.2,
            fuel_level_pct: 62.0,
            odometer_km: 48_213.0,
        }
    }
}

/// The body control module (see the body-module protocol notes).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BodyConfig {
    /// 11-bit id of command frames.
    pub command_id: u16,
    /// 11-bit id of status frames.
    pub status_id: u16,
    /// Period of the status broadcast, milliseconds.
    pub status_period_ms: u64,
    /// Seconds after which an open trunk or frunk closes by itself (someone shuts it).
    pub closes_after_s: f64,
    /// Whether the doors start locked.
    pub doors_locked: bool,
    /// Fault: ignore every command (the agent's actuate must then time out).
    pub ignore_commands: bool,
}

impl Default for BodyConfig {
    fn default() -> Self {
        Self {
            command_id: 0x2F0,
            status_id: 0x2F1,
            status_period_ms: 100,
            closes_after_s: 10.0,
            doors_locked: true,
            ignore_commands: false,
        }
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("scenario is not valid TOML for a pitlane-sim scenario: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("scenario field `{field}`: {reason}")]
    Invalid { field: String, reason: String },
}

impl Scenario {
    /// The scenario that ships with the simulator.
    pub fn default_car() -> Self {
        // Invariant: the shipped scenario is parsed and validated by a unit test.
        Self::from_toml(DEFAULT_SCENARIO).expect("the shipped default scenario is valid")
    }

    /// Parse and validate a scenario from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = toml::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Read, parse and validate a scenario file.
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }
}

#[cfg(test)]
mod tests;
