//! The device service behind `pitlane-agent run`: reads the car (VIN on start and when it
//! changes, trouble codes and live values on intervals, ignition from voltage and engine
//! speed), queues signed envelopes in the store's outbox, runs the MQTT sync task, and
//! executes remote commands between readings (one task owns the bus, so a command never
//! interleaves with a reading).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pitlane_shared::command::{CommandResult, CommandVerifier, ResultStatus};
use pitlane_shared::envelope::Envelope;
use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::{
    self, Ignition, Presence, StatusReport, TelemetryReport, TelemetryValue, UpKind, VinReport,
};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use crate::actuate::Profile;
use crate::cadence::Cadence;
use crate::config::Config;
use crate::executor::{Executor, read_dtcs};
use crate::obd::probe::SNAPSHOT_PIDS;
use crate::obd::{ObdClient, Transport, VinQuery};
use crate::store::{Priority, Store, StoreError};
use crate::sync::{self, SyncSettings};

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the config has no [mqtt] section")]
    NoMqtt,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] sync::SyncError),
    #[error(transparent)]
    Profile(#[from] crate::actuate::ProfileError),
}

/// Signs device envelopes and queues them.
#[derive(Clone)]
struct Publisher {
    key: Arc<DeviceKey>,
    store: Arc<Mutex<Store>>,
    notify: Arc<Notify>,
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // SQLite rolls back what a panicking holder left half done; the lock stays usable.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

fn sign<T: Serialize>(key: &DeviceKey, kind: UpKind, data: T) -> Option<Vec<u8>> {
    let address = key.address();
    Envelope::new(
        kind.event_type(),
        // Time-ordered (UUIDv7): the cloud's de-duplication index then grows at its end
        // rather than at random pages.
        uuid::Uuid::now_v7().to_string(),
        topics::device_source(address),
        address.to_lowercase_hex(),
        SystemTime::now(),
        data,
    )
    .sign(key)
    .and_then(|s| s.to_vec())
    .map_err(|e| tracing::error!("cannot sign a {kind} envelope: {e}"))
    .ok()
}

impl Publisher {
    fn push<T: Serialize>(&self, kind: UpKind, priority: Priority, data: T) {
        let Some(bytes) = sign(&self.key, kind, data) else {
            return;
        };
        let topic = topics::up(self.key.address(), kind);
        match lock(&self.store).push(&topic, &bytes, kind.retained(), priority) {
            Ok(0) => {}
            Ok(n) => tracing::info!(dropped = n, "outbox full: dropped older messages"),
            Err(e) => tracing::error!("outbox: {e}"),
        }
        self.notify.notify_one();
    }

    /// Queues a command result and marks its request done, atomically.
    fn finish(&self, store: &Store, result: &CommandResult) -> Result<(), String> {
        let bytes = sign(&self.key, UpKind::Result, result).ok_or("cannot sign")?;
        let topic = topics::up(self.key.address(), UpKind::Result);
        let done = store.finish_command(&result.request_id, &topic, &bytes);
        self.notify.notify_one();
        done.map_err(|e| e.to_string())
    }
}

fn ignition_code(i: Ignition) -> u8 {
    match i {
        Ignition::On => 1,
        Ignition::Off => 2,
        Ignition::Unknown => 0,
    }
}

fn ignition_from(code: u8) -> Ignition {
    match code {
        1 => Ignition::On,
        2 => Ignition::Off,
        _ => Ignition::Unknown,
    }
}

/// Runs the service on `transport` until `shutdown` turns true.
pub async fn run(
    config: &Config,
    key: DeviceKey,
    transport: Transport,
    bus_label: String,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    run_with_ready(config, key, transport, bus_label, shutdown, || {}).await
}

/// [`run`], calling `ready` once the store is open and the sync task started (the bus is
/// already open: the caller opened `transport`).
pub async fn run_with_ready(
    config: &Config,
    key: DeviceKey,
    transport: Transport,
    bus_label: String,
    mut shutdown: watch::Receiver<bool>,
    ready: impl FnOnce(),
) -> Result<(), ServiceError> {
    let mqtt = config.mqtt.as_ref().ok_or(ServiceError::NoMqtt)?;
    let endpoint = sync::Endpoint::from_config(mqtt)?;
    let store = Store::open(&config.store.path, config.store.max_outbox_bytes)?;
    let key = Arc::new(key);
    let address = key.address();
    let publisher = Publisher {
        key: key.clone(),
        store: Arc::new(Mutex::new(store)),
        notify: Arc::new(Notify::new()),
    };
    let ignition = Arc::new(AtomicU8::new(0));
    let status = {
        let (key, ignition, bus) = (key.clone(), ignition.clone(), bus_label.clone());
        Box::new(move |state: Presence| {
            let report = StatusReport {
                state,
                firmware: env!("CARGO_PKG_VERSION").to_owned(),
                bus: bus.clone(),
                ignition: ignition_from(ignition.load(Ordering::Relaxed)),
            };
            sign(&key, UpKind::Status, report).unwrap_or_default()
        })
    };
    let settings = SyncSettings {
        endpoint,
        connect_timeout: Duration::from_secs(mqtt.connect_timeout_secs),
        client_id: address.to_lowercase_hex(),
        status_topic: topics::up(address, UpKind::Status),
        command_topic: topics::command(address),
        keep_alive: Duration::from_secs(mqtt.keep_alive_secs.max(5)),
        backoff_max: Duration::from_secs(mqtt.backoff_max_secs.max(1)),
        status,
        login: sync::login(mqtt)?,
    };
    let (command_tx, mut command_rx) = mpsc::channel(16);
    let sync_task = tokio::spawn(sync::run(
        settings,
        publisher.store.clone(),
        publisher.notify.clone(),
        command_tx,
        shutdown.clone(),
    ));
    ready();

    answer_interrupted(&publisher);
    let executor = Executor {
        verifier: CommandVerifier::new(mqtt.cloud_command_address, address),
        profile: config
            .commands
            .profile
            .as_deref()
            .map(Profile::load)
            .transpose()?,
        policy: config.signing.as_ref().map(|s| s.policy()),
    };
    let remembered: Option<VinQuery> = lock(&publisher.store)
        .fact("vin_query")
        .ok()
        .flatten()
        .and_then(|q| serde_json::from_str(&q).ok());
    let mut client = ObdClient::new(transport).with_vin_query(remembered);
    let every = |secs: f64| {
        let mut t = tokio::time::interval(Duration::from_secs_f64(secs.max(0.05)));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    };
    // VIN and trouble codes are read at once, then every interval; a failed read is retried
    // soon (see `cadence`).
    let mut vin_cadence = Cadence::new(
        Duration::from_secs_f64(config.intervals.vin_secs.max(0.05)),
        Instant::now(),
    );
    let mut dtc_cadence = Cadence::new(
        Duration::from_secs_f64(config.intervals.dtc_secs.max(0.05)),
        Instant::now(),
    );
    let mut telemetry_tick = every(config.intervals.telemetry_secs);
    let mut vin_published = false;
    loop {
        tokio::select! {
            _ = sync::stopped(&mut shutdown) => break,
            Some(bytes) = command_rx.recv() => {
                let result = executor
                    .handle(&bytes, SystemTime::now(), &key, &mut client, &publisher.store,
                        |s, r| publisher.finish(s, r))
                    .await;
                tracing::info!(request = %result.request_id, status = ?result.status,
                    reason = ?result.reason, "command");
            }
            () = tokio::time::sleep_until(vin_cadence.due()) => {
                let ok = read_vin(&mut client, &publisher, &mut vin_published).await;
                vin_cadence.done(ok, Instant::now());
            }
            () = tokio::time::sleep_until(dtc_cadence.due()) => {
                ensure_discovered(&mut client).await;
                let ok = match read_dtcs(&mut client).await {
                    Ok(report) => {
                        publisher.push(UpKind::Dtc, Priority::Kept, report);
                        true
                    }
                    Err(e) => {
                        tracing::warn!("trouble codes: {e}");
                        false
                    }
                };
                dtc_cadence.done(ok, Instant::now());
            }
            _ = telemetry_tick.tick() => {
                ensure_discovered(&mut client).await;
                let report = read_telemetry(&mut client).await;
                let code = ignition_code(report.ignition);
                if ignition.swap(code, Ordering::Relaxed) != code {
                    let status = StatusReport {
                        state: Presence::Online,
                        firmware: env!("CARGO_PKG_VERSION").to_owned(),
                        bus: bus_label.clone(),
                        ignition: report.ignition,
                    };
                    publisher.push(UpKind::Status, Priority::Droppable, status);
                }
                publisher.push(UpKind::Telemetry, Priority::Telemetry, report);
            }
        }
    }
    let _ = sync_task.await;
    Ok(())
}

/// Commands the agent stopped in the middle of (it crashed or lost power): they are never run
/// again, and the cloud hears that they failed.
fn answer_interrupted(publisher: &Publisher) {
    let interrupted = lock(&publisher.store).interrupted_commands();
    for (request_id, seq, action) in interrupted.unwrap_or_default() {
        let result = CommandResult {
            request_id,
            action,
            status: ResultStatus::Failed,
            code: None,
            reason: Some(
                "the agent restarted while running this command; it may or may not have taken \
                 effect and is not run again"
                    .into(),
            ),
            state: Default::default(),
            output: serde_json::Value::Null,
            seq: Some(seq),
        };
        let store = lock(&publisher.store);
        if let Err(e) = publisher.finish(&store, &result) {
            tracing::error!("cannot answer interrupted command: {e}");
        }
    }
}

async fn ensure_discovered(client: &mut ObdClient<Transport>) {
    if client.ecus().is_empty()
        && let Err(e) = client.discover().await
    {
        tracing::debug!("discovery: {e}");
    }
}

/// Reads the VIN and publishes it when it changed or was never published; false when the car
/// did not answer.
async fn read_vin(
    client: &mut ObdClient<Transport>,
    publisher: &Publisher,
    published: &mut bool,
) -> bool {
    let (vin, query) = match client.vin().await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("VIN: {e}");
            return false;
        }
    };
    let store = lock(&publisher.store);
    let known = store.fact("vin").ok().flatten();
    let changed = known.as_deref() != Some(vin.as_str());
    let _ = store.set_fact("vin", vin.as_str());
    if let Ok(q) = serde_json::to_string(&query) {
        let _ = store.set_fact("vin_query", &q);
    }
    drop(store);
    if changed || !*published {
        *published = true;
        let report = VinReport {
            vin: vin.as_str().to_owned(),
            query: serde_json::to_value(query)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            check_digit_valid: vin.check_digit().is_valid(),
        };
        publisher.push(UpKind::Vin, Priority::Kept, report);
    }
    true
}

async fn read_telemetry(client: &mut ObdClient<Transport>) -> TelemetryReport {
    let mut values = Vec::new();
    for ecu in client.ecus().to_vec() {
        let wanted: Vec<u8> = match client.supported_pids(ecu).await {
            Ok(s) => SNAPSHOT_PIDS
                .into_iter()
                .filter(|p| s.contains(*p))
                .collect(),
            Err(_) => continue,
        };
        if let Ok(readings) = client.read_pids(ecu, &wanted).await {
            values.extend(readings.into_iter().map(|r| TelemetryValue {
                ecu: ecu.to_string(),
                pid: format!("{:02X}", r.pid),
                name: r.name.to_owned(),
                value: r.value,
                unit: r.unit.symbol().to_owned(),
            }));
        }
    }
    // Engine turning, or a charging voltage, means ignition on; a resting battery means off.
    let rpm = values.iter().find(|v| v.pid == "0C").map(|v| v.value);
    let volts = values.iter().find(|v| v.pid == "42").map(|v| v.value);
    let ignition = match (rpm, volts) {
        (Some(r), _) if r > 0.0 => Ignition::On,
        (_, Some(v)) if v >= 13.2 => Ignition::On,
        (Some(_), _) | (_, Some(_)) => Ignition::Off,
        (None, None) if values.is_empty() => Ignition::Unknown,
        (None, None) => Ignition::On,
    };
    TelemetryReport { ignition, values }
}
