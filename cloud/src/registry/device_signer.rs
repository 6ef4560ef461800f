//! Asking a device to sign a payload (claim, pair) when the caller did not bring its
//! signature: the MQTT layer implements [`DeviceSigner`] with a `sign.typed_data` command.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use pitlane_shared::identity::{Address, Signature};

/// Why the device's signature could not be obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceSignError {
    /// The device did not answer in time.
    #[error("the device did not answer within {0:?}")]
    Timeout(Duration),
    /// The device is not connected.
    #[error("the device is offline")]
    Offline,
    /// The device answered with a refusal (its signing policy said no).
    #[error("the device refused to sign: {0}")]
    Refused(String),
    /// The request could not be sent or the answer was unreadable.
    #[error("could not reach the device: {0}")]
    Transport(String),
}

/// A way to have a device sign an `eth_signTypedData_v4` payload.
pub trait DeviceSigner: Send + Sync + std::fmt::Debug {
    /// Asks the device to sign an eth_signTypedData_v4 payload; waits at most `timeout`.
    fn sign_typed_data<'a>(
        &'a self,
        device: &'a Address,
        typed_data: serde_json::Value,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Signature, DeviceSignError>> + Send + 'a>>;
}
