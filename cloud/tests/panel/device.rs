//! An aftermarket device for the panel tests: registered, paired with a user's vehicle
//! (registry rows written directly: claim, mint and pair have their own tests), connected
//! to the cloud's embedded broker with its MQTT password (the testkit's [`DeviceLink`]),
//! publishing signed envelopes and checking the commands it receives with the agent's own
//! verifier.

use std::time::{Duration, SystemTime};

use pitlane_cloud::registry::{self, NewDevice};
use pitlane_shared::command::{CommandVerifier, SeenCommands, Verdict};
use pitlane_shared::envelope::Envelope;
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::topics::{self, UpKind};
use pitlane_testkit::{DeviceLink, device_options};
use serde_json::{Value, json};

use crate::support::Panel;

/// Generous: the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(60);

pub struct TestDevice {
    key: DeviceKey,
    address: Address,
    password: String,
}

/// The agent's verifier remembers nothing here: every command is new.
struct Fresh;
impl SeenCommands for Fresh {
    fn seen(&self, _: &str) -> bool {
        false
    }
    fn highest_seq(&self) -> Option<u64> {
        None
    }
}

impl TestDevice {
    /// Registers a device, has `user_id` claim it, mints `user_device_id` for that user and
    /// pairs the two.
    pub async fn paired(panel: &Panel, user_id: &str, user_device_id: &str) -> TestDevice {
        let key = DeviceKey::generate();
        let address = key.address();
        let serial = format!("SN-{}", &pitlane_cloud::devices::new_id()[..10]);
        let registered = registry::register_device(
            &panel.state.db,
            NewDevice {
                serial,
                address,
                manufacturer: "Pitlane Test".into(),
            },
        )
        .await
        .expect("register device");
        let token_id = i64::try_from(registered.device.token_id).expect("token id");
        let db = &panel.state.db.pool;
        let now = 1_700_000_000_i64;
        sqlx::query(
            "UPDATE aftermarket_devices SET owner_user_id = $1, claimed_at = $2 WHERE token_id = $3",
        )
        .bind(user_id)
        .bind(now)
        .bind(token_id)
        .execute(db)
        .await
        .expect("claim");
        let vehicle: i64 = sqlx::Row::try_get(
            &sqlx::query(
                "INSERT INTO vehicle_tokens (user_device_id, owner_user_id, manufacturer_node, minted_at) \
                 VALUES ($1, $2, 1, $3) RETURNING token_id",
            )
            .bind(user_device_id)
            .bind(user_id)
            .bind(now)
            .fetch_one(db)
            .await
            .expect("mint"),
            "token_id",
        )
        .expect("vehicle token id");
        sqlx::query(
            "INSERT INTO pairings (vehicle_token_id, aftermarket_token_id, paired_at) VALUES ($1, $2, $3)",
        )
        .bind(vehicle)
        .bind(token_id)
        .bind(now)
        .execute(db)
        .await
        .expect("pair");
        TestDevice {
            key,
            address,
            password: registered.mqtt_password,
        }
    }

    fn lower(&self) -> String {
        self.address.to_lowercase_hex()
    }

    /// A signed envelope of `kind` about this device.
    pub fn envelope(&self, kind: UpKind, data: Value) -> Vec<u8> {
        Envelope::new(
            kind.event_type(),
            uuid::Uuid::new_v4().to_string(),
            topics::device_source(self.address),
            self.lower(),
            SystemTime::now(),
            data,
        )
        .sign(&self.key)
        .expect("sign")
        .to_vec()
        .expect("bytes")
    }

    /// Connects to the panel's embedded broker and subscribes to the command topic.
    pub async fn connect(&self, panel: &Panel) -> DeviceLink {
        let mqtt = panel.state.mqtt.as_ref().expect("MQTT layer");
        assert!(mqtt.wait_ready(WAIT).await, "the MQTT link never got ready");
        let addr = mqtt.broker_addr().expect("embedded broker");
        let options = device_options(addr, &self.lower(), &self.password);
        DeviceLink::connect(options, &topics::command(self.address), WAIT)
            .await
            .expect("the device could not subscribe")
    }

    /// Publishes a signed envelope on this device's `up/{kind}` topic.
    pub async fn publish(&self, conn: &DeviceLink, kind: UpKind, data: Value) {
        conn.publish(
            &topics::up(self.address, kind),
            kind.retained(),
            self.envelope(kind, data),
        )
        .await;
    }

    /// Reports the device online.
    pub async fn online(&self, conn: &DeviceLink) {
        self.publish(
            conn,
            UpKind::Status,
            json!({"state": "online", "firmware": "9.9.9", "bus": "sim://", "ignition": "on"}),
        )
        .await;
    }

    /// The next command, checked as the agent checks it: (request id, action).
    pub async fn next_command(&self, panel: &Panel, conn: &mut DeviceLink) -> (String, String) {
        let bytes = conn.next(WAIT).await;
        let cloud = panel.state.mqtt.as_ref().expect("mqtt").command_address();
        match CommandVerifier::new(cloud, self.address).verify(&bytes, SystemTime::now(), &Fresh) {
            Verdict::Execute(v) => (v.command.request_id, v.command.action),
            Verdict::Reject(r) => panic!("the device would refuse the command: {r:?}"),
        }
    }

    /// Answers a command as executed.
    pub async fn executed(&self, conn: &DeviceLink, request_id: &str, action: &str) {
        self.publish(
            conn,
            UpKind::Result,
            json!({
                "request_id": request_id, "action": action, "status": "executed",
                "state": {}, "output": null,
            }),
        )
        .await;
    }
}
