//! Each simulator fault gives the agent's documented outcome within its timeout:
//!
//! | fault | outcome |
//! |---|---|
//! | ECU answers after P2 | the ECU is missed by discovery; a physical request gets `NoAnswer` naming ECU and request |
//! | `7F xx 78` before the answer | the client waits P2* and reads the answer |
//! | dropped consecutive frame | `Reception` error naming the ECU, the request and the ISO-TP failure |
//! | ECU sends no flow control | the driver's `Send(FlowControlTimeout)` after N_Bs |
//! | ECU ignores our flow control | `Reception` error: no consecutive frame within N_Cr |
//! | garbage on the serial line | skipped; the probe reads the same VIN and codes |
//! | ELM327 TCP adapter vanishes mid-answer | the client reconnects, re-inits and retries once |
//! | pty adapter vanishes for good | the request fails with "went away" / "closed" |

mod common;

use common::{PATIENCE, Sim, codes, probe_spec, scenario};
use pitlane_agent::elm327::{Connector, Elm327Client, ElmConfig};
use pitlane_agent::isotp::{self, DriverError, Target};
use pitlane_agent::obd::{ObdClient, ObdError};
use pitlane_shared::can::CanId;
use pitlane_shared::can::isotp::{Config, IsoTpError};
use pitlane_shared::obd::DtcKind;
use pitlane_sim::Scenario;
use pitlane_sim::scenario::{AdapterFaults, EcuFaults};
use std::time::Duration;

const ENGINE: CanId = CanId::Standard(0x7E8);

fn engine_fault(faults: EcuFaults) -> Scenario {
    scenario(|s| s.ecus[0].faults = faults)
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f)
        .await
        .expect("no result within PATIENCE")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_ecu_is_missed_and_reported_by_id_and_request() {
    let sim = Sim::start(engine_fault(EcuFaults {
        response_delay_ms: 400,
        ..Default::default()
    }))
    .await;
    let mut client = sim.in_process();
    let ecus = bounded(client.discover()).await.unwrap();
    assert!(!ecus.contains(&ENGINE), "{ecus:?}");
    let err = bounded(client.read_pids(ENGINE, &[0x0C]))
        .await
        .unwrap_err();
    assert!(matches!(err, ObdError::NoAnswer { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("7E8") && text.contains("01 0C"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_pending_is_waited_out_on_can_and_elm327() {
    let sim = Sim::start(engine_fault(EcuFaults {
        pending_responses: 3,
        ..Default::default()
    }))
    .await;
    let vin = sim.sim.car().scenario().vin.clone();
    let mut client = sim.in_process();
    bounded(client.discover()).await.unwrap();
    let (got, _) = bounded(client.vin()).await.unwrap();
    assert_eq!(got.as_str(), vin);
    let report = probe_spec(&sim.spec("elm327-tcp")).await.unwrap();
    assert_eq!(report.vin.unwrap().vin, vin);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_consecutive_frame_names_the_ecu_and_request() {
    let sim = Sim::start(engine_fault(EcuFaults {
        drop_consecutive_frame: Some(2),
        ..Default::default()
    }))
    .await;
    let mut client = sim.in_process();
    bounded(client.discover()).await.unwrap();
    let err = bounded(client.vin()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ObdError::NoVin { .. }), "{text}");
    assert!(text.contains("ECU 7E8"), "{text}");
    assert!(text.contains("09 02"), "{text}");
    assert!(text.contains("consecutive frame"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_flow_control_times_out_after_n_bs() {
    let sim = Sim::start(engine_fault(EcuFaults {
        no_flow_control: true,
        ..Default::default()
    }))
    .await;
    let mut bus = pitlane_agent::bus::SimBus::attach(sim.sim.car());
    let config = Config::default();
    // A 20-byte request needs flow control from the engine ECU.
    let mut payload = vec![0x22];
    payload.extend([0xF1, 0x90].repeat(9));
    payload.push(0x00);
    let target = Target::Physical { response: ENGINE };
    let err = bounded(isotp::request(
        &mut bus,
        &config,
        target,
        &payload,
        Some(1),
        Duration::from_millis(100),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            DriverError::Send(IsoTpError::FlowControlTimeout { .. })
        ),
        "{err}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ecu_ignoring_flow_control_fails_after_n_cr() {
    let sim = Sim::start(engine_fault(EcuFaults {
        ignore_flow_control: true,
        ..Default::default()
    }))
    .await;
    let mut client = sim.in_process();
    bounded(client.discover()).await.unwrap();
    let err = bounded(client.vin()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no consecutive frame on 7E8"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_serial_line_is_skipped() {
    let sim = Sim::start(scenario(|s| {
        s.faults = AdapterFaults {
            garbage_on_serial: true,
            ..Default::default()
        }
    }))
    .await;
    let vin = sim.sim.car().scenario().vin.clone();
    for name in ["slcan-pty", "elm327-pty"] {
        let report = probe_spec(&sim.spec(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.vin.as_ref().unwrap().vin, vin, "{name}");
        for kind in [DtcKind::Stored, DtcKind::Pending, DtcKind::Permanent] {
            assert_eq!(codes(&report, kind), sim.expected_codes(kind), "{name}");
        }
    }
    sim.shutdown().await;
}

fn vanishing(n: u32) -> Scenario {
    scenario(|s| {
        s.faults = AdapterFaults {
            vanish_mid_answer: Some(n),
            ..Default::default()
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_elm327_client_reconnects_after_a_tcp_adapter_vanishes() {
    let sim = Sim::start(vanishing(12)).await;
    let vin = sim.sim.car().scenario().vin.clone();
    let addr = sim.spec("elm327-tcp");
    let addr = addr.trim_start_matches("elm327+tcp://");
    let (host, port) = addr.rsplit_once(':').unwrap();
    let connector = Connector::Tcp {
        host: host.to_owned(),
        port: port.parse().unwrap(),
    };
    let elm = bounded(Elm327Client::connect(connector, ElmConfig::default()))
        .await
        .unwrap();
    let mut client = ObdClient::new(elm);
    let report = bounded(pitlane_agent::obd::probe::probe(&mut client))
        .await
        .unwrap();
    assert_eq!(client.transport().reconnects(), 1);
    assert_eq!(report.vin.unwrap().vin, vin);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pty_adapter_that_vanishes_for_good_fails_the_requests() {
    let sim = Sim::start(vanishing(12)).await;
    for (name, fragment) in [("elm327-pty", "went away"), ("slcan-pty", "SLCAN")] {
        let outcome = probe_spec(&sim.spec(name)).await;
        let errors = match outcome {
            Ok(report) => report.errors,
            Err(e) => vec![e],
        };
        assert!(
            errors.iter().any(|e| e.contains(fragment)),
            "{name}: {errors:?}"
        );
    }
    sim.shutdown().await;
}
