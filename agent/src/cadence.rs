//! When a periodic read of the car is due: every `period` after a success and, after a failure
//! (ignition off, a slow gateway, a busy bus), again after 1 s, doubling up to `period`. A car
//! that does not answer the first read is then read within seconds, not at the next long
//! interval (VIN and trouble codes are read every 10 minutes by default).

use std::time::Duration;

use tokio::time::Instant;

/// The first wait after a failed read.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Cadence {
    period: Duration,
    retry: Duration,
    due: Instant,
}

impl Cadence {
    /// A cadence whose first read is due at once.
    pub fn new(period: Duration, now: Instant) -> Self {
        Cadence {
            period,
            retry: FIRST_RETRY,
            due: now,
        }
    }

    /// When the next read is due.
    pub fn due(&self) -> Instant {
        self.due
    }

    /// Records how the read that just ran went and schedules the next one.
    pub fn done(&mut self, ok: bool, now: Instant) {
        let wait = if ok {
            self.retry = FIRST_RETRY;
            self.period
        } else {
            let wait = self.retry.min(self.period);
            self.retry = self.retry.saturating_mul(2);
            wait
        };
        self.due = now + wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waits(period: u64, outcomes: &[bool]) -> Vec<u64> {
        let start = Instant::now();
        let mut cadence = Cadence::new(Duration::from_secs(period), start);
        assert_eq!(cadence.due(), start, "the first read is due at once");
        outcomes
            .iter()
            .map(|&ok| {
                let now = cadence.due();
                cadence.done(ok, now);
                (cadence.due() - now).as_secs()
            })
            .collect()
    }

    #[test]
    fn failures_back_off_from_one_second_up_to_the_period() {
        assert_eq!(
            waits(600, &[false; 12]),
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
        );
    }

    #[test]
    fn a_success_waits_the_period_and_resets_the_backoff() {
        assert_eq!(
            waits(600, &[false, false, true, false, true, true]),
            [1, 2, 600, 1, 600, 600]
        );
    }

    #[test]
    fn a_short_period_caps_the_retry() {
        assert_eq!(waits(3, &[false, false, false, true]), [1, 2, 3, 3]);
    }
}
