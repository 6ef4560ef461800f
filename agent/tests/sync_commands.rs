//! The agent service with an in-process simulated car against a private Mosquitto: signed VIN
//! and DTC reports arrive, a signed unlock command opens the car's doors, and replayed,
//! expired, foreign-signed, wrong-subject and stale commands are refused and never run.

mod sync_support;

use pitlane_agent::bus::{AnyBus, SimBus};
use pitlane_agent::config::Config;
use pitlane_agent::obd::{CanObd, Transport};
use pitlane_shared::command::{CommandResult, RejectCode, ResultStatus};
use pitlane_shared::envelope::SignedEnvelope;
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::topics::{self, DtcReport, VinReport};
use pitlane_sim::{Car, Scenario};
use rumqttc::QoS;
use sync_support::{Broker, Cloud, Subscriber, config_text, free_port, verified};

async fn result_for(sub: &mut Subscriber, device: Address, request_id: &str) -> CommandResult {
    let bytes = sub
        .next_where("up/result", |b| {
            SignedEnvelope::<CommandResult>::from_slice(b)
                .is_ok_and(|e| e.envelope().data.request_id == request_id)
        })
        .await;
    verified(&bytes, device)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_reports_the_car_and_runs_only_authentic_commands() {
    let Some(broker) = Broker::start(free_port()).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let device_key = DeviceKey::generate();
    let device = device_key.address();
    let cloud = Cloud {
        key: DeviceKey::generate(),
    };
    let text = config_text(
        &dir.path().join("agent.db"),
        &broker.url(),
        cloud.key.address(),
        600.0,
    );
    let config = Config::parse(&text, "test", |_| None).unwrap();
    let mut sub = Subscriber::start(broker.port, device).await;

    let car = Car::start(Scenario::default_car());
    assert!(car.body_state().doors_locked);
    let transport = Transport::Can(Box::new(CanObd::new(AnyBus::Sim(SimBus::attach(&car)))));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(async move {
        pitlane_agent::service::run(&config, device_key, transport, "sim://".into(), shutdown).await
    });

    let vin: VinReport = verified(&sub.next_where("up/vin", |_| true).await, device);
    assert_eq!(vin.vin, car.scenario().vin);
    let dtcs: DtcReport = verified(&sub.next_where("up/dtc", |_| true).await, device);
    let sim_codes: usize = car.dtcs().iter().map(|e| e.stored.len()).sum();
    let reported: usize = dtcs.stored.values().map(Vec::len).sum();
    assert_eq!(reported, sim_codes, "{dtcs:?}");

    let commander = sub.client.clone();
    let publish = |bytes: Vec<u8>| {
        let client = commander.clone();
        async move {
            client
                .publish(topics::command(device), QoS::AtLeastOnce, false, bytes)
                .await
                .unwrap();
        }
    };

    // An authentic unlock runs and is confirmed by the body module.
    let unlock = cloud.command(&cloud.key, device, "r1", "doors.unlock", 1, 60);
    publish(unlock.clone()).await;
    let r = result_for(&mut sub, device, "r1").await;
    assert_eq!(r.status, ResultStatus::Executed, "{r:?}");
    assert_eq!(r.state["doors_locked"], false);
    assert!(!car.body_state().doors_locked);

    // Lock again with a real command, so any wrongly run unlock below would show.
    publish(cloud.command(&cloud.key, device, "r2", "doors.lock", 2, 60)).await;
    let r = result_for(&mut sub, device, "r2").await;
    assert_eq!(r.status, ResultStatus::Executed, "{r:?}");
    assert!(car.body_state().doors_locked);

    let foreign = DeviceKey::generate();
    let cases = [
        (
            "replay of r1",
            unlock,
            "r1",
            ResultStatus::Rejected,
            RejectCode::Replayed,
        ),
        (
            "expired",
            cloud.command(&cloud.key, device, "r3", "doors.unlock", 3, -5),
            "r3",
            ResultStatus::Expired,
            RejectCode::Expired,
        ),
        (
            "foreign signer",
            cloud.command(&foreign, device, "r4", "doors.unlock", 4, 60),
            "r4",
            ResultStatus::Rejected,
            RejectCode::ForeignSigner,
        ),
        (
            "wrong subject",
            cloud.command(&cloud.key, foreign.address(), "r5", "doors.unlock", 5, 60),
            "r5",
            ResultStatus::Rejected,
            RejectCode::WrongSubject,
        ),
        (
            "stale seq",
            cloud.command(&cloud.key, device, "r6", "doors.unlock", 2, 60),
            "r6",
            ResultStatus::Rejected,
            RejectCode::StaleSeq,
        ),
        (
            "unknown action",
            cloud.command(&cloud.key, device, "r7", "horn.honk", 7, 60),
            "r7",
            ResultStatus::Rejected,
            RejectCode::UnknownAction,
        ),
    ];
    for (name, bytes, id, status, code) in cases {
        publish(bytes).await;
        let r = result_for(&mut sub, device, id).await;
        assert_eq!((r.status, r.code), (status, Some(code)), "{name}: {r:?}");
        assert!(r.reason.is_some_and(|s| !s.is_empty()), "{name}");
        assert!(car.body_state().doors_locked, "{name} unlocked the car");
    }
    assert_eq!(car.body_state().unknown_commands, 0);

    stop.send(true).unwrap();
    tokio::time::timeout(sync_support::WAIT, agent)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
