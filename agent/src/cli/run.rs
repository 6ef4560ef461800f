//! `pitlane-agent run --config FILE`: the device service (see [`crate::service`]).

use std::path::PathBuf;

use anyhow::Context as _;

use crate::bus::BusSpec;
use crate::config::Config;
use crate::obd::Transport;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The agent's TOML configuration (`bus`, `[identity]`, `[mqtt]`, `[store]`, …).
    #[arg(long)]
    pub config: PathBuf,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let key = super::identity::load(&Config::key_path(Some(&config), None))?;
    let bus = config
        .bus
        .clone()
        .context("the config names no `bus` (or set PITLANE_AGENT_BUS)")?;
    let spec: BusSpec = bus.parse()?;
    let transport = Transport::open(&spec)
        .await
        .with_context(|| format!("opening {spec}"))?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            Some(_) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => {}
        }
        let _ = stop.send(true);
    });
    crate::service::run(&config, key, transport, bus, shutdown).await?;
    Ok(())
}
