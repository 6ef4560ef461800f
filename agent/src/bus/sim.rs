//! The in-process backend behind `sim://`: a port on a `pitlane-sim` virtual car's bus, either
//! on a car this bus starts and owns, or on one the caller (a test, `pitlane up`) runs.

use pitlane_shared::can::CanFrame;
use pitlane_sim::{BusPort, Car, PortError, Scenario};

use super::{BusError, CanBus};

/// A node on a simulated car's CAN bus.
pub struct SimBus {
    port: BusPort,
    /// The car, when this bus started it; it stops when the bus is dropped.
    _car: Option<Car>,
}

impl SimBus {
    /// Starts a simulated car (the default one, or the scenario file at `scenario`) on the
    /// current tokio runtime and connects to its bus.
    pub fn open(scenario: Option<&str>) -> Result<Self, BusError> {
        let scenario = match scenario {
            None => Scenario::default_car(),
            Some(path) => Scenario::from_file(std::path::Path::new(path))
                .map_err(|e| BusError::Sim(format!("scenario {path}: {e}")))?,
        };
        let car = Car::start(scenario);
        Ok(Self {
            port: car.connect(),
            _car: Some(car),
        })
    }

    /// Connects to a car someone else runs.
    pub fn attach(car: &Car) -> Self {
        Self {
            port: car.connect(),
            _car: None,
        }
    }
}

impl CanBus for SimBus {
    async fn send(&mut self, frame: &CanFrame) -> Result<(), BusError> {
        self.port.send(*frame);
        Ok(())
    }

    async fn recv(&mut self) -> Result<CanFrame, BusError> {
        loop {
            match self.port.recv().await {
                Ok(frame) => return Ok(frame),
                // Like a controller overrun: frames were lost, the bus goes on.
                Err(PortError::Overrun(n)) => {
                    tracing::warn!(lost = n, "simulated bus overrun");
                }
                Err(PortError::Closed) => {
                    return Err(BusError::Closed {
                        transport: "simulator",
                    });
                }
            }
        }
    }
}
