//! The device registry: aftermarket devices, vehicle and synthetic device tokens, pairings,
//! privileges and DCN names, with every signed call (claim, pair, unpair, mint) recorded in a
//! ledger behind the [`ledger::Registry`] trait.
//!
//! Token ids are integers this registry assigns, as the DIMO contracts do on chain. The
//! default [`ledger::LedgerRegistry`] records each call in `registry_calls` and confirms it
//! at once; an Ethereum JSON-RPC backend can replace it without touching the API.
//!
//! **Architecture invariant:** nothing here knows about HTTP; signatures are verified here,
//! before anything is recorded, so a wrong, mismatched or replayed signature changes nothing.

pub mod claim;
pub mod dcn;
pub mod device_signer;
pub mod devices;
pub mod identicon;
pub mod ledger;
pub mod mint;
pub mod pairing;
pub mod privileges;
pub mod provisioning;
pub mod refresh;
pub mod signatures;
pub mod vehicles;
pub mod vin;

use pitlane_shared::eip712::{DimoDomain, U256};
use pitlane_shared::identity::Address;

pub use device_signer::{DeviceSignError, DeviceSigner};
pub use devices::{
    AftermarketDevice, NewDevice, Registered, check_mqtt_login, device_by_address,
    device_by_serial, register_device,
};
pub use vehicles::{PairedDevice, paired_device, pairing_of_device};

use crate::config::Config;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The record does not exist (or is not the caller's to see).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input is malformed; the text names the field and the problem.
    #[error("{0}")]
    BadInput(String),
    /// A signature is malformed, made by the wrong key, or was already used.
    #[error("{0}")]
    BadSignature(String),
    /// The caller may not do this to this record.
    #[error("{0}")]
    Forbidden(String),
    /// The current state does not allow the call (already claimed, not paired, …).
    #[error("{0}")]
    Conflict(String),
    /// Asked again too soon; retry after this many seconds.
    #[error("too many requests; retry after {0} s")]
    TooSoon(u64),
    /// The device could not be asked for its signature.
    #[error(transparent)]
    DeviceSign(#[from] DeviceSignError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// An invariant of stored data does not hold (a corrupt row).
    #[error("stored data: {0}")]
    Corrupt(String),
}

/// The registry's chain settings, parsed from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    /// The EIP-712 domain of claim, pair, unpair and mint payloads.
    pub domain: DimoDomain,
    /// The vehicle NFT contract (token exchange's `nftContractAddress`).
    pub vehicle_nft: Address,
    /// The aftermarket device NFT contract.
    pub aftermarket_device_nft: Address,
    /// The synthetic device NFT contract.
    pub synthetic_device_nft: Address,
}

impl Chain {
    /// The chain settings of `config` (validated when the configuration was loaded).
    pub fn from_config(config: &Config) -> Result<Self, (&'static str, String)> {
        let address = |key: &'static str, value: &str| {
            value
                .parse::<Address>()
                .map_err(|e| (key, format!("{value:?}: {e}")))
        };
        Ok(Chain {
            domain: DimoDomain {
                chain_id: U256::from(config.registry_chain_id),
                verifying_contract: address("registry_address", &config.registry_address)?,
            },
            vehicle_nft: address("vehicle_nft_address", &config.vehicle_nft_address)?,
            aftermarket_device_nft: address(
                "aftermarket_device_nft_address",
                &config.aftermarket_device_nft_address,
            )?,
            synthetic_device_nft: address(
                "synthetic_device_nft_address",
                &config.synthetic_device_nft_address,
            )?,
        })
    }
}

/// Checks the registry's settings: `(key, message)` for the first bad one.
pub fn validate_config(config: &Config) -> Result<(), (&'static str, String)> {
    Chain::from_config(config)?;
    if config.registry_chain_id == 0 {
        return Err(("registry_chain_id", "must be greater than 0".into()));
    }
    if let Some(digest) = &config.provisioning_api_key_sha256
        && !(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err((
            "provisioning_api_key_sha256",
            "must be 64 hex digits (the SHA-256 of the key)".into(),
        ));
    }
    Ok(())
}

/// A stored token id (BIGINT) as the u64 the API shows.
pub(crate) fn token_id(raw: i64) -> Result<u64, RegistryError> {
    u64::try_from(raw).map_err(|_| RegistryError::Corrupt(format!("negative token id {raw}")))
}

/// A token id from the API as the BIGINT it is stored as; ids beyond i64 do not exist.
pub(crate) fn db_id(id: u64) -> Option<i64> {
    i64::try_from(id).ok()
}

/// A stored lowercase address.
pub(crate) fn stored_address(text: &str) -> Result<Address, RegistryError> {
    text.parse()
        .map_err(|e| RegistryError::Corrupt(format!("address {text:?}: {e}")))
}
