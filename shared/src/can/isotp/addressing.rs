//! ISO-TP addressing for OBD-II: 11-bit normal and 29-bit normal-fixed identifiers.
//!
//! | | 11-bit | 29-bit (normal fixed, tester 0xF1) |
//! |---|---|---|
//! | functional request | `7DF` | `18DB33F1` |
//! | physical request to ECU n | `7E0 + n` | `18DAxxF1` (xx = ECU address) |
//! | response of ECU n | `7E8 + n` | `18DAF1xx` |
//!
//! Flow control always goes to the *physical* request id of the ECU that answered, never to
//! the functional id: [`Addressing::tester_for_response`] derives it from the response id.

use crate::can::CanId;

/// Functional (broadcast) OBD request id, 11-bit.
pub const FUNCTIONAL_11: CanId = CanId::Standard(0x7DF);
/// Functional (broadcast) OBD request id, 29-bit normal fixed addressing.
pub const FUNCTIONAL_29: CanId = CanId::Extended(0x18DB_33F1);
/// The external test equipment's address in 29-bit normal fixed addressing.
pub const TESTER_ADDRESS: u8 = 0xF1;

/// The pair of ids one ISO-TP endpoint uses: it sends on `tx` and listens on `rx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Addressing {
    /// Id of frames we send (data frames, and flow control for messages we receive).
    pub tx: CanId,
    /// Id of frames we accept (data frames, and flow control for messages we send).
    pub rx: CanId,
}

impl Addressing {
    /// Tester side of a physical 11-bit channel to the ECU whose request id is `request`
    /// (e.g. `0x7E0` → tx `7E0`, rx `7E8`). `None` outside the OBD range 0x7E0..=0x7E7.
    pub fn tester_11(request: u16) -> Option<Self> {
        if !(0x7E0..=0x7E7).contains(&request) {
            return None;
        }
        Some(Self {
            tx: CanId::Standard(request),
            rx: CanId::Standard(request + 8),
        })
    }

    /// Tester side of a physical 29-bit normal-fixed channel to ECU address `ecu`
    /// (tx `18DAxxF1`, rx `18DAF1xx`).
    pub fn tester_29(ecu: u8) -> Self {
        Self {
            tx: CanId::Extended(0x18DA_0000 | (u32::from(ecu) << 8) | u32::from(TESTER_ADDRESS)),
            rx: CanId::Extended(0x18DA_0000 | (u32::from(TESTER_ADDRESS) << 8) | u32::from(ecu)),
        }
    }

    /// Tester side of the channel to the ECU that answered on `response`
    /// (`7E8`..`7EF` or `18DAF1xx`); flow control then goes to that ECU's physical id.
    pub fn tester_for_response(response: CanId) -> Option<Self> {
        match response {
            CanId::Standard(id @ 0x7E8..=0x7EF) => Self::tester_11(id - 8),
            CanId::Extended(id) if id & 0xFFFF_FF00 == 0x18DA_F100 => {
                // Invariant: masked to the low byte.
                Some(Self::tester_29((id & 0xFF) as u8))
            }
            _ => None,
        }
    }

    /// ECU side of the channel addressed by the physical request id `request`
    /// (`7E0`..`7E7` or `18DAxxF1`): the ECU listens on `request` and answers on the response id.
    pub fn ecu_for_request(request: CanId) -> Option<Self> {
        let tester = match request {
            CanId::Standard(id) => Self::tester_11(id)?,
            CanId::Extended(id) if id & 0xFFFF_00FF == 0x18DA_00F1 => {
                // Invariant: masked to one byte.
                Self::tester_29(((id >> 8) & 0xFF) as u8)
            }
            CanId::Extended(_) => return None,
        };
        Some(tester.reversed())
    }

    /// The other end of this channel.
    pub fn reversed(self) -> Self {
        Self {
            tx: self.rx,
            rx: self.tx,
        }
    }
}

/// Whether `id` is one of the functional OBD request ids.
pub fn is_functional(id: CanId) -> bool {
    id == FUNCTIONAL_11 || id == FUNCTIONAL_29
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std(id: u16) -> CanId {
        CanId::Standard(id)
    }
    fn ext(id: u32) -> CanId {
        CanId::Extended(id)
    }

    #[test]
    fn flow_control_goes_to_the_physical_id_of_the_responder() {
        let cases = [
            (std(0x7E8), Some((std(0x7E0), std(0x7E8)))),
            (std(0x7E9), Some((std(0x7E1), std(0x7E9)))),
            (std(0x7EF), Some((std(0x7E7), std(0x7EF)))),
            (std(0x7DF), None),
            (std(0x7E0), None),
            (ext(0x18DA_F110), Some((ext(0x18DA_10F1), ext(0x18DA_F110)))),
            (ext(0x18DA_F118), Some((ext(0x18DA_18F1), ext(0x18DA_F118)))),
            (ext(0x18DB_33F1), None),
            (ext(0x18DA_F210), None),
        ];
        for (response, expected) in cases {
            let got = Addressing::tester_for_response(response).map(|a| (a.tx, a.rx));
            assert_eq!(got, expected, "response on {response}");
            if let Some((tx, _)) = got {
                assert!(!is_functional(tx));
            }
        }
    }

    #[test]
    fn ecu_side_mirrors_tester_side() {
        let cases = [
            (std(0x7E0), Some((std(0x7E8), std(0x7E0)))),
            (std(0x7E1), Some((std(0x7E9), std(0x7E1)))),
            (std(0x7DF), None),
            (ext(0x18DA_10F1), Some((ext(0x18DA_F110), ext(0x18DA_10F1)))),
            (ext(0x18DB_33F1), None),
        ];
        for (request, expected) in cases {
            let got = Addressing::ecu_for_request(request).map(|a| (a.tx, a.rx));
            assert_eq!(got, expected, "request on {request}");
        }
    }
}
