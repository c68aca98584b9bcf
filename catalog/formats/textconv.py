"""Hive text fields -> typed Arrow arrays, as LazySimpleSerDe reads them, vectorized.

A field that does not parse as its column type becomes NULL and is counted (Hive's
behaviour); strict readers raise on the first one instead. Every step is an Arrow
kernel over whole columns; only when a vectorized cast rejects an array (rare, e.g.
``2021-13-45`` that passes the shape check) does a per-value loop pin down which
values are bad.

Complex types use Hive's separator levels: a top-level column's own parts are split on
``seps[1]`` (collection items), map keys on ``seps[level + 1]``, and each nesting level
moves one separator deeper (``\\x04`` ... ``\\x08`` after the map-key delimiter).
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.formats import b64
from catalog.types import HiveType, enforce_length, to_arrow

_INT_BOUNDS = {
    "tinyint": (-(2**7), 2**7 - 1),
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_INT_RE = r"^[+-]?[0-9]{1,38}$"
_FLOAT_RE = (
    r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|NaN|Infinity)$"
)
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TS_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?$"

HIVE_EXTRA_SEPARATORS = ("\x04", "\x05", "\x06", "\x07", "\x08")

# Types whose Arrow string cast accepts exactly the texts Hive accepts (booleans are not
# among them: Arrow also takes "1"/"0").
_FAST_CAST = frozenset(("tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "date", "timestamp"))


@dataclass(frozen=True, slots=True)
class Parsed:
    """A converted column and how many fields of each row failed to parse."""

    array: pa.Array
    bad: np.ndarray  # int64 per input row


def separators(field: str, collection: str, map_key: str) -> tuple[str, ...]:
    return (field, collection, map_key) + HIVE_EXTRA_SEPARATORS


def parse_column(
    strings: pa.Array, htype: HiveType, seps: tuple[str, ...], null_format: str, level: int = 1,
    *, binary_base64: bool = False,
) -> Parsed:
    """Convert a string array (nulls = missing fields) to ``htype``'s Arrow type.

    ``binary_base64``: BINARY fields are base64 when they look like it (delimited
    text, as Hive's LazySimpleSerDe writes them); otherwise their text is the bytes.
    """
    strings = _as_string(strings)
    is_null = pc.fill_null(pc.equal(strings, null_format), False)
    if htype.name not in ("string", "varchar", "char", "binary") and not htype.is_complex:
        # an empty field is NULL for scalars; for collections it is the empty collection
        is_null = pc.or_(is_null, pc.fill_null(pc.equal(strings, ""), False))
    strings = pc.if_else(is_null, pa.scalar(None, pa.string()), strings)
    if htype.name == "array":
        return _parse_array(strings, htype, seps, null_format, level, binary_base64)
    if htype.name == "map":
        return _parse_map(strings, htype, seps, null_format, level, binary_base64)
    if htype.name == "struct":
        return _parse_struct(strings, htype, seps, null_format, level, binary_base64)
    if htype.name == "binary" and binary_base64:
        return Parsed(b64.decode_if_base64(strings), np.zeros(len(strings), np.int64))
    return parse_primitive(strings, htype)


def _as_string(a: pa.Array) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if a.type != pa.string():
        a = a.cast(pa.string())
    return a


def parse_primitive(strings: pa.Array, htype: HiveType) -> Parsed:
    """Convert non-complex values; input nulls stay null and are not counted as bad."""
    name = htype.name
    target = to_arrow(htype)
    if name in ("string", "varchar", "char"):
        return Parsed(enforce_length(strings, htype), np.zeros(len(strings), np.int64))
    if name == "binary":
        return Parsed(strings.cast(pa.binary()), np.zeros(len(strings), np.int64))
    if name in _FAST_CAST and _fast_cast_safe(strings, name):
        # Fast path: for well-formed data Arrow's own cast is exactly Hive's reading (and
        # several times cheaper than validating first); it rejects the whole array on any
        # bad value, and then the validating path below finds which values are bad.
        try:
            return Parsed(strings.cast(target), np.zeros(len(strings), np.int64))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    if name == "boolean":
        low = pc.utf8_lower(strings)
        ok = pc.is_in(low, pa.array(["true", "false"]))
        return _finish(strings, ok, pc.if_else(ok, pc.equal(low, "true"), None))
    if name in _INT_BOUNDS:
        ok = pc.match_substring_regex(strings, _INT_RE)
        as_dec = _try_cast(pc.if_else(ok, strings, None), pa.decimal128(38, 0))
        lo, hi = _INT_BOUNDS[name]
        ok = pc.and_(ok, pc.is_valid(as_dec))
        in_range = pc.and_(
            pc.greater_equal(as_dec, pa.scalar(lo).cast(pa.decimal128(38, 0))),
            pc.less_equal(as_dec, pa.scalar(hi).cast(pa.decimal128(38, 0))),
        )
        ok = pc.and_(ok, pc.fill_null(in_range, False))
        return _finish(strings, ok, pc.if_else(ok, as_dec, None).cast(target))
    if name in ("float", "double"):
        ok = pc.match_substring_regex(strings, _FLOAT_RE)
        values = _try_cast(pc.if_else(ok, strings, None), pa.float64())
        ok = pc.and_(ok, pc.is_valid(values))
        return _finish(strings, ok, values.cast(target, safe=False))
    if name == "decimal":
        return _parse_decimal(strings, htype)
    if name == "date":
        ok = pc.match_substring_regex(strings, _DATE_RE)
        ts = pc.strptime(pc.if_else(ok, strings, None), format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2021-02-30 over to March; a round trip rejects it as Hive does
        same = pc.equal(pc.strftime(ts, format="%Y-%m-%d"), strings)
        ok = pc.and_(ok, pc.fill_null(same, False))
        return _finish(strings, ok, pc.if_else(ok, ts, None).cast(pa.date32()))
    if name == "timestamp":
        ok = pc.match_substring_regex(strings, _TS_RE)
        # microseconds: nanosecond digits beyond the sixth are dropped, as Arrow's us unit must
        trimmed = pc.replace_substring_regex(strings, r"(\.[0-9]{6})[0-9]+$", r"\1")
        values = _try_cast(pc.if_else(ok, trimmed, None), pa.timestamp("us"))
        ok = pc.and_(ok, pc.is_valid(values))
        return _finish(strings, ok, values)
    raise AssertionError(f"unhandled primitive {name}")


def _fast_cast_safe(strings: pa.Array, name: str) -> bool:
    """Rule out the few texts Arrow's cast takes but Hive does not (cheap checks)."""
    if name in _INT_BOUNDS:
        return not pc.any(pc.match_substring(strings, "x", ignore_case=True)).as_py()  # hex: 0x1F
    if name == "timestamp":
        lengths = pc.utf8_length(strings)
        # "2020-01-01 10" is a timestamp to Arrow; Hive wants a date or hh:mm:ss
        return bool(pc.all(pc.or_(pc.equal(lengths, 10), pc.greater_equal(lengths, 19))).as_py() is not False)
    return True


def _parse_decimal(strings: pa.Array, htype: HiveType) -> Parsed:
    precision, scale = htype.params
    int_digits = precision - scale
    # up to int_digits integral digits (leading zeros free); more would overflow: NULL
    shape = rf"^[+-]?0*[0-9]{{0,{int_digits}}}(\.[0-9]*)?$"
    ok = pc.and_(
        pc.match_substring_regex(strings, shape),
        pc.match_substring_regex(strings, r"[0-9]"),
    )
    # one spare integral digit so that rounding up never overflows the wide type
    wide_scale = max(scale, 37 - int_digits) if int_digits < 38 else 0
    trimmed = pc.replace_substring_regex(strings, rf"(\.[0-9]{{{wide_scale}}})[0-9]+$", r"\1")
    trimmed = pc.replace_substring_regex(trimmed, r"\.$", "")
    wide = _try_cast(pc.if_else(ok, trimmed, None), pa.decimal128(38, wide_scale))
    rounded = pc.round(wide, scale, round_mode="half_up")
    ok = pc.and_(ok, pc.is_valid(rounded))
    # rounding can carry into a new integral digit (999.995 -> 1000.00): overflow is NULL.
    # The wide type keeps one spare integral digit, so 10**int_digits is representable.
    if precision < 38:
        limit = pa.scalar(decimal.Decimal(10) ** int_digits, pa.decimal128(38, wide_scale))
        fits = pc.less(pc.abs(rounded), limit)
        ok = pc.and_(ok, pc.fill_null(fits, False))
    values = pc.if_else(ok, rounded, None).cast(pa.decimal128(precision, scale))
    return _finish(strings, ok, values)


def _try_cast(strings: pa.Array, target: pa.DataType) -> pa.Array:
    """Vectorized cast; if Arrow rejects the array, cast value by value (bad -> null)."""
    try:
        return strings.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = []
        for v in strings:
            try:
                out.append(pa.array([v.as_py()], pa.string()).cast(target)[0].as_py() if v.is_valid else None)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                out.append(None)
        return pa.array(out, target)


def _finish(strings: pa.Array, ok: pa.Array, values: pa.Array) -> Parsed:
    bad = pc.and_(pc.is_valid(strings), pc.invert(pc.fill_null(ok, False)))
    return Parsed(values, np.asarray(bad.to_numpy(zero_copy_only=False), dtype=np.int64))


def _split(strings: pa.Array, sep: str) -> pa.ListArray:
    """Split non-null strings on ``sep``; empty string -> empty list; null -> null."""
    parts = pc.split_pattern(strings, sep)
    empty = pc.fill_null(pc.equal(strings, ""), False)
    if pc.any(empty).as_py():
        offsets = np.asarray(parts.offsets.to_numpy(), dtype=np.int32)
        lengths = np.diff(offsets)
        lengths[np.asarray(empty.to_numpy(zero_copy_only=False))] = 0
        keep = _row_mask_to_value_mask(offsets, lengths)
        values = parts.values.filter(pa.array(keep))
        new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        parts = pa.ListArray.from_arrays(pa.array(new_offsets), values, mask=pc.is_null(strings))
    return parts


def _row_mask_to_value_mask(offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Which flattened values survive when each row keeps its first ``lengths[i]`` values."""
    n_values = int(offsets[-1] - offsets[0]) if len(offsets) else 0
    keep = np.zeros(n_values, dtype=bool)
    starts = offsets[:-1] - offsets[0]
    idx = np.repeat(starts, lengths) + _ranges(lengths)
    keep[idx] = True
    return keep


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """[0..l0), [0..l1), ... concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total) - np.repeat(ends - lengths, lengths)


def element_or_null(lists: pa.ListArray, i: int) -> pa.Array:
    """The ``i``-th element of each list, null where the list is null or too short."""
    offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
    lengths = np.diff(offsets)
    if len(lengths) and lists.null_count == 0 and int(lengths.min()) > i:
        return pc.list_element(lists, i)  # every row has the field: Arrow's kernel
    valid = (lengths > i) & np.asarray(lists.is_valid().to_numpy(zero_copy_only=False))
    values = lists.values
    if len(values) == 0:
        return pa.nulls(len(lists), values.type)
    idx = np.where(valid, offsets[:-1] + i, 0)
    taken = values.take(pa.array(idx))
    return pc.if_else(pa.array(valid), taken, pa.scalar(None, values.type))


def _segment_sums(counts: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    cs = np.concatenate([[0], np.cumsum(counts)])
    return cs[offsets[1:]] - cs[offsets[:-1]]


def _parse_array(strings, htype, seps, null_format, level, b64_binary) -> Parsed:  # type: ignore[no-untyped-def]
    parts = _split(strings, seps[level])
    offsets = np.asarray(parts.offsets.to_numpy(), dtype=np.int64)
    child = parse_column(parts.values.slice(offsets[0], offsets[-1] - offsets[0]), htype.children[0], seps, null_format,
                         level + 1, binary_base64=b64_binary)
    rel = (offsets - offsets[0]).astype(np.int32)
    arr = pa.ListArray.from_arrays(pa.array(rel), child.array, type=to_arrow(htype), mask=pc.is_null(strings))
    return Parsed(arr, _segment_sums(child.bad, rel))


def _parse_map(strings, htype, seps, null_format, level, b64_binary) -> Parsed:  # type: ignore[no-untyped-def]
    entries = _split(strings, seps[level])
    offsets = np.asarray(entries.offsets.to_numpy(), dtype=np.int64)
    flat = entries.values.slice(offsets[0], offsets[-1] - offsets[0])
    kv = pc.split_pattern(flat, seps[level + 1], max_splits=1)
    keys = parse_column(element_or_null(kv, 0), htype.children[0], seps, null_format, level + 2,
                        binary_base64=b64_binary)
    items = parse_column(element_or_null(kv, 1), htype.children[1], seps, null_format, level + 2,
                         binary_base64=b64_binary)
    rel = (offsets - offsets[0]).astype(np.int64)
    bad = keys.bad + items.bad
    # Arrow maps cannot hold null keys: such entries are dropped (Hive cannot look them up)
    key_ok = np.asarray(keys.array.is_valid().to_numpy(zero_copy_only=False))
    if not key_ok.all():
        row_of = np.repeat(np.arange(len(rel) - 1), np.diff(rel))
        kept = np.bincount(row_of[key_ok], minlength=len(rel) - 1)
        bad_rows = _segment_sums(bad, rel)
        rel = np.concatenate([[0], np.cumsum(kept)])
        mask = pa.array(key_ok)
        karr, iarr = keys.array.filter(mask), items.array.filter(mask)
    else:
        bad_rows = _segment_sums(bad, rel)
        karr, iarr = keys.array, items.array
    arr = pa.MapArray.from_arrays(
        pa.array(rel.astype(np.int32)), karr, iarr, type=to_arrow(htype), mask=pc.is_null(strings)
    )
    return Parsed(arr, bad_rows)


def _parse_struct(strings, htype, seps, null_format, level, b64_binary) -> Parsed:  # type: ignore[no-untyped-def]
    parts = _split(strings, seps[level])
    fields = []
    bad = np.zeros(len(strings), np.int64)
    for i, child in enumerate(htype.children):
        p = parse_column(element_or_null(parts, i), child, seps, null_format, level + 1, binary_base64=b64_binary)
        fields.append(p.array)
        bad += p.bad
    arr = pa.StructArray.from_arrays(
        fields, fields=list(to_arrow(htype)), mask=pc.is_null(strings)
    )
    return Parsed(arr, bad)
