//! `pitlane-agent run --config FILE`: the device service (see [`crate::service`]).

use std::path::PathBuf;

use anyhow::Context as _;

use crate::bus::BusSpec;
use crate::config::Config;
use crate::notify::Notifier;
use crate::obd::Transport;
use crate::service::ServiceError;

/// How often the systemd status line is refreshed.
const STATUS_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

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
    let spec: BusSpec = bus
        .parse()
        .with_context(|| format!("setting `bus` = {bus:?}"))?;
    if let Some(mqtt) = &config.mqtt {
        // The URL and the TLS files, before the bus opens (errors name the setting).
        crate::sync::Endpoint::from_config(mqtt)?;
    }
    let transport = Transport::open(&spec)
        .await
        .with_context(|| format!("setting `bus`: cannot open {spec}"))?;
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
    let notifier = Notifier::from_env();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let status_task = tokio::spawn({
        let (bus, path, max) = (
            bus.clone(),
            config.store.path.clone(),
            config.store.max_outbox_bytes,
        );
        let shutdown = shutdown.clone();
        async move {
            if ready_rx.await.is_ok() {
                notifier.run(bus, path, max, STATUS_EVERY, shutdown).await;
            }
        }
    });
    let ready_line = format!("running on {bus}");
    let served = crate::service::run_with_ready(&config, key, transport, bus, shutdown, || {
        notifier.ready(&ready_line);
        let _ = ready_tx.send(());
    })
    .await;
    notifier.stopping();
    status_task.abort();
    served.map_err(|e| match e {
        ServiceError::Store(e) => anyhow::Error::new(e).context(format!(
            "setting `store.path` = {}",
            config.store.path.display()
        )),
        ServiceError::NoMqtt => anyhow::anyhow!("setting `mqtt`: {e}"),
        e => e.into(),
    })
}
