//! `pitlane-agent identity init|show`: the device's secp256k1 identity.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pitlane_shared::identity::{DeviceKey, KeyFileError};

use crate::config::Config;

/// Where the key file is, for every identity command.
#[derive(Debug, clap::Args)]
pub struct KeyArg {
    /// Key file (0x-hex secret on one line, mode 0600). Default: $PITLANE_AGENT_KEY, then
    /// `[identity] key` of --config, then ./pitlane-agent.key.
    #[arg(long, env = "PITLANE_AGENT_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Agent configuration file (TOML); only its `[identity] key` is used here.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl KeyArg {
    fn path(self) -> anyhow::Result<PathBuf> {
        let config = self.config.as_deref().map(Config::load).transpose()?;
        Ok(Config::key_path(config.as_ref(), self.key))
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum IdentityCommand {
    /// Create the key file when it is absent. An existing key file is never overwritten: its
    /// identity is shown instead.
    Init {
        #[command(flatten)]
        key: KeyArg,
    },
    /// Show the address (EIP-55) and public key.
    Show {
        #[command(flatten)]
        key: KeyArg,
        /// Print {"address","address_lowercase","public_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: IdentityCommand) -> anyhow::Result<()> {
    match cmd {
        IdentityCommand::Init { key } => {
            let path = key.path()?;
            match DeviceKey::create(&path) {
                Ok(created) => {
                    eprintln!("created key file {} (mode 0600)", path.display());
                    print_identity(&created, false);
                    Ok(())
                }
                Err(KeyFileError::AlreadyExists { .. }) => {
                    eprintln!("key file {} already exists; left unchanged", path.display());
                    print_identity(&load(&path)?, false);
                    Ok(())
                }
                Err(e) => Err(e).context("cannot create the device key"),
            }
        }
        IdentityCommand::Show { key, json } => {
            let path = key.path()?;
            print_identity(&load(&path)?, json);
            Ok(())
        }
    }
}

/// Loads the key, with a hint when there is none yet.
pub(crate) fn load(path: &Path) -> anyhow::Result<DeviceKey> {
    DeviceKey::load(path).map_err(|e| match e {
        KeyFileError::NotFound { .. } => anyhow::anyhow!(
            "{e} (create one with `pitlane-agent identity init --key {}`)",
            path.display()
        ),
        other => other.into(),
    })
}

fn print_identity(key: &DeviceKey, json: bool) {
    let address = key.address();
    let public_key = key.public_key().to_uncompressed_hex();
    if json {
        let value = serde_json::json!({
            "address": address.to_checksum(),
            "address_lowercase": address.to_lowercase_hex(),
            "public_key": public_key,
        });
        println!("{value}");
    } else {
        println!("address: {address}");
        println!("public key: {public_key}");
    }
}
