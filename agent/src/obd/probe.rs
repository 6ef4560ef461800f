//! One full read of the car — VIN, ECUs, trouble codes per ECU, supported PIDs and a snapshot
//! of live values — as the report `pitlane-agent probe` prints (DESIGN.md contract).
//!
//! A probe is best-effort: a step that fails for one ECU is recorded in `errors` and the rest
//! goes on; only "no ECU answered" fails the whole probe.

use std::collections::BTreeMap;

use pitlane_shared::can::CanId;
use pitlane_shared::obd::{CheckDigit, DtcKind, describe};
use serde::Serialize;

use super::{ObdClient, ObdError, ObdTransport, VinQuery};

/// PIDs read for the live snapshot, where the ECU supports them.
pub const SNAPSHOT_PIDS: [u8; 13] = [
    0x04, 0x05, 0x0C, 0x0D, 0x0F, 0x11, 0x1F, 0x2F, 0x31, 0x42, 0x46, 0x5C, 0xA6,
];

/// The probe report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    pub vin: Option<VinReport>,
    pub ecus: Vec<EcuReport>,
    pub dtcs: DtcReport,
    /// Per ECU (response id, e.g. `7E8`).
    pub pids: BTreeMap<String, PidReport>,
    /// What failed, step by step; empty on a clean probe.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VinReport {
    pub vin: String,
    /// 17 characters, none of I, O, Q (the VIN parsed); false never appears here, since an
    /// invalid VIN is reported in `errors` instead.
    pub valid: bool,
    pub check_digit: CheckDigit,
    pub check_digit_valid: bool,
    /// The query that read it.
    pub query: VinQuery,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcuReport {
    /// The id the ECU answers on.
    pub id: String,
    pub name: Option<String>,
}

/// Trouble codes per ECU id, per list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DtcReport {
    pub stored: BTreeMap<String, Vec<DtcEntry>>,
    pub pending: BTreeMap<String, Vec<DtcEntry>>,
    pub permanent: BTreeMap<String, Vec<DtcEntry>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DtcEntry {
    pub code: String,
    pub system: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PidReport {
    /// Supported service 01 PIDs, as two hex digits.
    pub supported: Vec<String>,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    pub pid: String,
    pub name: String,
    pub value: f64,
    pub unit: String,
}

impl ProbeReport {
    /// The codes of one list, flattened (`P0301` …), for comparisons across transports.
    pub fn codes(&self, kind: DtcKind) -> Vec<(String, String)> {
        let list = match kind {
            DtcKind::Stored => &self.dtcs.stored,
            DtcKind::Pending => &self.dtcs.pending,
            DtcKind::Permanent => &self.dtcs.permanent,
        };
        list.iter()
            .flat_map(|(ecu, codes)| codes.iter().map(|c| (ecu.clone(), c.code.clone())))
            .collect()
    }
}

/// Reads the car once through `client`.
pub async fn probe<T: ObdTransport>(client: &mut ObdClient<T>) -> Result<ProbeReport, ObdError> {
    let mut errors = Vec::new();
    let ecus = client.discover().await?;

    let vin = match client.vin().await {
        Ok((vin, query)) => {
            let check = vin.check_digit();
            Some(VinReport {
                vin: vin.as_str().to_owned(),
                valid: true,
                check_digit: check,
                check_digit_valid: check.is_valid(),
                query,
            })
        }
        Err(e) => {
            errors.push(e.to_string());
            None
        }
    };
    // Manufacturer tables need the make, which takes a VIN decoder (the cloud's job):
    // the agent reports the generic SAE titles.
    let make = None;

    let mut dtcs = DtcReport::default();
    for kind in [DtcKind::Stored, DtcKind::Pending, DtcKind::Permanent] {
        let list = match kind {
            DtcKind::Stored => &mut dtcs.stored,
            DtcKind::Pending => &mut dtcs.pending,
            DtcKind::Permanent => &mut dtcs.permanent,
        };
        match client.dtcs(kind).await {
            Ok(per_ecu) => {
                for (ecu, codes) in per_ecu {
                    match codes {
                        Ok(codes) => {
                            let entries = codes
                                .into_iter()
                                .map(|code| {
                                    let d = describe(code, make);
                                    DtcEntry {
                                        code: code.to_string(),
                                        system: d.system.to_string(),
                                        description: d.description.map(str::to_owned),
                                    }
                                })
                                .collect();
                            list.insert(ecu.to_string(), entries);
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }

    let mut names: BTreeMap<CanId, String> = BTreeMap::new();
    match client.ecu_names().await {
        Ok(per_ecu) => {
            for (ecu, name) in per_ecu {
                // ECUs that do not implement 09 0A answer with a negative response: not an error.
                if let Ok(name) = name {
                    names.insert(ecu, format!("{}-{}", name.acronym, name.name));
                }
            }
        }
        Err(e) => errors.push(e.to_string()),
    }

    let mut pids = BTreeMap::new();
    for &ecu in &ecus {
        let mut report = PidReport::default();
        match client.supported_pids(ecu).await {
            Ok(supported) => {
                report.supported = supported.iter().map(|p| format!("{p:02X}")).collect();
                let wanted: Vec<u8> = SNAPSHOT_PIDS
                    .into_iter()
                    .filter(|p| supported.contains(*p))
                    .collect();
                match client.read_pids(ecu, &wanted).await {
                    Ok(readings) => {
                        report.values = readings
                            .into_iter()
                            .map(|r| Value {
                                pid: format!("{:02X}", r.pid),
                                name: r.name.to_owned(),
                                value: r.value,
                                unit: r.unit.symbol().to_owned(),
                            })
                            .collect();
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
        pids.insert(ecu.to_string(), report);
    }

    Ok(ProbeReport {
        vin,
        ecus: ecus
            .iter()
            .map(|id| EcuReport {
                id: id.to_string(),
                name: names.get(id).cloned(),
            })
            .collect(),
        dtcs,
        pids,
        errors,
    })
}
