"""String functions."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    fixed,
    register,
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
