//! `pitlane-cloud device register --serial S --address 0x… [--manufacturer M]
//! [--agent-config OUT] [--mqtt-url URL] [--mqtt-ca-file PATH] [--config FILE]`: provisions an
//! aftermarket device straight into the database (like `user add`) and prints
//! `{"tokenId", "serial", "address", "mqttUsername", …}` as JSON. With `--agent-config`, the
//! complete agent configuration (MQTT credentials, the cloud's command address, the
//! signing domain and device node, and with `--mqtt-ca-file` the broker's CA file for an
//! `mqtts://` URL) is written to OUT with mode 0600 and the password is not printed; without
//! it, `mqttPassword` is printed (the only time it is shown).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::Config;
use crate::db::Db;
use crate::registry::devices::{DEFAULT_MANUFACTURER, NewDevice, validate_serial};
use crate::registry::provisioning::{device_mqtt_url, provision_with_ca};

#[derive(Debug, clap::Args)]
pub struct DeviceArgs {
    #[command(subcommand)]
    pub command: DeviceCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DeviceCommand {
    /// Register an aftermarket device and create its MQTT credentials.
    Register(RegisterArgs),
}

#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// TOML configuration file (database, broker, chain settings, command key).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The device's serial number (1–64 of A-Z a-z 0-9 - _ . :).
    #[arg(long)]
    pub serial: String,
    /// The device's 0x Ethereum address (its identity key).
    #[arg(long)]
    pub address: String,
    /// The device's manufacturer.
    #[arg(long, default_value = DEFAULT_MANUFACTURER)]
    pub manufacturer: String,
    /// Write the agent configuration here (mode 0600; an existing file is not replaced).
    #[arg(long)]
    pub agent_config: Option<PathBuf>,
    /// The broker URL written into the agent configuration, mqtt:// or mqtts:// (default:
    /// `mqtt_url`, else the embedded broker's address).
    #[arg(long)]
    pub mqtt_url: Option<String>,
    /// The broker's CA certificate (PEM) as the device will find it, written as `[mqtt]
    /// ca_file` (mqtts:// only; without it the agent trusts the system's root certificates).
    #[arg(long, value_name = "PATH")]
    pub mqtt_ca_file: Option<PathBuf>,
}

pub async fn run(args: DeviceArgs) -> anyhow::Result<()> {
    let DeviceCommand::Register(args) = args.command;
    validate_serial(&args.serial).map_err(|e| anyhow::anyhow!("--serial: {e}"))?;
    let address = args
        .address
        .parse()
        .map_err(|e| anyhow::anyhow!("--address: {e}"))?;
    if let Some(out) = &args.agent_config
        && out.exists()
    {
        bail!(
            "--agent-config: {} exists; refusing to replace it",
            out.display()
        );
    }
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(url) = args.mqtt_url {
        if !["mqtt://", "tcp://", "mqtts://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            bail!("--mqtt-url: must be mqtt://host[:port] or mqtts://host[:port]");
        }
        config.mqtt_url = Some(url);
    }
    if args.mqtt_ca_file.is_some() {
        let url = device_mqtt_url(&config);
        if !url.starts_with("mqtts://") {
            bail!(
                "--mqtt-ca-file: the device's broker URL is {url:?}; a CA file needs mqtts:// \
                 (--mqtt-url or mqtt_url)"
            );
        }
    }
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    let db = Db::connect(&config.effective_database_url()).await?;
    let new = NewDevice {
        serial: args.serial,
        address,
        manufacturer: args.manufacturer,
    };
    let provisioned = provision_with_ca(&db, &config, new, args.mqtt_ca_file.as_deref()).await;
    db.close().await;
    let provisioned = provisioned.map_err(|e| anyhow::anyhow!("registering the device: {e}"))?;
    let device = &provisioned.registered.device;
    let mut out = serde_json::json!({
        "tokenId": device.token_id,
        "serial": device.serial,
        "address": device.address.to_checksum(),
        "manufacturer": device.manufacturer,
        "mqttUsername": device.address.to_lowercase_hex(),
    });
    match &args.agent_config {
        Some(path) => {
            write_private(path, &provisioned.agent_config)?;
            out["agentConfig"] = path.display().to_string().into();
        }
        None => out["mqttPassword"] = provisioned.registered.mqtt_password.clone().into(),
    }
    println!("{out}");
    Ok(())
}

/// Creates `path` with mode 0600 (never replacing a file) and writes `text`.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `device register` with `mqtt_url`, `ca_file` and an agent config path in `dir`.
    fn register(dir: &Path, mqtt_url: &str, ca_file: Option<&str>) -> DeviceArgs {
        DeviceArgs {
            command: DeviceCommand::Register(RegisterArgs {
                config: Some(dir.join("cloud.toml")),
                serial: "CLI-TLS".into(),
                address: "0x8ba1f109551bD432803012645Ac136ddd64DBA72".into(),
                manufacturer: DEFAULT_MANUFACTURER.into(),
                agent_config: Some(dir.join("agent.toml")),
                mqtt_url: Some(mqtt_url.into()),
                mqtt_ca_file: ca_file.map(PathBuf::from),
            }),
        }
    }

    /// Refused before anything is registered or written: the agent would refuse a `ca_file`
    /// beside a plain URL, and only MQTT URLs are taken.
    #[tokio::test]
    async fn broker_settings_are_checked_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::write(
            dir.path().join("cloud.toml"),
            format!("data_dir = {:?}\n", data.display().to_string()),
        )
        .expect("write config");
        let cases: [(&str, Option<&str>, &[&str]); 2] = [
            (
                "mqtt://broker.example:1883",
                Some("/etc/pitlane/ca.pem"),
                &[
                    "--mqtt-ca-file",
                    "\"mqtt://broker.example:1883\"",
                    "needs mqtts://",
                ],
            ),
            ("https://broker.example", None, &["--mqtt-url", "mqtts://"]),
        ];
        for (url, ca, needles) in cases {
            let error = run(register(dir.path(), url, ca))
                .await
                .expect_err("refused");
            let text = format!("{error:#}");
            for needle in needles {
                assert!(text.contains(needle), "{needle:?} in {text}");
            }
        }
        assert!(!data.exists(), "nothing registered");
        assert!(!dir.path().join("agent.toml").exists(), "nothing written");
    }
}
