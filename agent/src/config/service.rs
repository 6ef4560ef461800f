//! The sections `pitlane-agent run` reads: `[mqtt]`, `[store]`, `[intervals]`, `[commands]`.
//!
//! ```toml
//! bus = "sim://"
//!
//! [mqtt]
//! url = "mqtt://127.0.0.1:1883"
//! cloud_command_address = "0x…"       # the cloud's pinned command key
//! username = "0x…"                    # the broker login: the device address, lowercase
//! password_file = "/etc/pitlane/mqtt.password"  # or `password = "…"` (not both)
//! # url = "mqtts://broker.example:8883"          # TLS:
//! # ca_file = "/etc/pitlane/mqtt-ca.pem"         # the broker's CA (default: system roots)
//! # client_cert_file = "/etc/pitlane/mqtt.crt"   # mutual TLS: both or neither,
//! # client_key_file = "/etc/pitlane/mqtt.key"    # the key mode 0600
//! connect_timeout_secs = 10
//!
//! [store]
//! path = "/var/lib/pitlane/agent.db"
//! max_outbox_bytes = 16777216
//!
//! [intervals]
//! dtc_secs = 300
//! telemetry_secs = 30
//! vin_secs = 600
//!
//! [commands]
//! profile = "/etc/pitlane/vehicle.toml" # actuation profile; absent: body commands fail
//! ```

use std::path::PathBuf;

use pitlane_shared::identity::Address;
use serde::Deserialize;

/// `[mqtt]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host[:port]` (1883), or `mqtts://host[:port]` (8883) for TLS.
    pub url: String,
    /// The address of the cloud's command key: commands signed by any other key are refused.
    pub cloud_command_address: Address,
    /// Keep-alive in seconds (default 30).
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u64,
    /// Upper bound of the reconnect backoff in seconds (default 30).
    #[serde(default = "default_backoff_max")]
    pub backoff_max_secs: u64,
    /// Broker user name (the cloud's embedded broker expects the lowercase device address).
    #[serde(default)]
    pub username: Option<String>,
    /// Broker password, inline (the provisioning tool writes it into a 0600 config).
    #[serde(default)]
    pub password: Option<Password>,
    /// A file holding the broker password on its first line (instead of `password`).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// `mqtts://` only: PEM file of the CA(s) that sign the broker's certificate; absent: the
    /// system's root certificates.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// `mqtts://` only: the device's client certificate (PEM) for mutual TLS, with
    /// `client_key_file`.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM; refused unless only its owner can read it).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// How long one connection attempt (TCP, TLS, CONNECT/CONNACK) may take, seconds
    /// (default 10; at least 1).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
}

/// A broker password: never shown in `Debug` output (logs, panics).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Password(value.into())
    }

    /// The password itself, for the one place that needs it (the MQTT CONNECT).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

fn default_keep_alive() -> u64 {
    30
}
fn default_backoff_max() -> u64 {
    30
}
/// rumqttc's default of 5 s was too short for a broker busy with a thousand reconnecting cars.
fn default_connect_timeout() -> u64 {
    10
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file (default `pitlane-agent.db`).
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// Bound of the outbox's payload bytes (default 16 MiB).
    #[serde(default = "default_max_outbox")]
    pub max_outbox_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
            max_outbox_bytes: default_max_outbox(),
        }
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("pitlane-agent.db")
}
fn default_max_outbox() -> u64 {
    16 << 20
}

/// `[intervals]`, in seconds (fractions allowed, e.g. `0.2` in tests).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalsConfig {
    #[serde(default = "default_dtc")]
    pub dtc_secs: f64,
    #[serde(default = "default_telemetry")]
    pub telemetry_secs: f64,
    /// How often the VIN is read again to notice a change (it is published only on change).
    #[serde(default = "default_vin")]
    pub vin_secs: f64,
}

impl Default for IntervalsConfig {
    fn default() -> Self {
        IntervalsConfig {
            dtc_secs: default_dtc(),
            telemetry_secs: default_telemetry(),
            vin_secs: default_vin(),
        }
    }
}

fn default_dtc() -> f64 {
    300.0
}
fn default_telemetry() -> f64 {
    30.0
}
fn default_vin() -> f64 {
    600.0
}

/// `[commands]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsConfig {
    /// The vehicle's actuation profile (TOML).
    pub profile: Option<PathBuf>,
}
