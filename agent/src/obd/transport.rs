//! "Send an OBD request, get each ECU's answer": the one interface the OBD client needs, over
//! raw CAN (ISO-TP driver) or an ELM327 (which does ISO-TP itself).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use pitlane_shared::can::CanId;
use pitlane_shared::can::isotp::Config;

use crate::bus::{AnyBus, BusError, BusSpec, CanBus};
use crate::elm327::{Connector, Elm327Client, ElmConfig, ElmError};
use crate::isotp::{self, DriverError, Target};

/// Each ECU's final answer to one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answers {
    /// Final answers by the id the ECU answered on (response-pending ones left out).
    pub replies: BTreeMap<CanId, Vec<u8>>,
    /// ECUs whose answer could not be received, with the reason.
    pub failures: BTreeMap<CanId, String>,
    /// ECUs that said "response pending" and never followed up.
    pub pending: Vec<CanId>,
}

impl Answers {
    /// Answers from already reassembled messages (the ELM327 path): a "response pending"
    /// message is dropped when the same ECU sent a final one, and reported otherwise.
    pub fn from_messages(messages: impl IntoIterator<Item = (CanId, Vec<u8>)>) -> Self {
        let mut out = Self::default();
        let mut pending = Vec::new();
        for (id, msg) in messages {
            if matches!(msg.as_slice(), [0x7F, _, 0x78, ..]) {
                pending.push(id);
            } else {
                out.replies.insert(id, msg);
            }
        }
        pending.retain(|id| !out.replies.contains_key(id));
        pending.dedup();
        out.pending = pending;
        out
    }
}

/// Why a request could not be carried out at all.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Can(#[from] DriverError),
    #[error(transparent)]
    Elm(#[from] ElmError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Sends OBD requests and returns each ECU's answer.
pub trait ObdTransport: Send {
    /// Sends `payload` (service byte first) to `target`; returns once `expect` ECUs answered,
    /// or when no more answers are due.
    fn request(
        &mut self,
        target: Target,
        payload: &[u8],
        expect: Option<usize>,
    ) -> impl Future<Output = Result<Answers, TransportError>> + Send;

    /// Bytes this transport moved on its line so far (out, in), where it has a line.
    fn line_bytes(&self) -> Option<(usize, usize)> {
        None
    }
}

/// OBD-II over ISO-TP on a raw CAN bus.
pub struct CanObd<B> {
    bus: B,
    config: Config,
    /// P2: how long to wait for the first answer (J1979: 50 ms; 100 ms leaves room for slow ECUs
    /// and adapters that add latency).
    pub p2: Duration,
}

impl<B: CanBus> CanObd<B> {
    pub fn new(bus: B) -> Self {
        Self {
            bus,
            config: Config::default(),
            p2: Duration::from_millis(100),
        }
    }

    /// The bus.
    pub fn bus(&self) -> &B {
        &self.bus
    }

    /// The bus, for sending raw frames (actuation) between OBD requests.
    pub fn bus_mut(&mut self) -> &mut B {
        &mut self.bus
    }
}

impl<B: CanBus> ObdTransport for CanObd<B> {
    async fn request(
        &mut self,
        target: Target,
        payload: &[u8],
        expect: Option<usize>,
    ) -> Result<Answers, TransportError> {
        let ex = isotp::request(
            &mut self.bus,
            &self.config,
            target,
            payload,
            expect,
            self.p2,
        )
        .await?;
        Ok(Answers {
            replies: ex.replies,
            failures: ex
                .failures
                .into_iter()
                .map(|(id, e)| (id, e.to_string()))
                .collect(),
            pending: ex.pending,
        })
    }
}

impl ObdTransport for Elm327Client {
    async fn request(
        &mut self,
        target: Target,
        payload: &[u8],
        expect: Option<usize>,
    ) -> Result<Answers, TransportError> {
        Ok(Elm327Client::request(self, target, payload, expect).await?)
    }

    fn line_bytes(&self) -> Option<(usize, usize)> {
        Some(self.bytes())
    }
}

/// Any transport, picked from a bus spec at run time.
pub enum Transport {
    Can(Box<CanObd<AnyBus>>),
    Elm(Box<Elm327Client>),
}

impl Transport {
    /// Opens whatever `spec` names.
    pub async fn open(spec: &BusSpec) -> Result<Self, TransportError> {
        let connector = match spec {
            BusSpec::Elm327Serial { path, baud } => Connector::Serial {
                path: path.clone(),
                baud: *baud,
            },
            BusSpec::Elm327Tcp { host, port } => Connector::Tcp {
                host: host.clone(),
                port: *port,
            },
            _ => {
                let bus = AnyBus::open(spec, "OBD").await?;
                return Ok(Self::Can(Box::new(CanObd::new(bus))));
            }
        };
        let client = Elm327Client::connect(connector, ElmConfig::default()).await?;
        Ok(Self::Elm(Box::new(client)))
    }
}

impl ObdTransport for Transport {
    async fn request(
        &mut self,
        target: Target,
        payload: &[u8],
        expect: Option<usize>,
    ) -> Result<Answers, TransportError> {
        match self {
            Self::Can(t) => t.request(target, payload, expect).await,
            Self::Elm(t) => ObdTransport::request(t.as_mut(), target, payload, expect).await,
        }
    }

    fn line_bytes(&self) -> Option<(usize, usize)> {
        match self {
            Self::Can(_) => None,
            Self::Elm(t) => Some(t.bytes()),
        }
    }
}
