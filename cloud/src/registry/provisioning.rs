//! Provisioning a device: register it and write the agent configuration it needs
//! (`[mqtt] url, username, password, cloud_command_address`, `ca_file` for an `mqtts://`
//! broker with a private CA, and `[signing] chain_id, verifying_contract, device_node`),
//! loadable by the agent's `Config::load`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

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

/// The agent configuration of a registered device; `ca_file` is the path of the broker's CA
/// certificate on the device (`[mqtt] ca_file`, for an `mqtts://` `mqtt_url`).
pub fn agent_config(
    registered: &Registered,
    mqtt_url: &str,
    ca_file: Option<&Path>,
    cloud_command_address: &Address,
    chain: &Chain,
) -> String {
    let device = &registered.device;
    let mut mqtt = toml::Table::new();
    mqtt.insert("url".into(), mqtt_url.into());
    if let Some(path) = ca_file {
        mqtt.insert("ca_file".into(), path.to_string_lossy().as_ref().into());
    }
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
    provision_with_ca(db, config, new, None).await
}

/// [`provision`], with the broker's CA certificate file as the device will find it
/// (`[mqtt] ca_file`; the caller checks that the device URL is `mqtts://`).
pub async fn provision_with_ca(
    db: &Db,
    config: &Config,
    new: NewDevice,
    mqtt_ca_file: Option<&Path>,
) -> Result<Provisioned, RegistryError> {
    let chain = Chain::from_config(config)
        .map_err(|(key, message)| RegistryError::Corrupt(format!("{key}: {message}")))?;
    let command_key = crate::commands::key::load_or_create(&config.command_key_path())
        .map_err(|e| RegistryError::Corrupt(e.to_string()))?;
    let registered = register_device(db, new).await?;
    let agent_config = agent_config(
        &registered,
        &device_mqtt_url(config),
        mqtt_ca_file,
        &command_key.address(),
        &chain,
    );
    Ok(Provisioned {
        registered,
        agent_config,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use pitlane_shared::identity::DeviceKey;

    use super::*;

    /// The `[mqtt]` table of the agent configuration written for a new device.
    async fn written_mqtt(mqtt_url: &str, ca_file: Option<&Path>) -> toml::Table {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            mqtt_url: Some(mqtt_url.into()),
            ..Config::default()
        };
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.expect("connect");
        let new = NewDevice {
            serial: "TLS-1".into(),
            address: DeviceKey::generate().address(),
            manufacturer: "Acme".into(),
        };
        let provisioned = provision_with_ca(&db, &config, new, ca_file)
            .await
            .expect("provisioned");
        db.pool.close().await;
        let mut agent: toml::Table = provisioned.agent_config.parse().expect("TOML");
        match agent.remove("mqtt") {
            Some(toml::Value::Table(mqtt)) => mqtt,
            other => panic!("no [mqtt] table: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_ca_file_goes_into_the_mqtt_section() {
        let ca = PathBuf::from("/etc/pitlane/broker-ca.pem");
        let mqtt = written_mqtt("mqtts://broker.example:8883", Some(&ca)).await;
        assert_eq!(
            mqtt.get("url").and_then(toml::Value::as_str),
            Some("mqtts://broker.example:8883")
        );
        assert_eq!(
            mqtt.get("ca_file").and_then(toml::Value::as_str),
            Some("/etc/pitlane/broker-ca.pem")
        );

        let mqtt = written_mqtt("mqtts://broker.example:8883", None).await;
        assert_eq!(mqtt.get("ca_file"), None, "{mqtt}");
    }
}
