//! The SocketCAN path against the simulator bridged onto a `vcan` interface. Creating one
//! needs the `vcan` kernel module and CAP_NET_ADMIN; where either is missing (this CI kernel
//! has no SocketCAN at all) the test prints that it was skipped and why.

mod common;

use std::process::Command;

use common::{Sim, codes, probe_spec};
use pitlane_shared::obd::DtcKind;
use pitlane_sim::{Options, Scenario, Simulator};

/// A vcan interface that is deleted again on drop.
struct Vcan(String);

impl Vcan {
    fn create() -> Result<Self, String> {
        let name = format!("plvcan{}", std::process::id() % 100_000);
        let run = |args: &[&str]| -> Result<(), String> {
            let out = Command::new("ip")
                .args(args)
                .output()
                .map_err(|e| format!("cannot run `ip`: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "`ip {}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        run(&["link", "add", "dev", &name, "type", "vcan"])?;
        let vcan = Self(name);
        run(&["link", "set", "up", &vcan.0])?;
        Ok(vcan)
    }
}

impl Drop for Vcan {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_over_socketcan_matches_the_simulated_car() {
    let vcan = match Vcan::create() {
        Ok(v) => v,
        Err(why) => {
            eprintln!(
                "SKIPPED probe_over_socketcan_matches_the_simulated_car: no vcan here ({why})"
            );
            return;
        }
    };
    let options = Options {
        scenario: Scenario::default_car(),
        slcan_pty: None,
        elm327_pty: None,
        elm327_tcp: None,
        socketcand: None,
        socketcan: Some(vcan.0.clone()),
    };
    let sim = Sim {
        sim: Simulator::start(options).await.unwrap(),
        dir: tempfile::tempdir().unwrap(),
    };
    let report = probe_spec(&format!("socketcan://{}", vcan.0))
        .await
        .unwrap();
    assert_eq!(
        report.vin.as_ref().unwrap().vin,
        sim.sim.car().scenario().vin
    );
    for kind in [DtcKind::Stored, DtcKind::Pending, DtcKind::Permanent] {
        assert_eq!(codes(&report, kind), sim.expected_codes(kind));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_missing_interface_is_a_clear_error() {
    let err = probe_spec("socketcan://pitlane-none0").await.unwrap_err();
    assert!(
        err.contains("SocketCAN interface `pitlane-none0` is not available"),
        "{err}"
    );
}
