//! Receiving an envelope: one pass over the received bytes writes the canonical JSON of the
//! object minus `signature` (what the signature covers, see [`canonical::object_without`]),
//! and the envelope is read from that text's members with `serde_json::from_value`'s rules.
//! [`SignedEnvelope::from_slice_raw`] keeps `data` as canonical text for a receiver that
//! learns its type later.

use serde::de::{self, DeserializeOwned};
use serde_json::Value;

use super::{CONTENT_TYPE_JSON, Envelope, EnvelopeError, SPEC_VERSION, SignedEnvelope};
use crate::canonical;
use crate::identity::{B256, Signature, SignatureError, keccak256};

impl<T: DeserializeOwned> SignedEnvelope<T> {
    /// Parses a received envelope and checks its form; the hash is taken over exactly the
    /// received attributes. Callers bound the size of `bytes` before calling (the MQTT layer
    /// caps payloads).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        received(bytes, |data| match data {
            Some(json) => serde_json::from_slice(json),
            None => serde_json::from_slice::<DataOnly<T>>(b"{}").map(|only| only.data),
        })
    }
}

impl SignedEnvelope<RawData> {
    /// [`SignedEnvelope::from_slice`] with `data` kept as its canonical JSON text, to be parsed
    /// once its type is known ([`RawData::parse`]), e.g. after the signature is checked. The
    /// other checks are the same, and `data` must be present.
    pub fn from_slice_raw(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        received(bytes, |data| match data {
            Some(json) => std::str::from_utf8(json)
                .map(|text| RawData(text.to_owned()))
                .map_err(de::Error::custom),
            None => Err(de::Error::missing_field("data")),
        })
    }
}

/// The `data` of a received envelope as its canonical JSON text (valid JSON): see
/// [`SignedEnvelope::from_slice_raw`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawData(String);

impl RawData {
    /// The canonical JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The data as a `T`: what [`SignedEnvelope::from_slice`] would have given as `data`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

/// `data` alone: read from `{}`, it is what a missing `data` means for `T` under serde's
/// rule for a missing field (`None` for an `Option`, else an error), as in `Envelope<T>`.
#[derive(serde::Deserialize)]
struct DataOnly<T> {
    data: T,
}

/// The CloudEvents attributes of [`Envelope`], in declaration order (the order serde reports
/// a missing one in).
const ATTRIBUTES: [&str; 7] = [
    "specversion",
    "id",
    "source",
    "subject",
    "type",
    "time",
    "datacontenttype",
];

/// Parses, hashes and checks a received envelope; `data` makes the envelope's data from the
/// canonical JSON of its `data` member, or from nothing when there is none.
fn received<T>(
    bytes: &[u8],
    data: impl Fn(Option<&[u8]>) -> Result<T, serde_json::Error>,
) -> Result<SignedEnvelope<T>, EnvelopeError> {
    // One pass writes the canonical JSON of the received object minus `signature` and notes
    // where each member stands in it; the envelope is then read from those members.
    let stripped = canonical::object_without(bytes, "signature")
        .map_err(|e| EnvelopeError::Json(e.to_string()))?
        .ok_or(EnvelopeError::NotObject)?;
    let signature = match &stripped.removed {
        None => return Err(EnvelopeError::MissingSignature),
        Some(Value::String(text)) => text.parse().map_err(EnvelopeError::MalformedSignature)?,
        Some(_) => return Err(EnvelopeError::MalformedSignature(SignatureError::NotHex)),
    };
    let hash = keccak256(&stripped.text);
    let envelope =
        envelope_of(&stripped, data).map_err(|e| EnvelopeError::Malformed(without_position(&e)))?;
    checked(envelope, signature, hash)
}

/// The checks after parsing: `specversion`, `datacontenttype` and `time`.
fn checked<T>(
    envelope: Envelope<T>,
    signature: Signature,
    hash: B256,
) -> Result<SignedEnvelope<T>, EnvelopeError> {
    if envelope.specversion != SPEC_VERSION {
        return Err(EnvelopeError::SpecVersion(envelope.specversion));
    }
    if envelope.datacontenttype != CONTENT_TYPE_JSON {
        return Err(EnvelopeError::Malformed(format!(
            "datacontenttype is {:?}, expected {CONTENT_TYPE_JSON:?}",
            envelope.datacontenttype
        )));
    }
    envelope.timestamp()?;
    Ok(SignedEnvelope {
        envelope,
        signature,
        hash,
    })
}

/// The envelope the canonical members hold, as `serde_json::from_value::<Envelope<T>>` reads
/// it from the object: members in key order (so `data` before every attribute), unknown ones
/// ignored, the first that does not fit is the error, then the first missing one in
/// declaration order.
fn envelope_of<T>(
    stripped: &canonical::Stripped,
    data: impl Fn(Option<&[u8]>) -> Result<T, serde_json::Error>,
) -> Result<Envelope<T>, serde_json::Error> {
    let text = &stripped.text[..];
    let mut given = None;
    let mut attributes: [Option<String>; 7] = Default::default();
    for field in &stripped.members {
        // A key without escapes is written as itself, and the names here have none.
        let key = &text[field.key.clone()];
        let json = &text[field.value.clone()];
        if key == b"data" {
            given = Some(data(Some(json))?);
        } else if let Some(i) = ATTRIBUTES.iter().position(|name| name.as_bytes() == key) {
            attributes[i] = Some(string(json)?);
        }
    }
    let [
        specversion,
        id,
        source,
        subject,
        event_type,
        time,
        datacontenttype,
    ] = attributes;
    let take = |value: Option<String>, name| value.ok_or_else(|| de::Error::missing_field(name));
    // Fields in declaration order: the first missing one is the error.
    Ok(Envelope {
        specversion: take(specversion, "specversion")?,
        id: take(id, "id")?,
        source: take(source, "source")?,
        subject: take(subject, "subject")?,
        event_type: take(event_type, "type")?,
        time: take(time, "time")?,
        datacontenttype: take(datacontenttype, "datacontenttype")?,
        data: match given {
            Some(value) => value,
            None => data(None)?,
        },
    })
}

/// A string from its canonical JSON.
fn string(json: &[u8]) -> Result<String, serde_json::Error> {
    // Canonical JSON writes a string that needs no escape verbatim between quotes.
    if let [b'"', inner @ .., b'"'] = json
        && !inner.contains(&b'\\')
        && let Ok(text) = std::str::from_utf8(inner)
    {
        return Ok(text.to_owned());
    }
    serde_json::from_slice(json)
}

/// A serde_json error without its "at line … column …", which would point into the canonical
/// text rather than the received one.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    //! The one-pass receive path against the one it replaced (parse to a `Value`, remove
    //! `signature`, hash `canonical::to_vec`, `serde_json::from_value`), on random envelopes.

    use proptest::prelude::*;
    use serde_json::value::RawValue;

    use super::*;
    use crate::canonical::tests::any_json;
    use crate::identity::DeviceKey;

    /// `SignedEnvelope::from_slice` as it was before the one-pass writer.
    fn reference<T: DeserializeOwned>(bytes: &[u8]) -> Result<SignedEnvelope<T>, EnvelopeError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Json(e.to_string()))?;
        let Value::Object(mut object) = value else {
            return Err(EnvelopeError::NotObject);
        };
        let signature = match object.remove("signature") {
            None => return Err(EnvelopeError::MissingSignature),
            Some(Value::String(text)) => text.parse().map_err(EnvelopeError::MalformedSignature)?,
            Some(_) => return Err(EnvelopeError::MalformedSignature(SignatureError::NotHex)),
        };
        let unsigned = Value::Object(object);
        let hash = keccak256(canonical::to_vec(&unsigned));
        let envelope: Envelope<T> = serde_json::from_value(unsigned)
            .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        // The checks after parsing did not change.
        checked(envelope, signature, hash)
    }

    /// A typed `data` some random data fits.
    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Reading {
        value: f64,
        tags: Vec<String>,
        note: Option<String>,
    }

    /// Both paths give the same result for `bytes` as a `T`: the same envelope, signature and
    /// hash, or the same error; of a malformed envelope or bad JSON only the kind is the same
    /// for sure (a struct `data` given as a too-long array is "invalid length 4, expected fewer
    /// elements in array" from a `Value` and "trailing characters" from text).
    fn agree<T: DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
        match (
            SignedEnvelope::<T>::from_slice(bytes),
            reference::<T>(bytes),
        ) {
            (Ok(new), Ok(old)) => assert_eq!(new, old),
            (Err(EnvelopeError::Json(_)), Err(EnvelopeError::Json(_)))
            | (Err(EnvelopeError::Malformed(_)), Err(EnvelopeError::Malformed(_))) => {}
            (new, old) => assert_eq!(new.err(), old.err(), "{}", String::from_utf8_lossy(bytes)),
        }
    }

    /// A `data`: often a `Reading`, nearly one, or anything.
    fn data() -> impl Strategy<Value = Value> {
        prop_oneof![
            (
                any::<f64>(),
                prop::collection::vec(".{0,4}", 0..3),
                any::<Option<String>>()
            )
                .prop_map(|(value, tags, note)| {
                    serde_json::json!({"value": value, "tags": tags, "note": note})
                }),
            (-1e3..1e3f64, any_json()).prop_map(|(value, extra)| {
                serde_json::json!({"tags": [], "value": value, "zz": extra, "value ": 1})
            }),
            any_json(),
        ]
    }

    /// Every member a signed envelope needs.
    const MEMBERS: [&str; 9] = [
        ATTRIBUTES[0],
        ATTRIBUTES[1],
        ATTRIBUTES[2],
        ATTRIBUTES[3],
        ATTRIBUTES[4],
        ATTRIBUTES[5],
        ATTRIBUTES[6],
        "data",
        "signature",
    ];

    /// A member name: an attribute, `data`, `signature`, or another.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(
                MEMBERS
                    .into_iter()
                    .chain(["traceparent", "é", "a\"b"])
                    .collect::<Vec<_>>()
            )
            .prop_map(str::to_owned),
            "[a-z_\u{1}]{0,6}",
        ]
    }

    /// A value for `name`: usually one that fits, sometimes a wrong string or anything.
    fn member(name: String, signature: String) -> impl Strategy<Value = (String, Value)> {
        let fitting = match name.as_str() {
            "specversion" => Value::from(SPEC_VERSION),
            "datacontenttype" => Value::from(CONTENT_TYPE_JSON),
            "time" => Value::from("2026-11-18T11:06:40.250Z"),
            "signature" => Value::from(signature),
            _ => Value::from("x"),
        };
        let value = if name == "data" {
            data().boxed()
        } else {
            // A string that does not fit `specversion`, `time`, … but does others.
            prop_oneof![12 => Just(fitting), 1 => Just(Value::from("0.3")), 1 => any_json()].boxed()
        };
        value.prop_map(move |value| (name.clone(), value))
    }

    /// The text of an object with `members` in this order (repeats included), compact or
    /// with spaces and escaped keys.
    fn object_text(members: &[(String, Value)], spaced: bool) -> String {
        let members: Vec<String> = members
            .iter()
            .map(|(key, value)| {
                let key = if spaced {
                    key.chars()
                        .map(|c| format!("\\u{:04x}", c as u32))
                        .collect()
                } else {
                    serde_json::to_string(key).expect("a string")[1..]
                        .trim_end_matches('"')
                        .to_owned()
                };
                if spaced {
                    format!(
                        " \"{key}\" :\n{} ",
                        serde_json::to_string_pretty(value).expect("JSON")
                    )
                } else {
                    format!("\"{key}\":{value}")
                }
            })
            .collect();
        format!("{{{}}}", members.join(","))
    }

    fn envelope_text() -> impl Strategy<Value = String> {
        let signature = DeviceKey::from_bytes(&keccak256("cow").0)
            .expect("a valid key")
            .sign_hash(&keccak256("anything"))
            .to_hex();
        let required: Vec<_> = MEMBERS
            .into_iter()
            .map(|n| member(n.to_owned(), signature.clone()).boxed())
            .collect();
        let signature2 = signature.clone();
        let extra = prop::collection::vec(
            name().prop_flat_map(move |n| member(n, signature2.clone())),
            0..4,
        );
        (
            required,
            extra,
            prop::collection::vec(any::<u8>(), 0..13),
            prop::collection::vec(any::<usize>(), 13),
            any::<bool>(),
        )
            .prop_map(|(mut members, extra, dropped, order, spaced)| {
                members.extend(extra);
                // Drop a few members, then shuffle: every order and any repeat arrives.
                for i in dropped {
                    if usize::from(i) < members.len() && i % 3 == 0 {
                        members.remove(usize::from(i));
                    }
                }
                let mut keyed: Vec<_> = members.into_iter().zip(order).collect();
                keyed.sort_by_key(|(_, k)| *k);
                let members: Vec<_> = keyed.into_iter().map(|(m, _)| m).collect();
                object_text(&members, spaced)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The hash is keccak256 of `canonical::to_vec` of the received object minus
        /// `signature`, and every `T` parses to what the old path gave, error or not.
        #[test]
        fn one_pass_agrees_with_value_path(text in envelope_text()) {
            let bytes = text.as_bytes();
            if let Ok(signed) = SignedEnvelope::<Value>::from_slice(bytes) {
                let mut object: Value = serde_json::from_slice(bytes).expect("JSON");
                object.as_object_mut().expect("an object").remove("signature");
                prop_assert_eq!(signed.hash(), keccak256(canonical::to_vec(&object)));
            }
            agree::<Value>(bytes);
            agree::<Reading>(bytes);
            agree::<Option<Reading>>(bytes);
            // `from_slice_raw` holds `data` as the text `Box<RawValue>` held.
            match (SignedEnvelope::from_slice_raw(bytes), reference::<Box<RawValue>>(bytes)) {
                (Ok(new), Ok(old)) => {
                    prop_assert_eq!(new.hash(), old.hash());
                    prop_assert_eq!(new.signature(), old.signature());
                    prop_assert_eq!(new.envelope().data.get(), old.envelope().data.get());
                    let reading = new.envelope().data.parse::<Reading>();
                    let expected = reference::<Reading>(bytes);
                    prop_assert_eq!(reading.ok(), expected.ok().map(|s| s.envelope.data));
                }
                (Err(EnvelopeError::Json(_)), Err(EnvelopeError::Json(_))) => {}
                (new, old) => prop_assert_eq!(new.err(), old.err()),
            }
        }
    }

    #[test]
    fn not_objects_and_broken_text_are_told_apart() {
        for (text, expected) in [
            ("[1,2]", Some(EnvelopeError::NotObject)),
            (" 7 ", Some(EnvelopeError::NotObject)),
            ("[1,2", None),
            ("{\"a\":1", None),
            ("{\"a\":1} x", None),
            ("", None),
        ] {
            let got = SignedEnvelope::<Value>::from_slice(text.as_bytes()).unwrap_err();
            match expected {
                Some(error) => assert_eq!(got, error, "{text:?}"),
                None => assert!(matches!(got, EnvelopeError::Json(_)), "{text:?}: {got}"),
            }
            agree::<Value>(text.as_bytes());
        }
    }
}
