//! The threads that check device signatures: one per core, shared by every MQTT layer of the
//! process, at a lower scheduling priority than everything else.
//!
//! Why their own threads, and why lower: signature checks are the bulk of ingest's CPU and
//! can wait, while the work around them is a chain of short steps that cannot. The broker's
//! router thread acknowledges publishes, the link task writes the acknowledgements, the
//! SQLite thread runs a batch's statements one round trip at a time. On tokio's blocking
//! pool at the same priority, verification kept both cores busy and each of those steps
//! waited for a time slice: a publisher with 20 messages in flight was held to the rate its
//! acknowledgements came back, and a batch took longer to store than to verify. At nice
//! [`NICE`] the verifiers still get every cycle nobody else wants.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};

use tokio::sync::oneshot;

/// How much nicer than the rest of the process the verifiers are (nice values run from -20
/// to 19, the lowest priority).
pub const NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The pool; see [`run`].
struct Pool {
    jobs: Sender<Job>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx: &'static Mutex<Receiver<Job>> = Box::leak(Box::new(Mutex::new(rx)));
        for n in 0..super::ingest::verifier_threads() {
            let spawned = std::thread::Builder::new()
                .name(format!("pitlane-verify-{n}"))
                .spawn(move || work(rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a signature verifier thread");
            }
        }
        Pool { jobs: tx }
    })
}

/// One verifier thread: lowers its own priority, then runs jobs until the process ends.
fn work(jobs: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only to take a job, not to run it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        // A panicking job drops its result sender, which its caller sees; the thread goes on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    use rustix::process::{getpriority_process, setpriority_process};
    // On Linux a nice value belongs to a thread: this one only. It starts as its creator's.
    let me = Some(rustix::thread::gettid());
    let lowered = getpriority_process(me)
        .and_then(|current| setpriority_process(me, (current + NICE).min(19)));
    if let Err(e) = lowered {
        tracing::warn!(error = %e, "cannot lower the priority of a signature verifier thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Runs `f` on a verifier thread; its result arrives on the returned receiver, which reports
/// an error instead if `f` panicked.
pub fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> oneshot::Receiver<T> {
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    if let Err(e) = pool().jobs.send(job) {
        // Only if every verifier thread failed to start: run it here rather than never.
        (e.0)();
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_at_lower_priority_and_a_panic_is_reported() {
        let nice =
            || rustix::process::getpriority_process(Some(rustix::thread::gettid())).expect("nice");
        let ours = nice();
        let (name, theirs) =
            run(move || (std::thread::current().name().map(str::to_owned), nice()))
                .await
                .expect("a result");
        assert!(name.is_some_and(|n| n.starts_with("pitlane-verify-")));
        assert_eq!(theirs, (ours + NICE).min(19));
        assert!(run(|| -> u8 { panic!("a bad job") }).await.is_err());
        // The thread that ran it is still there for the next job.
        let all: Vec<_> = (0..8).map(|i| run(move || i * 2)).collect();
        for (i, rx) in all.into_iter().enumerate() {
            assert_eq!(rx.await.expect("a result"), i * 2);
        }
    }
}
