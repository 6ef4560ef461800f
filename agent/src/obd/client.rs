//! The OBD-II client over any [`ObdTransport`]: ECU discovery by a functional 0100, supported
//! PIDs and live values, trouble codes per ECU, clearing them, ECU names, and the VIN with its
//! fallback chain (remembering which query worked).

use std::collections::BTreeMap;
use std::fmt;

use pitlane_shared::can::CanId;
use pitlane_shared::obd::{
    self as codec, DID_VIN, Dtc, DtcKind, EcuName, INFO_ECU_NAME, INFO_VIN, Reading, Request,
    Response, SupportedPids, Vin, decode_vin,
};

use super::{Answers, ObdTransport, TransportError};
use crate::isotp::Target;

/// The ways to ask for the VIN, in the order the fallback chain tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VinQuery {
    /// `09 02` to 7DF (every OBD-II car since 2008 should answer).
    Functional0902,
    /// `09 02` to the engine ECU on 7E0 (some ECUs ignore functional service 09).
    Physical0902,
    /// `09 02` to 18DB33F1 (29-bit cars).
    Extended0902,
    /// UDS `22 F190` to 7E0 (cars that only answer the UDS identifier).
    UdsF190,
}

impl VinQuery {
    pub const CHAIN: [Self; 4] = [
        Self::Functional0902,
        Self::Physical0902,
        Self::Extended0902,
        Self::UdsF190,
    ];

    fn plan(self) -> (Target, Request) {
        let engine = Target::Physical {
            response: CanId::Standard(0x7E8),
        };
        match self {
            Self::Functional0902 => (
                Target::Functional { extended: false },
                Request::VehicleInfo(INFO_VIN),
            ),
            Self::Physical0902 => (engine, Request::VehicleInfo(INFO_VIN)),
            Self::Extended0902 => (
                Target::Functional { extended: true },
                Request::VehicleInfo(INFO_VIN),
            ),
            Self::UdsF190 => (engine, Request::ReadDataByIdentifier(DID_VIN)),
        }
    }
}

impl fmt::Display for VinQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Functional0902 => "09 02 functional (7DF)",
            Self::Physical0902 => "09 02 physical (7E0)",
            Self::Extended0902 => "09 02 functional 29-bit (18DB33F1)",
            Self::UdsF190 => "UDS 22 F190 (7E0)",
        })
    }
}

/// Why an OBD operation failed. Each names the request and, where one answered, the ECU.
#[derive(Debug, thiserror::Error)]
pub enum ObdError {
    #[error("{request}: {source}")]
    Transport {
        request: String,
        #[source]
        source: TransportError,
    },
    #[error("no ECU answered the functional 01 00 (ignition off, or not an OBD-II CAN car)")]
    NoEcu,
    #[error("{request}: no answer from {target}")]
    NoAnswer { request: String, target: String },
    #[error("{request}: ECU {ecu}: {source}")]
    Decode {
        request: String,
        ecu: CanId,
        #[source]
        source: codec::ObdError,
    },
    #[error("{request}: ECU {ecu} refused: {response}")]
    Negative {
        request: String,
        ecu: CanId,
        response: String,
    },
    #[error("{request}: ECU {ecu}: {detail}")]
    Reception {
        request: String,
        ecu: CanId,
        detail: String,
    },
    #[error("{request}: ECU {ecu} said \"response pending\" and never answered")]
    Pending { request: String, ecu: CanId },
    #[error("no VIN: {}", tried.iter().map(|(q, e)| format!("{q}: {e}")).collect::<Vec<_>>().join("; "))]
    NoVin { tried: Vec<(VinQuery, String)> },
}

/// Per-ECU results of one request.
pub type PerEcu<T> = BTreeMap<CanId, Result<T, ObdError>>;

/// An OBD-II client; it keeps what it learnt (ECUs, the VIN query that worked) across calls.
pub struct ObdClient<T> {
    transport: T,
    ecus: Vec<CanId>,
    supported: BTreeMap<CanId, SupportedPids>,
    vin_query: Option<VinQuery>,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl<T: ObdTransport> ObdClient<T> {
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            ecus: Vec::new(),
            supported: BTreeMap::new(),
            vin_query: None,
        }
    }

    /// Starts with a VIN query remembered from an earlier run (e.g. read from the agent's store).
    pub fn with_vin_query(mut self, query: Option<VinQuery>) -> Self {
        self.vin_query = query;
        self
    }

    /// The VIN query that worked last, for a store to persist.
    pub fn vin_query(&self) -> Option<VinQuery> {
        self.vin_query
    }

    /// The ECUs found by the last discovery (their response ids).
    pub fn ecus(&self) -> &[CanId] {
        &self.ecus
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Sends `request` and decodes every ECU's answer against it.
    async fn ask(
        &mut self,
        target: Target,
        request: &Request,
        expect: Option<usize>,
    ) -> Result<PerEcu<Response>, ObdError> {
        let payload = request.encode();
        let name = hex(&payload);
        let answers: Answers = self
            .transport
            .request(target, &payload, expect)
            .await
            .map_err(|source| ObdError::Transport {
                request: name.clone(),
                source,
            })?;
        let mut out = PerEcu::new();
        for (ecu, msg) in answers.replies {
            let decoded = match Response::parse(request, &msg) {
                Ok(Response::Negative(n)) => Err(ObdError::Negative {
                    request: name.clone(),
                    ecu,
                    response: n.to_string(),
                }),
                Ok(r) => Ok(r),
                Err(source) => Err(ObdError::Decode {
                    request: name.clone(),
                    ecu,
                    source,
                }),
            };
            out.insert(ecu, decoded);
        }
        for (ecu, detail) in answers.failures {
            out.entry(ecu).or_insert(Err(ObdError::Reception {
                request: name.clone(),
                ecu,
                detail,
            }));
        }
        for ecu in answers.pending {
            out.entry(ecu).or_insert(Err(ObdError::Pending {
                request: name.clone(),
                ecu,
            }));
        }
        Ok(out)
    }

    fn expect(&self) -> Option<usize> {
        (!self.ecus.is_empty()).then_some(self.ecus.len())
    }

    /// Finds the ECUs with a functional 01 00 (11-bit, then 29-bit), and their PIDs 01–20.
    pub async fn discover(&mut self) -> Result<Vec<CanId>, ObdError> {
        let request = Request::CurrentData(vec![0x00]);
        let expect = self.expect();
        let mut answers = self
            .ask(Target::Functional { extended: false }, &request, expect)
            .await?;
        if answers.is_empty() {
            answers = self
                .ask(Target::Functional { extended: true }, &request, None)
                .await?;
        }
        self.ecus.clear();
        self.supported.clear();
        for (ecu, answer) in answers {
            self.ecus.push(ecu);
            if let Ok(Response::CurrentData(items)) = answer {
                let mut pids = SupportedPids::new();
                for item in items.iter().filter(|i| i.pid == 0) {
                    // A malformed bitmap leaves the set empty; the ECU is still there.
                    let _ = pids.add_bitmap(0, &item.data);
                }
                self.supported.insert(ecu, pids);
            }
        }
        if self.ecus.is_empty() {
            return Err(ObdError::NoEcu);
        }
        Ok(self.ecus.clone())
    }

    /// Every supported service 01 PID of `ecu`, following the 20/40/60/… bitmap chain.
    pub async fn supported_pids(&mut self, ecu: CanId) -> Result<SupportedPids, ObdError> {
        let mut pids = self.supported.get(&ecu).copied().unwrap_or_default();
        let mut base = 0x20u8;
        while pids.contains(base) {
            let request = Request::CurrentData(vec![base]);
            let answer = self.one(ecu, &request).await?;
            if let Response::CurrentData(items) = answer {
                for item in items.iter().filter(|i| i.pid == base) {
                    pids.add_bitmap(base, &item.data)
                        .map_err(|source| ObdError::Decode {
                            request: hex(&request.encode()),
                            ecu,
                            source,
                        })?;
                }
            }
            let Some(next) = base.checked_add(0x20) else {
                break;
            };
            base = next;
        }
        self.supported.insert(ecu, pids);
        Ok(pids)
    }

    /// Asks one ECU physically.
    async fn one(&mut self, ecu: CanId, request: &Request) -> Result<Response, ObdError> {
        let mut answers = self
            .ask(Target::Physical { response: ecu }, request, Some(1))
            .await?;
        answers.remove(&ecu).unwrap_or_else(|| {
            Err(ObdError::NoAnswer {
                request: hex(&request.encode()),
                target: ecu.to_string(),
            })
        })
    }

    /// Current values of `pids` (at most six a request, as J1979 allows) from `ecu`.
    pub async fn read_pids(&mut self, ecu: CanId, pids: &[u8]) -> Result<Vec<Reading>, ObdError> {
        let mut out = Vec::new();
        for chunk in pids.chunks(6) {
            let request = Request::CurrentData(chunk.to_vec());
            if let Response::CurrentData(items) = self.one(ecu, &request).await? {
                for item in items {
                    let reading = item.reading().map_err(|source| ObdError::Decode {
                        request: hex(&request.encode()),
                        ecu,
                        source,
                    })?;
                    out.push(reading);
                }
            }
        }
        Ok(out)
    }

    /// One trouble-code list from every ECU (a functional request, answers kept per ECU).
    pub async fn dtcs(&mut self, kind: DtcKind) -> Result<PerEcu<Vec<Dtc>>, ObdError> {
        let answers = self
            .ask(
                Target::Functional {
                    extended: self.extended(),
                },
                &Request::Dtcs(kind),
                self.expect(),
            )
            .await?;
        Ok(answers
            .into_iter()
            .map(|(ecu, r)| {
                let codes = r.map(|resp| match resp {
                    Response::Dtcs { codes, .. } => codes,
                    _ => Vec::new(),
                });
                (ecu, codes)
            })
            .collect())
    }

    /// Clears trouble codes (service 04) in every ECU; returns the ECUs that confirmed.
    pub async fn clear_dtcs(&mut self) -> Result<PerEcu<()>, ObdError> {
        let answers = self
            .ask(
                Target::Functional {
                    extended: self.extended(),
                },
                &Request::ClearDtcs,
                self.expect(),
            )
            .await?;
        Ok(answers
            .into_iter()
            .map(|(e, r)| (e, r.map(|_| ())))
            .collect())
    }

    /// ECU names (service 09 info type 0A), where ECUs report one.
    pub async fn ecu_names(&mut self) -> Result<PerEcu<EcuName>, ObdError> {
        let request = Request::VehicleInfo(INFO_ECU_NAME);
        let answers = self
            .ask(
                Target::Functional {
                    extended: self.extended(),
                },
                &request,
                self.expect(),
            )
            .await?;
        Ok(answers
            .into_iter()
            .map(|(ecu, r)| {
                let name = r.map(|resp| match resp {
                    Response::VehicleInfo { data, .. } => EcuName::decode(&data),
                    _ => EcuName::decode(&[]),
                });
                (ecu, name)
            })
            .collect())
    }

    fn extended(&self) -> bool {
        self.ecus.first().is_some_and(|id| id.is_extended())
    }

    /// The VIN: the query that worked last time first, then the chain 09 02 functional →
    /// physical 7E0 → 29-bit → UDS 22 F190. Remembers the query that worked.
    pub async fn vin(&mut self) -> Result<(Vin, VinQuery), ObdError> {
        let order = self.vin_query.into_iter().chain(
            VinQuery::CHAIN
                .into_iter()
                .filter(|q| Some(*q) != self.vin_query),
        );
        let mut tried = Vec::new();
        for query in order.collect::<Vec<_>>() {
            match self.vin_by(query).await {
                Ok(vin) => {
                    self.vin_query = Some(query);
                    return Ok((vin, query));
                }
                Err(e) => tried.push((query, e.to_string())),
            }
        }
        Err(ObdError::NoVin { tried })
    }

    async fn vin_by(&mut self, query: VinQuery) -> Result<Vin, ObdError> {
        let (target, request) = query.plan();
        // Only some ECUs report a VIN; the first answer is enough (an unusable one sends the
        // chain on to the next query).
        let answers = self.ask(target, &request, Some(1)).await?;
        let mut last_err = None;
        for (ecu, answer) in answers {
            let data = match answer {
                Ok(
                    Response::VehicleInfo { data, .. } | Response::DataByIdentifier { data, .. },
                ) => data,
                Ok(_) => continue,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            match decode_vin(&data) {
                Ok(vin) => return Ok(vin),
                Err(source) => {
                    last_err = Some(ObdError::Decode {
                        request: hex(&request.encode()),
                        ecu,
                        source,
                    });
                }
            }
        }
        Err(last_err.unwrap_or(ObdError::NoAnswer {
            request: hex(&request.encode()),
            target: format!("{target:?}"),
        }))
    }
}
