//! Verifier cases: one authentic command, then each way a command is refused.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::*;
use crate::identity::DeviceKey;

struct Seen {
    ids: HashSet<String>,
    high: Option<u64>,
}

impl SeenCommands for Seen {
    fn seen(&self, request_id: &str) -> bool {
        self.ids.contains(request_id)
    }
    fn highest_seq(&self) -> Option<u64> {
        self.high
    }
}

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn rfc(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

struct Setup {
    cloud: DeviceKey,
    device: Address,
    verifier: CommandVerifier,
}

fn setup() -> Setup {
    let cloud = DeviceKey::from_hex(&format!("0x{}", "11".repeat(32))).unwrap();
    let device = DeviceKey::from_hex(&format!("0x{}", "22".repeat(32)))
        .unwrap()
        .address();
    let verifier = CommandVerifier::new(cloud.address(), device);
    Setup {
        cloud,
        device,
        verifier,
    }
}

fn envelope(
    key: &DeviceKey,
    subject: Address,
    event_type: &str,
    action: &str,
    seq: u64,
    expires: u64,
) -> Vec<u8> {
    let data = json!({
        "request_id": format!("req-{seq}"),
        "action": action,
        "params": {},
        "issued_at": rfc(t(0)),
        "expires_at": rfc(t(expires)),
        "seq": seq,
    });
    Envelope::new(
        event_type,
        format!("env-{seq}"),
        crate::topics::CLOUD_SOURCE,
        subject.to_lowercase_hex(),
        t(0),
        data,
    )
    .sign(key)
    .unwrap()
    .to_vec()
    .unwrap()
}

fn check(bytes: &[u8], now: u64, seen: &Seen, expected: Result<Action, RejectCode>) {
    let s = setup();
    let got = match s.verifier.verify(bytes, t(now), seen) {
        Verdict::Execute(v) => Ok(v.action),
        Verdict::Reject(r) => {
            assert!(!r.reason.is_empty());
            Err(r.code)
        }
    };
    assert_eq!(got, expected);
}

#[test]
fn commands_are_executed_or_refused_with_the_right_reason() {
    let s = setup();
    let fresh = Seen {
        ids: HashSet::new(),
        high: Some(4),
    };
    let cmd = |action, seq, expires| {
        envelope(&s.cloud, s.device, COMMAND_EVENT_TYPE, action, seq, expires)
    };
    check(
        &cmd("doors.unlock", 5, 30),
        1,
        &fresh,
        Ok(Action::DoorsUnlock),
    );
    check(
        &cmd("sign.typed_data", 9, 30),
        29,
        &fresh,
        Ok(Action::SignTypedData),
    );
    // expired: at and after expires_at
    check(
        &cmd("doors.unlock", 5, 30),
        30,
        &fresh,
        Err(RejectCode::Expired),
    );
    // seq not newer
    check(
        &cmd("doors.lock", 4, 30),
        1,
        &fresh,
        Err(RejectCode::StaleSeq),
    );
    check(
        &cmd("doors.lock", 3, 30),
        1,
        &fresh,
        Err(RejectCode::StaleSeq),
    );
    // replayed request id (reported before seq)
    let replay = Seen {
        ids: HashSet::from(["req-5".to_owned()]),
        high: Some(5),
    };
    check(
        &cmd("doors.unlock", 5, 30),
        1,
        &replay,
        Err(RejectCode::Replayed),
    );
    check(
        &cmd("horn.honk", 6, 30),
        1,
        &fresh,
        Err(RejectCode::UnknownAction),
    );
    // a foreign key, another device's subject, another type
    let foreign = DeviceKey::from_hex(&format!("0x{}", "33".repeat(32))).unwrap();
    let bytes = envelope(
        &foreign,
        s.device,
        COMMAND_EVENT_TYPE,
        "doors.unlock",
        6,
        30,
    );
    check(&bytes, 1, &fresh, Err(RejectCode::ForeignSigner));
    let bytes = envelope(
        &s.cloud,
        foreign.address(),
        COMMAND_EVENT_TYPE,
        "doors.unlock",
        6,
        30,
    );
    check(&bytes, 1, &fresh, Err(RejectCode::WrongSubject));
    let bytes = envelope(&s.cloud, s.device, "pitlane.vin.v1", "doors.unlock", 6, 30);
    check(&bytes, 1, &fresh, Err(RejectCode::Malformed));
    check(b"not json", 1, &fresh, Err(RejectCode::Malformed));
}

#[test]
fn a_tampered_command_is_a_foreign_signer_and_not_authentic() {
    let s = setup();
    let bytes = envelope(&s.cloud, s.device, COMMAND_EVENT_TYPE, "doors.lock", 7, 30);
    let text = String::from_utf8(bytes)
        .unwrap()
        .replace("doors.lock", "doors.unlock");
    let seen = Seen {
        ids: HashSet::new(),
        high: None,
    };
    match s.verifier.verify(text.as_bytes(), t(1), &seen) {
        Verdict::Reject(r) => {
            assert_eq!(r.code, RejectCode::ForeignSigner);
            assert!(!r.authentic, "a forged seq must not advance the counter");
            assert_eq!(r.request_id.as_deref(), Some("req-7"));
            let result = CommandResult::refused(&r);
            assert_eq!(result.status, ResultStatus::Rejected);
        }
        Verdict::Execute(_) => panic!("tampered command accepted"),
    }
}

#[test]
fn result_json_shape() {
    let r = Rejection {
        code: RejectCode::Expired,
        reason: "expired at x".into(),
        request_id: Some("r1".into()),
        action: Some("doors.lock".into()),
        seq: Some(3),
        authentic: true,
    };
    let v = serde_json::to_value(CommandResult::refused(&r)).unwrap();
    assert_eq!(
        v,
        json!({"request_id": "r1", "action": "doors.lock", "status": "expired",
               "code": "expired", "reason": "expired at x", "state": {}, "output": null,
               "seq": 3})
    );
}
