//! The signed CloudEvents envelope every MQTT message travels in.
//!
//! A CloudEvents 1.0 JSON object (`specversion, id, source, subject, type, time,
//! datacontenttype, data`) plus `signature`: the sender's 65-byte signature over keccak256 of
//! the [canonical JSON](crate::canonical) of the envelope without `signature`. The receiver
//! hashes exactly what it received (minus `signature`), so fields it does not know, such as
//! CloudEvents extension attributes, are covered by the signature too.
//!
//! By convention `subject` is the lowercase address of the device a message is about (the
//! `{address}` of its topic): devices sign with their own key, the cloud signs commands with
//! its command key, and a receiver checks both the signer and the subject with [`Expected`].

use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::canonical;
use crate::identity::{Address, B256, DeviceKey, Signature, SignatureError, keccak256};

mod receive;

pub use receive::RawData;

/// The CloudEvents version this envelope implements.
pub const SPEC_VERSION: &str = "1.0";
/// The `datacontenttype` of every Pitlane envelope.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// Why an envelope was not built, or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The bytes are not JSON.
    #[error("envelope is not valid JSON: {0}")]
    Json(String),
    /// The JSON is not an object.
    #[error("envelope must be a JSON object")]
    NotObject,
    /// There is no `signature` attribute.
    #[error("envelope has no signature")]
    MissingSignature,
    /// `signature` is not a well-formed 65-byte low-s signature.
    #[error("envelope signature is malformed: {0}")]
    MalformedSignature(SignatureError),
    /// A CloudEvents attribute is missing or has the wrong type, or `data` does not fit.
    #[error("envelope is malformed: {0}")]
    Malformed(String),
    /// `specversion` is not `1.0`.
    #[error("envelope specversion is {0:?}, expected \"1.0\"")]
    SpecVersion(String),
    /// `time` is not an RFC 3339 UTC timestamp.
    #[error("envelope time {0:?} is not an RFC 3339 UTC timestamp")]
    Time(String),
    /// The data could not be turned into JSON.
    #[error("envelope data cannot be serialised: {0}")]
    Serialize(String),
    /// The signature does not recover to the expected signer: some signed field was altered
    /// after signing, or another key signed it.
    #[error(
        "signature does not verify for {expected}: it recovers to {recovered}, so the \
         envelope was altered after signing or signed by a foreign key"
    )]
    WrongSigner {
        /// Who should have signed.
        expected: Address,
        /// Who the signature recovers to.
        recovered: Address,
    },
    /// Correctly signed, but about another subject than expected.
    #[error("envelope subject is {got:?}, expected {expected:?}")]
    WrongSubject {
        /// The expected subject.
        expected: String,
        /// The envelope's subject.
        got: String,
    },
}

/// A CloudEvents 1.0 envelope, before signing or after verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Envelope<T = Value> {
    /// Always `1.0`.
    pub specversion: String,
    /// Unique per source (a UUID, say); receivers deduplicate on (`source`, `id`).
    pub id: String,
    /// Who emitted the event, e.g. `pitlane://dev/0x…` or `pitlane://cloud`.
    pub source: String,
    /// What the event is about: the device's lowercase address.
    pub subject: String,
    /// The event type, e.g. `pitlane.command.v1`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339 UTC time of the event.
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// The payload.
    pub data: T,
}

impl<T> Envelope<T> {
    /// A new envelope; `time` is written as RFC 3339 UTC with milliseconds.
    pub fn new(
        event_type: impl Into<String>,
        id: impl Into<String>,
        source: impl Into<String>,
        subject: impl Into<String>,
        time: SystemTime,
        data: T,
    ) -> Self {
        Envelope {
            specversion: SPEC_VERSION.to_owned(),
            id: id.into(),
            source: source.into(),
            subject: subject.into(),
            event_type: event_type.into(),
            time: humantime::format_rfc3339_millis(time).to_string(),
            datacontenttype: CONTENT_TYPE_JSON.to_owned(),
            data,
        }
    }

    /// `time` as a [`SystemTime`].
    pub fn timestamp(&self) -> Result<SystemTime, EnvelopeError> {
        humantime::parse_rfc3339(&self.time).map_err(|_| EnvelopeError::Time(self.time.clone()))
    }
}

impl<T: Serialize> Envelope<T> {
    fn to_object(&self) -> Result<Map<String, Value>, EnvelopeError> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(EnvelopeError::NotObject),
            Err(e) => Err(EnvelopeError::Serialize(e.to_string())),
        }
    }

    /// keccak256 of the canonical JSON of this envelope (the hash its signature covers).
    pub fn signing_hash(&self) -> Result<B256, EnvelopeError> {
        Ok(hash_object(self.to_object()?))
    }

    /// Signs the envelope with `key`.
    pub fn sign(self, key: &DeviceKey) -> Result<SignedEnvelope<T>, EnvelopeError> {
        let hash = self.signing_hash()?;
        Ok(SignedEnvelope {
            signature: key.sign_hash(&hash),
            hash,
            envelope: self,
        })
    }
}

fn hash_object(object: Map<String, Value>) -> B256 {
    keccak256(canonical::to_vec(&Value::Object(object)))
}

/// Who must have signed an envelope, and what it must be about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The expected signer: the device's address, or the cloud's pinned command key.
    pub signer: Address,
    /// The expected `subject`.
    pub subject: String,
}

impl Expected {
    /// A message from the device `address` about itself (subject = its lowercase address).
    pub fn from_device(address: Address) -> Self {
        Expected {
            signer: address,
            subject: address.to_lowercase_hex(),
        }
    }
}

/// An envelope with its signature: built by [`Envelope::sign`], or received and not yet
/// verified ([`SignedEnvelope::from_slice`], then [`SignedEnvelope::verify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEnvelope<T = Value> {
    envelope: Envelope<T>,
    signature: Signature,
    /// The hash the signature must cover: of what was built, or exactly of what was received.
    hash: B256,
}

impl<T> SignedEnvelope<T> {
    /// The envelope. For a received envelope this is not yet verified.
    pub fn envelope(&self) -> &Envelope<T> {
        &self.envelope
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The hash the signature covers.
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// Who signed the envelope (any key; [`SignedEnvelope::verify`] checks it is the right one).
    pub fn signer(&self) -> Result<Address, EnvelopeError> {
        self.signature
            .recover(&self.hash)
            .map_err(EnvelopeError::MalformedSignature)
    }

    /// Accepts the envelope if `expected.signer` signed it and it is about `expected.subject`.
    ///
    /// The signature is checked first, so an altered subject is reported as a bad signature
    /// and [`EnvelopeError::WrongSubject`] means a genuine envelope about something else.
    pub fn verify(self, expected: &Expected) -> Result<Envelope<T>, EnvelopeError> {
        let recovered = self.signer()?;
        self.signed_by(recovered, expected)
    }

    /// [`SignedEnvelope::verify`] for a signer established elsewhere: `recovered` must be
    /// who made the signature (recovered from it, or a batch check of it against that
    /// signer's key, see [`verify_batch`](crate::identity::verify_batch)).
    pub fn signed_by(
        self,
        recovered: Address,
        expected: &Expected,
    ) -> Result<Envelope<T>, EnvelopeError> {
        if recovered != expected.signer {
            return Err(EnvelopeError::WrongSigner {
                expected: expected.signer,
                recovered,
            });
        }
        if self.envelope.subject != expected.subject {
            return Err(EnvelopeError::WrongSubject {
                expected: expected.subject.clone(),
                got: self.envelope.subject,
            });
        }
        Ok(self.envelope)
    }
}

impl<T: Serialize> SignedEnvelope<T> {
    /// The wire form: the envelope's attributes plus `signature`.
    pub fn to_json(&self) -> Result<Value, EnvelopeError> {
        let mut object = self.envelope.to_object()?;
        object.insert(
            "signature".to_owned(),
            Value::String(self.signature.to_hex()),
        );
        Ok(Value::Object(object))
    }

    /// The wire form as bytes (what gets published).
    pub fn to_vec(&self) -> Result<Vec<u8>, EnvelopeError> {
        Ok(self.to_json()?.to_string().into_bytes())
    }
}
