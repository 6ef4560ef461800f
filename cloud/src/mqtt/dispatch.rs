//! Sending commands to devices: a command row with the device's next `seq`, the envelope
//! signed by the command key, published at QoS 1 on the device's `down/command` topic. Also
//! the [`DeviceSigner`] the registry uses to have a device sign claim and pairing payloads.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use pitlane_shared::command::Action;
use pitlane_shared::envelope::EnvelopeError;
use pitlane_shared::identity::{Address, Signature};
use pitlane_shared::topics;
use rumqttc::QoS;
use serde_json::{Value, json};

use super::MqttLayer;
use crate::commands::envelope::{self, CommandSpec};
use crate::commands::store::{self, CommandStoreError, NewCommand};
use crate::registry::{DeviceSignError, DeviceSigner};
use crate::telemetry::now_ms;

/// How often a waiting signer re-reads the command row (results stored by another instance).
const POLL: Duration = Duration::from_millis(250);

/// Why a command was not sent.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] CommandStoreError),
    #[error("command envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("the MQTT client did not take the command: {0}")]
    Publish(String),
}

/// A command to send.
#[derive(Debug, Clone)]
pub struct CommandRequest<'a> {
    pub device: Address,
    pub action: Action,
    pub params: Value,
    /// The vehicle it is for (owner checks on reads).
    pub vehicle_token_id: Option<u64>,
    /// Who asked; None when the cloud asks on its own (signing requests).
    pub user_id: Option<&'a str>,
    /// How long the device may still execute it; None: `command_ttl_secs`.
    pub ttl: Option<Duration>,
}

/// A command that went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub request_id: String,
    pub seq: u64,
    pub issued_ms: i64,
    pub expires_ms: i64,
}

impl MqttLayer {
    /// Stores and publishes a command; answers its request id.
    pub async fn send_command(&self, req: CommandRequest<'_>) -> Result<Sent, DispatchError> {
        self.send_with_id(crate::devices::new_id(), req).await
    }

    async fn send_with_id(
        &self,
        request_id: String,
        req: CommandRequest<'_>,
    ) -> Result<Sent, DispatchError> {
        let inner = &self.0;
        let ttl = req.ttl.unwrap_or(inner.ttl);
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        // One instance hands commands to the client in seq order (a later seq overtaking an
        // earlier one would make the device refuse the earlier one as stale).
        let _order = inner.publish.lock().await;
        let issued_ms = now_ms();
        let expires_ms = issued_ms.saturating_add(ttl_ms);
        let seq = store::create(
            &inner.db,
            &NewCommand {
                request_id: &request_id,
                device: req.device,
                action: req.action.as_str(),
                params: &req.params,
                vehicle_token_id: req.vehicle_token_id,
                user_id: req.user_id,
                issued_ms,
                expires_ms,
            },
        )
        .await?;
        let bytes = envelope::build(
            &inner.key,
            &CommandSpec {
                request_id: &request_id,
                device: req.device,
                action: req.action.as_str(),
                params: &req.params,
                issued_ms,
                expires_ms,
                seq,
            },
        )?;
        inner
            .client
            .publish(topics::command(req.device), QoS::AtLeastOnce, false, bytes)
            .await
            .map_err(|e| DispatchError::Publish(e.to_string()))?;
        Ok(Sent {
            request_id,
            seq,
            issued_ms,
            expires_ms,
        })
    }

    async fn sign(
        &self,
        device: &Address,
        typed_data: Value,
        timeout: Duration,
    ) -> Result<Signature, DeviceSignError> {
        let transport = |e: &dyn std::fmt::Display| DeviceSignError::Transport(e.to_string());
        let state = crate::telemetry::state::get(&self.0.db, device)
            .await
            .map_err(|e| transport(&e))?;
        if !state.is_some_and(|s| s.online) {
            return Err(DeviceSignError::Offline);
        }
        let request_id = crate::devices::new_id();
        let woken = self.0.waiters.register(&request_id);
        let deadline = tokio::time::Instant::now() + timeout;
        let outcome = async {
            self.send_with_id(
                request_id.clone(),
                CommandRequest {
                    device: *device,
                    action: Action::SignTypedData,
                    params: json!({ "typed_data": typed_data }),
                    vehicle_token_id: None,
                    user_id: None,
                    ttl: Some(timeout),
                },
            )
            .await
            .map_err(|e| transport(&e))?;
            loop {
                let row = store::get(&self.0.db, &request_id)
                    .await
                    .map_err(|e| transport(&e))?
                    .ok_or_else(|| transport(&"the signing request vanished"))?;
                match row.status.as_str() {
                    "pending" => {}
                    "executed" => return signature_of(device, row.output.as_ref()),
                    "expired" => return Err(DeviceSignError::Timeout(timeout)),
                    _ => {
                        return Err(DeviceSignError::Refused(
                            row.reason.unwrap_or_else(|| row.status.clone()),
                        ));
                    }
                }
                let wait = tokio::time::sleep(POLL);
                tokio::select! {
                    _ = woken.notified() => {}
                    _ = wait => {}
                    _ = tokio::time::sleep_until(deadline) => {
                        return Err(DeviceSignError::Timeout(timeout));
                    }
                }
            }
        };
        let result = outcome.await;
        self.0.waiters.forget(&request_id);
        result
    }
}

/// The signature in a `sign.typed_data` result's output (`{hash, signature, address}`).
fn signature_of(device: &Address, output: Option<&Value>) -> Result<Signature, DeviceSignError> {
    let bad = |why: &str| DeviceSignError::Transport(format!("unreadable signing result: {why}"));
    let output = output.ok_or_else(|| bad("no output"))?;
    if let Some(address) = output.get("address").and_then(Value::as_str) {
        let signer: Address = address.parse().map_err(|_| bad("address"))?;
        if signer != *device {
            return Err(bad("signed by another address"));
        }
    }
    output
        .get("signature")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no signature"))?
        .parse()
        .map_err(|_| bad("signature"))
}

impl DeviceSigner for MqttLayer {
    fn sign_typed_data<'a>(
        &'a self,
        device: &'a Address,
        typed_data: Value,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Signature, DeviceSignError>> + Send + 'a>> {
        Box::pin(self.sign(device, typed_data, timeout))
    }
}
