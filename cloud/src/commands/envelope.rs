//! The signed `pitlane.command.v1` envelope of a command, as devices receive it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pitlane_shared::command::{COMMAND_EVENT_TYPE, Command};
use pitlane_shared::envelope::{Envelope, EnvelopeError};
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::topics;
use serde_json::Value;

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime_rfc3339(t)
}

fn humantime_rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What a command envelope says.
#[derive(Debug, Clone)]
pub struct CommandSpec<'a> {
    pub request_id: &'a str,
    pub device: Address,
    pub action: &'a str,
    pub params: &'a Value,
    pub issued_ms: i64,
    pub expires_ms: i64,
    pub seq: u64,
}

/// The wire bytes of the command, signed with the cloud's command key.
pub fn build(key: &DeviceKey, spec: &CommandSpec<'_>) -> Result<Vec<u8>, EnvelopeError> {
    let command = Command {
        request_id: spec.request_id.to_owned(),
        action: spec.action.to_owned(),
        params: spec.params.clone(),
        issued_at: rfc3339_ms(spec.issued_ms),
        expires_at: rfc3339_ms(spec.expires_ms),
        seq: spec.seq,
    };
    let issued = UNIX_EPOCH + Duration::from_millis(u64::try_from(spec.issued_ms).unwrap_or(0));
    Envelope::new(
        COMMAND_EVENT_TYPE,
        uuid::Uuid::new_v4().to_string(),
        topics::CLOUD_SOURCE,
        spec.device.to_lowercase_hex(),
        issued,
        command,
    )
    .sign(key)?
    .to_vec()
}

#[cfg(test)]
mod tests {
    use pitlane_shared::command::{CommandVerifier, SeenCommands, Verdict};
    use serde_json::json;

    use super::*;

    struct Fresh;
    impl SeenCommands for Fresh {
        fn seen(&self, _: &str) -> bool {
            false
        }
        fn highest_seq(&self) -> Option<u64> {
            None
        }
    }

    #[test]
    fn the_device_verifier_accepts_what_we_build() {
        let cloud = DeviceKey::generate();
        let device = DeviceKey::generate().address();
        let now = SystemTime::now();
        let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        let params = json!({});
        let spec = CommandSpec {
            request_id: "2bh8fNMoix9qduuiE9NHUzTGpZx",
            device,
            action: "doors.unlock",
            params: &params,
            issued_ms: now_ms,
            expires_ms: now_ms + 30_000,
            seq: 7,
        };
        let bytes = build(&cloud, &spec).unwrap();
        match CommandVerifier::new(cloud.address(), device).verify(&bytes, now, &Fresh) {
            Verdict::Execute(v) => {
                assert_eq!(v.command.seq, 7);
                assert_eq!(v.command.action, "doors.unlock");
            }
            Verdict::Reject(r) => panic!("{r:?}"),
        }
        // Past its expiry the device refuses it.
        let later = now + Duration::from_secs(31);
        assert!(matches!(
            CommandVerifier::new(cloud.address(), device).verify(&bytes, later, &Fresh),
            Verdict::Reject(_)
        ));
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
