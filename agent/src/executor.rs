//! Runs verified remote commands on the car and answers each with a signed result.
//!
//! A request id runs at most once: [`Store::begin_command`] records it (with its `seq`)
//! before the car is touched, and [`Store::finish_command`] queues the result and marks it
//! done in one transaction. Authentic refusals (expired, stale `seq`, unknown action) are
//! recorded too, so their `seq` counts; forged ones are answered but never recorded.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use pitlane_shared::command::{
    Action, CommandResult, CommandVerifier, RejectCode, Rejection, ResultStatus, Verdict,
    VerifiedCommand,
};
use pitlane_shared::eip712::{SigningPolicy, TypedData};
use pitlane_shared::identity::DeviceKey;
use pitlane_shared::obd::DtcKind;
use pitlane_shared::topics::DtcReport;
use serde_json::{Value, json};

use crate::actuate::{self, NoRelays, Profile};
use crate::obd::{ObdClient, ObdTransport, Transport};
use crate::store::Store;

/// What commands run against.
pub struct Executor {
    pub verifier: CommandVerifier,
    pub profile: Option<Profile>,
    pub policy: Option<SigningPolicy>,
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // SQLite rolls back what a panicking holder left half done; the lock stays usable.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

impl Executor {
    /// Verifies and (when allowed) runs one received command; returns the result to publish
    /// and whether it was recorded in the store's ledger (then it is already queued there
    /// through `finish`).
    pub async fn handle(
        &self,
        bytes: &[u8],
        now: SystemTime,
        key: &DeviceKey,
        client: &mut ObdClient<Transport>,
        store: &Mutex<Store>,
        finish: impl Fn(&Store, &CommandResult) -> Result<(), String>,
    ) -> CommandResult {
        let verdict = self.verifier.verify(bytes, now, &*lock(store));
        let command = match verdict {
            Verdict::Reject(rejection) => {
                let result = CommandResult::refused(&rejection);
                self.record_refusal(&rejection, store, &result, &finish);
                return result;
            }
            Verdict::Execute(command) => command,
        };
        let VerifiedCommand {
            action, command, ..
        } = command;
        let began = lock(store).begin_command(&command.request_id, command.seq, action.as_str());
        if !matches!(began, Ok(true)) {
            // Recorded meanwhile, or the ledger cannot be written: never run it.
            let rejection = Rejection {
                code: RejectCode::Replayed,
                reason: format!(
                    "request {} could not be recorded as new ({began:?}); not run",
                    command.request_id
                ),
                request_id: Some(command.request_id.clone()),
                action: Some(command.action.clone()),
                seq: Some(command.seq),
                authentic: true,
            };
            return CommandResult::refused(&rejection);
        }
        let (status, reason, code, state, output) =
            match self.perform(action, &command.params, key, client).await {
                Ok((state, output)) => (ResultStatus::Executed, None, None, state, output),
                Err((code, reason)) => (
                    ResultStatus::Failed,
                    Some(reason),
                    code,
                    BTreeMap::new(),
                    Value::Null,
                ),
            };
        let result = CommandResult {
            request_id: command.request_id,
            action: command.action,
            status,
            code,
            reason,
            state,
            output,
            seq: Some(command.seq),
        };
        if let Err(e) = finish(&lock(store), &result) {
            tracing::error!("cannot queue the result of {}: {e}", result.request_id);
        }
        result
    }

    fn record_refusal(
        &self,
        rejection: &Rejection,
        store: &Mutex<Store>,
        result: &CommandResult,
        finish: &impl Fn(&Store, &CommandResult) -> Result<(), String>,
    ) {
        let store = lock(store);
        if rejection.authentic && rejection.code != RejectCode::Replayed {
            let _ =
                store.begin_command(&result.request_id, result.seq.unwrap_or(0), &result.action);
        }
        if let Err(e) = finish(&store, result) {
            tracing::error!("cannot queue a command refusal: {e}");
        }
    }

    async fn perform(
        &self,
        action: Action,
        params: &Value,
        key: &DeviceKey,
        client: &mut ObdClient<Transport>,
    ) -> Result<(BTreeMap<String, Value>, Value), (Option<RejectCode>, String)> {
        let failed = |e: &dyn std::fmt::Display| (None, e.to_string());
        match action {
            Action::DoorsLock | Action::DoorsUnlock | Action::TrunkOpen | Action::FrunkOpen => {
                let Some(profile) = &self.profile else {
                    return Err((
                        Some(RejectCode::Unsupported),
                        "no actuation profile is configured ([commands] profile)".into(),
                    ));
                };
                let body_action: actuate::Action =
                    action.as_str().parse().map_err(|e| failed(&e))?;
                let Transport::Can(can) = client.transport_mut() else {
                    return Err((
                        Some(RejectCode::Unsupported),
                        "body actions need a raw CAN bus, not an ELM327 adapter".into(),
                    ));
                };
                let outcome = actuate::execute(profile, body_action, can.bus_mut(), &mut NoRelays)
                    .await
                    .map_err(|e| failed(&e))?;
                let state = outcome
                    .state
                    .into_iter()
                    .map(|(k, v)| (k, Value::Bool(v)))
                    .collect();
                Ok((state, json!({ "status_frame": outcome.status_frame })))
            }
            Action::DtcRead => {
                let report = read_dtcs(client).await.map_err(|e| failed(&e))?;
                Ok((BTreeMap::new(), json!(report)))
            }
            Action::DtcClear => {
                let per_ecu = client.clear_dtcs().await.map_err(|e| failed(&e))?;
                let cleared: Vec<String> = per_ecu
                    .iter()
                    .filter(|(_, r)| r.is_ok())
                    .map(|(ecu, _)| ecu.to_string())
                    .collect();
                if cleared.is_empty() {
                    return Err((None, "no ECU confirmed clearing its codes".into()));
                }
                Ok((BTreeMap::new(), json!({ "cleared": cleared })))
            }
            Action::VinRead => {
                let (vin, query) = client.vin().await.map_err(|e| failed(&e))?;
                Ok((
                    BTreeMap::new(),
                    json!({ "vin": vin.as_str(), "query": query }),
                ))
            }
            Action::SignTypedData => {
                let Some(policy) = &self.policy else {
                    return Err((
                        Some(RejectCode::Unsupported),
                        "no [signing] section: this device signs nothing".into(),
                    ));
                };
                let payload = params.get("typed_data").unwrap_or(params);
                let typed = TypedData::from_value(payload).map_err(|e| failed(&e))?;
                policy
                    .check(&typed)
                    .map_err(|e| (Some(RejectCode::Policy), e.to_string()))?;
                Ok((BTreeMap::new(), json!(typed.sign(key))))
            }
        }
    }
}

/// Every ECU's stored, pending and permanent codes.
pub async fn read_dtcs<T: ObdTransport>(
    client: &mut ObdClient<T>,
) -> Result<DtcReport, crate::obd::ObdError> {
    let mut report = DtcReport::default();
    for kind in [DtcKind::Stored, DtcKind::Pending, DtcKind::Permanent] {
        let list = match kind {
            DtcKind::Stored => &mut report.stored,
            DtcKind::Pending => &mut report.pending,
            DtcKind::Permanent => &mut report.permanent,
        };
        for (ecu, codes) in client.dtcs(kind).await? {
            match codes {
                Ok(codes) => {
                    list.insert(
                        ecu.to_string(),
                        codes.iter().map(ToString::to_string).collect(),
                    );
                }
                Err(e) => tracing::warn!("trouble codes from {ecu}: {e}"),
            }
        }
    }
    Ok(report)
}
