//! The agent's TOML configuration file (`--config FILE`), with `PITLANE_*` overrides.
//!
//! One section per concern; each section is its own struct with `deny_unknown_fields`, so a
//! typo is an error rather than a silently ignored setting. To add a section: add a field to
//! [`Config`] and, for each setting, a row in [`ENV_OVERRIDES`].
//!
//! ```toml
//! [identity]
//! key = "/var/lib/pitlane/device.key"
//!
//! [signing]
//! chain_id = 80002
//! verifying_contract = "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c"
//! device_node = 42                       # optional until the device is minted
//! # allowed_primary_types = ["ClaimAftermarketDeviceSign", "PairAftermarketDeviceSign"]
//! ```

use std::path::{Path, PathBuf};

use pitlane_shared::eip712::{DimoDomain, SigningPolicy, U256};
use pitlane_shared::identity::Address;
use serde::{Deserialize, Deserializer};

mod service;
pub use service::{CommandsConfig, IntervalsConfig, MqttConfig, Password, StoreConfig};

/// The key file used when neither `--key`, `PITLANE_AGENT_KEY` nor `[identity] key` says.
pub const DEFAULT_KEY_FILE: &str = "pitlane-agent.key";

/// Environment variables that override settings: (variable, section, key; an empty section
/// is the top level). A value is read
/// as a TOML value when it parses as one (`42`, `true`, `["a", "b"]`), else as a string.
pub const ENV_OVERRIDES: &[(&str, &str, &str)] = &[
    ("PITLANE_AGENT_KEY", "identity", "key"),
    ("PITLANE_AGENT_BUS", "", "bus"),
    ("PITLANE_MQTT_URL", "mqtt", "url"),
    (
        "PITLANE_MQTT_CLOUD_COMMAND_ADDRESS",
        "mqtt",
        "cloud_command_address",
    ),
    ("PITLANE_AGENT_STORE", "store", "path"),
    (
        "PITLANE_AGENT_MAX_OUTBOX_BYTES",
        "store",
        "max_outbox_bytes",
    ),
    ("PITLANE_AGENT_DTC_SECS", "intervals", "dtc_secs"),
    (
        "PITLANE_AGENT_TELEMETRY_SECS",
        "intervals",
        "telemetry_secs",
    ),
    ("PITLANE_AGENT_VIN_SECS", "intervals", "vin_secs"),
    ("PITLANE_AGENT_PROFILE", "commands", "profile"),
    ("PITLANE_SIGNING_CHAIN_ID", "signing", "chain_id"),
    (
        "PITLANE_SIGNING_VERIFYING_CONTRACT",
        "signing",
        "verifying_contract",
    ),
    ("PITLANE_SIGNING_DEVICE_NODE", "signing", "device_node"),
    (
        "PITLANE_SIGNING_ALLOWED_PRIMARY_TYPES",
        "signing",
        "allowed_primary_types",
    ),
    ("PITLANE_SIGNING_DOMAIN_NAME", "signing", "domain_name"),
    (
        "PITLANE_SIGNING_DOMAIN_VERSION",
        "signing",
        "domain_version",
    ),
];

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file (after environment overrides) is not a valid configuration.
    #[error("invalid configuration in {origin}: {source}")]
    Invalid {
        /// The file, or "environment" when there is none.
        origin: String,
        /// What is wrong, with line and column for file errors.
        source: Box<toml::de::Error>,
    },
    /// An override names a section that holds something other than a table.
    #[error("{var}: `{section}` in the config file is not a table")]
    NotATable {
        /// The environment variable.
        var: &'static str,
        /// The section.
        section: &'static str,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The bus spec the service reads the car through (`run`).
    #[serde(default)]
    pub bus: Option<String>,
    /// `[identity]`: the device key.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// `[signing]`: the EIP-712 signing policy. Absent: the agent signs nothing.
    #[serde(default)]
    pub signing: Option<SigningConfig>,
    /// `[mqtt]`: the broker and the cloud's command key (`run`).
    #[serde(default)]
    pub mqtt: Option<MqttConfig>,
    /// `[store]`: the SQLite file and the outbox bound.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[intervals]`: how often the car is read.
    #[serde(default)]
    pub intervals: IntervalsConfig,
    /// `[commands]`: how remote commands are carried out.
    #[serde(default)]
    pub commands: CommandsConfig,
}

/// `[identity]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The key file (0x-hex secret on one line, mode 0600).
    pub key: Option<PathBuf>,
}

/// `[signing]`: what the device agrees to sign (DESIGN.md, "EIP-712").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// EIP-155 chain id of the registry (integer, or decimal/0x-hex string).
    #[serde(deserialize_with = "uint")]
    pub chain_id: U256,
    /// The registry contract (EIP-712 `verifyingContract`).
    pub verifying_contract: Address,
    /// The device's own node id; payloads for other devices are refused.
    #[serde(default, deserialize_with = "optional_uint")]
    pub device_node: Option<U256>,
    /// Primary types the device signs (default: the four DIMO registry types). A
    /// comma-separated string is accepted too (for the environment variable).
    #[serde(default, deserialize_with = "string_list")]
    pub allowed_primary_types: Option<Vec<String>>,
    /// Domain name (default `DIMO`).
    pub domain_name: Option<String>,
    /// Domain version (default `1`).
    pub domain_version: Option<String>,
}

impl SigningConfig {
    /// The policy these settings describe.
    pub fn policy(&self) -> SigningPolicy {
        let domain = DimoDomain {
            chain_id: self.chain_id,
            verifying_contract: self.verifying_contract,
        };
        let mut policy = SigningPolicy::dimo(domain, self.device_node);
        if let Some(types) = &self.allowed_primary_types {
            policy.allowed_primary_types = types.clone();
        }
        if let Some(name) = &self.domain_name {
            policy.domain_name = name.clone();
        }
        if let Some(version) = &self.domain_version {
            policy.domain_version = version.clone();
        }
        policy
    }
}

impl Config {
    /// Reads `path` and applies the process environment's overrides.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string(), |var| {
            std::env::var(var).ok()
        })
    }

    /// Parses TOML `text` (named `origin` in errors) with overrides looked up by `env`.
    pub fn parse(
        text: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let invalid = |source| ConfigError::Invalid {
            origin: origin.to_owned(),
            source: Box::new(source),
        };
        let mut table: toml::Table = toml::from_str(text).map_err(invalid)?;
        for &(var, section, key) in ENV_OVERRIDES {
            let Some(raw) = env(var) else { continue };
            if section.is_empty() {
                table.insert(key.to_owned(), env_value(&raw));
                continue;
            }
            let entry = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(section_table) = entry else {
                return Err(ConfigError::NotATable { var, section });
            };
            section_table.insert(key.to_owned(), env_value(&raw));
        }
        table.try_into().map_err(invalid)
    }

    /// The key file: `explicit` (from `--key` or `PITLANE_AGENT_KEY`), else the config's
    /// `[identity] key`, else [`DEFAULT_KEY_FILE`].
    pub fn key_path(config: Option<&Config>, explicit: Option<PathBuf>) -> PathBuf {
        explicit
            .or_else(|| config.and_then(|c| c.identity.key.clone()))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE))
    }
}

fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UintForm {
    Int(i64),
    Text(String),
}

fn parse_uint(form: UintForm) -> Result<U256, String> {
    match form {
        UintForm::Int(n) => u64::try_from(n)
            .map(U256::from)
            .map_err(|_| format!("{n} is negative")),
        UintForm::Text(text) => {
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => U256::from_str_radix(hex, 16),
                None => U256::from_str_radix(&text, 10),
            };
            parsed.map_err(|_| format!("{text:?} is not a decimal or 0x-hex integer"))
        }
    }
}

fn uint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
    parse_uint(UintForm::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

fn optional_uint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<U256>, D::Error> {
    uint(deserializer).map(Some)
}

fn string_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Text(String),
    }
    Ok(Some(match Form::deserialize(deserializer)? {
        Form::List(list) => list,
        Form::Text(text) => text
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        [identity]
        key = "/var/lib/pitlane/device.key"

        [signing]
        chain_id = 80002
        verifying_contract = "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c"
        device_node = "42"
    "#;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        Config::parse(text, "test.toml", |var| {
            env.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_sections_and_defaults() {
        let config = parse(BASE, &[]).unwrap();
        assert_eq!(
            config.identity.key,
            Some(PathBuf::from("/var/lib/pitlane/device.key"))
        );
        let signing = config.signing.unwrap();
        assert_eq!(signing.chain_id, U256::from(80002));
        assert_eq!(signing.device_node, Some(U256::from(42)));
        let policy = signing.policy();
        assert_eq!(policy.domain_name, "DIMO");
        assert_eq!(policy.domain_version, "1");
        assert_eq!(policy.allowed_primary_types.len(), 4);
        assert_eq!(parse("", &[]).unwrap(), Config::default());
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = parse(
            BASE,
            &[
                ("PITLANE_SIGNING_CHAIN_ID", "137"),
                ("PITLANE_SIGNING_DEVICE_NODE", "0x10"),
                (
                    "PITLANE_SIGNING_ALLOWED_PRIMARY_TYPES",
                    "ClaimAftermarketDeviceSign, PairAftermarketDeviceSign",
                ),
                ("PITLANE_AGENT_KEY", "/tmp/k"),
            ],
        )
        .unwrap();
        let signing = config.signing.unwrap();
        assert_eq!(signing.chain_id, U256::from(137));
        assert_eq!(signing.device_node, Some(U256::from(16)));
        assert_eq!(
            signing.allowed_primary_types.unwrap(),
            ["ClaimAftermarketDeviceSign", "PairAftermarketDeviceSign"]
        );
        assert_eq!(config.identity.key, Some(PathBuf::from("/tmp/k")));
        // The environment alone can make a [signing] section.
        let only_env = parse(
            "",
            &[
                ("PITLANE_SIGNING_CHAIN_ID", "1"),
                (
                    "PITLANE_SIGNING_VERIFYING_CONTRACT",
                    "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c",
                ),
            ],
        )
        .unwrap();
        assert_eq!(only_env.signing.unwrap().chain_id, U256::from(1));
    }

    #[test]
    fn errors_name_the_setting() {
        let check = |text: &str, expected: &str| {
            let err = parse(text, &[]).unwrap_err();
            assert!(err.contains(expected), "{err}");
        };
        check(
            "[signing]\nchain_id = 1\n",
            "missing field `verifying_contract`",
        );
        check(
            "[signing]\nchain_id = -1\nverifying_contract = \"0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c\"\n",
            "-1 is negative",
        );
        check(
            "[signing]\nchain_id = 1\nverifying_contract = \"0x5eAA\"\n",
            "40 hex digits",
        );
        check(
            "[signing]\nchain_id = 1\nverifying_contract = \"0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c\"\nchainid = 2\n",
            "unknown field `chainid`",
        );
        check("[sigining]\n", "unknown field `sigining`");
        check("[identity\n", "test.toml");
        let err = parse("identity = 3\n", &[("PITLANE_AGENT_KEY", "/k")]).unwrap_err();
        assert!(err.contains("PITLANE_AGENT_KEY"), "{err}");
    }

    #[test]
    fn key_path_precedence() {
        let config = parse(BASE, &[]).unwrap();
        assert_eq!(
            Config::key_path(Some(&config), Some("/x".into())),
            PathBuf::from("/x")
        );
        assert_eq!(
            Config::key_path(Some(&config), None),
            PathBuf::from("/var/lib/pitlane/device.key")
        );
        assert_eq!(
            Config::key_path(None, None),
            PathBuf::from(DEFAULT_KEY_FILE)
        );
    }
}
