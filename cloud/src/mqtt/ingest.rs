//! The ingest pipeline: received messages are verified on every core (signatures are the
//! CPU cost: recovered one by one until a device's key is known, then checked a chunk at a
//! time against it, see [`verify::verify_chunk`]), put back in arrival order, stored in one
//! transaction per batch while later messages are being verified, and only then
//! acknowledged to the broker.
//!
//! ```text
//! link ─▶ queue ─▶ chunks of ≤ CHUNK ─▶ verify: ≤ 4 × cores jobs on the verifier threads
//!      ─▶ (arrival order) ─▶ store: ≤ MAX_BATCH per transaction ─▶ PUBACK
//! ```
//!
//! **Ack point.** From an external broker (QoS 1 over TCP), a message is acknowledged once
//! its fate is settled: stored (the transaction holding it has committed durably, see
//! [`IngestStore::store`]), a duplicate of a stored one, or dropped for good as malformed,
//! forged or from an unknown device; each is counted in
//! `pitlane_mqtt_messages_total{outcome}`. A batch whose storage keeps failing is not
//! acknowledged: the broker redelivers it after the next reconnect. A crash anywhere before
//! the PUBACK means redelivery, and envelope ids make that harmless. Messages from the
//! embedded broker arrive at QoS 0 over an in-process link and need no acknowledgement: the
//! broker dies with this process, so there is no connection whose loss redelivery would
//! cover (see [`super::local`]).
//!
//! **Memory.** Every stage is bounded: the link's queue, [`CHUNK`] messages per
//! verification job with at most four jobs per core, a few verified chunks waiting for the
//! store and one batch being stored. When storage or verification falls behind, the stages
//! before them wait, the link stops reading, and the broker holds the rest (under its own
//! limits) rather than this process growing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Publish};
use tokio::sync::mpsc;
use tokio::sync::oneshot::{self, error::RecvError};

use super::keys::DeviceKeys;
use super::stats::IngestStats;
use super::verify::{self, Rejected, Verified};
use super::waiters::Waiters;
use crate::db::Db;
use crate::telemetry::now_ms;
use crate::telemetry::store::IngestStore;

/// Most messages stored in one transaction.
pub const MAX_BATCH: usize = 1_024;
/// While verification jobs are still running, the store waits for this many messages
/// before it commits. Each commit costs about the same whatever its size (the WAL frames of
/// every B-tree's last pages, the flush, a dozen statement round trips to SQLite's thread),
/// so a store that keeps up commits the same messages in fewer, larger transactions: the
/// store stage's CPU per message falls and the verifiers get that core. Nothing waits when
/// no job runs, so a lone message (a command's result) is stored at once.
pub const FULL_BATCH: usize = 256;
/// The longest the store waits for a running job's chunk before committing what it has.
const BATCH_WAIT: Duration = Duration::from_millis(20);
/// Most messages in one verification job. A job takes fewer when no other job runs, so
/// chunks stay small (and the pipeline short) when messages trickle in or the broker's
/// window is small: Mosquitto hands a subscriber 20 unacknowledged messages by default
/// (`max_inflight_messages`), and over TCP nothing is acknowledged before it is stored. From
/// the embedded broker's local link (no window, see [`super::local`]) a backlog fills whole
/// chunks, and the batch check costs less per signature the more of a device's messages one
/// chunk holds (see BENCHMARKS.md, `verify_batch`).
pub const CHUNK: usize = 64;
/// Verification jobs running or finished but not yet passed on, per core: enough to keep
/// every core busy while the oldest job's results wait for the store.
const JOBS_PER_CORE: usize = 4;

/// Where acknowledgements go: the MQTT client in service, a counter in benches.
pub trait Acker: Send + Sync + 'static {
    /// Acknowledges `publish` (QoS 1: its PUBACK); must not wait.
    fn ack(&self, publish: &Publish);
}

impl Acker for AsyncClient {
    fn ack(&self, publish: &Publish) {
        if let Err(e) = self.try_ack(publish) {
            tracing::warn!(error = %e, "MQTT ack not queued; the broker will redeliver");
        }
    }
}

/// Threads that verify at once: one per core.
pub fn verifier_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

type Checked = Vec<Result<Verified, Rejected>>;

/// Received messages and what verification made of each (same order).
struct Chunk {
    publishes: Arc<Vec<Publish>>,
    checked: Checked,
}

/// Starts verifying `publishes` on a verifier thread.
fn spawn_verify(
    keys: &Arc<DeviceKeys>,
    publishes: Arc<Vec<Publish>>,
) -> oneshot::Receiver<Checked> {
    let keys = keys.clone();
    super::verifiers::run(move || {
        verify::verify_chunk(
            &keys,
            publishes.iter().map(|p| (p.topic.as_str(), &p.payload[..])),
        )
    })
}

/// The outcome of a verification job. `verify` returns errors rather than panicking on any
/// input; if a job failed anyway, its messages count as malformed rather than taking the
/// service down.
fn settle_job(publishes: Arc<Vec<Publish>>, joined: Result<Checked, RecvError>) -> Chunk {
    let checked = joined.unwrap_or_else(|_| {
        (0..publishes.len())
            .map(|_| {
                Err(Rejected::Malformed(
                    "the verifier failed on this message".into(),
                ))
            })
            .collect()
    });
    Chunk { publishes, checked }
}

/// Verifies `batch` on every core in chunks of [`CHUNK`], keeping the order (the verify
/// stage alone, for benches).
pub async fn verify_all(keys: &Arc<DeviceKeys>, batch: Vec<Publish>) -> Checked {
    let mut jobs = Vec::new();
    let mut rest = batch.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Arc<Vec<Publish>> = Arc::new(rest.by_ref().take(CHUNK).collect());
        jobs.push((chunk.clone(), spawn_verify(keys, chunk)));
    }
    let mut out = Vec::new();
    for (publishes, job) in jobs {
        out.extend(settle_job(publishes, job.await).checked);
    }
    out
}

/// Takes one message (waiting for it), then whatever else is already queued, up to
/// [`CHUNK`]. Cancel-safe: nothing is awaited after the first message is taken.
async fn next_chunk(rx: &mut mpsc::Receiver<Publish>) -> Option<Vec<Publish>> {
    let first = rx.recv().await?;
    let mut chunk = vec![first];
    while chunk.len() < CHUNK {
        match rx.try_recv() {
            Ok(p) => chunk.push(p),
            Err(_) => break,
        }
    }
    Some(chunk)
}

type Job = (Arc<Vec<Publish>>, oneshot::Receiver<Checked>);

/// The oldest job's result; never resolves when there is none.
async fn oldest(jobs: &mut VecDeque<Job>) -> Result<Checked, RecvError> {
    match jobs.front_mut() {
        Some((_, result)) => result.await,
        None => std::future::pending().await,
    }
}

/// Runs the pipeline until `rx` closes and everything taken from it is settled.
pub async fn run<A: Acker>(
    db: Db,
    store: Arc<IngestStore>,
    acker: A,
    mut rx: mpsc::Receiver<Publish>,
    waiters: Arc<Waiters>,
    stats: Arc<IngestStats>,
) {
    let keys = Arc::new(DeviceKeys::default());
    let max_jobs = JOBS_PER_CORE * verifier_threads();
    let (verified_tx, verified_rx) = mpsc::channel::<Chunk>(max_jobs);
    // How many verification jobs are running or waiting to be passed on: the store waits for
    // a fuller batch only while some are.
    let running = Arc::new(AtomicUsize::new(0));
    let storer = tokio::spawn(store_loop(
        db,
        store,
        acker,
        Incoming {
            rx: verified_rx,
            running: running.clone(),
        },
        waiters,
        stats,
    ));
    let mut jobs: VecDeque<Job> = VecDeque::with_capacity(max_jobs);
    let mut open = true;
    while open || !jobs.is_empty() {
        // A partial chunk only when no job runs. While one does, messages wait in the queue
        // until a chunk is full (or the jobs end): the batch signature check costs less per
        // message the larger its chunk, and a trickle needs no second core.
        let room = open && jobs.len() < max_jobs && (jobs.is_empty() || rx.len() >= CHUNK);
        tokio::select! {
            // The oldest job first: results leave in arrival order, and a finished job frees
            // its slot before new work is taken.
            biased;
            joined = oldest(&mut jobs) => {
                let Some((publishes, _)) = jobs.pop_front() else { continue };
                running.store(jobs.len(), Ordering::Release);
                if verified_tx.send(settle_job(publishes, joined)).await.is_err() {
                    break;
                }
            }
            chunk = next_chunk(&mut rx), if room => match chunk {
                Some(chunk) => {
                    let chunk = Arc::new(chunk);
                    jobs.push_back((chunk.clone(), spawn_verify(&keys, chunk)));
                    running.store(jobs.len(), Ordering::Release);
                }
                None => open = false,
            },
        }
    }
    drop(verified_tx);
    let _ = storer.await;
}

/// Verified chunks in arrival order, and how many jobs may still add to them.
struct Incoming {
    rx: mpsc::Receiver<Chunk>,
    running: Arc<AtomicUsize>,
}

impl Incoming {
    /// The next batch: one chunk (waiting for it), every chunk already queued, and, while
    /// jobs are running, the chunks they finish until the batch holds [`FULL_BATCH`]
    /// messages (each wait at most [`BATCH_WAIT`]). Never more than [`MAX_BATCH`] messages
    /// but for the last chunk taken; `None` once the pipeline has closed and is empty.
    async fn next_batch(&mut self) -> Option<Vec<Chunk>> {
        let first = self.rx.recv().await?;
        let mut size = first.publishes.len();
        let mut chunks = vec![first];
        while size < MAX_BATCH {
            let next = match self.rx.try_recv() {
                Ok(chunk) => Some(chunk),
                Err(_) if size < FULL_BATCH && self.running.load(Ordering::Acquire) > 0 => {
                    tokio::time::timeout(BATCH_WAIT, self.rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(_) => None,
            };
            let Some(chunk) = next else { break };
            size += chunk.publishes.len();
            chunks.push(chunk);
        }
        Some(chunks)
    }
}

/// Stores verified chunks, several per transaction when they queue up, and acknowledges them.
async fn store_loop<A: Acker>(
    db: Db,
    store: Arc<IngestStore>,
    acker: A,
    mut incoming: Incoming,
    waiters: Arc<Waiters>,
    stats: Arc<IngestStats>,
) {
    while let Some(chunks) = incoming.next_batch().await {
        let size = chunks.iter().map(|c| c.publishes.len()).sum();
        let mut good = Vec::with_capacity(size);
        let mut publishes = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            for result in chunk.checked {
                match result {
                    Ok(v) => good.push(v),
                    Err(e) => {
                        tracing::info!(outcome = e.outcome(), "device message dropped: {e}");
                        stats.count(e.outcome(), 1);
                    }
                }
            }
            publishes.push(chunk.publishes);
        }
        if !good.is_empty() && !store_with_retry(&db, &store, &good, &waiters, &stats).await {
            continue;
        }
        for p in publishes.iter().flat_map(|c| c.iter()) {
            acker.ack(p);
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
        let started = std::time::Instant::now();
        match store.store(db, good, now_ms()).await {
            Ok(outcome) => {
                tracing::debug!(
                    messages = good.len(),
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "ingest batch stored"
                );
                // One metrics update per outcome, not per message.
                let mut tally: Vec<(&'static str, u64)> = Vec::new();
                for o in &outcome.outcomes {
                    match tally.iter_mut().find(|(label, _)| *label == o.label()) {
                        Some((_, n)) => *n += 1,
                        None => tally.push((o.label(), 1)),
                    }
                }
                for (label, n) in tally {
                    stats.count(label, n);
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

#[cfg(test)]
mod tests {
    use rumqttc::QoS;

    use super::*;

    /// A verified chunk of `n` messages (their content does not matter to batching).
    fn chunk(n: usize) -> Chunk {
        let publishes = (0..n)
            .map(|i| Publish::new(format!("t/{i}"), QoS::AtMostOnce, vec![]))
            .collect();
        Chunk {
            publishes: Arc::new(publishes),
            checked: Vec::new(),
        }
    }

    fn incoming(running: usize) -> (mpsc::Sender<Chunk>, Incoming, Arc<AtomicUsize>) {
        let (tx, rx) = mpsc::channel(64);
        let running = Arc::new(AtomicUsize::new(running));
        let incoming = Incoming {
            rx,
            running: running.clone(),
        };
        (tx, incoming, running)
    }

    fn sizes(chunks: &[Chunk]) -> Vec<usize> {
        chunks.iter().map(|c| c.publishes.len()).collect()
    }

    /// One chunk of `n` queued, `running` jobs that never deliver: the batch is that chunk,
    /// taken after `waited`.
    async fn check_lone_chunk(running: usize, n: usize, waited: Duration) {
        let (tx, mut incoming, _running) = incoming(running);
        tx.send(chunk(n)).await.unwrap();
        let started = tokio::time::Instant::now();
        let batch = incoming.next_batch().await.unwrap();
        assert_eq!(sizes(&batch), [n], "{running} running");
        assert_eq!(started.elapsed(), waited, "{running} running");
    }

    #[tokio::test(start_paused = true)]
    async fn no_job_running_no_wait() {
        // A lone message (a command's result) is stored at once.
        check_lone_chunk(0, 1, Duration::ZERO).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_job_delays_the_batch_only_so_long() {
        check_lone_chunk(1, 3, BATCH_WAIT).await;
    }

    #[tokio::test(start_paused = true)]
    async fn queued_chunks_join_up_to_the_limit() {
        let (tx, mut incoming, _) = incoming(0);
        for _ in 0..(MAX_BATCH / CHUNK + 2) {
            tx.send(chunk(CHUNK)).await.unwrap();
        }
        let batch = incoming.next_batch().await.unwrap();
        assert_eq!(batch.len(), MAX_BATCH / CHUNK);
        assert_eq!(sizes(&incoming.next_batch().await.unwrap()), [CHUNK, CHUNK]);
    }

    #[tokio::test(start_paused = true)]
    async fn running_jobs_fill_the_batch() {
        let (tx, mut incoming, running) = incoming(3);
        tx.send(chunk(CHUNK)).await.unwrap();
        let feeder = tokio::spawn(async move {
            for left in (0..3).rev() {
                tokio::time::sleep(Duration::from_millis(2)).await;
                running.store(left, Ordering::Release);
                tx.send(chunk(CHUNK)).await.unwrap();
            }
            tx
        });
        let batch = incoming.next_batch().await.unwrap();
        // FULL_BATCH is reached with the fourth chunk.
        const { assert!(3 * CHUNK < FULL_BATCH && FULL_BATCH <= 4 * CHUNK) };
        assert_eq!(sizes(&batch), [CHUNK; 4]);
        drop(feeder.await.unwrap());
        assert!(incoming.next_batch().await.is_none(), "closed and empty");
    }
}
