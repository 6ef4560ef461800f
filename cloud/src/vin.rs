//! Offline VIN decoding: validation, WMI, model year, vPIC-derived index, VAG model codes.
//!
//! The data ships inside the binary (`cloud/data/`, provenance in its README) and is parsed once
//! per process on first use; nothing is fetched at build or run time. [`Decoder::decode`] never
//! fails: malformed input comes back as per-position [`VinIssue`]s.

mod decode;
pub mod index;
mod pattern;
pub mod region;
mod report;
pub mod store;
pub mod vag;
pub mod vag_map;
mod validate;
pub mod vpic;
pub mod worker;
pub mod year;

pub use decode::{Decoded, Decoder, DecoderError, Source};
pub use report::{Report, Summary, Tab, report};
pub use validate::{Severity, VIN_LEN, Vin, VinIssue};
