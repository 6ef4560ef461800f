//! The devices domain: users' vehicles ("user devices"), the make/model/year device
//! definitions they point at, error-code queries and geofences, with their storage queries.
//!
//! **Architecture invariant:** nothing here knows about HTTP; every function takes the owner's
//! user id and treats another user's record exactly like a missing one ([`DevicesError::NotFound`]),
//! so the API cannot leak which ids exist.

pub mod country;
pub mod definitions;
pub mod error_codes;
pub mod geofences;
pub mod vehicles;

use rand::Rng;

/// Why a devices operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DevicesError {
    /// The record does not exist or belongs to someone else.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input is malformed; the text names the field and the problem.
    #[error("{0}")]
    BadInput(String),
    /// The input collides with an existing record (a geofence name, a VIN).
    #[error("{0}")]
    Conflict(String),
    /// The request is valid but the current state does not allow it.
    #[error("{0}")]
    State(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("VIN decoder data: {0}")]
    Decoder(#[from] crate::vin::DecoderError),
}

/// Length of a record id (as KSUIDs: `2bh8fNMoix9qduuiE9NHUzTGpZx`).
pub const ID_LEN: usize = 27;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh random record id: 27 base62 characters (about 160 bits), shaped like a KSUID.
pub fn new_id() -> String {
    let mut rng = rand::thread_rng();
    (0..ID_LEN)
        .map(|_| char::from(BASE62[rng.gen_range(0..BASE62.len())]))
        .collect()
}

/// Whether `s` could be an id [`new_id`] made (cheap rejection of junk before a query).
pub fn is_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_27_base62_characters_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert!(is_id(&a) && is_id(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_id("2bh8fNMoix9qduuiE9NHUzTGpZ"));
        assert!(!is_id("2bh8fNMoix9qduuiE9NHUzTGp-x"));
        assert!(is_id("2bh8fNMoix9qduuiE9NHUzTGpZx"));
    }
}
