//! Per-instance counts of what ingest did with device messages (the same outcomes as the
//! `pitlane_mqtt_messages_total` metric, readable without a metrics recorder: tests and
//! `pitlane bench` wait on them).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts by outcome.
#[derive(Debug, Default)]
pub struct IngestStats {
    stored: AtomicU64,
    duplicate: AtomicU64,
    forged: AtomicU64,
    malformed: AtomicU64,
    unknown_device: AtomicU64,
}

/// A snapshot of [`IngestStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub stored: u64,
    pub duplicate: u64,
    pub forged: u64,
    pub malformed: u64,
    pub unknown_device: u64,
}

impl Counts {
    /// Every message whose fate is settled.
    pub fn total(&self) -> u64 {
        self.stored + self.duplicate + self.forged + self.malformed + self.unknown_device
    }
}

impl IngestStats {
    /// Counts one message under `outcome` (a metrics label) and in the metric.
    pub fn count(&self, outcome: &'static str, n: u64) {
        let slot = match outcome {
            "stored" => &self.stored,
            "duplicate" => &self.duplicate,
            "forged" => &self.forged,
            "unknown_device" => &self.unknown_device,
            _ => &self.malformed,
        };
        slot.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("pitlane_mqtt_messages_total", "outcome" => outcome).increment(n);
    }

    pub fn snapshot(&self) -> Counts {
        Counts {
            stored: self.stored.load(Ordering::Relaxed),
            duplicate: self.duplicate.load(Ordering::Relaxed),
            forged: self.forged.load(Ordering::Relaxed),
            malformed: self.malformed.load(Ordering::Relaxed),
            unknown_device: self.unknown_device.load(Ordering::Relaxed),
        }
    }
}
