//! Helpers for the agent's integration tests: a `pitlane-sim` simulator run in-process with
//! every adapter (SLCAN pty, ELM327 pty and TCP, socketcand on port 0), and the bus specs that
//! reach each of them.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use pitlane_agent::bus::SimBus;
use pitlane_agent::obd::probe::{ProbeReport, probe};
use pitlane_agent::obd::{CanObd, ObdClient, ObdError, Transport};
use pitlane_shared::obd::DtcKind;
use pitlane_sim::{Endpoint, Options, Scenario, Simulator};

/// Upper bound for any single wait in a test; generous for a loaded two-core machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running simulator and the temp dir holding its pty links.
pub struct Sim {
    pub sim: Simulator,
    pub dir: tempfile::TempDir,
}

impl Sim {
    /// Starts `scenario` with every adapter this machine can offer.
    pub async fn start(scenario: Scenario) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            scenario,
            slcan_pty: Some(dir.path().join("slcan")),
            elm327_pty: Some(dir.path().join("elm327")),
            elm327_tcp: Some("127.0.0.1:0".parse().unwrap()),
            socketcand: Some("127.0.0.1:0".parse().unwrap()),
            socketcan: None,
        };
        let sim = Simulator::start(options).await.unwrap();
        Self { sim, dir }
    }

    /// The bus spec of every transport except in-process, by name.
    pub fn specs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for e in self.sim.endpoints() {
            match e {
                Endpoint::SlcanPty { device, .. } => out.push((
                    "slcan-pty",
                    format!("slcan://{}?baud=115200&bitrate=500000", path(device)),
                )),
                Endpoint::Elm327Pty { device, .. } => out.push((
                    "elm327-pty",
                    format!("elm327://{}?baud=38400", path(device)),
                )),
                Endpoint::Elm327Tcp(addr) => {
                    out.push(("elm327-tcp", format!("elm327+tcp://{addr}")))
                }
                Endpoint::Socketcand(addr) => {
                    out.push(("socketcand", format!("socketcand://{addr}/can0")))
                }
                Endpoint::SocketCan(_) => {}
            }
        }
        out
    }

    pub fn spec(&self, name: &str) -> String {
        self.specs()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no {name} endpoint"))
            .1
    }

    /// An OBD client on the simulator's bus, in-process.
    pub fn in_process(&self) -> ObdClient<CanObd<SimBus>> {
        ObdClient::new(CanObd::new(SimBus::attach(self.sim.car())))
    }

    /// The stored/pending/permanent codes the simulated car holds, as (ECU id, code) pairs.
    pub fn expected_codes(&self, kind: DtcKind) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for ecu in self.sim.car().dtcs() {
            let codes = match kind {
                DtcKind::Stored => &ecu.stored,
                DtcKind::Pending => &ecu.pending,
                DtcKind::Permanent => &ecu.permanent,
            };
            for c in codes {
                out.push((format!("{:03X}", ecu.response_id), c.to_string()));
            }
        }
        out.sort();
        out
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

fn path(p: &std::path::Path) -> String {
    PathBuf::from(p).display().to_string()
}

/// Opens `spec` and probes it once, bounded by [`PATIENCE`].
pub async fn probe_spec(spec: &str) -> Result<ProbeReport, String> {
    let run = async {
        let spec = spec.parse().map_err(|e| format!("{e}"))?;
        let transport = Transport::open(&spec).await.map_err(|e| e.to_string())?;
        let mut client = ObdClient::new(transport);
        probe(&mut client)
            .await
            .map_err(|e: ObdError| e.to_string())
    };
    tokio::time::timeout(PATIENCE, run)
        .await
        .unwrap_or_else(|_| Err(format!("{spec}: no result within {PATIENCE:?}")))
}

/// A scenario from the default one, changed by `edit`.
pub fn scenario(edit: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut s = Scenario::default_car();
    edit(&mut s);
    s
}

/// Sorted codes of one list in a report.
pub fn codes(report: &ProbeReport, kind: DtcKind) -> Vec<(String, String)> {
    let mut c = report.codes(kind);
    c.sort();
    c
}
