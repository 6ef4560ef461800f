//! Simulated cars with their agents, in-process: each car is a `pitlane-sim` vehicle with its
//! own VIN, and its agent is the real device service reading that car over an in-process bus
//! and syncing with the cloud's broker like any device.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pitlane_agent::bus::{AnyBus, SimBus};
use pitlane_agent::config::Config as AgentConfig;
use pitlane_agent::obd::{CanObd, Transport};
use pitlane_agent::service::ServiceError;
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::obd::Vin;
use pitlane_sim::{Car, Scenario};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The actuation profile matching the simulator's body module.
const SIM_PROFILE: &str = include_str!("../agent/profiles/pitlane-sim.toml");

/// Why a car or its agent could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("device key {path}: {source}")]
    Key {
        path: PathBuf,
        source: pitlane_shared::identity::KeyFileError,
    },
    #[error("agent configuration of car {index}: {source}")]
    Config {
        index: usize,
        source: pitlane_agent::config::ConfigError,
    },
    #[error("the simulator's VIN {0:?} cannot be varied: {1}")]
    Vin(String, String),
    #[error(
        "{cars} cars need about {needed} open files, but the limit is {hard} \
         (raise it: `ulimit -n {needed}`, or LimitNOFILE= in a systemd unit)"
    )]
    FileLimit { cars: usize, needed: u64, hard: u64 },
}

/// Open files one in-process car costs: its agent's MQTT socket and the broker's end of it,
/// the agent store (database, WAL and shared-memory index), with room to spare.
const FILES_PER_CAR: u64 = 8;
/// Open files of everything else (the cloud's database, listeners, HTTP clients).
const FILES_BASE: u64 = 256;

/// Raises this process's soft limit on open files to what `cars` in-process cars need, up
/// to the hard limit; fails (saying what to do) when the hard limit is lower.
pub fn raise_fd_limit(cars: usize) -> Result<(), FleetError> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let needed = FILES_BASE + FILES_PER_CAR * cars as u64;
    let limit = getrlimit(Resource::Nofile);
    // None: unlimited.
    if limit.current.is_none_or(|soft| soft >= needed) {
        return Ok(());
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if hard < needed {
        return Err(FleetError::FileLimit { cars, needed, hard });
    }
    let raised = rustix::process::Rlimit {
        current: Some(needed),
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised).map_err(|e| FleetError::Io {
        path: PathBuf::from("RLIMIT_NOFILE"),
        source: e.into(),
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FleetError + '_ {
    move |source| FleetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The VIN of car `index`: the default scenario's VIN with its serial part (positions 12–17)
/// advanced by `index` and the check digit (position 9) recomputed, so every car is distinct,
/// decodes like the original, and passes the check-digit rule.
pub fn vin_for_car(base: &str, index: usize) -> Result<String, FleetError> {
    let bad = |why: &str| FleetError::Vin(base.to_owned(), why.to_owned());
    let vin = Vin::parse(base).map_err(|e| bad(&e.to_string()))?;
    let text = vin.as_str();
    let serial: u64 = text[11..]
        .parse()
        .map_err(|_| bad("positions 12–17 are not digits"))?;
    let serial = (serial + index as u64) % 1_000_000;
    let candidate = format!("{}0{}{serial:06}", &text[..8], &text[9..11]);
    let digit = Vin::parse(&candidate)
        .map_err(|e| bad(&e.to_string()))?
        .check_digit()
        .expected;
    Ok(format!("{}{digit}{}", &candidate[..8], &candidate[9..]))
}

/// The serial number of car `index`'s device.
pub fn serial_for_car(index: usize) -> String {
    format!("PITLANE-SIM-{:05}", index + 1)
}

/// The default scenario with car `index`'s VIN.
pub fn scenario_for_car(index: usize) -> Result<Scenario, FleetError> {
    let mut scenario = Scenario::default_car();
    scenario.vin = vin_for_car(&scenario.vin, index)?;
    scenario.name = format!("{} #{}", scenario.name, index + 1);
    Ok(scenario)
}

/// Where a car's files live: `<data dir>/cars/<n>/{device.key,agent.toml,agent.db}`.
#[derive(Debug, Clone)]
pub struct CarFiles {
    pub dir: PathBuf,
}

impl CarFiles {
    pub fn new(data_dir: &Path, index: usize) -> Self {
        CarFiles {
            dir: data_dir.join("cars").join((index + 1).to_string()),
        }
    }

    pub fn key(&self) -> PathBuf {
        self.dir.join("device.key")
    }

    pub fn agent_config(&self) -> PathBuf {
        self.dir.join("agent.toml")
    }

    pub fn store(&self) -> PathBuf {
        self.dir.join("agent.db")
    }

    pub fn profile(&self) -> PathBuf {
        self.dir.join("pitlane-sim-profile.toml")
    }

    /// The device key, created (mode 0600) on first use.
    pub fn load_or_create_key(&self) -> Result<DeviceKey, FleetError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.key();
        let key = if path.exists() {
            DeviceKey::load(&path)
        } else {
            DeviceKey::create(&path)
        };
        key.map_err(|source| FleetError::Key { path, source })
    }

    /// Writes the agent configuration: what provisioning issued (`[mqtt]`, `[signing]`) plus
    /// the store, reading intervals and the simulator's actuation profile. Mode 0600: it holds
    /// the MQTT password.
    pub fn write_agent_config(
        &self,
        provisioned: &str,
        intervals: &Intervals,
    ) -> Result<(), FleetError> {
        let profile = self.profile();
        std::fs::write(&profile, SIM_PROFILE).map_err(io(&profile))?;
        let text = format!(
            "bus = \"sim://\"\n\n[identity]\nkey = {key:?}\n\n{provisioned}\n\n[store]\npath = {store:?}\n\n\
             [intervals]\ndtc_secs = {dtc}\ntelemetry_secs = {telemetry}\nvin_secs = {vin}\n\n\
             [commands]\nprofile = {profile:?}\n",
            key = self.key().display().to_string(),
            store = self.store().display().to_string(),
            profile = profile.display().to_string(),
            dtc = intervals.dtc_secs,
            telemetry = intervals.telemetry_secs,
            vin = intervals.vin_secs,
        );
        let path = self.agent_config();
        write_private(&path, &text)
    }
}

/// Writes `text` to `path` with mode 0600 (replacing an older file).
pub fn write_private(path: &Path, text: &str) -> Result<(), FleetError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(text.as_bytes()).map_err(io(path))
}

/// How often the simulated agents read their cars, seconds.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    pub dtc_secs: f64,
    pub telemetry_secs: f64,
    pub vin_secs: f64,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals {
            dtc_secs: 300.0,
            telemetry_secs: 30.0,
            vin_secs: 600.0,
        }
    }
}

/// A running simulated car and its agent.
pub struct SimDevice {
    pub index: usize,
    pub serial: String,
    pub address: Address,
    pub car: Arc<Car>,
    stop: watch::Sender<bool>,
    agent: JoinHandle<Result<(), ServiceError>>,
}

impl SimDevice {
    /// Starts the agent of car `index` on `car` with the configuration in `files`.
    pub async fn start(
        index: usize,
        car: Arc<Car>,
        files: &CarFiles,
        key: DeviceKey,
    ) -> Result<Self, FleetError> {
        let path = files.agent_config();
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let config = AgentConfig::parse(&text, &path.display().to_string(), |_| None)
            .map_err(|source| FleetError::Config { index, source })?;
        let address = key.address();
        let (stop, shutdown) = watch::channel(false);
        let transport = Transport::Can(Box::new(CanObd::new(AnyBus::Sim(SimBus::attach(&car)))));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let agent = tokio::spawn(async move {
            pitlane_agent::service::run_with_ready(
                &config,
                key,
                transport,
                "sim://".into(),
                shutdown,
                move || {
                    let _ = ready_tx.send(());
                },
            )
            .await
        });
        // The agent is up once its store is open; if it failed before that, say why.
        if ready_rx.await.is_err() {
            let why = match agent.await {
                Ok(Err(e)) => e.to_string(),
                Ok(Ok(())) => "stopped at once".into(),
                Err(e) => e.to_string(),
            };
            return Err(FleetError::Io {
                path: files.store(),
                source: std::io::Error::other(format!("agent of car {}: {why}", index + 1)),
            });
        }
        Ok(SimDevice {
            index,
            serial: serial_for_car(index),
            address,
            car,
            stop,
            agent,
        })
    }

    /// Tells the agent to stop without waiting for it (see [`stop`](Self::stop)).
    pub fn request_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops the agent cleanly (its retained status goes `offline` through the last will or
    /// its own disconnect) and waits for it.
    pub async fn stop(self) -> Result<(), ServiceError> {
        let _ = self.stop.send(true);
        match self.agent.await {
            Ok(result) => result,
            Err(e) if e.is_cancelled() => Ok(()),
            Err(e) => {
                tracing::error!(car = self.index + 1, "agent task failed: {e}");
                Ok(())
            }
        }
    }

    /// Aborts the agent task at once, as a crash would (the store keeps what it wrote).
    pub fn kill(self) {
        self.agent.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(index: usize, expected: &str) {
        let vin = vin_for_car("5NPEB4AC9DH571382", index).expect("vin");
        assert_eq!(vin, expected);
        let parsed = Vin::parse(&vin).expect("valid");
        assert!(parsed.check_digit().is_valid(), "{vin}");
    }

    #[test]
    fn each_car_gets_a_distinct_valid_vin() {
        check(0, "5NPEB4AC9DH571382");
        check(1, "5NPEB4AC0DH571383");
        check(2, "5NPEB4AC2DH571384");
        check(999_999 - 571_382 + 1, "5NPEB4AC8DH000000");
        let all: std::collections::HashSet<_> = (0..1000)
            .map(|i| vin_for_car("5NPEB4AC9DH571382", i).expect("vin"))
            .collect();
        assert_eq!(all.len(), 1000);
    }

    #[test]
    fn serials_are_numbered_from_one() {
        assert_eq!(serial_for_car(0), "PITLANE-SIM-00001");
        assert_eq!(serial_for_car(41), "PITLANE-SIM-00042");
    }
}
