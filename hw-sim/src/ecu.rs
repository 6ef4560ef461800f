//! One simulated OBD-II ECU: its trouble codes and live data ([`Ecu`]), the J1979 services it
//! answers ([`service`]), and the task that speaks ISO-TP for it on the virtual bus
//! ([`transport`]).

pub mod live;
pub mod service;
pub mod transport;

use std::time::Duration;

use pitlane_shared::obd::Dtc;

use crate::scenario::{EcuConfig, LiveConfig};

/// Distance since codes were last cleared when the car starts, km (before any clear).
const SINCE_CLEAR_AT_START_KM: f64 = 1523.0;

/// The trouble codes of one ECU, as `P0301`-style text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcuDtcs {
    /// The ECU's name (service 09 PID 0A).
    pub ecu: String,
    /// The ECU's 11-bit response id.
    pub response_id: u16,
    pub stored: Vec<String>,
    pub pending: Vec<String>,
    pub permanent: Vec<String>,
}

/// The state of one ECU.
#[derive(Debug, Clone)]
pub struct Ecu {
    config: EcuConfig,
    live: LiveConfig,
    vin: String,
    stored: Vec<Dtc>,
    pending: Vec<Dtc>,
    permanent: Vec<Dtc>,
    /// Distance driven (km since the car started) when the codes were last cleared.
    cleared_at_km: Option<f64>,
    /// VIN requests left unanswered so far (fault `ignore_vin_requests`).
    vin_requests_ignored: u32,
}

fn codes(texts: &[String]) -> Vec<Dtc> {
    // Scenario validation has parsed every code already; anything unparsable is skipped.
    texts.iter().filter_map(|t| t.parse().ok()).collect()
}

impl Ecu {
    /// An ECU as the scenario describes it.
    pub fn new(config: EcuConfig, live: LiveConfig, vin: String) -> Self {
        Self {
            stored: codes(&config.stored),
            pending: codes(&config.pending),
            permanent: codes(&config.permanent),
            config,
            live,
            vin,
            cleared_at_km: None,
            vin_requests_ignored: 0,
        }
    }

    /// The scenario entry of this ECU.
    pub fn config(&self) -> &EcuConfig {
        &self.config
    }

    /// The ECU's trouble codes now.
    pub fn dtcs(&self) -> EcuDtcs {
        let text = |c: &[Dtc]| c.iter().map(Dtc::to_string).collect();
        EcuDtcs {
            ecu: self.config.name.clone(),
            response_id: self.config.response_id,
            stored: text(&self.stored),
            pending: text(&self.pending),
            permanent: text(&self.permanent),
        }
    }

    fn since_clear_km(&self, elapsed: Duration) -> f64 {
        let driven = live::snapshot(&self.live, elapsed).distance_km;
        match self.cleared_at_km {
            None => SINCE_CLEAR_AT_START_KM + driven,
            Some(at) => driven - at,
        }
    }

    /// Service 04: stored and pending codes go, permanent ones stay (they need drive cycles).
    fn clear_codes(&mut self, elapsed: Duration) {
        self.stored.clear();
        self.pending.clear();
        self.cleared_at_km = Some(live::snapshot(&self.live, elapsed).distance_km);
    }
}

#[cfg(test)]
mod tests;
