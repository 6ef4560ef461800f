//! The Linux SocketCAN backend (a real adapter's `can0`, or `vcan0`) over the `socketcan`
//! crate's tokio socket. On kernels without SocketCAN, opening fails with a clear error.

use pitlane_shared::can::{CanFrame, CanId};
use socketcan::{EmbeddedFrame, ExtendedId, Id, StandardId};

use super::{BusError, CanBus};

const TRANSPORT: &str = "SocketCAN";

/// A SocketCAN raw socket bound to one interface.
pub struct SocketCanBus {
    socket: socketcan::tokio::CanSocket,
}

impl SocketCanBus {
    /// Opens the raw CAN socket on `interface`. Needs a running tokio runtime.
    pub fn open(interface: &str) -> Result<Self, BusError> {
        let socket = socketcan::tokio::CanSocket::open(interface).map_err(|e| {
            let hint = match e.raw_os_error() {
                // EAFNOSUPPORT / EPROTONOSUPPORT: no CAN support in this kernel.
                Some(97) | Some(93) => "this kernel has no SocketCAN (modules can/can_raw)",
                // ENODEV
                Some(19) => "no such interface (create it, e.g. `ip link add vcan0 type vcan`)",
                _ => "",
            };
            BusError::SocketCanUnavailable {
                interface: interface.to_owned(),
                reason: if hint.is_empty() {
                    e.to_string()
                } else {
                    format!("{e}; {hint}")
                },
            }
        })?;
        Ok(Self { socket })
    }
}

/// Converts our frame to the kernel's.
fn to_socketcan(frame: &CanFrame) -> Result<socketcan::CanFrame, BusError> {
    let id: Id = match frame.id() {
        CanId::Standard(raw) => StandardId::new(raw).map(Id::Standard),
        CanId::Extended(raw) => ExtendedId::new(raw).map(Id::Extended),
    }
    .ok_or_else(|| malformed("identifier out of range", frame.data()))?;
    socketcan::CanFrame::new(id, frame.data())
        .ok_or_else(|| malformed("frame does not fit classic CAN", frame.data()))
}

/// Converts the kernel's frame to ours; remote and error frames are not OBD-II traffic.
fn from_socketcan(frame: &socketcan::CanFrame) -> Option<Result<CanFrame, BusError>> {
    let socketcan::CanFrame::Data(data) = frame else {
        return None;
    };
    let id = match data.id() {
        Id::Standard(id) => CanId::standard(id.as_raw()),
        Id::Extended(id) => CanId::extended(id.as_raw()),
    };
    Some(
        id.and_then(|id| CanFrame::new(id, data.data()))
            .map_err(|e| malformed(&e.to_string(), data.data())),
    )
}

fn malformed(detail: &str, bytes: &[u8]) -> BusError {
    BusError::Malformed {
        transport: TRANSPORT,
        detail: detail.to_owned(),
        bytes: bytes.to_vec(),
    }
}

impl CanBus for SocketCanBus {
    async fn send(&mut self, frame: &CanFrame) -> Result<(), BusError> {
        let frame = to_socketcan(frame)?;
        self.socket
            .write_frame(frame)
            .await
            .map_err(BusError::io(TRANSPORT))
    }

    async fn recv(&mut self) -> Result<CanFrame, BusError> {
        loop {
            let frame = self
                .socket
                .read_frame()
                .await
                .map_err(BusError::io(TRANSPORT))?;
            if let Some(frame) = from_socketcan(&frame) {
                return frame;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_convert_both_ways() {
        for (id, data) in [
            (CanId::Standard(0x7DF), vec![0x02, 0x01, 0x00]),
            (
                CanId::Extended(0x18DB_33F1),
                vec![0x02, 0x09, 0x02, 0, 0, 0, 0, 0],
            ),
            (CanId::Standard(0x2F0), vec![]),
        ] {
            let ours = CanFrame::new(id, &data).unwrap();
            let theirs = to_socketcan(&ours).unwrap();
            assert_eq!(from_socketcan(&theirs).unwrap().unwrap(), ours);
        }
    }
}
