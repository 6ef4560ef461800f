//! `pitlane-agent probe --bus SPEC [--json]`: read the car once.

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// Bus specification, e.g. `sim://`, `slcan:///dev/ttyACM0?baud=115200&bitrate=500000`,
    /// `elm327:///dev/ttyUSB0?baud=38400`, `elm327+tcp://192.168.0.10:35000`,
    /// `socketcand://host:29536/can0`, `socketcan://can0`.
    #[arg(long)]
    pub bus: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_args: ProbeArgs) -> anyhow::Result<()> {
    anyhow::bail!("probe is not implemented yet")
}
