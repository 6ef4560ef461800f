//! One async interface over every raw CAN transport — SocketCAN, SLCAN on a serial port,
//! socketcand over TCP and the in-process simulator — chosen at run time from a bus spec.
//!
//! ELM327 adapters are not raw CAN buses (they speak OBD-II requests, not frames); they live in
//! [`crate::elm327`] and meet the CAN path one level up, at [`crate::obd::ObdTransport`].

mod serial;
#[cfg(feature = "sim")]
mod sim;
mod slcan;
mod socketcan;
mod socketcand;
mod spec;

use std::future::Future;
use std::time::Duration;

use pitlane_shared::can::CanFrame;
use tokio::time::Instant;

pub use serial::open_serial;
#[cfg(feature = "sim")]
pub use sim::SimBus;
pub use slcan::{SlcanBus, line_time};
pub use socketcan::SocketCanBus;
pub use socketcand::SocketcandBus;
pub use spec::{BusSpec, SLCAN_BITRATES, SpecError};

/// How long a backend waits for its adapter to answer a setup command.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Errors of the raw CAN transports.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{transport}: {source}")]
    Io {
        transport: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{transport}: the adapter closed the connection")]
    Closed { transport: &'static str },
    #[error("{transport}: no answer to `{request}` within {timeout:?}")]
    Timeout {
        transport: &'static str,
        request: String,
        timeout: Duration,
    },
    #[error("{transport}: the adapter refused `{request}` (answered {answer:?})")]
    Refused {
        transport: &'static str,
        request: String,
        answer: String,
    },
    #[error("{transport}: malformed input from the adapter: {detail} (bytes {bytes:02X?})")]
    Malformed {
        transport: &'static str,
        detail: String,
        bytes: Vec<u8>,
    },
    #[error("SocketCAN interface `{interface}` is not available: {reason}")]
    SocketCanUnavailable { interface: String, reason: String },
    #[error("`{spec}` is an ELM327 adapter, not a raw CAN bus; {what} needs raw CAN frames")]
    NotRawCan { spec: String, what: &'static str },
    #[error("`{spec}` needs the `{feature}` cargo feature, which this build leaves out")]
    FeatureDisabled { spec: String, feature: &'static str },
    #[error("simulator: {0}")]
    Sim(String),
}

impl BusError {
    pub(crate) fn io(transport: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io { transport, source }
    }
}

/// A raw CAN bus: frames out, frames in.
///
/// `recv` must be cancel-safe (a frame is never lost when its future is dropped), so callers
/// may bound every wait with [`recv_until`] or `tokio::time::timeout`.
pub trait CanBus: Send {
    /// Queues one frame for transmission.
    fn send(&mut self, frame: &CanFrame) -> impl Future<Output = Result<(), BusError>> + Send;
    /// The next frame seen on the bus (including echoes of other nodes' traffic).
    fn recv(&mut self) -> impl Future<Output = Result<CanFrame, BusError>> + Send;
}

/// The next frame before `deadline`, or `None` when the deadline passes first.
pub async fn recv_until<B: CanBus + ?Sized>(
    bus: &mut B,
    deadline: Instant,
) -> Result<Option<CanFrame>, BusError> {
    match tokio::time::timeout_at(deadline, bus.recv()).await {
        Ok(frame) => frame.map(Some),
        Err(_) => Ok(None),
    }
}

/// Any raw CAN backend, picked from a [`BusSpec`] at run time.
pub enum AnyBus {
    SocketCan(SocketCanBus),
    Slcan(SlcanBus<tokio_serial::SerialStream>),
    Socketcand(SocketcandBus<tokio::net::TcpStream>),
    #[cfg(feature = "sim")]
    Sim(SimBus),
}

impl AnyBus {
    /// Opens the raw CAN bus `spec` names; `what` says what the caller needs it for, for the
    /// error an ELM327 spec gets.
    pub async fn open(spec: &BusSpec, what: &'static str) -> Result<Self, BusError> {
        match spec {
            BusSpec::SocketCan { interface } => Ok(Self::SocketCan(SocketCanBus::open(interface)?)),
            BusSpec::Slcan {
                path,
                baud,
                bitrate,
            } => {
                let port = open_serial(path, *baud).map_err(BusError::io("SLCAN"))?;
                Ok(Self::Slcan(SlcanBus::open(port, *bitrate).await?))
            }
            BusSpec::Socketcand {
                host,
                port,
                channel,
            } => {
                let stream = tokio::time::timeout(
                    SETUP_TIMEOUT,
                    tokio::net::TcpStream::connect((host.as_str(), *port)),
                )
                .await
                .map_err(|_| BusError::Timeout {
                    transport: "socketcand",
                    request: format!("connect to {host}:{port}"),
                    timeout: SETUP_TIMEOUT,
                })?
                .map_err(BusError::io("socketcand"))?;
                stream
                    .set_nodelay(true)
                    .map_err(BusError::io("socketcand"))?;
                Ok(Self::Socketcand(
                    SocketcandBus::open(stream, channel).await?,
                ))
            }
            BusSpec::Elm327Serial { .. } | BusSpec::Elm327Tcp { .. } => Err(BusError::NotRawCan {
                spec: spec.to_string(),
                what,
            }),
            #[cfg(feature = "sim")]
            BusSpec::Sim { scenario } => Ok(Self::Sim(SimBus::open(scenario.as_deref())?)),
            #[cfg(not(feature = "sim"))]
            BusSpec::Sim { .. } => Err(BusError::FeatureDisabled {
                spec: spec.to_string(),
                feature: "sim",
            }),
        }
    }
}

impl CanBus for AnyBus {
    async fn send(&mut self, frame: &CanFrame) -> Result<(), BusError> {
        match self {
            Self::SocketCan(b) => b.send(frame).await,
            Self::Slcan(b) => b.send(frame).await,
            Self::Socketcand(b) => b.send(frame).await,
            #[cfg(feature = "sim")]
            Self::Sim(b) => b.send(frame).await,
        }
    }

    async fn recv(&mut self) -> Result<CanFrame, BusError> {
        match self {
            Self::SocketCan(b) => b.recv().await,
            Self::Slcan(b) => b.recv().await,
            Self::Socketcand(b) => b.recv().await,
            #[cfg(feature = "sim")]
            Self::Sim(b) => b.recv().await,
        }
    }
}
