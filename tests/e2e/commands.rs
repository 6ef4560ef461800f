//! Commands under attack and outage: a captured command envelope replayed is refused and never
//! runs again, tampered envelopes are dropped (and counted by the cloud), and a command sent
//! to an offline car expires and is never executed when the car comes back.

use std::time::Duration;

use pitlane::fleet::{CarFiles, SimDevice};
use pitlane_shared::topics::{self, UpKind};
use serde_json::Value;

use crate::support::{Spy, WAIT, options, start, with_config};

const POLL: Duration = Duration::from_millis(50);

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

fn is_request(bytes: &[u8], request_id: &str) -> bool {
    json(bytes)["data"]["request_id"] == request_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_tampered_commands_never_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = start(options(&dir, 1), dir).await;
    let owner = stack.own(0).await;
    let device = stack.running.devices[0].address;
    let car = stack.running.cars[0].clone();
    let mut spy = Spy::start(
        &stack,
        &[topics::command(device), topics::up(device, UpKind::Result)],
    )
    .await;
    let run = |action: &'static str| {
        let (api, token, vehicle) = (stack.api.clone(), owner.privilege.clone(), owner.vehicle);
        async move {
            let id = api.command(&token, vehicle, action).await.expect("command");
            let outcome = api
                .wait_command(&token, vehicle, &id, POLL, WAIT)
                .await
                .expect("final status");
            assert_eq!(outcome.status, "executed", "{}", outcome.body);
            id
        }
    };

    let unlock = run("doors/unlock").await;
    let captured = spy.next("down/command", |b| is_request(b, &unlock)).await;
    run("doors/lock").await;
    assert!(car.body_state().doors_locked);

    // The captured unlock, sent again by someone on the broker: refused as a replay.
    spy.publish(topics::command(device), captured.clone()).await;
    let answer = spy
        .next("up/result", |b| {
            is_request(b, &unlock) && json(b)["data"]["status"] == "rejected"
        })
        .await;
    assert_eq!(json(&answer)["data"]["code"], "replayed");

    // The same envelope with its action changed: the signature no longer matches.
    let mut forged = json(&captured);
    forged["data"]["request_id"] = "forged-request".into();
    spy.publish(topics::command(device), forged.to_string().into_bytes())
        .await;
    let answer = spy
        .next("up/result", |b| is_request(b, "forged-request"))
        .await;
    assert_eq!(json(&answer)["data"]["status"], "rejected");
    assert_eq!(json(&answer)["data"]["code"], "foreign_signer");

    assert!(
        car.body_state().doors_locked,
        "neither envelope unlocked the car"
    );
    let status = stack
        .api
        .command_status(&owner.privilege, owner.vehicle, &unlock)
        .await
        .expect("status");
    assert_eq!(
        status["status"], "executed",
        "a replay's answer changes nothing: {status}"
    );
    stack.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_device_envelopes_are_dropped_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = start(options(&dir, 1), dir).await;
    let owner = stack.own(0).await;
    let device = stack.running.devices[0].address;
    let serial = stack.running.devices[0].serial.clone();
    let mut spy = Spy::start(&stack, &[topics::up(device, UpKind::Status)]).await;
    // The retained status, as the device signed it.
    let genuine = spy
        .next("up/status", |b| json(b)["data"]["state"] == "online")
        .await;

    let forged_before = stack
        .metric("pitlane_mqtt_messages_total{outcome=\"forged\"}")
        .await;
    let mut tampered = json(&genuine);
    tampered["id"] = "6d5b3a4e-0f1c-4d8e-9a77-1b2c3d4e5f60".into();
    tampered["data"]["firmware"] = "9.9.9-evil".into();
    spy.publish(
        topics::up(device, UpKind::Status),
        tampered.to_string().into_bytes(),
    )
    .await;

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let forged = stack
            .metric("pitlane_mqtt_messages_total{outcome=\"forged\"}")
            .await;
        if forged > forged_before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the forgery is counted"
        );
        tokio::time::sleep(POLL).await;
    }
    let status = stack
        .api
        .device_status(&owner.access, &serial)
        .await
        .expect("status");
    assert_ne!(status["firmware"], "9.9.9-evil", "never applied: {status}");
    assert_eq!(status["firmware"], json(&genuine)["data"]["firmware"]);
    stack.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_to_an_offline_car_expires_and_never_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_owned();
    let opts = with_config(options(&dir, 1), |c| c.command_ttl_secs = 2);
    let mut stack = start(opts, dir).await;
    let owner = stack.own(0).await;
    let car = stack.running.cars[0].clone();

    let agent = stack.running.devices.remove(0);
    agent.stop().await.expect("agent stops cleanly");
    let unlock = stack
        .api
        .command(&owner.privilege, owner.vehicle, "doors/unlock")
        .await
        .expect("accepted while the car is away");
    let outcome = stack
        .api
        .wait_command(&owner.privilege, owner.vehicle, &unlock, POLL, WAIT)
        .await
        .expect("final status");
    assert_eq!(outcome.status, "expired", "{}", outcome.body);

    // The car comes back: whatever the broker kept for it, the stale unlock never runs.
    let files = CarFiles::new(&data_dir, 0);
    let key = files.load_or_create_key().expect("key");
    let agent = SimDevice::start(0, car.clone(), &files, key)
        .await
        .expect("agent restarts");
    stack.running.devices.push(agent);
    let trunk = stack
        .api
        .command(&owner.privilege, owner.vehicle, "trunk/open")
        .await
        .expect("command");
    let later = stack
        .api
        .wait_command(&owner.privilege, owner.vehicle, &trunk, POLL, WAIT)
        .await
        .expect("final status");
    assert_eq!(later.status, "executed", "{}", later.body);
    assert!(
        car.body_state().doors_locked,
        "the expired unlock never ran"
    );
    let status = stack
        .api
        .command_status(&owner.privilege, owner.vehicle, &unlock)
        .await
        .expect("status");
    assert_eq!(status["status"], "expired", "{status}");
    stack.running.stop().await;
}
