//! `pitlane-cloud serve [--config FILE]`: runs the HTTP API until SIGINT or SIGTERM.

use anyhow::Context;

use crate::app;
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file; every key can also be set by a `PITLANE_*` variable.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?;
    let addr = config.http_addr;
    let (router, state) = app::build(config)
        .await
        .context("starting the cloud service")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding HTTP listener on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, "HTTP API listening");
    eprintln!("pitlane-cloud: HTTP API on http://{local} (docs at /docs)");
    if let Some(mqtt) = &state.mqtt {
        if let Some(broker) = mqtt.broker_addr() {
            eprintln!("pitlane-cloud: MQTT broker on mqtt://{broker}");
        }
        eprintln!(
            "pitlane-cloud: command key address {}",
            mqtt.command_address().to_checksum()
        );
    }
    app::serve(listener, router, shutdown_signal()).await?;
    app::shutdown(&state).await;
    eprintln!("pitlane-cloud: stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
