//! Background bulk-decode workers: a fixed number of loops per instance (bounded concurrency),
//! each claiming batches of pending tasks from storage. Tasks live in the database, so they
//! survive a restart; a task whose instance died is released once its claim is stale.
//! [`Workers::stop`] ends the loops (each finishes the batch in hand) before storage closes.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, watch};
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

/// How long [`Workers::stop`] lets a loop finish its batch before aborting it (its claimed
/// tasks are then released as stale by another instance or after a restart).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// This instance's worker loops; cheap to clone. [`Workers::default`] runs none.
#[derive(Debug, Clone, Default)]
pub struct Workers(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    /// Ends every loop: idle ones at once, busy ones after their current batch (at most
    /// [`STOP_GRACE`]). Call it before closing the database; calling it again does nothing.
    pub async fn stop(&self) {
        self.0.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.0.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                tracing::warn!("a bulk decode worker did not stop within {STOP_GRACE:?}; aborted");
                abort.abort();
            }
        }
    }
}

impl Workers {
    /// Starts `config.concurrency` loops in this set; they run until [`Workers::stop`]
    /// (at once if it was already called).
    pub fn spawn(&self, db: &Db, decoder: Decoder, config: WorkerConfig) {
        let instance = random_id("wrk");
        let mut tasks = self.0.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for i in 0..config.concurrency.max(1) {
            let db = db.clone();
            let name = format!("{instance}-{i}");
            let stop = self.0.stop.subscribe();
            tasks.push(tokio::spawn(async move {
                run(db, decoder, config, name, stop).await;
            }));
        }
    }
}

async fn run(
    db: Db,
    decoder: Decoder,
    config: WorkerConfig,
    name: String,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let wait = notify().notified();
        let pause = match step(&db, &decoder, &config, &name).await {
            Ok(0) => config.idle_poll,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(worker = %name, error = %e, "bulk decode worker");
                config.idle_poll
            }
        };
        tokio::select! {
            _ = tokio::time::timeout(pause, wait) => {}
            _ = stop.wait_for(|s| *s) => {}
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

/// Starts the service's workers in `workers` with the configured settings (its start-up
/// hook). The decoder's data is compiled in, so failing to load it is a build defect:
/// logged, and bulk tasks then wait.
pub fn start(workers: &Workers, db: &Db, config: &Config) {
    match Decoder::new() {
        Ok(decoder) => workers.spawn(db, decoder, WorkerConfig::from_config(config)),
        Err(e) => tracing::error!(error = %e, "VIN decoder data: bulk decode workers not started"),
    }
}
