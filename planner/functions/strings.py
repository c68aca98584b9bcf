"""String functions."""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    check_argument,
    common_all,
    fixed,
    register,
    sig,
)
from planner.functions.vectors import (
    as_array,
    broadcast,
    from_byte_buffers,
    per_distinct,
    restore,
)

register("upper ucase", fixed([T.STRING], T.STRING), lambda a: pc.utf8_upper(a))
register("lower lcase", fixed([T.STRING], T.STRING), lambda a: pc.utf8_lower(a))
register("length char_length character_length", fixed([T.STRING], T.INT32),
         lambda a: pc.cast(pc.utf8_length(a), T.INT32))
register("trim", fixed([T.STRING], T.STRING), lambda a: pc.utf8_trim(a, " "))
register("ltrim", fixed([T.STRING], T.STRING), lambda a: pc.utf8_ltrim(a, " "))
register("rtrim", fixed([T.STRING], T.STRING), lambda a: pc.utf8_rtrim(a, " "))
register("reverse", fixed([T.STRING], T.STRING), lambda a: pc.utf8_reverse(a))
# sqlglot parses INITCAP(s) with a second argument, its default word delimiters
register("initcap", fixed([T.STRING, "opt"], T.STRING), lambda a, _delimiters=None: pc.utf8_title(a))


def _substr(s: Value, start: Value, length: Value | None = None) -> Value:
    """Hive substr: 1-based; 0 acts as 1; negative counts from the end."""
    if isinstance(start, pa.Scalar) and (length is None or isinstance(length, pa.Scalar)):
        st = start.as_py()
        ln = None if length is None else length.as_py()
        if st is None or (length is not None and ln is None):
            return pa.nulls(len(s), T.STRING) if not isinstance(s, pa.Scalar) else pa.scalar(None, T.STRING)
        if ln is not None and ln <= 0:
            return pc.if_else(pc.is_null(s), pa.scalar(None, T.STRING), "")
        if st > 0:
            b = st - 1
            return pc.utf8_slice_codeunits(s, b, None if ln is None else b + ln)
        if st == 0:
            return pc.utf8_slice_codeunits(s, 0, ln)
        stop = None if ln is None or st + ln >= 0 else st + ln
        return pc.utf8_slice_codeunits(s, st, stop)
    # per-row starts: fall back to numpy over offsets is complex; use Python lists of
    # distinct (start, length) combinations is row-wise — instead build via list ops.
    raise FunctionError("substr with non-constant positions is not supported")


def _substr_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) not in (2, 3):
        raise FunctionError(f"substr expects 2 or 3 arguments, got {len(args)}")
    return [T.STRING] + [T.INT64] * (len(args) - 1), T.STRING


register("substr substring", _substr_resolve, _substr)


def _concat(*args: Value) -> Value:
    return pc.binary_join_element_wise(*args, "", null_handling="emit_null")


def _concat_ws(sep: Value, *args: Value) -> Value:
    if any(pa.types.is_list(a.type) for a in args):
        parts = [pc.binary_join(a, sep) if pa.types.is_list(a.type) else a for a in args]
        return pc.binary_join_element_wise(*parts, sep, null_handling="skip")
    return pc.binary_join_element_wise(*args, sep, null_handling="skip")


register("concat", fixed([T.STRING], T.STRING, variadic=True), _concat)


def _concat_ws_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    return [T.STRING] + [a if pa.types.is_list(a) else T.STRING for a in args[1:]], T.STRING


register("concat_ws", _concat_ws_resolve, _concat_ws)


def _pad(fn: Any) -> Any:
    def k(s: Value, n: Value, p: Value) -> Value:
        width, pad = n.as_py(), p.as_py()
        if len(pad) == 1:
            padded = fn(s, width=width, padding=pad)
        else:
            raise FunctionError("pad string must be one character")
        return pc.utf8_slice_codeunits(padded, 0, width)
    return k


register("lpad", fixed([T.STRING, T.INT64, T.STRING], T.STRING), _pad(pc.utf8_lpad))
register("rpad", fixed([T.STRING, T.INT64, T.STRING], T.STRING), _pad(pc.utf8_rpad))


def _instr(s: Value, sub: Value) -> Value:
    return pc.cast(pc.add(pc.find_substring(s, sub.as_py()), 1), T.INT32)


register("instr", fixed([T.STRING, T.STRING], T.INT32), _instr)
register("locate", fixed([T.STRING, T.STRING], T.INT32), lambda sub, s: _instr(s, sub))
register("replace", fixed([T.STRING, T.STRING, T.STRING], T.STRING),
         lambda s, p, r: pc.replace_substring(s, p.as_py(), r.as_py()))
register("repeat", fixed([T.STRING, T.INT64], T.STRING), lambda s, n: pc.binary_repeat(s, n))
register("split", fixed([T.STRING, T.STRING], pa.list_(T.STRING)),
         lambda s, p: pc.split_pattern_regex(s, p.as_py()) if re.escape(p.as_py()) != p.as_py()
         else pc.split_pattern(s, p.as_py()))


def _java_repl(r: str) -> str:
    return re.sub(r"\$(\d)", r"\\\1", r)


register("regexp_replace", fixed([T.STRING, T.STRING, T.STRING], T.STRING),
         lambda s, p, r: pc.replace_substring_regex(s, p.as_py(), _java_repl(r.as_py())))


def _regexp_extract(s: Value, p: Value, idx: Value | None = None) -> Value:
    pattern = p.as_py()
    group = 1 if idx is None else idx.as_py()
    n = re.compile(pattern).groups
    numbers = iter(range(1, 100))
    named = re.sub(r"(?<!\\)\((?!\?)", lambda m: f"(?P<g{next(numbers)}>", pattern)
    if group == 0:
        named = f"(?P<g0>{named})"
    if n == 0 and group != 0:
        raise FunctionError("regexp_extract group out of range")
    st = pc.extract_regex(s, named)
    out = pc.struct_field(st, f"g{group}")
    matched = pc.match_substring_regex(s, pattern)
    return pc.if_else(matched, out, pa.scalar("", T.STRING))  # no match: '' (Hive)


register("regexp_extract", lambda a: ([T.STRING, T.STRING] + [T.INT64] * (len(a) - 2), T.STRING), _regexp_extract)
def _ascii(s: Value) -> Value:
    """Code of the first byte (0 for the empty string), Hive ascii()."""
    first = pc.cast(pc.utf8_slice_codeunits(s, 0, 1), pa.binary())
    arr = first if isinstance(first, pa.Array) else pa.array([first.as_py()], pa.binary())
    lengths = np.asarray(pc.fill_null(pc.binary_length(arr), 0))
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
    if len(data) == 0:
        data = np.zeros(1, np.uint8)
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    codes = np.where(lengths > 0, data[np.minimum(offs[:-1], max(len(data) - 1, 0))], 0).astype(np.int32)
    out = pa.array(codes, mask=np.asarray(pc.is_null(arr)))
    return out if isinstance(first, pa.Array) else out[0]


register("ascii", fixed([T.STRING], T.INT32), _ascii)

#: chr's answers, by code modulo 256 (Hive: chr(n) is the character n % 256; n < 0 is '')
_CHARACTERS = pa.array([chr(i) for i in range(256)] + [""], T.STRING)


def _chr(n: Value) -> Value:
    codes = pc.cast(n, T.INT64)
    index = pc.if_else(pc.less(codes, 0), 256, pc.bit_wise_and(codes, 255))
    if isinstance(index, pa.Scalar):
        return pa.scalar(None, T.STRING) if not index.is_valid else _CHARACTERS[index.as_py()]
    return pc.take(_CHARACTERS, index)


register("chr char", fixed([T.INT64], T.STRING), _chr)

# ---------------------------------------------------------------- Hive 3 / Spark additions

register("octet_length", sig("bytes", result=T.INT32), lambda s: pc.cast(pc.binary_length(s), T.INT32))


def _space(n: Value) -> Value:
    """n spaces; none for n <= 0 (Hive)."""
    return pc.binary_repeat(pa.scalar(" "), pc.max_element_wise(n, pa.scalar(0, T.INT64)))


register("space", sig("int", result=T.STRING), _space)


def _elt(n: Value, *strings: Value) -> Value:
    """The n-th string (1-based); NULL when n is out of range (Hive's GenericUDFElt)."""
    k = len(strings)
    index = pc.subtract(n, pa.scalar(1, T.INT32))
    in_range = pc.and_(pc.greater_equal(index, pa.scalar(0, T.INT32)), pc.less(index, pa.scalar(k, T.INT32)))
    index = pc.if_else(in_range, index, pa.scalar(None, T.INT32))
    arrays, scalar = broadcast(index, *strings)
    return restore(pc.choose(arrays[0], *arrays[1:]), scalar)


register("elt", sig("int32", "string", variadic=True, result=T.STRING), _elt)


def _field(value: Value, *candidates: Value) -> Value:
    """The 1-based position of the first candidate equal to ``value``; 0 when none is,
    or when ``value`` is NULL (Hive's GenericUDFField)."""
    (v, *cs), scalar = broadcast(value, *candidates)
    out = np.zeros(len(v), np.int32)
    for i in range(len(cs), 0, -1):  # the last assignment is the first candidate
        hit = np.asarray(pc.fill_null(pc.equal(v, cs[i - 1]), False), dtype=bool)
        out[hit] = i
    return restore(pa.array(out, T.INT32), scalar)


def _field_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) < 2:
        raise FunctionError(f"expects at least 2 arguments, got {len(args)}")
    for i, t in enumerate(args):
        check_argument(i, "string", t)
    try:
        t = common_all()(args)[1]
    except T.TypeError_:
        t = T.STRING  # Hive compares mixed types as strings
    t = T.STRING if t == T.NULL else t
    return [t] * len(args), T.INT32


register("field", _field_resolve, _field)


def split_literal(s: Value, delimiter: str) -> pa.Array:
    """``s`` split on a literal delimiter (one element, ``s`` itself, when it is empty)."""
    arr = as_array(s)
    if delimiter == "":
        return pa.ListArray.from_arrays(pa.array(np.arange(len(arr) + 1, dtype=np.int32)), arr,
                                        mask=pc.is_null(arr))
    return pc.split_pattern(arr, delimiter)


def _list_positions(lists: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets from 0, each element's row, each element's 0-based position in its row)."""
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    offsets = offsets - offsets[0]
    rows = np.repeat(np.arange(len(lists)), np.diff(offsets))
    return offsets, rows, np.arange(int(offsets[-1])) - offsets[:-1][rows]


def _find_in_set(s: Value, strings: Value) -> Value:
    """1-based position of ``s`` in the comma-separated ``strings``, 0 when it is not
    there or holds a comma itself (Hive's UDFFindInSet); NULL when either is NULL."""
    (needle, haystack), scalar = broadcast(s, strings)
    lists = pc.split_pattern(haystack, ",")
    _, rows, positions = _list_positions(lists)
    values = pc.list_flatten(lists)
    hit = np.asarray(pc.fill_null(pc.equal(values, pc.take(needle, pa.array(rows))), False), dtype=bool)
    first = np.full(len(needle), np.iinfo(np.int64).max)
    np.minimum.at(first, rows[hit], positions[hit])
    found = np.where(first == np.iinfo(np.int64).max, 0, first + 1)
    found = np.where(np.asarray(pc.fill_null(pc.match_substring(needle, ","), False), dtype=bool), 0, found)
    nulls = np.asarray(pc.or_(pc.is_null(needle), pc.is_null(haystack)), dtype=bool)
    return restore(pa.array(found.astype(np.int32), mask=nulls), scalar)


register("find_in_set", sig("string", "string", result=T.INT32), _find_in_set)


def _substring_index_one(s: str | None, delimiter: str | None, count: int | None) -> str | None:
    if s is None or delimiter is None or count is None:
        return None
    if count == 0 or delimiter == "":
        return ""
    parts = s.split(delimiter)
    return delimiter.join(parts[:count] if count > 0 else parts[count:])


def _substring_index(s: Value, delimiter: Value, count: Value) -> Value:
    """The part of ``s`` before the count-th ``delimiter`` (after the count-th from the
    end when count < 0); '' for count 0 or an empty delimiter (Spark, MySQL)."""
    if not (isinstance(delimiter, pa.Scalar) and isinstance(count, pa.Scalar)) or not delimiter.is_valid \
            or not count.is_valid or delimiter.as_py() == "" or count.as_py() == 0:
        return per_distinct(_substring_index_one, T.STRING, s, delimiter, count)
    d, c = delimiter.as_py(), count.as_py()
    (arr,), scalar = broadcast(s)
    lists = pc.split_pattern(arr, d)
    offsets, rows, positions = _list_positions(lists)
    lengths = np.diff(offsets)
    keep = positions < c if c > 0 else positions >= (lengths + c)[rows]
    kept = pc.filter(pc.list_flatten(lists), pa.array(keep))
    new_offsets = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=len(arr)))]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(new_offsets), kept, mask=pc.is_null(arr)), d)
    return restore(joined, scalar)


register("substring_index", sig("string", "string", "int", result=T.STRING), _substring_index)


def _split_part(s: Value, delimiter: Value, part: Value) -> Value:
    """Part ``part`` (1-based; negative counts from the end) of ``s`` split on the literal
    ``delimiter``; '' when there is no such part (Spark)."""
    if not isinstance(delimiter, pa.Scalar):
        return per_distinct(lambda a, d, p: None if None in (a, d, p) else _split_part(
            pa.scalar(a), pa.scalar(d), pa.scalar(p)).as_py(), T.STRING, s, delimiter, part)
    if not delimiter.is_valid:
        return pa.scalar(None, T.STRING) if isinstance(s, pa.Scalar) else pa.nulls(len(s), T.STRING)
    (arr, index), scalar = broadcast(s, part)
    if np.any(np.asarray(pc.fill_null(pc.equal(index, 0), False))):
        raise FunctionError("split_part: the part index must not be 0")
    lists = split_literal(arr, delimiter.as_py())
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    k = np.asarray(pc.fill_null(index, 1), dtype=np.int64)
    position = np.where(k > 0, k - 1, lengths + k)
    ok = (position >= 0) & (position < lengths)
    picked = pc.take(lists.values, pa.array(np.where(ok, offsets[:-1] + position, 0), mask=~ok))
    out = pc.if_else(pc.is_null(picked), pa.scalar("", T.STRING), picked)
    out = pc.if_else(pc.or_(pc.is_null(arr), pc.is_null(index)), pa.scalar(None, T.STRING), out)
    return restore(out, scalar)


register("split_part", sig("string", "string", "int", result=T.STRING), _split_part)


def _regexp_extract_all_one(s: str | None, pattern: str | None, group: int | None) -> list[str | None] | None:
    """Every match of ``pattern`` in ``s``, as group ``group`` (1 by default, as Spark's).
    Group 1 of a pattern without groups is the whole match (where Spark fails): sqlglot
    writes the default group out, so it cannot be told from an explicit 1."""
    if s is None or pattern is None:
        return None
    compiled = re.compile(pattern)
    g = 1 if group is None else group
    if g == 1 and compiled.groups == 0:
        g = 0
    if not 0 <= g <= compiled.groups:
        raise FunctionError(f"regexp_extract_all: the pattern has {compiled.groups} groups, asked for group {g}")
    return [m.group(g) for m in compiled.finditer(s)]


register("regexp_extract_all", sig("string", "string", "int32", optional=1, result=pa.list_(T.STRING)),
         lambda s, p, g=None: per_distinct(_regexp_extract_all_one, pa.list_(T.STRING), s, p,
                                           pa.scalar(None, T.INT32) if g is None else g))

_LOWER_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: where the 32 hex digits of a UUID go among its 36 characters (the rest are dashes)
_UUID_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _uuid(*, rows: int) -> Value:
    """Random (version 4) UUIDs, one per row, from one block of OS randomness."""
    raw = np.frombuffer(os.urandom(16 * rows), dtype=np.uint8).reshape(rows, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = np.full((rows, 36), ord("-"), np.uint8)
    text[:, _UUID_DIGITS[0::2]] = _LOWER_HEX[raw >> 4]
    text[:, _UUID_DIGITS[1::2]] = _LOWER_HEX[raw & 15]
    return from_byte_buffers(np.arange(rows + 1, dtype=np.int64) * 36, text.ravel(), None)


register("uuid", sig(result=T.STRING), _uuid, deterministic=False, takes_rows=True)
