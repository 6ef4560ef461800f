//! systemd service notifications for `Type=notify` units: `READY=1` once the bus and the store
//! are up, `STATUS=` lines an operator sees in `systemctl status`, `WATCHDOG=1` at half the
//! unit's `WatchdogSec`, and `STOPPING=1` on shutdown.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing. A failing notification is
//! logged, never fatal: the agent keeps serving the car either way.

use std::path::PathBuf;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::watch;

use crate::store::Store;

/// Sends notifications to the service manager, when there is one.
#[derive(Debug, Clone, Copy)]
pub struct Notifier {
    enabled: bool,
}

impl Notifier {
    /// Enabled when the process was started with `NOTIFY_SOCKET`.
    pub fn from_env() -> Self {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
        }
    }

    /// Whether notifications are sent at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if self.enabled
            && let Err(e) = sd_notify::notify(states)
        {
            tracing::warn!("systemd notification failed: {e}");
        }
    }

    /// The service is up; `status` says what it is doing.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A new status line.
    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// The service is shutting down.
    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    /// The watchdog interval systemd asked for (`WATCHDOG_USEC`, for this process).
    pub fn watchdog_interval(&self) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
    }

    /// Until `shutdown` turns true: `WATCHDOG=1` at half the watchdog interval (when systemd
    /// set one), and at once and then every `status_every` a `STATUS=` line with the outbox
    /// depth read from the store at `store_path` (so a wedged store also starves the
    /// watchdog). Start it once the service has opened the store.
    pub async fn run(
        self,
        bus: String,
        store_path: PathBuf,
        max_outbox_bytes: u64,
        status_every: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        if !self.enabled {
            return;
        }
        let watchdog = self.watchdog_interval();
        let period = watchdog.map_or(status_every, |w| (w / 2).min(status_every));
        let mut tick = tokio::time::interval(period.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_status: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            let depth = tokio::task::spawn_blocking({
                let path = store_path.clone();
                move || Store::open(&path, max_outbox_bytes).and_then(|s| s.outbox_depth())
            })
            .await;
            let healthy = matches!(depth, Ok(Ok(_)));
            if watchdog.is_some() && healthy {
                self.send(&[NotifyState::Watchdog]);
            }
            if last_status.is_none_or(|t| t.elapsed() >= status_every) || !healthy {
                last_status = Some(tokio::time::Instant::now());
                self.status(&status_line(&bus, &depth));
            }
        }
    }
}

type Depth = Result<Result<(u64, u64), crate::store::StoreError>, tokio::task::JoinError>;

fn status_line(bus: &str, depth: &Depth) -> String {
    match depth {
        Ok(Ok((0, _))) => format!("running on {bus}; outbox empty"),
        Ok(Ok((rows, bytes))) => {
            format!("running on {bus}; outbox {rows} messages ({bytes} bytes) waiting")
        }
        Ok(Err(e)) => format!("running on {bus}; store unreadable: {e}"),
        Err(e) => format!("running on {bus}; store check failed: {e}"),
    }
}
