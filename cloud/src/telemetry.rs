//! What devices report over MQTT, as stored: the latest state of each device (presence,
//! firmware, bus, ignition, VIN, trouble codes, newest telemetry), VIN and trouble-code
//! reports, and a bounded telemetry history. [`store`] applies verified batches; [`state`]
//! reads a device's state for the HTTP API.

pub mod rows_sql;
pub mod state;
pub mod store;
pub mod vehicle_codes;

/// Storage failures of the telemetry layer.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("registry: {0}")]
    Registry(#[from] crate::registry::RegistryError),
    #[error("stored JSON is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Commands(#[from] crate::commands::store::CommandStoreError),
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
