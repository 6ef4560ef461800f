//! Fault injection settings: misbehaving ECUs and adapters, for testing a tester's error paths.

use serde::Deserialize;

/// Faults of one ECU (`[ecu.faults]` in the scenario). All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EcuFaults {
    /// Answer this many milliseconds after the request instead of at once. J1979's P2 is 50 ms,
    /// so anything above that is a slow ECU.
    pub response_delay_ms: u64,
    /// Send this many `7F xx 78` (response pending) negative responses before the answer.
    pub pending_responses: u32,
    /// Time between response-pending messages and before the answer, milliseconds (default 40
    /// when `pending_responses` is set and this is 0).
    pub pending_interval_ms: u64,
    /// Leave out the n-th (1-based) consecutive frame of every multi-frame answer.
    pub drop_consecutive_frame: Option<u32>,
    /// As receiver of a multi-frame request, never send flow control.
    pub no_flow_control: bool,
    /// As sender of a multi-frame answer, ignore the tester's flow control: the first frame goes
    /// out and the consecutive frames never follow.
    pub ignore_flow_control: bool,
    /// Leave the first n VIN requests (service 09 PID 02 and UDS 22 F190) unanswered, like a
    /// gateway that is not awake yet; later ones are answered as usual.
    pub ignore_vin_requests: u32,
}

impl EcuFaults {
    /// The interval between response-pending messages.
    pub fn pending_interval(&self) -> std::time::Duration {
        let ms = if self.pending_interval_ms == 0 {
            40
        } else {
            self.pending_interval_ms
        };
        std::time::Duration::from_millis(ms)
    }
}

/// Faults of the adapters (`[faults]` in the scenario). All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdapterFaults {
    /// Write line noise (bytes that are not part of the protocol) before every answer on the
    /// serial adapters (SLCAN and ELM327).
    pub garbage_on_serial: bool,
    /// Close the adapter's connection (pty or TCP) half-way through its n-th (1-based) answer
    /// to a request. A pty adapter then goes away for good, like an unplugged USB adapter.
    pub vanish_mid_answer: Option<u32>,
}
