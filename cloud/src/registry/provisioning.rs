//! Provisioning a device: register it and write the agent configuration it needs
//! (`[mqtt] url, username, password, cloud_command_address` and `[signing] chain_id,
//! verifying_contract, device_node`), loadable by the agent's `Config::load`.

use std::net::{IpAddr, Ipv4Addr};

use pitlane_shared::identity::Address;

use super::devices::{NewDevice, Registered, register_device};
use super::{Chain, RegistryError};
use crate::config::Config;
use crate::db::Db;

/// A registered device and its agent configuration (TOML; it holds the MQTT password).
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub registered: Registered,
    pub agent_config: String,
}

/// The broker URL devices use: `mqtt_url` when an external broker is configured, else the
/// embedded broker's address (loopback when it listens on all interfaces).
pub fn device_mqtt_url(config: &Config) -> String {
    if let Some(url) = &config.mqtt_url {
        return url.clone();
    }
    let mut addr = config.mqtt_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    format!("mqtt://{addr}")
}

/// The agent configuration of a registered device.
pub fn agent_config(
    registered: &Registered,
    mqtt_url: &str,
    cloud_command_address: &Address,
    chain: &Chain,
) -> String {
    let device = &registered.device;
    let mut mqtt = toml::Table::new();
    mqtt.insert("url".into(), mqtt_url.into());
    mqtt.insert("username".into(), device.address.to_lowercase_hex().into());
    mqtt.insert("password".into(), registered.mqtt_password.as_str().into());
    mqtt.insert(
        "cloud_command_address".into(),
        cloud_command_address.to_checksum().into(),
    );
    let mut signing = toml::Table::new();
    signing.insert("chain_id".into(), chain.domain.chain_id.to_string().into());
    signing.insert(
        "verifying_contract".into(),
        chain.domain.verifying_contract.to_checksum().into(),
    );
    // Written as a decimal string: the agent reads uint256 from integers or strings.
    signing.insert("device_node".into(), device.token_id.to_string().into());
    let mut root = toml::Table::new();
    root.insert("mqtt".into(), toml::Value::Table(mqtt));
    root.insert("signing".into(), toml::Value::Table(signing));
    format!(
        "# pitlane-agent configuration for device {} (serial {}, token {}), written by\n\
         # pitlane-cloud. It holds the device's MQTT password: keep it mode 0600.\n\n{}",
        device.address.to_checksum(),
        device.serial,
        device.token_id,
        root
    )
}

/// Registers the device and writes its agent configuration.
pub async fn provision(
    db: &Db,
    config: &Config,
    new: NewDevice,
) -> Result<Provisioned, RegistryError> {
    let chain = Chain::from_config(config)
        .map_err(|(key, message)| RegistryError::Corrupt(format!("{key}: {message}")))?;
    let command_key = crate::commands::key::load_or_create(&config.command_key_path())
        .map_err(|e| RegistryError::Corrupt(e.to_string()))?;
    let registered = register_device(db, new).await?;
    let agent_config = agent_config(
        &registered,
        &device_mqtt_url(config),
        &command_key.address(),
        &chain,
    );
    Ok(Provisioned {
        registered,
        agent_config,
    })
}
