//! The cloud's link to an external broker over `mqtts://` (Mosquitto with a TLS listener and a
//! throwaway PKI): with the CA and a client certificate (the listener requires one) it
//! subscribes and ingests a device's signed report, which the device sent on the broker's
//! plain listener; against a broker whose certificate another CA signed it never gets ready.

use std::net::SocketAddr;
use std::path::Path;

use pitlane_cloud::config::Config;
use pitlane_shared::topics::UpKind;
use pitlane_testkit::{Mosquitto, MosquittoConfig, TestPki, TlsListener};
use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::mqtt_support::{TestDevice, WAIT, eventually, scalar};

/// A broker with a plain listener (for devices) and a TLS listener serving `cert`/`key` that
/// requires client certificates signed by the PKI's CA.
async fn broker(pki: &TestPki, cert: &Path, key: &Path) -> Option<Mosquitto> {
    let config = MosquittoConfig::new()
        .max_queued_messages(0)
        .tls(TlsListener {
            ca_file: pki.ca.clone(),
            cert_file: cert.to_path_buf(),
            key_file: key.to_path_buf(),
            require_certificate: true,
        });
    let broker = Mosquitto::start(config).await;
    if broker.is_none() {
        eprintln!("skipped: mosquitto not installed");
    }
    broker
}

/// The cloud's settings for the TLS listener, as the CA's client.
fn over_tls(config: &mut Config, broker: &Mosquitto, pki: &TestPki) {
    let id = pitlane_cloud::devices::new_id();
    config.mqtt_url = Some(format!("mqtts://localhost:{}", broker.tls_port()));
    config.mqtt_client_id = format!("cloud-{id}");
    config.mqtt_share_group = format!("g{id}");
    config.mqtt_ca_file = Some(pki.ca.clone());
    config.mqtt_client_cert_file = Some(pki.client_cert.clone());
    config.mqtt_client_key_file = Some(pki.client_key.clone());
}

fn plain(broker: &Mosquitto) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], broker.port()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_over_tls_ingests_signed_reports() {
    let pki = TestPki::generate();
    let Some(broker) = broker(&pki, &pki.server_cert, &pki.server_key).await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite, |c| over_tls(c, &broker, &pki)).await;
    let mqtt = app.state.mqtt.as_ref().expect("MQTT layer");
    assert!(
        mqtt.wait_ready(WAIT).await,
        "the link never got ready over TLS; mosquitto logged:\n{}",
        broker.log()
    );
    let device = TestDevice::register(&app).await;
    let conn = device
        .connect_at(plain(&broker), &device.password)
        .await
        .expect("the device connects");
    let vin =
        json!({"vin": "5NPEB4AC9DH571382", "query": "functional0902", "check_digit_valid": true});
    conn.publish(UpKind::Vin, device.envelope(UpKind::Vin, vin))
        .await;
    let me = device.lower();
    eventually("the VIN report is stored", || async {
        let sql = "SELECT COUNT(*) FROM device_vin_reports WHERE device_address = $1";
        (scalar(&app, sql, &me).await == 1).then_some(())
    })
    .await;
    assert_eq!(mqtt.ingest_counts().stored, 1);
    drop(conn);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_certificate_from_another_ca_is_refused() {
    let pki = TestPki::generate();
    let Some(broker) = broker(&pki, &pki.other_server_cert, &pki.other_server_key).await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite, |c| over_tls(c, &broker, &pki)).await;
    // The cloud hangs up in each handshake, telling the broker it does not know its CA, and
    // keeps retrying.
    eventually("mosquitto logs two refused handshakes", || async {
        (broker.log().matches("alert unknown ca").count() >= 2).then_some(())
    })
    .await;
    let mqtt = app.state.mqtt.as_ref().expect("MQTT layer");
    assert!(!mqtt.is_ready(), "the link must not be up");
    app.stop().await;
}
