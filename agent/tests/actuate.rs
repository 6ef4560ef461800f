//! Body actuation against the simulator's body module: the shipped `pitlane-sim` profile
//! changes the simulated state and reports it, in-process and through the binary over
//! socketcand and SLCAN; a body module that ignores commands gives a clear timeout.

mod common;

use std::process::Command;

use common::{PATIENCE, Sim, scenario};
use pitlane_agent::actuate::{self, Action, ActuateError, NoRelays, Profile};
use pitlane_agent::bus::SimBus;
use pitlane_sim::Scenario;

/// Whether the simulated body is in the state an action asked for.
type BodyCheck = fn(&pitlane_sim::BodyState) -> bool;

fn profile_path() -> String {
    format!("{}/profiles/pitlane-sim.toml", env!("CARGO_MANIFEST_DIR"))
}

fn profile() -> Profile {
    Profile::load(std::path::Path::new(&profile_path())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_changes_the_simulated_body_and_reports_it() {
    let sim = Sim::start(Scenario::default_car()).await;
    let car = sim.sim.car();
    let profile = profile();
    let mut bus = SimBus::attach(car);
    assert!(car.body_state().doors_locked);
    let checks: [(Action, &str, bool, BodyCheck); 4] = [
        (Action::DoorsUnlock, "doors_locked", false, |b| {
            !b.doors_locked
        }),
        (Action::DoorsLock, "doors_locked", true, |b| b.doors_locked),
        (Action::TrunkOpen, "trunk_open", true, |b| b.trunk_open),
        (Action::FrunkOpen, "frunk_open", true, |b| b.frunk_open),
    ];
    for (action, field, value, holds) in checks {
        let outcome = tokio::time::timeout(
            PATIENCE,
            actuate::execute(&profile, action, &mut bus, &mut NoRelays),
        )
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!(outcome.state[field], value, "{action}: {outcome:?}");
        assert!(outcome.status_frame.starts_with("2F1#"), "{outcome:?}");
        assert!(holds(&car.body_state()), "{action}: {:?}", car.body_state());
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_actuates_over_socketcand_and_slcan() {
    let sim = Sim::start(Scenario::default_car()).await;
    let bin = env!("CARGO_BIN_EXE_pitlane-agent");
    for (name, action, field) in [
        ("socketcand", "doors.unlock", "doors_locked=false"),
        ("slcan-pty", "trunk.open", "trunk_open=true"),
    ] {
        let spec = sim.spec(name);
        let args = vec![
            "actuate".to_owned(),
            "--bus".to_owned(),
            spec,
            "--profile".to_owned(),
            profile_path(),
            action.to_owned(),
        ];
        let out = tokio::task::spawn_blocking(move || Command::new(bin).args(&args).output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(field), "{name}: {stdout}");
    }
    let body = sim.sim.car().body_state();
    assert!(!body.doors_locked && body.trunk_open, "{body:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignoring_body_module_times_out_with_a_reason() {
    let sim = Sim::start(scenario(|s| s.body.ignore_commands = true)).await;
    let mut bus = SimBus::attach(sim.sim.car());
    let err = tokio::time::timeout(
        PATIENCE,
        actuate::execute(&profile(), Action::DoorsUnlock, &mut bus, &mut NoRelays),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(matches!(err, ActuateError::NotConfirmed { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("doors.unlock not confirmed"), "{text}");
    assert!(text.contains("`doors_locked` stayed true"), "{text}");
    assert!(sim.sim.car().body_state().ignored_commands >= 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn actuating_through_an_elm327_is_refused_clearly() {
    let bin = env!("CARGO_BIN_EXE_pitlane-agent");
    let out = Command::new(bin)
        .args([
            "actuate",
            "--bus",
            "elm327+tcp://127.0.0.1:9",
            "--profile",
            &profile_path(),
            "doors.lock",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a raw CAN bus"), "{err}");
}
