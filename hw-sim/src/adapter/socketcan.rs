//! A bridge between the virtual bus and a Linux SocketCAN interface (`vcan0`, or a real one),
//! so tools like candump and a SocketCAN tester see the simulated car.
//!
//! Built with the `socketcan` cargo feature (on by default). Where the kernel has no SocketCAN,
//! or the feature is off, [`bridge`] fails at once with a clear error.

use tokio_util::sync::CancellationToken;

use crate::bus::VirtualBus;

/// Why the SocketCAN bridge could not run.
#[derive(Debug, thiserror::Error)]
pub enum SocketCanError {
    #[error(
        "cannot open SocketCAN interface {iface}: {source} (does this kernel have SocketCAN, \
         and does the interface exist? e.g. `ip link add dev vcan0 type vcan && ip link set up vcan0`)"
    )]
    Open {
        iface: String,
        #[source]
        source: std::io::Error,
    },
    #[error("SocketCAN interface {iface} failed: {source}")]
    Io {
        iface: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pitlane-sim was built without the `socketcan` feature; cannot bridge to {iface}")]
    Unsupported { iface: String },
}

/// Opens `iface`; the returned future forwards frames both ways until `shutdown`.
#[cfg(feature = "socketcan")]
pub fn bridge(
    iface: &str,
    bus: VirtualBus,
    shutdown: CancellationToken,
) -> Result<impl Future<Output = Result<(), SocketCanError>> + Send + 'static, SocketCanError> {
    use pitlane_shared::can::{CanFrame, CanId};
    use socketcan::{EmbeddedFrame, ExtendedId, Id, StandardId};

    use crate::bus::PortError;

    let socket =
        socketcan::tokio::CanSocket::open(iface).map_err(|source| SocketCanError::Open {
            iface: iface.to_string(),
            source,
        })?;
    let iface = iface.to_string();
    let io_err = move |source| SocketCanError::Io {
        iface: iface.clone(),
        source,
    };
    let to_linux = |f: &CanFrame| -> Option<socketcan::CanFrame> {
        let id = match f.id() {
            CanId::Standard(id) => Id::Standard(StandardId::new(id)?),
            CanId::Extended(id) => Id::Extended(ExtendedId::new(id)?),
        };
        socketcan::CanFrame::new(id, f.data())
    };
    let from_linux = |f: &socketcan::CanFrame| -> Option<CanFrame> {
        let socketcan::CanFrame::Data(_) = f else {
            return None;
        };
        let id = match f.id() {
            Id::Standard(id) => CanId::Standard(id.as_raw()),
            Id::Extended(id) => CanId::Extended(id.as_raw()),
        };
        CanFrame::new(id, f.data()).ok()
    };
    Ok(async move {
        let mut port = bus.connect();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                frame = socket.read_frame() => {
                    if let Some(f) = from_linux(&frame.map_err(&io_err)?) {
                        port.send(f);
                    }
                }
                frame = port.recv() => match frame {
                    Ok(f) => {
                        if let Some(linux) = to_linux(&f) {
                            socket.write_frame(linux).await.map_err(&io_err)?;
                        }
                    }
                    Err(PortError::Closed) => return Ok(()),
                    Err(e @ PortError::Overrun(_)) => tracing::warn!("SocketCAN bridge: {e}"),
                },
            }
        }
    })
}

/// Without the `socketcan` feature there is no bridge.
#[cfg(not(feature = "socketcan"))]
pub fn bridge(
    iface: &str,
    _bus: VirtualBus,
    _shutdown: CancellationToken,
) -> Result<std::future::Ready<Result<(), SocketCanError>>, SocketCanError> {
    Err(SocketCanError::Unsupported {
        iface: iface.to_string(),
    })
}
