//! The running virtual car: its bus, its ECU and body-module tasks, and the handle other
//! crates use to plug into it and look at it.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::body::{self, Bcm, BodyState};
use crate::bus::{BusPort, VirtualBus};
use crate::ecu::{self, Ecu, EcuDtcs};
use crate::scenario::Scenario;

/// A simulated car running on the current tokio runtime. Dropping it stops the car.
#[derive(Debug)]
pub struct Car {
    scenario: Arc<Scenario>,
    bus: VirtualBus,
    ecus: Vec<Arc<Mutex<Ecu>>>,
    body: watch::Receiver<BodyState>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

impl Car {
    /// Starts the car described by `scenario` (call [`Scenario::validate`] first, or build it
    /// with [`Scenario::from_toml`] / [`Scenario::from_file`], which do). Must be called inside
    /// a tokio runtime; the car runs on tokio time, so `tokio::time::pause()` works.
    pub fn start(scenario: Scenario) -> Self {
        let bus = VirtualBus::new();
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        let mut ecus = Vec::new();
        for config in &scenario.ecus {
            let ecu = Arc::new(Mutex::new(Ecu::new(
                config.clone(),
                scenario.live.clone(),
                scenario.vin.clone(),
            )));
            tasks.spawn(ecu::transport::run(
                Arc::clone(&ecu),
                scenario.addressing.standard(),
                scenario.addressing.extended(),
                bus.connect(),
                start,
                shutdown.clone(),
            ));
            ecus.push(ecu);
        }
        let bcm = Bcm::new(scenario.body.clone(), start);
        let (state_tx, body) = watch::channel(bcm.state());
        tasks.spawn(body::run(bcm, bus.connect(), state_tx, shutdown.clone()));
        Self {
            scenario: Arc::new(scenario),
            bus,
            ecus,
            body,
            shutdown,
            tasks,
        }
    }

    /// Plugs a new node into the car's CAN bus (the OBD-II port). It sees every frame the car
    /// sends from now on, and everything it sends reaches the ECUs and the body module.
    pub fn connect(&self) -> BusPort {
        self.bus.connect()
    }

    /// The car's bus, for adapters that need to connect more than once.
    pub fn bus(&self) -> &VirtualBus {
        &self.bus
    }

    /// The scenario the car plays.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The body module's state now.
    pub fn body_state(&self) -> BodyState {
        *self.body.borrow()
    }

    /// A receiver that is notified whenever the body state changes.
    pub fn watch_body(&self) -> watch::Receiver<BodyState> {
        self.body.clone()
    }

    /// Every ECU's trouble codes now (they change when a tester sends service 04).
    pub fn dtcs(&self) -> Vec<EcuDtcs> {
        self.ecus
            .iter()
            .filter_map(|e| e.lock().ok().map(|e| e.dtcs()))
            .collect()
    }

    /// A token cancelled when the car shuts down; adapters watch it.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops every task of the car and waits for them to end.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Drop for Car {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
