//! `pitlane-agent sign-typed-data --key FILE [PAYLOAD|-]`.

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Key file (0x-hex secret on one line, mode 0600).
    #[arg(long)]
    pub key: std::path::PathBuf,
    /// The eth_signTypedData_v4 JSON, or `-` (the default) to read it from standard input.
    pub payload: Option<String>,
}

pub fn run(_args: SignArgs) -> anyhow::Result<()> {
    anyhow::bail!("sign-typed-data is not implemented yet")
}
