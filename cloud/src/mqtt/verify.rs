//! Checks one received device message: the topic names a device, the payload is a signed
//! envelope of the topic's type, signed by that device's key and about that device. No I/O:
//! the ingest pipeline runs this on its worker threads, the bench calls it directly.

use pitlane_shared::command::CommandResult;
use pitlane_shared::envelope::{Envelope, EnvelopeError, Expected, RawData, SignedEnvelope};
use pitlane_shared::identity::{Address, BatchItem, PublicKey, verify_batch};
use pitlane_shared::topics::{DtcReport, StatusReport, TelemetryReport, Topic, UpKind, VinReport};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

use super::keys::DeviceKeys;

/// Largest payload looked at; bigger ones are malformed (the broker caps them too).
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// A message that passed every check, with its typed data.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub device: Address,
    pub envelope_id: String,
    /// Envelope `time`, Unix milliseconds.
    pub time_ms: i64,
    pub body: Body,
}

/// The typed `data` of a verified envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Status(StatusReport),
    Vin(VinReport),
    Dtc(DtcReport),
    Telemetry(TelemetryReport),
    Event(Value),
    Result(CommandResult),
}

impl Body {
    /// The topic kind this body arrived on.
    pub fn kind(&self) -> UpKind {
        match self {
            Body::Status(_) => UpKind::Status,
            Body::Vin(_) => UpKind::Vin,
            Body::Dtc(_) => UpKind::Dtc,
            Body::Telemetry(_) => UpKind::Telemetry,
            Body::Event(_) => UpKind::Event,
            Body::Result(_) => UpKind::Result,
        }
    }
}

/// Why a message was dropped; [`Rejected::outcome`] is its metrics label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("topic {topic:?}: {reason}")]
    Topic { topic: String, reason: String },
    #[error("payload of {0} bytes is larger than {MAX_PAYLOAD}")]
    TooLarge(usize),
    #[error("{0}")]
    Malformed(String),
    /// The signature does not recover to the topic's device: a foreign key or altered bytes.
    #[error("forged: {0}")]
    Forged(String),
}

impl Rejected {
    /// `malformed` or `forged`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Rejected::Forged(_) => "forged",
            _ => "malformed",
        }
    }
}

/// A message whose topic and envelope form are checked and whose signature is not yet.
pub struct Prepared {
    device: Address,
    kind: UpKind,
    signed: SignedEnvelope<RawData>,
}

/// Checks one message. Check order: topic, size, envelope form, signature (signer = the
/// topic's device), subject (= the device's lowercase address), type (= the topic's),
/// data shape.
pub fn verify(topic: &str, payload: &[u8]) -> Result<Verified, Rejected> {
    let prepared = prepare(topic, payload)?;
    let signer = prepared.signed.signer();
    prepared.finish(signer)
}

/// Checks a chunk of messages like [`verify`], in order, with one batch signature check
/// ([`verify_batch`]) for the messages of devices whose public key `keys` already holds.
/// The others, and every message of a batch that fails, are recovered one by one, and a
/// recovery that names the topic's device teaches `keys` that device's key.
pub fn verify_chunk<'a>(
    keys: &DeviceKeys,
    messages: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Vec<Result<Verified, Rejected>> {
    let prepared: Vec<Result<Prepared, Rejected>> = messages
        .into_iter()
        .map(|(topic, payload)| prepare(topic, payload))
        .collect();
    let batched = batch_check(keys, &prepared);
    prepared
        .into_iter()
        .zip(batched)
        .map(|(prepared, batched)| {
            let prepared = prepared?;
            let signer = match batched {
                Some(true) => Ok(prepared.device),
                None => prepared.recover(keys),
                Some(false) => {
                    let signer = prepared.recover(keys);
                    if signer.as_ref().ok() != Some(&prepared.device) {
                        // This message failed the batch: its device's messages are checked
                        // one by one for a while (see `keys`).
                        keys.suspect(prepared.device);
                    }
                    signer
                }
            };
            prepared.finish(signer)
        })
        .collect()
}

/// Per message, the verdict of the one batch check: `Some(passed)` for the messages in the
/// batch, `None` for the others. In the batch: messages of devices whose key `keys` holds
/// (and does not suspect) with at least two messages here, since each distinct key adds a
/// full-width term and a device with one message is cheaper to recover.
fn batch_check(keys: &DeviceKeys, prepared: &[Result<Prepared, Rejected>]) -> Vec<Option<bool>> {
    let known: Vec<(usize, &Prepared, PublicKey)> = prepared
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let p = p.as_ref().ok()?;
            Some((i, p, keys.batch_key(&p.device)?))
        })
        .collect();
    let mut per_device: HashMap<Address, usize> = HashMap::new();
    for (_, p, _) in &known {
        *per_device.entry(p.device).or_default() += 1;
    }
    let known: Vec<_> = known
        .into_iter()
        .filter(|(_, p, _)| per_device[&p.device] >= 2)
        .collect();
    let mut verdicts = vec![None; prepared.len()];
    if known.len() >= MIN_BATCH {
        let items: Vec<BatchItem<'_>> = known
            .iter()
            .map(|(_, p, key)| BatchItem {
                hash: p.signed.hash(),
                signature: p.signed.signature(),
                key,
            })
            .collect();
        let passed = verify_batch(&items);
        for (i, _, _) in &known {
            verdicts[*i] = Some(passed);
        }
    }
    verdicts
}

/// Fewest messages with known keys worth a batch check: one batch costs a square root and
/// about 30 point additions per message, about 50 per distinct key and a fixed ≈ 90 µs; one
/// recovery ≈ 39 µs (libsecp256k1, quiet machine). Measured per signature (session 8): 16
/// messages of one device 18.9 µs and 64 of one device 15.1 µs (2.0× and 2.6× faster than
/// recovery), 16 of 16 devices 32.8 µs (hardly faster: hence repeated keys only).
pub const MIN_BATCH: usize = 3;

/// Topic, size and envelope form; the signature's hash is computed, not checked.
fn prepare(topic: &str, payload: &[u8]) -> Result<Prepared, Rejected> {
    let (device, kind) = match topic.parse::<Topic>() {
        Ok(Topic::Up { device, kind }) => (device, kind),
        Ok(Topic::Command { .. }) => {
            return Err(Rejected::Topic {
                topic: topic.to_owned(),
                reason: "a command topic is not device traffic".into(),
            });
        }
        Err(e) => {
            return Err(Rejected::Topic {
                topic: topic.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    if payload.len() > MAX_PAYLOAD {
        return Err(Rejected::TooLarge(payload.len()));
    }
    // `data` stays (canonical) text until the signature and the attributes have been
    // checked, then becomes its kind's type directly (no `Value` tree in between).
    let signed =
        SignedEnvelope::from_slice_raw(payload).map_err(|e| Rejected::Malformed(e.to_string()))?;
    Ok(Prepared {
        device,
        kind,
        signed,
    })
}

impl Prepared {
    /// The signer by recovery; remembers the device's key when it is the signer.
    fn recover(&self, keys: &DeviceKeys) -> Result<Address, EnvelopeError> {
        let key = self
            .signed
            .signature()
            .recover_public_key(&self.signed.hash())
            .map_err(EnvelopeError::MalformedSignature)?;
        let signer = key.address();
        if signer == self.device {
            keys.learn(signer, key);
        }
        Ok(signer)
    }

    /// Everything after the signature: signer, subject, type, id, time and data.
    fn finish(self, signer: Result<Address, EnvelopeError>) -> Result<Verified, Rejected> {
        let Prepared {
            device,
            kind,
            signed,
        } = self;
        let envelope: Envelope<RawData> = signer
            .and_then(|signer| signed.signed_by(signer, &Expected::from_device(device)))
            .map_err(|e| match e {
                EnvelopeError::WrongSigner { .. } => Rejected::Forged(e.to_string()),
                // Genuinely signed by this device but about another: never applied, and
                // not a forgery either.
                EnvelopeError::WrongSubject { .. } => Rejected::Malformed(e.to_string()),
                other => Rejected::Malformed(other.to_string()),
            })?;
        if envelope.event_type != kind.event_type() {
            return Err(Rejected::Malformed(format!(
                "envelope type {:?} on the {kind} topic, expected {:?}",
                envelope.event_type,
                kind.event_type()
            )));
        }
        if envelope.id.is_empty() || envelope.id.len() > 128 {
            return Err(Rejected::Malformed(
                "envelope id must be 1 to 128 characters".into(),
            ));
        }
        let time_ms = envelope
            .timestamp()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .ok_or_else(|| Rejected::Malformed(format!("envelope time {:?}", envelope.time)))?;
        let raw = &envelope.data;
        let body = match kind {
            UpKind::Status => Body::Status(data(kind, raw)?),
            UpKind::Vin => Body::Vin(data(kind, raw)?),
            UpKind::Dtc => Body::Dtc(data(kind, raw)?),
            UpKind::Telemetry => Body::Telemetry(data(kind, raw)?),
            UpKind::Event => {
                let event: Value = data(kind, raw)?;
                if !event.is_object() {
                    return Err(Rejected::Malformed("event data must be an object".into()));
                }
                Body::Event(event)
            }
            UpKind::Result => Body::Result(data(kind, raw)?),
        };
        Ok(Verified {
            device,
            envelope_id: envelope.id,
            time_ms,
            body,
        })
    }
}

/// The `data` of a verified envelope as its kind's type.
fn data<T: DeserializeOwned>(kind: UpKind, raw: &RawData) -> Result<T, Rejected> {
    raw.parse()
        .map_err(|e| Rejected::Malformed(format!("{kind} data: {e}")))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use pitlane_shared::identity::DeviceKey;
    use pitlane_shared::topics::{self, Ignition, Presence};
    use serde_json::json;

    use super::*;

    fn signed(key: &DeviceKey, kind: UpKind, subject: &str, data: Value) -> Vec<u8> {
        Envelope::new(
            kind.event_type(),
            "id-1",
            topics::device_source(key.address()),
            subject,
            SystemTime::now(),
            data,
        )
        .sign(key)
        .unwrap()
        .to_vec()
        .unwrap()
    }

    fn status() -> Value {
        json!({"state": "online", "firmware": "0.1.0", "bus": "sim://", "ignition": "on"})
    }

    fn check(topic: &str, payload: &[u8], expected: Result<UpKind, &str>) {
        match (verify(topic, payload), expected) {
            (Ok(v), Ok(kind)) => assert_eq!(v.body.kind(), kind),
            (Err(e), Err(outcome)) => assert_eq!(e.outcome(), outcome, "{e}"),
            (got, want) => panic!("{topic}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn only_genuine_messages_on_their_own_topic_pass() {
        let key = DeviceKey::generate();
        let me = key.address();
        let other = DeviceKey::generate();
        let subject = me.to_lowercase_hex();
        let good = signed(&key, UpKind::Status, &subject, status());
        let status_topic = topics::up(me, UpKind::Status);
        check(&status_topic, &good, Ok(UpKind::Status));
        let v = verify(&status_topic, &good).unwrap();
        assert_eq!(v.device, me);
        assert_eq!(
            v.body,
            Body::Status(StatusReport {
                state: Presence::Online,
                firmware: "0.1.0".into(),
                bus: "sim://".into(),
                ignition: Ignition::On,
            })
        );
        // Signed by a foreign key, published on my topic.
        let foreign = signed(&other, UpKind::Status, &subject, status());
        check(&status_topic, &foreign, Err("forged"));
        // My genuine message replayed on another device's topic.
        check(
            &topics::up(other.address(), UpKind::Status),
            &good,
            Err("forged"),
        );
        // Tampered after signing.
        let tampered = String::from_utf8(good.clone())
            .unwrap()
            .replace("online", "offline");
        check(&status_topic, tampered.as_bytes(), Err("forged"));
        // Genuine but about another device.
        let wrong_subject = signed(
            &key,
            UpKind::Status,
            &other.address().to_lowercase_hex(),
            status(),
        );
        check(&status_topic, &wrong_subject, Err("malformed"));
        // The right signature but on the wrong topic kind.
        check(&topics::up(me, UpKind::Vin), &good, Err("malformed"));
        // Data that does not fit the type.
        let bad_data = signed(&key, UpKind::Status, &subject, json!({"state": "maybe"}));
        check(&status_topic, &bad_data, Err("malformed"));
        check(&status_topic, b"not json", Err("malformed"));
        check(&status_topic, b"{}", Err("malformed"));
        check(
            &status_topic,
            &vec![b' '; MAX_PAYLOAD + 1],
            Err("malformed"),
        );
        check("pitlane/v1/dev/0x12/up/status", &good, Err("malformed"));
        check(&topics::command(me), &good, Err("malformed"));
    }

    #[test]
    fn every_kind_parses() {
        let key = DeviceKey::generate();
        let me = key.address();
        let s = me.to_lowercase_hex();
        let cases = [
            (
                UpKind::Vin,
                json!({"vin": "5NPEB4AC9DH571382", "query": "functional0902", "check_digit_valid": true}),
            ),
            (
                UpKind::Dtc,
                json!({"stored": {"7E8": ["P0301"]}, "pending": {}, "permanent": {}}),
            ),
            (
                UpKind::Telemetry,
                json!({"ignition": "on", "values": [{"ecu": "7E8", "pid": "0C", "name": "rpm", "value": 800.0, "unit": "rpm"}]}),
            ),
            (UpKind::Event, json!({"what": "boot"})),
            (
                UpKind::Result,
                json!({"request_id": "r1", "action": "doors.lock", "status": "executed"}),
            ),
        ];
        for (kind, data) in cases {
            check(
                &topics::up(me, kind),
                &signed(&key, kind, &s, data),
                Ok(kind),
            );
        }
    }

    /// A chunk gives what one-by-one verification gives, message for message: before the
    /// keys are known (recovery), once they are (one batch), and with bad messages among
    /// good ones (the batch fails and every message is checked alone).
    #[test]
    fn chunks_agree_with_one_by_one() {
        let devices: Vec<DeviceKey> = (0..3).map(|_| DeviceKey::generate()).collect();
        let message = |key: &DeviceKey, i: usize| {
            let subject = key.address().to_lowercase_hex();
            let data = json!({"ignition": "on", "values": [{"ecu": "7E8", "pid": "0C", "name": "rpm", "value": i as f64, "unit": "rpm"}]});
            (
                topics::up(key.address(), UpKind::Telemetry),
                signed(key, UpKind::Telemetry, &subject, data),
            )
        };
        let good: Vec<(String, Vec<u8>)> = (0..12).map(|i| message(&devices[i % 3], i)).collect();
        let keys = DeviceKeys::default();
        let run = |chunk: &[(String, Vec<u8>)]| {
            let got = verify_chunk(&keys, chunk.iter().map(|(t, p)| (t.as_str(), &p[..])));
            let want: Vec<_> = chunk.iter().map(|(t, p)| verify(t, p)).collect();
            assert_eq!(got, want);
            got
        };
        assert!(keys.is_empty());
        assert!(run(&good).iter().all(Result::is_ok));
        assert_eq!(
            keys.len(),
            3,
            "each device's key is learned from its first message"
        );
        assert!(run(&good).iter().all(Result::is_ok));

        let mut mixed = good.clone();
        // Tampered after signing, signed by a stranger, and not an envelope at all.
        let tampered = String::from_utf8(mixed[4].1.clone())
            .unwrap()
            .replace("\"rpm\"", "\"RPM\"");
        mixed[4].1 = tampered.into_bytes();
        let stranger = DeviceKey::generate();
        let (_, foreign) = message(&stranger, 99);
        mixed[7].1 = foreign;
        mixed[9].1 = b"{}".to_vec();
        let got = run(&mixed);
        let outcomes: Vec<&str> = got
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.outcome(), |_| "ok"))
            .collect();
        let mut expected = vec!["ok"; 12];
        expected[4] = "forged";
        expected[7] = "forged";
        expected[9] = "malformed";
        assert_eq!(outcomes, expected);
        // The stranger's key was not learned for the device whose topic it used.
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.get(&stranger.address()), None);
        // The devices whose topics carried the bad messages are suspects for a while, so
        // their messages are recovered one by one; the third device's are still batched.
        let topic_device = |i: usize| devices[i % 3].address();
        assert_eq!(keys.batch_key(&topic_device(4)), None);
        assert_eq!(keys.batch_key(&topic_device(7)), None);
        assert!(
            keys.batch_key(&topic_device(9)).is_some(),
            "malformed is not forged"
        );
        assert!(run(&mixed[..4]).iter().all(Result::is_ok));
    }
}
