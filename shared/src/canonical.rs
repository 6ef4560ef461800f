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

use serde_json::Value;

/// The canonical JSON text of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The canonical JSON of `value` as bytes (what gets hashed or MAC'd).
pub fn to_vec(value: &Value) -> Vec<u8> {
    to_string(value).into_bytes()
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            // Sorted explicitly: serde_json's map keeps insertion order when any crate in the
            // build enables its `preserve_order` feature.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_leaf(&Value::String(key.clone()), out);
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        leaf => write_leaf(leaf, out),
    }
}

/// Strings, numbers, booleans and null: `serde_json`'s compact form (its escaping rules).
fn write_leaf(value: &Value, out: &mut String) {
    use std::fmt::Write as _;
    // Writing into a String cannot fail.
    let _ = write!(out, "{value}");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn check(input: &str, expected: &str) {
        let value: serde_json::Value = serde_json::from_str(input).unwrap();
        assert_eq!(super::to_string(&value), expected, "input {input}");
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
        check(r#"true"#, "true");
    }

    #[test]
    fn escapes_strings_and_keeps_numbers() {
        check(
            r#"{"s":"a\"b\\c\n\u0001é"}"#,
            "{\"s\":\"a\\\"b\\\\c\\n\\u0001é\"}",
        );
        check(r#"{"é":1,"e":2,"😀":3}"#, r#"{"e":2,"é":1,"😀":3}"#);
        check(
            r#"[1, -1, 1.5, 1.0, 1e3, 18446744073709551615]"#,
            "[1,-1,1.5,1.0,1000.0,18446744073709551615]",
        );
    }

    #[test]
    fn equal_values_give_equal_text() {
        let a = json!({"x": 1, "y": [true, {"k": "v", "j": null}]});
        let b: serde_json::Value =
            serde_json::from_str(r#"{"y":[true,{"j":null,"k":"v"}],"x":1}"#).unwrap();
        assert_eq!(super::to_string(&a), super::to_string(&b));
    }
}
