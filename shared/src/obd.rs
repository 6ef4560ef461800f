//! OBD-II (SAE J1979) requests and responses, SAE J2012 trouble codes, VIN validation.
//!
//! Everything here works on ISO-TP payloads (the bytes after reassembly), in both directions:
//! the agent encodes a [`Request`] and parses the [`Response`] against it; the simulator parses
//! the `Request` and encodes the `Response`. [`describe`] looks a trouble code up in the
//! embedded SAE and manufacturer tables.
//!
//! ```
//! use pitlane_shared::obd::{Request, Response, DtcKind};
//! let request = Request::Dtcs(DtcKind::Stored);
//! assert_eq!(request.encode(), [0x03]);
//! let Response::Dtcs { codes, .. } = Response::parse(&request, &[0x43, 0x01, 0x03, 0x01])? else {
//!     unreachable!()
//! };
//! assert_eq!(codes[0].to_string(), "P0301");
//! # Ok::<(), pitlane_shared::obd::ObdError>(())
//! ```

mod describe;
mod dtc;
mod error;
mod negative;
mod pid;
mod request;
mod response;
mod supported;
mod vehicle_info;
mod vin;

pub use describe::{DtcDescription, describe, makes};
pub use dtc::{Dtc, DtcParseError, System};
pub use error::ObdError;
pub use negative::{NegativeResponse, Nrc};
pub use pid::{
    MonitorStatus, PIDS, PidInfo, Reading, Unit, data_len, decode_pid, encode_pid, pid_info,
};
pub use request::{DID_VIN, DtcKind, INFO_ECU_NAME, INFO_VIN, Request};
pub use response::{PidData, Response};
pub use supported::SupportedPids;
pub use vehicle_info::{EcuName, decode_vin, encode_vin};
pub use vin::{CheckDigit, Vin, VinError};
