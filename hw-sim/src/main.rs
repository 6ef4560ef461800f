//! `pitlane-sim`: runs a simulated car and prints each endpoint.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("pitlane-sim is not implemented yet")
}
