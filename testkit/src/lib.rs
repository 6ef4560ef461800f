//! Test helpers shared by the workspace's test suites (a dev-dependency only): a private
//! Mosquitto broker on a free loopback port ([`Mosquitto`]), a stand-in device's MQTT link
//! ([`DeviceLink`]) and a throwaway PKI of PEM files for the TLS tests ([`TestPki`]).
//!
//! Tests that need Mosquitto skip with a message when it is not installed:
//!
//! ```no_run
//! # async fn t() {
//! use pitlane_testkit::{Mosquitto, MosquittoConfig};
//! let Some(broker) = Mosquitto::start(MosquittoConfig::new()).await else {
//!     eprintln!("skipped: mosquitto not installed");
//!     return;
//! };
//! let url = broker.url(); // mqtt://127.0.0.1:PORT
//! # }
//! ```

mod device_link;
mod logins;
mod mosquitto;
mod pki;

pub use device_link::{DeviceLink, device_options};
pub use mosquitto::{Mosquitto, MosquittoConfig, TlsListener, free_port, mosquitto_binary};
pub use pki::TestPki;
