//! The Pitlane hardware simulator: a virtual car (ECUs, body module) on a virtual CAN bus,
//! exposed as SLCAN and ELM327 adapters on pseudo-terminals, ELM327 over TCP, a socketcand
//! server, and in-process.
//!
//! # In-process use
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use pitlane_shared::can::{CanFrame, CanId};
//! use pitlane_sim::{Car, Scenario};
//!
//! let car = Car::start(Scenario::default_car());
//! let mut port = car.connect();
//! // Functional OBD-II request 01 0C (engine speed).
//! port.send(CanFrame::new(CanId::Standard(0x7DF), &[0x02, 0x01, 0x0C]).unwrap());
//! let answer = port.recv().await.unwrap();
//! assert_eq!(&answer.data()[1..3], &[0x41, 0x0C]);
//! assert!(car.body_state().doors_locked);
//! car.shutdown().await;
//! # }
//! ```
//!
//! - [`Car::start`] runs a [`Scenario`] on the current tokio runtime (tokio time, so tests may
//!   use `tokio::time::pause()`).
//! - [`Car::connect`] gives a [`BusPort`]: `send(frame)`, `recv().await`, `split()`. A port
//!   does not receive its own frames; a port that falls far behind gets
//!   [`PortError::Overrun`].
//! - [`Car::body_state`] / [`Car::watch_body`] show the body module, [`Car::dtcs`] every ECU's
//!   codes, [`Car::shutdown`] stops it (dropping the `Car` also does).
//!
//! # Adapters
//!
//! [`Simulator::start`] runs a car with the adapters of [`Options`] (SLCAN pty, ELM327 pty and
//! TCP, socketcand, SocketCAN) and lists its [`Endpoint`]s; the `pitlane-sim` binary prints them
//! one per line (`slcan-pty LINK -> /dev/pts/N`, `elm327-pty LINK -> /dev/pts/N`,
//! `elm327-tcp ADDR`, `socketcand ADDR can0`, `socketcan IFACE`), then `ready`.
//!
//! # Layout
//!
//! - [`scenario`]: the TOML scenario and its validation; [`ecu`]: J1979 services, live data
//!   and the ISO-TP task of each ECU; [`body`]: the body control module; [`bus`]: the virtual
//!   bus; [`car`]: the running car.
//! - [`adapter`]: the tester-facing adapters, each a sans-IO protocol part and a thin task;
//!   [`pty`]: pseudo-terminals; [`serve`]: the runner behind the binary.

pub mod adapter;
pub mod body;
pub mod bus;
pub mod car;
pub mod ecu;
pub mod pty;
pub mod scenario;
pub mod serve;

pub use body::BodyState;
pub use bus::{BusPort, PortError, PortReceiver, PortSender, VirtualBus};
pub use car::Car;
pub use ecu::EcuDtcs;
pub use scenario::{Scenario, ScenarioError};
pub use serve::{Endpoint, Options, ServeError, Simulator};
