//! The virtual CAN bus: every frame sent by one port reaches every other port.
//!
//! Like a real CAN controller, a port does not receive its own frames. A port that falls
//! behind by more than [`BUS_CAPACITY`] frames loses the oldest ones and is told how many
//! (a controller overrun), so a slow reader never blocks the bus.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pitlane_shared::can::CanFrame;
use tokio::sync::broadcast;

/// Frames a port may fall behind before it loses some.
pub const BUS_CAPACITY: usize = 4096;

#[derive(Debug, Clone)]
struct Tagged {
    from: u64,
    frame: CanFrame,
}

/// A virtual CAN bus. Cloning gives another handle to the same bus.
#[derive(Debug, Clone)]
pub struct VirtualBus {
    tx: broadcast::Sender<Tagged>,
    next_port: Arc<AtomicU64>,
}

impl Default for VirtualBus {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualBus {
    /// An empty bus.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        Self {
            tx,
            next_port: Arc::new(AtomicU64::new(1)),
        }
    }

    /// A new node on the bus; it receives every frame sent from now on by other nodes.
    pub fn connect(&self) -> BusPort {
        let id = self.next_port.fetch_add(1, Ordering::Relaxed);
        BusPort {
            tx: PortSender {
                id,
                tx: self.tx.clone(),
            },
            rx: self.tx.subscribe(),
        }
    }
}

/// Why a port could not receive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("the virtual bus was shut down")]
    Closed,
    #[error("receive overrun: {0} frames were lost because this port fell behind")]
    Overrun(u64),
}

/// The sending half of a port; cheap to clone.
#[derive(Debug, Clone)]
pub struct PortSender {
    id: u64,
    tx: broadcast::Sender<Tagged>,
}

impl PortSender {
    /// Puts `frame` on the bus. Never blocks; a frame nobody listens to is simply lost, as on
    /// a real bus.
    pub fn send(&self, frame: CanFrame) {
        // An error only means no port is listening right now.
        let _ = self.tx.send(Tagged {
            from: self.id,
            frame,
        });
    }
}

/// One node's connection to the virtual bus.
#[derive(Debug)]
pub struct BusPort {
    tx: PortSender,
    rx: broadcast::Receiver<Tagged>,
}

impl BusPort {
    /// Puts `frame` on the bus (see [`PortSender::send`]).
    pub fn send(&self, frame: CanFrame) {
        self.tx.send(frame);
    }

    /// A clonable handle for sending from another task.
    pub fn sender(&self) -> PortSender {
        self.tx.clone()
    }

    /// The next frame sent by another node.
    pub async fn recv(&mut self) -> Result<CanFrame, PortError> {
        loop {
            match self.rx.recv().await {
                Ok(t) if t.from == self.tx.id => continue,
                Ok(t) => return Ok(t.frame),
                Err(broadcast::error::RecvError::Closed) => return Err(PortError::Closed),
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(PortError::Overrun(n)),
            }
        }
    }

    /// A frame already waiting, without waiting for one.
    pub fn try_recv(&mut self) -> Result<Option<CanFrame>, PortError> {
        loop {
            match self.rx.try_recv() {
                Ok(t) if t.from == self.tx.id => continue,
                Ok(t) => return Ok(Some(t.frame)),
                Err(broadcast::error::TryRecvError::Empty) => return Ok(None),
                Err(broadcast::error::TryRecvError::Closed) => return Err(PortError::Closed),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    return Err(PortError::Overrun(n));
                }
            }
        }
    }

    /// Splits into a sender and a receiver that can live in different tasks.
    pub fn split(self) -> (PortSender, PortReceiver) {
        let id = self.tx.id;
        (self.tx, PortReceiver { id, rx: self.rx })
    }
}

/// The receiving half of a split port.
#[derive(Debug)]
pub struct PortReceiver {
    id: u64,
    rx: broadcast::Receiver<Tagged>,
}

impl PortReceiver {
    /// The next frame sent by another node.
    pub async fn recv(&mut self) -> Result<CanFrame, PortError> {
        loop {
            match self.rx.recv().await {
                Ok(t) if t.from == self.id => continue,
                Ok(t) => return Ok(t.frame),
                Err(broadcast::error::RecvError::Closed) => return Err(PortError::Closed),
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(PortError::Overrun(n)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pitlane_shared::can::CanId;

    use super::*;

    fn frame(id: u16, data: &[u8]) -> CanFrame {
        CanFrame::new(CanId::Standard(id), data).unwrap()
    }

    #[tokio::test]
    async fn frames_reach_other_ports_but_not_the_sender() {
        let bus = VirtualBus::new();
        let mut a = bus.connect();
        let mut b = bus.connect();
        a.send(frame(0x7DF, &[2, 1, 0]));
        assert_eq!(b.recv().await.unwrap(), frame(0x7DF, &[2, 1, 0]));
        assert_eq!(a.try_recv().unwrap(), None);
        b.send(frame(0x7E8, &[6, 0x41, 0]));
        assert_eq!(a.recv().await.unwrap(), frame(0x7E8, &[6, 0x41, 0]));
    }

    #[tokio::test]
    async fn a_slow_port_is_told_of_the_overrun() {
        let bus = VirtualBus::new();
        let a = bus.connect();
        let (_, mut b) = bus.connect().split();
        for i in 0..BUS_CAPACITY + 5 {
            a.send(frame(0x100, &[(i % 256) as u8]));
        }
        assert_eq!(b.recv().await, Err(PortError::Overrun(5)));
        assert!(b.recv().await.is_ok());
    }
}
