//! The MQTT layer: the embedded broker (or an external one by `mqtt_url`), the cloud's client
//! link, the ingest pipeline and command dispatch, started together by [`MqttLayer::start`]
//! and stopped by [`MqttLayer::stop`].
//!
//! ```text
//! devices ──MQTT──▶ external broker ──shared subscription──▶ link ──▶ ingest ──▶ ack after storage
//! devices ──MQTT──▶ embedded broker ──local link (in process)──▶ ingest: verify (every core) ──▶ store (1 tx per batch)
//! HTTP ──▶ dispatch: command row + seq ──▶ signed envelope ──▶ link ──▶ broker ──▶ device
//! ```

pub mod broker;
pub mod dispatch;
pub mod ingest;
pub mod keys;
pub mod link;
pub mod local;
pub mod nagle;
pub mod stats;
pub mod tls;
pub mod verifiers;
pub mod verify;
pub mod waiters;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pitlane_shared::identity::{Address, DeviceKey};
use rumqttc::AsyncClient;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::commands::key::CommandKeyError;
use crate::config::Config;
use crate::db::Db;
use crate::telemetry::store::IngestStore;
use broker::{EmbeddedBroker, InternalLogin};
use link::LinkSettings;
use stats::{Counts, IngestStats};
use waiters::Waiters;

/// Received messages waiting for the pipeline (beyond this the link stops reading and the
/// broker holds them).
const INCOMING_QUEUE: usize = 4 * ingest::MAX_BATCH;
/// Telemetry and event rows kept per device.
pub const TELEMETRY_HISTORY: i64 = 1_000;
/// How long envelope ids are remembered for de-duplication.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why the MQTT layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error(transparent)]
    CommandKey(#[from] CommandKeyError),
    #[error("embedded MQTT broker on {addr}: {source}")]
    Broker {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("mqtt_url {0:?} is not mqtt://host[:port] or mqtts://host[:port]")]
    Url(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// The running MQTT layer; cheap to clone.
#[derive(Debug, Clone)]
pub struct MqttLayer(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    client: AsyncClient,
    key: DeviceKey,
    ttl: Duration,
    waiters: Arc<Waiters>,
    stats: Arc<IngestStats>,
    ready: watch::Receiver<bool>,
    shutdown: watch::Sender<bool>,
    broker: Option<EmbeddedBroker>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Held from seq allocation to the hand-off to the client, so one instance publishes a
    /// device's commands in seq order.
    publish: tokio::sync::Mutex<()>,
}

/// Host, port and whether the broker speaks TLS (`mqtts://`, port 8883 by default).
fn parse_url(url: &str) -> Result<(String, u16, bool), MqttError> {
    let (rest, tls) = match url.strip_prefix("mqtts://") {
        Some(rest) => (rest, true),
        None => (
            url.strip_prefix("mqtt://")
                .or_else(|| url.strip_prefix("tcp://"))
                .ok_or_else(|| MqttError::Url(url.to_owned()))?,
            false,
        ),
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| MqttError::Url(url.to_owned()))?),
        None => (rest, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() || host.contains('/') || host.contains('@') {
        return Err(MqttError::Url(url.to_owned()));
    }
    Ok((host.trim_matches(['[', ']']).to_owned(), port, tls))
}

/// What the cloud's client link subscribes to. The shared subscription lets several cloud
/// instances split the traffic of an external broker. With the embedded broker, ingest
/// reads through its in-process local link instead ([`local`]) and the client link only
/// sends commands, so it subscribes to nothing.
fn subscription(embedded: bool, share_group: &str) -> Option<String> {
    (!embedded).then(|| format!("$share/{share_group}/{}", pitlane_shared::topics::ALL_UP))
}

impl MqttLayer {
    /// Loads the command key, starts the embedded broker unless `mqtt_url` names an external
    /// one, and starts the link, the ingest pipeline and the sweepers.
    pub async fn start(config: &Config, db: Db) -> Result<Self, MqttError> {
        let key = crate::commands::key::load_or_create(&config.command_key_path())?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (incoming_tx, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
        let mut tasks = Vec::new();
        let (broker, host, port, client_id, login, tls) = match &config.mqtt_url {
            Some(url) => {
                let (host, port, tls) = parse_url(url)?;
                let tls = if tls {
                    Some(tls::client_config(config)?)
                } else {
                    None
                };
                let login = config.mqtt_username.clone().map(|u| {
                    let p = config
                        .mqtt_password
                        .as_ref()
                        .map(|p| p.expose().to_owned())
                        .unwrap_or_default();
                    (u, p)
                });
                (None, host, port, config.mqtt_client_id.clone(), login, tls)
            }
            None => {
                let internal = InternalLogin::generate();
                let (broker, ingest_link) = EmbeddedBroker::start(
                    config.mqtt_addr,
                    db.clone(),
                    internal.clone(),
                    pitlane_shared::topics::ALL_UP,
                )
                .await
                .map_err(|source| MqttError::Broker {
                    addr: config.mqtt_addr,
                    source,
                })?;
                tasks.push(tokio::spawn(local::run(
                    ingest_link,
                    incoming_tx.clone(),
                    shutdown_rx.clone(),
                )));
                let host = broker.addr.ip().to_string();
                let port = broker.addr.port();
                let login = Some((internal.username, internal.password));
                // Plain TCP on loopback by decision (config.rs refuses TLS settings here).
                (Some(broker), host, port, internal.client_id, login, None)
            }
        };
        let settings = LinkSettings {
            host,
            port,
            client_id,
            login,
            tls,
            filter: subscription(broker.is_some(), &config.mqtt_share_group),
            // Room for an ack of every message the pipeline can hold, plus commands.
            request_capacity: INCOMING_QUEUE + 4 * ingest::MAX_BATCH + 1_024,
        };
        let (client, events) = link::client(&settings);
        let (ready_tx, ready) = watch::channel(false);
        let waiters = Arc::new(Waiters::default());
        let stats = Arc::new(IngestStats::default());
        tasks.extend([
            tokio::spawn(link::run(
                settings,
                client.clone(),
                events,
                incoming_tx,
                ready_tx,
                shutdown_rx.clone(),
            )),
            tokio::spawn(ingest::run(
                db.clone(),
                Arc::new(IngestStore::new(config.ingest_sync)),
                client.clone(),
                incoming_rx,
                waiters.clone(),
                stats.clone(),
            )),
        ]);
        tasks.push(tokio::spawn(sweep(db.clone(), shutdown_rx)));
        tracing::info!(
            command_address = %key.address().to_checksum(),
            embedded = broker.is_some(),
            "MQTT layer started"
        );
        Ok(MqttLayer(Arc::new(Inner {
            db,
            client,
            key,
            ttl: Duration::from_secs(config.command_ttl_secs),
            waiters,
            stats,
            ready,
            shutdown,
            broker,
            tasks: Mutex::new(tasks),
            publish: tokio::sync::Mutex::new(()),
        })))
    }

    /// Whether the link is connected and subscribed and, with the embedded broker, its router
    /// thread still runs (for `/readyz`).
    pub fn is_ready(&self) -> bool {
        *self.0.ready.borrow() && self.0.broker.as_ref().is_none_or(|b| b.router_alive())
    }

    /// Waits until the link is connected and subscribed; false when `timeout` passed first.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut ready = self.0.ready.clone();
        tokio::time::timeout(timeout, ready.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// What ingest did with the device messages this instance received.
    pub fn ingest_counts(&self) -> Counts {
        self.0.stats.snapshot()
    }

    /// Whether the embedded broker's router thread runs (None with an external broker).
    pub fn broker_router_alive(&self) -> Option<bool> {
        self.0.broker.as_ref().map(|b| b.router_alive())
    }

    /// The embedded broker's address (None with an external broker).
    pub fn broker_addr(&self) -> Option<SocketAddr> {
        self.0.broker.as_ref().map(|b| b.addr)
    }

    /// The address of the command key (agents pin it as `cloud_command_address`).
    pub fn command_address(&self) -> Address {
        self.0.key.address()
    }

    /// Stops the link (disconnecting cleanly), the pipeline and the embedded listener.
    pub async fn stop(&self) {
        self.0.shutdown.send_replace(true);
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.0.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            // The pipeline ends when the link drops its queue; bound the wait regardless.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if let Some(b) = &self.0.broker {
            b.stop();
        }
    }
}

/// Expires overdue commands every second; trims telemetry and old envelope ids every minute.
async fn sweep(db: Db, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    // Devices heard from since then may have telemetry to trim: everyone at first, then
    // those seen since a minute before the last trim (a batch being stored while it ran).
    let mut seen_since_ms = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let now = crate::telemetry::now_ms();
        if let Err(e) = crate::commands::store::sweep(&db, now).await {
            tracing::warn!(error = %e, "command expiry sweep");
        }
        n += 1;
        if n % 60 == 0 {
            let before = now - i64::try_from(DEDUP_WINDOW.as_millis()).unwrap_or(i64::MAX);
            match crate::telemetry::store::prune(&db, TELEMETRY_HISTORY, seen_since_ms, before)
                .await
            {
                Ok(_) => seen_since_ms = now - 60_000,
                Err(e) => tracing::warn!(error = %e, "telemetry pruning"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expected: Option<(&str, u16, bool)>) {
        assert_eq!(
            parse_url(url).ok(),
            expected.map(|(h, p, tls)| (h.to_owned(), p, tls)),
            "{url}"
        );
    }

    #[test]
    fn only_an_external_broker_gets_the_shared_subscription() {
        assert_eq!(subscription(true, "g"), None);
        assert_eq!(
            subscription(false, "g").as_deref(),
            Some("$share/g/pitlane/v1/dev/+/up/#")
        );
    }

    #[test]
    fn broker_urls() {
        check("mqtt://127.0.0.1:18831", Some(("127.0.0.1", 18831, false)));
        check(
            "mqtt://broker.example",
            Some(("broker.example", 1883, false)),
        );
        check("tcp://[::1]:1884", Some(("::1", 1884, false)));
        check(
            "mqtts://broker.example",
            Some(("broker.example", 8883, true)),
        );
        check("mqtts://localhost:18883/", Some(("localhost", 18883, true)));
        check("ssl://broker.example:8883", None);
        check("mqtt://host:port", None);
        check("http://host:1883", None);
        check("mqtt://user@host:1883", None);
        check("mqtt://:1883", None);
    }
}
