//! The VIN read retry: a car whose ECUs leave the first VIN requests unanswered (a gateway
//! that is not awake yet) still gets its VIN reported within seconds, although the next
//! regular read (`vin_secs = 600`) is ten minutes away.

mod sync_support;

use pitlane_agent::bus::{AnyBus, SimBus};
use pitlane_agent::config::Config;
use pitlane_agent::obd::{CanObd, Transport};
use pitlane_shared::identity::DeviceKey;
use pitlane_shared::topics::VinReport;
use pitlane_sim::{Car, Scenario};
use sync_support::{Broker, Subscriber, config_text, free_port, verified};

/// One failed read asks the engine ECU three times (09 02 functional, 09 02 physical,
/// 22 F190; the 29-bit query does not reach an 11-bit car), so four ignored requests make
/// the whole first read fail and the first question of the second one go unanswered too.
const IGNORED: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vin_that_did_not_answer_at_first_is_reported_after_a_retry() {
    let Some(broker) = Broker::start(free_port()).await else {
        return;
    };
    let key = DeviceKey::generate();
    let device = key.address();
    let mut sub = Subscriber::start(broker.port, device).await;
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(
        &dir.path().join("agent.db"),
        &broker.url(),
        DeviceKey::generate().address(),
        600.0,
    );
    assert!(
        text.contains("vin_secs = 600"),
        "the test needs a long VIN interval"
    );
    let config = Config::parse(&text, "test", |_| None).unwrap();
    let mut scenario = Scenario::default_car();
    for ecu in &mut scenario.ecus {
        ecu.faults.ignore_vin_requests = IGNORED;
    }
    let vin = scenario.vin.clone();
    let car = Car::start(scenario);
    let transport = Transport::Can(Box::new(CanObd::new(AnyBus::Sim(SimBus::attach(&car)))));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let agent = tokio::spawn(async move {
        pitlane_agent::service::run(&config, key, transport, "sim://".into(), shutdown).await
    });

    // Without the retry the VIN would come only after `vin_secs`: the wait below (60 s)
    // would run out first.
    let bytes = sub.next_where("up/vin", |_| true).await;
    let report: VinReport = verified(&bytes, device);
    assert_eq!(report.vin, vin);
    assert!(report.check_digit_valid);

    stop.send(true).unwrap();
    agent.await.unwrap().unwrap();
    drop(car);
}
