//! Canonical JSON: object keys sorted recursively, no insignificant whitespace.
//!
//! Signed envelopes hash this form, and the cloud's HMAC `x-signed-request` header is computed
//! over it, so both sides must produce byte-identical text from equal values. Keys are sorted by
//! their UTF-8 bytes (which is Unicode code point order); strings and numbers are written
//! exactly as `serde_json` writes them (so a number keeps the form `serde_json` parsed it into:
//! `1` stays `1`, `1.0` stays `1.0`). This is deliberately not RFC 8785 (JCS), which
//! re-formats numbers and sorts keys by UTF-16 code units; the two agree on ASCII keys and
//! integers. Floats keep `serde_json`'s shortest round-trip form (`87.3`, `1e300`), and
//! pitlane-shared enables `float_roundtrip` so a float parses back to the value that was
//! signed.
//!
//! [`to_vec`] writes a [`Value`] (what envelopes hash); [`from_slice`] writes the canonical form
//! of JSON text in one pass without building a `Value`. Both agree byte for byte (proptested);
//! for a received envelope, parsing to a `Value` once and writing that measured faster than the
//! one-pass writer followed by a typed parse.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The canonical JSON text of `value`.
pub fn to_string(value: &Value) -> String {
    // Only serde_json's own output and ASCII punctuation are written: always UTF-8.
    String::from_utf8(to_vec(value)).expect("canonical JSON is UTF-8")
}

/// The canonical JSON of `value` as bytes (what gets hashed or MAC'd).
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write(value, &mut out);
    out
}

/// The canonical JSON of the JSON text `json`, in one pass and without building a [`Value`]:
/// the same bytes as `to_vec(&serde_json::from_slice(json)?)` (of a repeated key the last
/// value counts, as there), and the same errors for text that is not JSON.
pub fn from_slice(json: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(json.len());
    let mut de = serde_json::Deserializer::from_slice(json);
    Canon(&mut out).deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            // Sorted explicitly: serde_json's map keeps insertion order when any crate in the
            // build enables its `preserve_order` feature.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                leaf(out, key.as_str());
                out.push(b':');
                write(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        Value::String(s) => leaf(out, s.as_str()),
        Value::Number(n) => leaf(out, n),
        Value::Bool(b) => leaf(out, b),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// A string, number or boolean in `serde_json`'s compact form (its escaping rules; a float
/// that is not finite is `null`, as in a [`Value`]).
fn leaf<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Cannot fail: writing into a Vec is infallible, and strings, numbers and booleans always
    // serialise.
    let _ = serde_json::to_writer(out, value);
}

/// Writes the canonical form of the value being deserialised into its `Vec`.
struct Canon<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Canon<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

// The visit_* calls are the ones serde_json's own `Value` visitor receives, so every leaf is
// written exactly as the `Value` it would have become.
impl<'de> Visitor<'de> for Canon<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        leaf(self.0, &v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        leaf(self.0, &v);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        leaf(self.0, &v);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        leaf(self.0, &v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        leaf(self.0, v);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.push(b'[');
        let mut first = true;
        loop {
            let mark = self.0.len();
            if !first {
                self.0.push(b',');
            }
            if seq.next_element_seed(Canon(self.0))?.is_none() {
                self.0.truncate(mark);
                break;
            }
            first = false;
        }
        self.0.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        members(map, self.0, None).map(drop)
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Writes the canonical form of an object's members to `out`, sorted by key. The member
/// named `skip` is left out and its value returned.
fn members<'de, A: MapAccess<'de>>(
    mut map: A,
    out: &mut Vec<u8>,
    skip: Option<&str>,
) -> Result<Option<Value>, A::Error> {
    // Every member's canonical value, back to back; entries say where each one is.
    let mut values = Vec::new();
    let mut entries: Vec<(Cow<'de, str>, Range<usize>)> = Vec::new();
    let mut skipped = None;
    while let Some(Key(key)) = map.next_key()? {
        if skip == Some(&*key) {
            skipped = Some(map.next_value::<Value>()?);
            continue;
        }
        let start = values.len();
        map.next_value_seed(Canon(&mut values))?;
        entries.push((key, start..values.len()));
    }
    // A stable sort keeps repeated keys in arrival order: the last of each run is kept.
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push(b'{');
    let mut first = true;
    for (i, (key, range)) in entries.iter().enumerate() {
        if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        leaf(out, key.as_ref());
        out.push(b':');
        out.extend_from_slice(&values[range.clone()]);
    }
    out.push(b'}');
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// Both writers give `expected` for `input`.
    fn check(input: &str, expected: &str) {
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(super::to_string(&value), expected, "to_string of {input}");
        let text = super::from_slice(input.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            expected,
            "from_slice of {input}"
        );
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        check(r#"{ "b": 1, "a": 2 }"#, r#"{"a":2,"b":1}"#);
        check(
            r#"{"z":{"y":1,"x":[{"d":1,"c":2}]},"a":null}"#,
            r#"{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}"#,
        );
        check(r#"[3, 1, 2]"#, "[3,1,2]");
        check(
            r#"{"B":1,"a":2,"_":3,"aa":4}"#,
            r#"{"B":1,"_":3,"a":2,"aa":4}"#,
        );
        check(r#"{}"#, "{}");
        check(r#"[]"#, "[]");
        check(r#" [ [ ] , { } ] "#, "[[],{}]");
        check(r#"true"#, "true");
        check(r#"null"#, "null");
    }

    #[test]
    fn escapes_strings_and_keeps_numbers() {
        check(
            r#"{"s":"a\"b\\c\n\u0001é"}"#,
            "{\"s\":\"a\\\"b\\\\c\\n\\u0001é\"}",
        );
        check(r#"{"é":1,"e":2,"😀":3}"#, r#"{"e":2,"é":1,"😀":3}"#);
        check(r#"{"\u00e9":1,"e\n":2}"#, "{\"e\\n\":2,\"é\":1}");
        check(
            r#"[1, -1, 1.5, 1.0, 1e3, 18446744073709551615, -0, 18446744073709551616]"#,
            "[1,-1,1.5,1.0,1000.0,18446744073709551615,-0.0,1.8446744073709552e+19]",
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_like_a_value() {
        check(r#"{"a":1,"b":0,"a":2}"#, r#"{"a":2,"b":0}"#);
        check(r#"{"a":{"x":1},"a":[1]}"#, r#"{"a":[1]}"#);
    }

    #[test]
    fn text_that_is_not_json_is_an_error() {
        for bad in [
            "",
            "{",
            r#"{"a":}"#,
            "[1,]",
            "{} {}",
            "nul",
            r#"{"a":1,}"#,
            "\"\\x\"",
        ] {
            assert!(super::from_slice(bad.as_bytes()).is_err(), "{bad:?}");
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(super::from_slice(deep.as_bytes()).is_err());
    }

    #[test]
    fn equal_values_give_equal_text() {
        let a = json!({"x": 1, "y": [true, {"k": "v", "j": null}]});
        let b: Value = serde_json::from_str(r#"{"y":[true,{"j":null,"k":"v"}],"x":1}"#).unwrap();
        assert_eq!(super::to_string(&a), super::to_string(&b));
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
            "[a-c\\\\\"\u{0}-\u{1f}é😀]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-cB_é\u{1}]{0,3}", inner), 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The one-pass writer agrees with the `Value` writer on any JSON, compact or pretty.
        #[test]
        fn from_slice_equals_to_vec(value in any_json()) {
            let expected = super::to_vec(&value);
            prop_assert_eq!(&super::from_slice(value.to_string().as_bytes()).unwrap(), &expected);
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            prop_assert_eq!(&super::from_slice(&pretty).unwrap(), &expected);
            // Canonical text is a fixed point.
            prop_assert_eq!(&super::from_slice(&expected).unwrap(), &expected);
        }
    }
}
