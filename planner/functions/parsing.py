"""Parsing text into values: get_json_object, json_tuple, parse_url, str_to_map.

JSON and URLs are parsed once per distinct (text, path) pair of a batch
(``vectors.per_distinct``: Arrow parses neither); str_to_map is Arrow's regex split and
numpy over the pieces of the whole column.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    check_argument,
    register,
    sig,
)
from planner.functions.vectors import broadcast, per_distinct, restore

# ---------------------------------------------------------------- JSON

#: Hive's UDFJson: a path step starts with a key of these characters, then [n] or [*]
_KEY = re.compile(r"^([a-zA-Z0-9_\-:\s]+)")
_INDEX = re.compile(r"\[([0-9]+|\*)\]")
_BRACKET_KEY = re.compile(r"^\$\['((?:[^'\\]|\\.)*)'\]")


def java_double(x: float) -> str:
    """Java's Double.toString: the shortest digits that read back as ``x``, plain from
    1e-3 to 1e7 ("100.0"), else as d.dddE<n> ("1.0E20", "1.5E-5")."""
    if math.isnan(x):
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(float(x))  # Python's repr is plain in this range, as Java's
    sign, digits, exponent = Decimal(repr(float(x))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) + int(exponent) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def _json_text(v: Any) -> str | None:
    """How Hive prints an extracted JSON value: strings bare, numbers as Java does,
    objects and arrays as compact JSON; NULL for JSON null."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return java_double(v)
    if isinstance(v, int):
        return str(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


class _Missing(Exception):
    """The path selects nothing (Hive answers NULL)."""


def _step(value: Any, part: str) -> Any:
    """One '.'-separated step of a Hive JSON path: a key (mapped over an array of
    objects, flattening arrays found there), then any [n] / [*] subscripts."""
    key = _KEY.match(part)
    if key is None:
        raise _Missing
    name = key.group(1)
    if isinstance(value, list):
        found = []
        for element in value:
            if isinstance(element, dict) and name in element:
                got = element[name]
                found.extend(got if isinstance(got, list) else [got])
        if not found:
            raise _Missing
        value = found
    elif isinstance(value, dict) and name in value:
        value = value[name]
    else:
        raise _Missing
    return _subscripts(value, _INDEX.findall(part[key.end():]))


def _subscripts(value: Any, indexes: list[str]) -> Any:
    if not indexes:
        return value
    current = [value]
    for index in indexes:
        nxt = []
        for v in current:
            if not isinstance(v, list):
                continue
            if index == "*":
                nxt.extend(v)
            elif int(index) < len(v):
                nxt.append(v[int(index)])
            else:
                raise _Missing
        current = nxt
    if not current:
        raise _Missing
    return current if len(current) > 1 else current[0]


def get_json_object_one(text: str | None, path: str | None) -> str | None:
    """Hive's get_json_object on one value: '$' then '.key' steps with optional [n] / [*]
    subscripts ('$[n]' on a top-level array, and sqlglot's "$['key']" spelling, too);
    NULL for invalid JSON, a path not starting with '$', or nothing selected."""
    if not text or not path:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    while (m := _BRACKET_KEY.match(path)) is not None:  # $['a b'] is $.a b
        path = "$." + m.group(1).replace("\\'", "'") + path[m.end():]
    head, *steps = path.split(".")
    if not head.startswith("$") or _INDEX.sub("", head) != "$":
        return None
    try:
        value = _subscripts(value, _INDEX.findall(head))
        for part in steps:
            value = _step(value, part)
    except _Missing:
        return None
    return _json_text(value)


register("get_json_object", sig("string", "string", result=T.STRING),
         lambda j, p: per_distinct(get_json_object_one, T.STRING, j, p))


def _json_tuple(text: Value, *keys: Value) -> Value:
    """The top-level values of ``keys`` in a JSON object, as a struct c0, c1, ... of
    strings (LATERAL VIEW json_tuple makes them columns); NULLs for invalid JSON."""
    names = [f"c{i}" for i in range(len(keys))]

    def one(t: str | None, *ks: str | None) -> dict[str, str | None]:
        try:
            obj = json.loads(t) if t else None
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            return dict.fromkeys(names)
        return {n: (None if k is None else _json_text(obj.get(k))) for n, k in zip(names, ks)}
    return per_distinct(one, pa.struct([pa.field(n, T.STRING) for n in names]), text, *keys)


def _json_tuple_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) < 2:
        raise FunctionError(f"expects a JSON string and at least one key, got {len(args)} arguments")
    want = [check_argument(i, "string", t) for i, t in enumerate(args)]
    return want, pa.struct([pa.field(f"c{i}", T.STRING) for i in range(len(args) - 1)])


register("json_tuple", _json_tuple_resolve, _json_tuple)

# ---------------------------------------------------------------- URLs

#: protocols java.net.URL knows (any other is a MalformedURLException: NULL in Hive)
_PROTOCOLS = frozenset({"http", "https", "ftp", "file", "jar", "mailto", "netdoc"})


def parse_url_one(url: str | None, part: str | None, key: str | None = None) -> str | None:
    """Hive's parse_url: HOST, PATH, QUERY, REF, PROTOCOL, FILE, AUTHORITY or USERINFO of
    ``url`` as java.net.URL reads them; with a key, that parameter of the query (the
    text after 'key=' up to the next '&', not decoded)."""
    if url is None or part is None:
        return None
    scheme, _, rest = url.partition(":")
    if not _ or scheme.lower() not in _PROTOCOLS:
        return None
    parts = urlsplit(url)
    authority = parts.netloc if rest.startswith("//") else None
    userinfo, _, hostport = (authority or "").rpartition("@")
    host = hostport
    if hostport.startswith("["):
        host = hostport[:hostport.find("]") + 1]
    elif ":" in hostport:
        host = hostport[:hostport.find(":")]
    query = parts.query if "?" in url.split("#", 1)[0] else None
    answers = {
        "HOST": host, "PATH": parts.path, "QUERY": query, "REF": parts.fragment if "#" in url else None,
        "PROTOCOL": scheme, "FILE": parts.path + ("?" + query if query is not None else ""),
        "AUTHORITY": authority, "USERINFO": userinfo if authority and "@" in authority else None,
    }
    if key is None:
        return answers.get(part)
    if part != "QUERY" or query is None:
        return None
    try:
        m = re.search(f"(&|^){key}=([^&]*)", query)  # the key is a regular expression, as Hive's
    except re.error:
        return None
    return m.group(2) if m else None


register("parse_url", sig("string", "string", "string", optional=1, result=T.STRING),
         lambda u, p, k=None: per_distinct(parse_url_one, T.STRING, u, p, *([] if k is None else [k])))

# ---------------------------------------------------------------- str_to_map


def _split_regex(arr: pa.Array, pattern: str, max_splits: int | None = None) -> pa.Array:
    return pc.split_pattern_regex(arr, pattern, max_splits=max_splits)


def _str_to_map(text: Value, pair_delimiter: Value | None = None, key_delimiter: Value | None = None) -> Value:
    """Hive's str_to_map: ``text`` split into pairs on the regex ``pair_delimiter``
    (',') and each pair into key and value on the first match of ``key_delimiter``
    (':'); a pair without it maps to NULL; a repeated key keeps its last value; trailing
    empty pairs are dropped, as Java's String.split drops them."""
    pairs_re = "," if pair_delimiter is None else pair_delimiter.as_py()
    key_re = ":" if key_delimiter is None else key_delimiter.as_py()
    if not isinstance(pairs_re, str) or not isinstance(key_re, str):
        raise FunctionError("str_to_map: the delimiters must be constant strings")
    (arr,), scalar = broadcast(text)
    n = len(arr)
    lists = _split_regex(arr, pairs_re)
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    offsets = offsets - offsets[0]
    pieces = lists.values.slice(int(np.asarray(lists.offsets)[0]), int(offsets[-1]))
    rows = np.repeat(np.arange(n), np.diff(offsets))
    # Java's split drops the empty pieces at the end of a row (but keeps a lone one)
    non_empty = np.asarray(pc.fill_null(pc.greater(pc.binary_length(pieces), 0), False), dtype=bool)
    last_kept = np.full(n, -1, np.int64)
    np.maximum.at(last_kept, rows[non_empty], np.nonzero(non_empty)[0])
    keep = (np.arange(len(pieces)) <= last_kept[rows]) | (np.diff(offsets) == 1)[rows]
    kv = _split_regex(pc.filter(pieces, pa.array(keep)), key_re, max_splits=1)
    rows = rows[keep]
    keys = pc.list_element(kv, 0)
    has_value = np.asarray(pc.greater(pc.list_value_length(kv), 1), dtype=bool)
    values = pc.list_element(pc.if_else(pa.array(has_value), kv, pa.scalar([None, None], kv.type)), 1)
    # one entry per (row, key): the first's place, the last's value
    codes = np.asarray(pc.dictionary_encode(keys).indices, dtype=np.int64)
    key = rows * (int(codes.max(initial=0)) + 1) + codes
    _, first = np.unique(key, return_index=True)
    _, last_reversed = np.unique(key[::-1], return_index=True)
    last = len(key) - 1 - last_reversed
    order = np.argsort(first, kind="stable")
    first, last = first[order], last[order]
    counts = np.bincount(rows[first], minlength=n)
    map_offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    out = pa.MapArray.from_arrays(map_offsets, pc.take(keys, pa.array(first)), pc.take(values, pa.array(last)),
                                  mask=pc.is_null(arr))
    return restore(out, scalar)


register("str_to_map", sig("string", "string", "string", optional=2, result=pa.map_(T.STRING, T.STRING)),
         _str_to_map)
