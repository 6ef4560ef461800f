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
//! [`to_vec`] writes a [`Value`] (what an envelope being signed hashes); [`from_slice`] and
//! [`object_without`] write the canonical form of JSON text in one pass without building a
//! `Value` (what a received envelope hashes: `object_without` also leaves out `signature` and
//! says where each top-level member stands, so the envelope is read from small slices). All
//! agree byte for byte (proptested). The one-pass writer writes an object's members in place
//! and only moves them when they arrived out of order, with one member stack for every
//! nesting level: on a 10-value telemetry envelope it takes less than half the instructions
//! of parsing to a `Value` and writing that (48 k against 107 k, counted with cachegrind).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
// Text that is UTF-8 as a whole (checked once, which is cheaper than string by string) is
// read as a `str`; other bytes as a slice, whose error for them is serde_json's usual one.
use serde_json::de::{Read, SliceRead, StrRead};

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
    let mut writer = Writer::new(json.len());
    fn pass<'de, R: Read<'de>>(writer: &mut Writer<'de>, read: R) -> serde_json::Result<()> {
        let mut de = serde_json::Deserializer::new(read);
        Canon(writer).deserialize(&mut de)?;
        de.end()
    }
    match std::str::from_utf8(json) {
        Ok(text) => pass(&mut writer, StrRead::new(text))?,
        Err(_) => pass(&mut writer, SliceRead::new(json))?,
    }
    Ok(writer.out)
}

/// The canonical JSON of a received object without one of its members: see [`object_without`].
#[derive(Debug, Clone, PartialEq)]
pub struct Stripped {
    /// The canonical JSON text of the object without the member.
    pub text: Vec<u8>,
    /// The object's members as written in `text`, in order (sorted by key, no repeats).
    pub members: Vec<Field>,
    /// The removed member's value (of a repeated key the last, as in a [`Value`]).
    pub removed: Option<Value>,
}

/// Where one top-level member stands in [`Stripped::text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key as written, between its quotes (escaped; a key without escapes is itself).
    pub key: Range<usize>,
    /// The value's canonical JSON.
    pub value: Range<usize>,
}

/// For the JSON text of an object: the canonical JSON of that object without its member
/// `name`, where each remaining member stands in it, and the removed value, in one pass. The
/// text equals `to_vec` of the parsed object after `remove(name)`. `Ok(None)` when `json` is
/// JSON but not an object; text that is not JSON gives `serde_json::from_slice`'s error.
pub fn object_without(json: &[u8], name: &str) -> Result<Option<Stripped>, serde_json::Error> {
    // serde_json's whitespace: what may precede the first token.
    let first = json
        .iter()
        .find(|b| !matches!(b, b' ' | b'\n' | b'\t' | b'\r'));
    if first != Some(&b'{') {
        // Not an object: JSON or not, as a `Value` parse says.
        return serde_json::from_slice::<Value>(json).map(|_| None);
    }
    let mut writer = Writer::new(json.len());
    fn pass<'de, R: Read<'de>>(
        writer: &mut Writer<'de>,
        read: R,
        skip: &str,
    ) -> serde_json::Result<Option<Value>> {
        let mut de = serde_json::Deserializer::new(read);
        let removed = de.deserialize_map(Object { writer, skip })?;
        de.end()?;
        Ok(removed)
    }
    let removed = match std::str::from_utf8(json) {
        Ok(text) => pass(&mut writer, StrRead::new(text), name)?,
        Err(_) => pass(&mut writer, SliceRead::new(json), name)?,
    };
    Ok(Some(Stripped {
        text: writer.out,
        members: writer.top,
        removed,
    }))
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

/// A canonical writer's state: the output, and the members of the objects being written (one
/// stack for every nesting level, so an object allocates nothing of its own).
struct Writer<'de> {
    out: Vec<u8>,
    members: Vec<Member<'de>>,
    /// Where the members of the object written with `top` set stand, once in order.
    top: Vec<Field>,
}

/// One written object member: its key, where `"key":value` stands in the output, and where
/// its colon does.
struct Member<'de> {
    key: Cow<'de, str>,
    bytes: Range<usize>,
    colon: usize,
}

impl<'de> Writer<'de> {
    /// A writer for input of `len` bytes (canonical JSON is rarely longer).
    fn new(len: usize) -> Self {
        Writer {
            out: Vec::with_capacity(len),
            members: Vec::with_capacity(16),
            top: Vec::new(),
        }
    }

    /// Writes an object's members in place, sorted by key, and returns the value of the one
    /// named `skip` (not written). Members that arrive in order (as canonical and
    /// `serde_json`-written text has them) are never moved. With `top`, where each member
    /// ends up is recorded in `self.top`.
    fn object<A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        skip: Option<&str>,
        top: bool,
    ) -> Result<Option<Value>, A::Error> {
        let base = self.members.len();
        self.out.push(b'{');
        let body = self.out.len();
        let mut in_order = true;
        let mut skipped = None;
        while let Some(Key(key)) = map.next_key()? {
            if skip == Some(&*key) {
                skipped = Some(map.next_value::<Value>()?);
                continue;
            }
            if let Some(last) = self.members[base..].last() {
                in_order &= last.key.as_bytes() < key.as_bytes();
                self.out.push(b',');
            }
            let start = self.out.len();
            match &key {
                Cow::Borrowed(key) => verbatim(&mut self.out, key),
                Cow::Owned(key) => string(&mut self.out, key),
            }
            let colon = self.out.len();
            self.out.push(b':');
            map.next_value_seed(Canon(self))?;
            let bytes = start..self.out.len();
            self.members.push(Member { key, bytes, colon });
        }
        if !in_order {
            self.sort(base, body);
        }
        if top {
            self.top = self.members[base..]
                .iter()
                .map(|m| Field {
                    key: m.bytes.start + 1..m.colon - 1,
                    value: m.colon + 1..m.bytes.end,
                })
                .collect();
        }
        self.members.truncate(base);
        self.out.push(b'}');
        Ok(skipped)
    }

    /// Rewrites the members from `base` on, written from `body` on, sorted by key; of a
    /// repeated key only the last is kept (and stays in `members`, moved to where it is now).
    fn sort(&mut self, base: usize, body: usize) {
        let written = self.out.split_off(body);
        let mut members = self.members.split_off(base);
        // A stable sort keeps repeated keys in arrival order: the last of each run is kept.
        members.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        let mut members = members.into_iter().peekable();
        while let Some(member) = members.next() {
            if members.peek().is_some_and(|next| next.key == member.key) {
                continue;
            }
            if self.members.len() > base {
                self.out.push(b',');
            }
            let start = self.out.len();
            let Range { start: from, end } = member.bytes;
            self.out
                .extend_from_slice(&written[from - body..end - body]);
            self.members.push(Member {
                key: member.key,
                bytes: start..self.out.len(),
                colon: start + (member.colon - from),
            });
        }
    }
}

/// A string as `serde_json` writes it.
fn string(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        verbatim(out, s);
    } else {
        leaf(out, s);
    }
}

/// A string that needs no escaping (no control character, `"` or `\`) between quotes, as
/// `serde_json` writes it. serde_json borrows a parsed string from the input only when it had
/// no escape sequence, and it refuses raw control characters in strings, so every borrowed
/// string is one of these.
fn verbatim(out: &mut Vec<u8>, s: &str) {
    debug_assert!(s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Writes the canonical form of the value being deserialised.
struct Canon<'a, 'de>(&'a mut Writer<'de>);

impl<'de> DeserializeSeed<'de> for Canon<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

// The visit_* calls are the ones serde_json's own `Value` visitor receives, so every leaf is
// written exactly as the `Value` it would have become.
impl<'de> Visitor<'de> for Canon<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        leaf(&mut self.0.out, &v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        leaf(&mut self.0.out, &v);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        leaf(&mut self.0.out, &v);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        leaf(&mut self.0.out, &v);
        Ok(())
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        verbatim(&mut self.0.out, v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        string(&mut self.0.out, v);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let writer = self.0;
        writer.out.push(b'[');
        let mut first = true;
        loop {
            let mark = writer.out.len();
            if !first {
                writer.out.push(b',');
            }
            if seq.next_element_seed(Canon(writer))?.is_none() {
                writer.out.truncate(mark);
                break;
            }
            first = false;
        }
        writer.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.object(map, None, false).map(drop)
    }
}

/// The top-level object of [`object_without`]: written without its member `skip`.
struct Object<'a, 'de> {
    writer: &'a mut Writer<'de>,
    skip: &'a str,
}

impl<'de> Visitor<'de> for Object<'_, 'de> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        self.writer.object(map, Some(self.skip), true)
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

#[cfg(test)]
pub(crate) mod tests {
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
        // Bytes that are not UTF-8, in a string and in an object.
        for bad in [&b"\"\xff\""[..], b"{\"a\xc3\":1}"] {
            let expected = serde_json::from_slice::<Value>(bad)
                .unwrap_err()
                .to_string();
            assert_eq!(super::from_slice(bad).unwrap_err().to_string(), expected);
            let got = super::object_without(bad, "a").unwrap_err().to_string();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn equal_values_give_equal_text() {
        let a = json!({"x": 1, "y": [true, {"k": "v", "j": null}]});
        let b: Value = serde_json::from_str(r#"{"y":[true,{"j":null,"k":"v"}],"x":1}"#).unwrap();
        assert_eq!(super::to_string(&a), super::to_string(&b));
    }

    /// Any JSON value: integers and floats of every size, strings with escapes, control
    /// characters and non-ASCII, keys with quotes; up to four levels, 48 nodes.
    pub(crate) fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            (-1e6..1e6f64).prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
            "[a-c\\\\\"\u{0}-\u{1f}é😀]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-cB_é\u{1}\"]{0,3}", inner), 0..6)
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

        /// `object_without` writes `to_vec` of the object minus the member, and says where
        /// each remaining member stands in that text.
        #[test]
        fn object_without_equals_to_vec_minus_the_member(value in any_json(), name in "[a-c]?") {
            let stripped = super::object_without(value.to_string().as_bytes(), &name).unwrap();
            let Value::Object(mut object) = value else {
                prop_assert!(stripped.is_none());
                return Ok(());
            };
            let stripped = stripped.unwrap();
            prop_assert_eq!(stripped.removed, object.remove(&name));
            let object = Value::Object(object);
            prop_assert_eq!(&stripped.text, &super::to_vec(&object));
            let members: Vec<(Value, Value)> = stripped
                .members
                .iter()
                .map(|field| {
                    let key = &stripped.text[field.key.start - 1..field.key.end + 1];
                    let value = &stripped.text[field.value.clone()];
                    (serde_json::from_slice(key).unwrap(), serde_json::from_slice(value).unwrap())
                })
                .collect();
            let expected: Vec<(Value, Value)> = object
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
                .collect();
            prop_assert_eq!(members, expected);
        }
    }
}
