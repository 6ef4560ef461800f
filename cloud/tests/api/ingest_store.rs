//! The ingest store on both databases, batch by batch: a batch of new envelope ids is
//! stored whole; a batch mixing new ids, ids stored before, repeats within the batch and an
//! unregistered device stores exactly the new ones, once, and says what became of each.

use pitlane_cloud::config::IngestSync;
use pitlane_cloud::mqtt::verify::{Body, Verified};
use pitlane_cloud::registry::{self, NewDevice};
use pitlane_cloud::telemetry::store::{IngestStore, Outcome};
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::topics::{Ignition, TelemetryReport};

use crate::api_test;
use crate::helpers::TestApp;
use crate::mqtt_support::scalar;

fn telemetry(device: Address, id: &str) -> Verified {
    Verified {
        device,
        envelope_id: id.to_owned(),
        time_ms: 1_700_000_000_000,
        body: Body::Telemetry(TelemetryReport {
            ignition: Ignition::On,
            values: Vec::new(),
        }),
    }
}

async fn register(app: &TestApp, serial: &str) -> Address {
    let key = DeviceKey::generate();
    registry::register_device(
        &app.state.db,
        NewDevice {
            serial: serial.into(),
            address: key.address(),
            manufacturer: "Test".into(),
        },
    )
    .await
    .expect("register");
    key.address()
}

/// Stores one batch of `(device, id)` messages; the outcome of each, in order.
async fn store(app: &TestApp, messages: &[(Address, &str)]) -> Vec<Outcome> {
    let batch: Vec<Verified> = messages.iter().map(|(d, id)| telemetry(*d, id)).collect();
    IngestStore::new(IngestSync::Full)
        .store(&app.state.db, &batch, 1_700_000_000_500)
        .await
        .expect("store")
        .outcomes
}

async fn only_new_ids_are_stored(app: &mut TestApp) {
    use Outcome::{Duplicate, Stored, UnknownDevice};
    let a = register(app, "STORE-A").await;
    let b = register(app, "STORE-B").await;
    let stranger = DeviceKey::generate().address();
    assert_eq!(
        store(app, &[(a, "1"), (a, "2"), (b, "1")]).await,
        [Stored, Stored, Stored]
    );
    // "1" of a and b were stored before, "3" comes twice, and the same id of another device
    // is another message.
    let outcomes = store(
        app,
        &[
            (a, "1"),
            (a, "3"),
            (stranger, "9"),
            (a, "3"),
            (b, "2"),
            (b, "1"),
            (a, "4"),
        ],
    )
    .await;
    assert_eq!(
        outcomes,
        [
            Duplicate,
            Stored,
            UnknownDevice,
            Duplicate,
            Stored,
            Duplicate,
            Stored
        ]
    );
    // A batch of nothing but duplicates changes nothing.
    assert_eq!(
        store(app, &[(a, "2"), (b, "2")]).await,
        [Duplicate, Duplicate]
    );
    assert_eq!(rows(app, "mqtt_envelopes", a).await, 4);
    assert_eq!(rows(app, "device_telemetry", a).await, 4);
    assert_eq!(rows(app, "mqtt_envelopes", b).await, 2);
    assert_eq!(rows(app, "device_telemetry", b).await, 2);
    assert_eq!(rows(app, "mqtt_envelopes", stranger).await, 0);
}

async fn rows(app: &TestApp, table: &str, device: Address) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE device_address = $1");
    scalar(app, &sql, &device.to_lowercase_hex()).await
}
api_test!(ingest_store_keeps_only_new_ids, only_new_ids_are_stored);

/// The sweeper's trim: the newest `keep` telemetry rows of each device heard from since the
/// given time, nothing of devices not heard from since; envelope ids received before the
/// cut-off are forgotten (a copy arriving later is stored again).
async fn prune_trims_devices_heard_from(app: &mut TestApp) {
    use pitlane_cloud::telemetry::store::prune;
    let a = register(app, "PRUNE-A").await;
    let b = register(app, "PRUNE-B").await;
    let stored_at = 1_700_000_000_500; // `store`'s now: last_seen_ms and received_ms
    store(
        app,
        &[
            (a, "1"),
            (a, "2"),
            (a, "3"),
            (a, "4"),
            (a, "5"),
            (b, "1"),
            (b, "2"),
        ],
    )
    .await;
    let db = &app.state.db;
    // Nobody heard from since after the batch: nothing to trim.
    assert_eq!(prune(db, 3, stored_at + 1, 0).await.expect("prune"), 0);
    assert_eq!(rows(app, "device_telemetry", a).await, 5);
    // Both heard from: a keeps its newest 3, b (2 rows) keeps both; a second pass is a no-op.
    assert_eq!(prune(db, 3, stored_at, 0).await.expect("prune"), 2);
    assert_eq!(rows(app, "device_telemetry", a).await, 3);
    assert_eq!(rows(app, "device_telemetry", b).await, 2);
    let newest = "SELECT COUNT(*) FROM device_telemetry WHERE device_address = $1 AND id > \
                  (SELECT MAX(id) - 3 FROM device_telemetry WHERE device_address = $1)";
    assert_eq!(scalar(app, newest, &a.to_lowercase_hex()).await, 3);
    assert_eq!(prune(db, 3, 0, 0).await.expect("prune"), 0);
    assert_eq!(prune(db, 1, 0, 0).await.expect("prune"), 3);
    assert_eq!(rows(app, "device_telemetry", a).await, 1);
    assert_eq!(rows(app, "device_telemetry", b).await, 1);
    // Envelope ids: kept until the cut-off passes them, then a copy is new again.
    assert_eq!(rows(app, "mqtt_envelopes", a).await, 5);
    assert_eq!(store(app, &[(a, "1")]).await, [Outcome::Duplicate]);
    prune(db, 1, 0, stored_at + 1).await.expect("prune");
    assert_eq!(rows(app, "mqtt_envelopes", a).await, 0);
    assert_eq!(rows(app, "mqtt_envelopes", b).await, 0);
    assert_eq!(store(app, &[(a, "1")]).await, [Outcome::Stored]);
}
api_test!(
    ingest_prune_trims_devices_heard_from,
    prune_trims_devices_heard_from
);
