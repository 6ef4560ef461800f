//! Background bulk-decode workers: a fixed number of loops per instance (bounded concurrency),
//! each claiming batches of pending tasks from storage. Tasks live in the database, so they
//! survive a restart; a task whose instance died is released once its claim is stale.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Decoder;
use super::store::{self, StoreError};
use crate::accounts::secrets::random_id;
use crate::config::Config;
use crate::db::Db;

/// Worker settings.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Worker loops per instance.
    pub concurrency: usize,
    /// Tasks claimed at once by a loop.
    pub batch: i64,
    /// How long an idle loop sleeps when nobody wakes it.
    pub idle_poll: Duration,
    /// A claim older than this belongs to a stopped instance.
    pub stale_after_secs: i64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 4,
            batch: 16,
            idle_poll: Duration::from_millis(500),
            stale_after_secs: 120,
        }
    }
}

fn notify() -> &'static Notify {
    static WAKE: OnceLock<Notify> = OnceLock::new();
    WAKE.get_or_init(Notify::new)
}

/// Wakes idle workers (new or resumed tasks).
pub fn wake() {
    notify().notify_waiters();
}

/// Starts the worker loops; they run until the runtime shuts down.
pub fn spawn(db: Db, decoder: Decoder, config: WorkerConfig) -> Vec<JoinHandle<()>> {
    let instance = random_id("wrk");
    (0..config.concurrency.max(1))
        .map(|i| {
            let db = db.clone();
            let name = format!("{instance}-{i}");
            tokio::spawn(async move { run(db, decoder, config, name).await })
        })
        .collect()
}

async fn run(db: Db, decoder: Decoder, config: WorkerConfig, name: String) {
    loop {
        let wait = notify().notified();
        match step(&db, &decoder, &config, &name).await {
            Ok(0) => {
                let _ = tokio::time::timeout(config.idle_poll, wait).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(worker = %name, error = %e, "bulk decode worker");
                tokio::time::sleep(config.idle_poll).await;
            }
        }
    }
}

/// One round: release stale claims, claim a batch, decode it. Answers the tasks handled.
pub async fn step(
    db: &Db,
    decoder: &Decoder,
    config: &WorkerConfig,
    name: &str,
) -> Result<usize, StoreError> {
    store::release_stale(db, config.stale_after_secs).await?;
    let claimed = store::claim(db, name, config.batch).await?;
    for task in &claimed {
        store::complete(db, decoder, task).await?;
    }
    Ok(claimed.len())
}

impl WorkerConfig {
    /// The configured settings (`vin_worker_*` keys); the stale-claim age keeps its default.
    pub fn from_config(config: &Config) -> Self {
        WorkerConfig {
            concurrency: config.vin_worker_concurrency,
            batch: i64::from(config.vin_worker_batch),
            idle_poll: Duration::from_millis(config.vin_worker_poll_ms),
            ..WorkerConfig::default()
        }
    }
}

/// Starts the workers with the configured settings (the service's start-up hook). The
/// decoder's data is compiled in, so failing to load it is a build defect: logged, and bulk
/// tasks then wait.
pub fn start(db: &Db, config: &Config) {
    match Decoder::new() {
        Ok(decoder) => {
            spawn(db.clone(), decoder, WorkerConfig::from_config(config));
        }
        Err(e) => tracing::error!(error = %e, "VIN decoder data: bulk decode workers not started"),
    }
}
