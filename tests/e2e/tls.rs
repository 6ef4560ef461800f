//! The whole system over TLS: a real Mosquitto with a TLS listener only (certificates from a
//! throwaway CA), the cloud's link and the car's agent both reaching it at `mqtts://` with the
//! CA file `pitlane up` hands to both. The journey then claims and pairs the device (the device
//! signs over MQTT), creates the vehicle from the VIN the agent reported, and the car unlocks
//! and locks: every MQTT hop crossed TLS, because there was no other way to the broker.

use std::time::Duration;

use pitlane::fleet::CarFiles;
use pitlane_testkit::{Mosquitto, MosquittoConfig, TestPki, TlsListener};

use crate::support::{WAIT, options, start};

const POLL: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_and_cloud_meet_over_mqtts_and_the_car_obeys() {
    let pki = TestPki::generate();
    let config = MosquittoConfig::new()
        .max_queued_messages(0)
        .without_plain()
        .tls(TlsListener {
            ca_file: pki.ca.clone(),
            cert_file: pki.server_cert.clone(),
            key_file: pki.server_key.clone(),
            require_certificate: false,
        });
    let Some(broker) = Mosquitto::start(config).await else {
        eprintln!("skipped: mosquitto not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = options(&dir, 1);
    opts.mqtt_url = Some(format!("mqtts://localhost:{}", broker.tls_port()));
    opts.mqtt_ca_file = Some(pki.ca.clone());
    let stack = start(opts, dir).await;

    let written = std::fs::read_to_string(CarFiles::new(stack.dir.path(), 0).agent_config())
        .expect("the car's agent configuration");
    let agent: toml::Table = written.parse().expect("agent TOML");
    assert_eq!(
        agent["mqtt"]["url"].as_str(),
        Some(format!("mqtts://localhost:{}", broker.tls_port()).as_str())
    );
    assert_eq!(
        agent["mqtt"]["ca_file"].as_str(),
        pki.ca.to_str(),
        "the agent trusts the broker's CA"
    );

    let owner = stack.own(0).await;
    let car = stack.running.cars[0].clone();
    for (action, locked) in [("doors/unlock", false), ("doors/lock", true)] {
        let id = stack
            .api
            .command(&owner.privilege, owner.vehicle, action)
            .await
            .expect("command");
        let outcome = stack
            .api
            .wait_command(&owner.privilege, owner.vehicle, &id, POLL, WAIT)
            .await
            .expect("final status");
        assert_eq!(outcome.status, "executed", "{action}: {}", outcome.body);
        assert_eq!(car.body_state().doors_locked, locked, "after {action}");
    }
    stack.running.stop().await;
}
