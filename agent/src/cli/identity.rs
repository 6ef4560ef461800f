//! `pitlane-agent identity init|show`: the device's secp256k1 identity.

#[derive(Debug, clap::Subcommand)]
pub enum IdentityCommand {
    /// Create the key file when absent (never overwrites).
    Init {
        /// Key file (0x-hex secret on one line, mode 0600).
        #[arg(long)]
        key: Option<std::path::PathBuf>,
    },
    /// Show the address and public key.
    Show {
        /// Key file.
        #[arg(long)]
        key: Option<std::path::PathBuf>,
    },
}

pub fn run(_cmd: IdentityCommand) -> anyhow::Result<()> {
    anyhow::bail!("identity is not implemented yet")
}
