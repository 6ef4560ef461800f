//! `probe` against the simulator over every transport (in-process, SLCAN pty, ELM327 pty,
//! ELM327 TCP, socketcand) reads the same VIN and trouble codes — the ones the simulated car
//! holds — both as a library call and through the real `pitlane-agent` binary.

mod common;

use std::process::Command;

use common::{PATIENCE, Sim, codes, probe_spec, scenario};
use pitlane_agent::obd::probe::probe;
use pitlane_shared::obd::DtcKind;
use pitlane_sim::Scenario;

const KINDS: [DtcKind; 3] = [DtcKind::Stored, DtcKind::Pending, DtcKind::Permanent];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_reads_the_same_vin_and_codes() {
    let sim = Sim::start(Scenario::default_car()).await;
    let vin = sim.sim.car().scenario().vin.clone();

    let mut client = sim.in_process();
    let reference = tokio::time::timeout(PATIENCE, probe(&mut client))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reference.vin.as_ref().unwrap().vin, vin);
    assert!(reference.vin.as_ref().unwrap().check_digit_valid);
    assert_eq!(reference.ecus.len(), sim.sim.car().dtcs().len());
    for kind in KINDS {
        assert_eq!(
            codes(&reference, kind),
            sim.expected_codes(kind),
            "{kind:?}"
        );
    }
    assert!(reference.errors.is_empty(), "{:?}", reference.errors);
    let engine = &reference.pids["7E8"];
    assert!(
        engine
            .values
            .iter()
            .any(|v| v.pid == "0C" && v.unit == "rpm")
    );

    let specs = sim.specs();
    assert_eq!(specs.len(), 4, "{specs:?}");
    for (name, spec) in specs {
        let report = probe_spec(&spec)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.vin, reference.vin, "{name}");
        let ids = |r: &pitlane_agent::obd::probe::ProbeReport| {
            r.ecus.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&report), ids(&reference), "{name}");
        for kind in KINDS {
            assert_eq!(
                codes(&report, kind),
                codes(&reference, kind),
                "{name} {kind:?}"
            );
        }
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_the_json_contract_and_a_table() {
    let sim = Sim::start(scenario(|s| s.vin = "1HGCM82633A004352".into())).await;
    let spec = sim.spec("socketcand");
    let bin = env!("CARGO_BIN_EXE_pitlane-agent");
    let out = tokio::task::spawn_blocking({
        let spec = spec.clone();
        move || {
            Command::new(bin)
                .args(["probe", "--bus", &spec, "--json"])
                .output()
        }
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["vin"]["vin"], "1HGCM82633A004352");
    assert_eq!(json["vin"]["check_digit_valid"], true);
    for key in ["ecus", "dtcs", "pids"] {
        assert!(json.get(key).is_some(), "no `{key}` in {json}");
    }
    let stored = &json["dtcs"]["stored"]["7E8"];
    let first = &stored[0];
    assert_eq!(first["code"], "P0301");
    assert!(first["description"].as_str().unwrap().contains("Misfire"));
    assert!(json["dtcs"]["pending"]["7EA"][0]["code"] == "C0035");

    let table = tokio::task::spawn_blocking(move || {
        Command::new(bin).args(["probe", "--bus", &spec]).output()
    })
    .await
    .unwrap()
    .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    assert!(text.contains("1HGCM82633A004352"), "{text}");
    assert!(text.contains("P0420"), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_binary_fails_clearly_on_a_bad_spec_and_an_unreachable_bus() {
    let bin = env!("CARGO_BIN_EXE_pitlane-agent");
    let check = |spec: &str, fragment: &str| {
        let out = Command::new(bin)
            .args(["probe", "--bus", spec])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{spec}");
        assert!(err.contains(fragment), "{spec}: {err}");
    };
    check("serial:///dev/ttyUSB0", "unknown scheme");
    check("slcan:///nonexistent/tty", "cannot open serial port");
    check(
        "socketcan://pitlane-none0",
        "SocketCAN interface `pitlane-none0`",
    );
}
