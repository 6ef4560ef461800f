//! `pitlane-cloud decode [--json] [--file F] [VIN…]`: offline VIN decoding.

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Print one JSON object per VIN (the default output is a table).
    #[arg(long)]
    pub json: bool,
    /// Read VINs from a file (CSV or one per line).
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
    /// VINs to decode.
    pub vins: Vec<String>,
}

pub fn run(_args: DecodeArgs) -> anyhow::Result<()> {
    anyhow::bail!("decode is not implemented yet")
}
