//! The refresh worker: a fixed number of loops per instance (bounded concurrency) that
//! claim queued refresh requests and process them, plus, in the first loop, minting the
//! synthetic devices of connected vehicles that were minted since the last round. It stops
//! when asked: a loop finishes the request in hand (every call is bounded by the Smartcar
//! timeout) and exits.
//!
//! Vehicles without a Smartcar connection: the request fails with
//! [`NO_CONNECTION`](super::refresh::NO_CONNECTION): an aftermarket device reports over MQTT on
//! its own schedule, and the cloud does not poll it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::refresh::{failure_reason, refresh_vehicle};
use super::{Smartcar, SmartcarError, store, synthetic};
use crate::accounts::now;
use crate::accounts::secrets::random_id;
use crate::db::Db;
use crate::registry::Chain;
use crate::registry::ledger::Registry;
use crate::registry::refresh::{self as queue, Claimed, Outcome};

/// How long [`RefreshWorker::stop`] waits for a loop before aborting it.
pub const STOP_GRACE: Duration = Duration::from_secs(30);
/// Vehicles whose synthetic device is minted per round.
pub const SYNTHETIC_BATCH: i64 = 16;

/// What the loops need.
#[derive(Debug, Clone)]
pub struct Deps {
    pub db: Db,
    pub smartcar: Smartcar,
    pub registry: Arc<dyn Registry>,
    /// None when the chain settings do not parse (synthetic devices are then not minted).
    pub chain: Option<Chain>,
    pub poll: Duration,
    /// Serialises token refreshes within this instance.
    pub token_lock: Arc<tokio::sync::Mutex<()>>,
}

/// The running loops.
#[derive(Debug)]
pub struct RefreshWorker {
    stop: watch::Sender<bool>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl RefreshWorker {
    /// Starts `concurrency` loops.
    pub fn start(deps: Deps, concurrency: usize) -> Self {
        let (stop, rx) = watch::channel(false);
        let instance = random_id("rfw");
        let handles = (0..concurrency.max(1))
            .map(|i| {
                let deps = deps.clone();
                let rx = rx.clone();
                let name = format!("{instance}-{i}");
                tokio::spawn(async move { run(deps, name, i == 0, rx).await })
            })
            .collect();
        RefreshWorker {
            stop,
            handles: Mutex::new(handles),
        }
    }

    /// Asks the loops to stop and waits for them (at most [`STOP_GRACE`] each).
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let handles = std::mem::take(
            &mut *self
                .handles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for mut handle in handles {
            if tokio::time::timeout(STOP_GRACE, &mut handle).await.is_err() {
                tracing::warn!("refresh worker did not stop in time; aborted");
                handle.abort();
            }
        }
    }
}

async fn run(deps: Deps, name: String, reconcile: bool, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let worked = match step(&deps, &name, reconcile).await {
            Ok(n) => n,
            // The service closed storage without stopping this worker first: nothing to do.
            Err(e) if pool_closed(&e) => break,
            Err(e) => {
                tracing::warn!(worker = %name, error = %e, "refresh worker");
                0
            }
        };
        if worked == 0 {
            tokio::select! {
                () = tokio::time::sleep(deps.poll) => {}
                // Err: the worker handle was dropped (the service failed to start): stop too.
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    }
}

fn pool_closed(e: &SmartcarError) -> bool {
    matches!(
        e,
        SmartcarError::Db(sqlx::Error::PoolClosed)
            | SmartcarError::Registry(crate::registry::RegistryError::Db(sqlx::Error::PoolClosed))
    )
}

/// One round: mint missing synthetic devices (when `reconcile`), then claim and process one
/// queued request. Answers the requests processed.
pub async fn step(deps: &Deps, name: &str, reconcile: bool) -> Result<usize, SmartcarError> {
    if reconcile && let Some(chain) = &deps.chain {
        mint_missing(deps, chain).await?;
    }
    let claimed = queue::claim(&deps.db, name, 1, now()).await?;
    for request in &claimed {
        let outcome = process(deps, request).await;
        queue::finish(&deps.db, request.id, name, &outcome, now()).await?;
    }
    Ok(claimed.len())
}

async fn process(deps: &Deps, request: &Claimed) -> Outcome {
    match refresh_vehicle(
        &deps.db,
        &deps.smartcar,
        &deps.token_lock,
        &request.user_device_id,
    )
    .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Failed(failure_reason(&e)),
    }
}

/// Mints the synthetic device of each connected vehicle minted without one.
async fn mint_missing(deps: &Deps, chain: &Chain) -> Result<(), SmartcarError> {
    let Ok(cipher) = deps.smartcar.cipher() else {
        return Ok(()); // no Smartcar application: no connection can be new
    };
    for id in store::minted_without_synthetic(&deps.db, SYNTHETIC_BATCH).await? {
        let minted = synthetic::ensure(&deps.db, deps.registry.as_ref(), chain, cipher, &id).await;
        match minted {
            Ok(Some(device)) => tracing::info!(
                user_device_id = %id,
                token_id = device.token_id,
                "synthetic device minted for a Smartcar connection"
            ),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(user_device_id = %id, error = %e, "minting a synthetic device")
            }
        }
    }
    Ok(())
}

/// Starts the worker for the service (`app::build`).
pub fn start_for(
    db: &Db,
    smartcar: &Smartcar,
    registry: Arc<dyn Registry>,
    config: &crate::config::Config,
) -> RefreshWorker {
    let chain = Chain::from_config(config)
        .map_err(|(key, message)| tracing::error!(key, message, "registry settings"))
        .ok();
    RefreshWorker::start(
        Deps {
            db: db.clone(),
            smartcar: smartcar.clone(),
            registry,
            chain,
            poll: Duration::from_millis(config.smartcar.refresh_poll_ms),
            token_lock: Arc::new(tokio::sync::Mutex::new(())),
        },
        config.smartcar.refresh_concurrency,
    )
}
