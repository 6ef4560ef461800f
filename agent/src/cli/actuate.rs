//! `pitlane-agent actuate --bus SPEC --profile FILE ACTION`: lock, unlock, open the trunk or
//! frunk, and report the state the body module confirmed.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::actuate::{self, Action, Profile};
use crate::bus::{AnyBus, BusSpec};

#[derive(Debug, clap::Args)]
pub struct ActuateArgs {
    /// Bus specification of a raw CAN bus (`socketcan://`, `slcan://`, `socketcand://`, `sim://`).
    #[arg(long)]
    pub bus: String,
    /// Vehicle profile (TOML), e.g. `agent/profiles/pitlane-sim.toml`.
    #[arg(long)]
    pub profile: PathBuf,
    /// `doors.lock`, `doors.unlock`, `trunk.open` or `frunk.open`.
    pub action: String,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ActuateArgs) -> anyhow::Result<()> {
    let action: Action = args.action.parse()?;
    let profile = Profile::load(&args.profile)?;
    let spec: BusSpec = args.bus.parse()?;
    let mut bus = AnyBus::open(&spec, "actuation")
        .await
        .with_context(|| format!("opening {spec}"))?;
    let outcome = {
        #[cfg(feature = "gpio")]
        {
            let mut relays = actuate::gpio::open_relays(&profile)?;
            actuate::execute(&profile, action, &mut bus, &mut relays).await?
        }
        #[cfg(not(feature = "gpio"))]
        {
            actuate::execute(&profile, action, &mut bus, &mut actuate::NoRelays).await?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        let state: Vec<String> = outcome
            .state
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "{} confirmed in {} ms: {} (status frame {})",
            outcome.action,
            outcome.elapsed_ms,
            state.join(" "),
            outcome.status_frame
        );
    }
    Ok(())
}
