//! `pitlane-cloud serve [--config FILE]`.

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file; every key can also be set by a `PITLANE_*` variable.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

pub async fn run(_args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("serve is not implemented yet")
}
