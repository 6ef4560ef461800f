//! The OBD client's memory and fallbacks against the simulator: the VIN query that worked is
//! remembered and tried first; a 29-bit car is found by the 29-bit discovery and its VIN by
//! the fallback chain; service 04 clears stored and pending codes but not permanent ones.

mod common;

use common::{PATIENCE, Sim, scenario};
use pitlane_agent::obd::VinQuery;
use pitlane_agent::obd::probe::probe;
use pitlane_shared::can::CanId;
use pitlane_shared::obd::DtcKind;
use pitlane_sim::Scenario;
use pitlane_sim::scenario::Addressing;

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f)
        .await
        .expect("no result within PATIENCE")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vin_query_that_worked_is_remembered_and_tried_first() {
    let sim = Sim::start(Scenario::default_car()).await;
    let vin = sim.sim.car().scenario().vin.clone();
    let mut client = sim.in_process();
    assert_eq!(client.vin_query(), None);
    let (got, query) = bounded(client.vin()).await.unwrap();
    assert_eq!(
        (got.as_str(), query),
        (vin.as_str(), VinQuery::Functional0902)
    );
    assert_eq!(client.vin_query(), Some(VinQuery::Functional0902));

    // A query remembered from an earlier run (e.g. the agent's store) goes first.
    let mut client = sim.in_process().with_vin_query(Some(VinQuery::UdsF190));
    let (got, query) = bounded(client.vin()).await.unwrap();
    assert_eq!((got.as_str(), query), (vin.as_str(), VinQuery::UdsF190));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_29_bit_car_is_discovered_and_its_vin_found_down_the_chain() {
    let sim = Sim::start(scenario(|s| s.addressing = Addressing::Extended)).await;
    let vin = sim.sim.car().scenario().vin.clone();
    let mut client = sim.in_process();
    let report = bounded(probe(&mut client)).await.unwrap();
    assert!(
        client.ecus().iter().all(|id| id.is_extended()),
        "{:?}",
        client.ecus()
    );
    assert!(client.ecus().contains(&CanId::Extended(0x18DA_F110)));
    let v = report.vin.as_ref().expect("VIN");
    assert_eq!(
        (v.vin.as_str(), v.query),
        (vin.as_str(), VinQuery::Extended0902)
    );
    assert_eq!(
        report.codes(DtcKind::Stored).len(),
        sim.expected_codes(DtcKind::Stored).len()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_codes_leaves_only_the_permanent_ones() {
    let sim = Sim::start(Scenario::default_car()).await;
    let mut client = sim.in_process();
    bounded(client.discover()).await.unwrap();
    let cleared = bounded(client.clear_dtcs()).await.unwrap();
    assert_eq!(cleared.len(), client.ecus().len());
    assert!(cleared.values().all(Result::is_ok), "{cleared:?}");
    for kind in [DtcKind::Stored, DtcKind::Pending] {
        let left = bounded(client.dtcs(kind)).await.unwrap();
        assert!(
            left.values().all(|c| c.as_ref().is_ok_and(Vec::is_empty)),
            "{kind:?}: {left:?}"
        );
    }
    let permanent = bounded(client.dtcs(DtcKind::Permanent)).await.unwrap();
    let engine = permanent[&CanId::Standard(0x7E8)].as_ref().unwrap();
    assert_eq!(engine.len(), sim.expected_codes(DtcKind::Permanent).len());
    sim.shutdown().await;
}
