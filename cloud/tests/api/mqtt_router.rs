//! The embedded broker's router thread (rumqttd 0.20): what kills it, and that a dead router
//! fails `/readyz` instead of silently routing nothing. (The cloud's own link avoids the
//! trigger: with the embedded broker it subscribes without a shared group; see `mqtt.rs`.)
//!
//! rumqttd panics (`routing.rs:512`, "group must exists") when the last member of a
//! shared-subscription group disconnects with a persistent session while messages it was sent
//! are unacknowledged: it removes the emptied group, then looks it up again.

use pitlane_shared::topics::{self, UpKind};
use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::mqtt_support::{Broker, TestDevice, WAIT, broker_addr, eventually, spawn};

async fn readyz(app: &TestApp) -> StatusCode {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz")
        .status()
}

/// A device that joins a shared group alone with a persistent session, receives messages
/// (its own, published on its own topic) without acknowledging them, and drops its connection.
async fn crash_the_router(app: &TestApp, device: &TestDevice) {
    let addr = broker_addr(app);
    let mut options = MqttOptions::new(device.lower(), addr.ip().to_string(), addr.port());
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_credentials(device.lower(), &device.password)
        .set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = AsyncClient::new(options, 64);
    let filter = format!(
        "$share/crash/{}",
        topics::up(device.address, UpKind::Telemetry)
    );
    client
        .subscribe(filter, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let mut published = false;
    let received = tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await.expect("device connection") {
                Event::Incoming(Packet::SubAck(_)) if !published => {
                    published = true;
                    let payload =
                        device.envelope(UpKind::Telemetry, json!({"ignition": "on", "values": []}));
                    client
                        .publish(
                            topics::up(device.address, UpKind::Telemetry),
                            QoS::AtLeastOnce,
                            false,
                            payload,
                        )
                        .await
                        .expect("publish");
                }
                // Delivered to the group and never acknowledged.
                Event::Incoming(Packet::Publish(_)) => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(received.is_ok(), "the shared subscription never delivered");
    // Dropping the event loop closes the socket: the broker disconnects the session.
    drop(events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_router_fails_readiness() {
    let app = spawn(Backend::Sqlite, &Broker::Embedded, |_| {}).await;
    let mqtt = app.state.mqtt.clone().expect("MQTT layer");
    assert_eq!(readyz(&app).await, StatusCode::OK);
    assert_eq!(mqtt.broker_router_alive(), Some(true));

    let device = TestDevice::register(&app).await;
    crash_the_router(&app, &device).await;

    eventually("the router's death to be noticed", || async {
        (mqtt.broker_router_alive() == Some(false)).then_some(())
    })
    .await;
    assert!(!mqtt.is_ready());
    assert_eq!(readyz(&app).await, StatusCode::SERVICE_UNAVAILABLE);
    app.stop().await;
}
