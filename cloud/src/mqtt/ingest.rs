//! The ingest pipeline: batches of received messages are verified on a small pool of
//! blocking threads (signature recovery is the CPU cost), then stored in one transaction per
//! batch while the next batch is being verified, then acknowledged to the broker.
//!
//! Every message is acknowledged once its fate is settled — stored, a duplicate, or dropped
//! as malformed, forged or from an unknown device — and counted in
//! `pitlane_mqtt_messages_total{outcome}`. A batch whose storage keeps failing is not
//! acknowledged: the broker redelivers it after the next reconnect.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Publish};
use tokio::sync::mpsc;

use super::stats::IngestStats;
use super::verify::{self, Rejected, Verified};
use super::waiters::Waiters;
use crate::db::Db;
use crate::telemetry::now_ms;
use crate::telemetry::store::IngestStore;

/// Most messages per batch.
pub const MAX_BATCH: usize = 1_024;
/// Verification threads per batch.
const WORKERS: usize = 2;

type Checked = Vec<Result<Verified, Rejected>>;

/// Collects a batch: waits for one message, then takes what is already queued.
async fn next_batch(rx: &mut mpsc::Receiver<Publish>) -> Option<Vec<Publish>> {
    let first = rx.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Verifies `batch` on up to [`WORKERS`] blocking threads, keeping the order.
pub async fn verify_batch(batch: Arc<Vec<Publish>>) -> Checked {
    let per = batch.len().div_ceil(WORKERS).max(64);
    let mut jobs = Vec::new();
    for start in (0..batch.len()).step_by(per) {
        let batch = batch.clone();
        jobs.push(tokio::task::spawn_blocking(move || {
            let end = (start + per).min(batch.len());
            batch[start..end]
                .iter()
                .map(|p| verify::verify(&p.topic, &p.payload))
                .collect::<Checked>()
        }));
    }
    let mut out = Vec::with_capacity(batch.len());
    for job in jobs {
        match job.await {
            Ok(part) => out.extend(part),
            // A verification thread cannot panic on input (verify returns errors), but if it
            // did, its messages count as malformed rather than taking the service down.
            Err(e) => {
                let n = batch.len() - out.len();
                let take = per.min(n);
                out.extend((0..take).map(|_| Err(Rejected::Malformed(format!("verifier: {e}")))));
            }
        }
    }
    out
}

/// Runs the pipeline until `rx` closes.
pub async fn run(
    db: Db,
    store: Arc<IngestStore>,
    client: AsyncClient,
    mut rx: mpsc::Receiver<Publish>,
    waiters: Arc<Waiters>,
    stats: Arc<IngestStats>,
) {
    let (verified_tx, verified_rx) = mpsc::channel::<(Arc<Vec<Publish>>, Checked)>(2);
    let storer = tokio::spawn(store_loop(db, store, client, verified_rx, waiters, stats));
    while let Some(batch) = next_batch(&mut rx).await {
        let batch = Arc::new(batch);
        let checked = verify_batch(batch.clone()).await;
        if verified_tx.send((batch, checked)).await.is_err() {
            break;
        }
    }
    drop(verified_tx);
    let _ = storer.await;
}

async fn store_loop(
    db: Db,
    store: Arc<IngestStore>,
    client: AsyncClient,
    mut rx: mpsc::Receiver<(Arc<Vec<Publish>>, Checked)>,
    waiters: Arc<Waiters>,
    stats: Arc<IngestStats>,
) {
    while let Some((publishes, checked)) = rx.recv().await {
        let mut good = Vec::with_capacity(checked.len());
        for result in checked {
            match result {
                Ok(v) => good.push(v),
                Err(e) => {
                    tracing::info!(outcome = e.outcome(), "device message dropped: {e}");
                    stats.count(e.outcome(), 1);
                }
            }
        }
        if !good.is_empty() && !store_with_retry(&db, &store, &good, &waiters, &stats).await {
            continue;
        }
        for p in publishes.iter() {
            if let Err(e) = client.try_ack(p) {
                tracing::warn!(error = %e, "MQTT ack not queued; the broker will redeliver");
            }
        }
    }
}

async fn store_with_retry(
    db: &Db,
    store: &IngestStore,
    good: &[Verified],
    waiters: &Waiters,
    stats: &IngestStats,
) -> bool {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=5 {
        match store.store(db, good, now_ms()).await {
            Ok(outcome) => {
                for o in &outcome.outcomes {
                    stats.count(o.label(), 1);
                }
                for (request_id, _) in &outcome.finished_commands {
                    waiters.finish(request_id);
                }
                return true;
            }
            Err(e) => {
                tracing::error!(attempt, error = %e, "storing device messages failed");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    false
}
