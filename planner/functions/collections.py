"""Arrays, maps and structs: constructors, access, size, sort."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    common_all,
    fixed,
    register,
    same_as_first,
)


def _map_entries(m: Value) -> Value:
    """A map as the list of its key/value structs (Arrow's list kernels skip maps)."""
    t = m.type
    entries = pa.struct([pa.field("key", t.key_type, nullable=False), pa.field("value", t.item_type)])
    return m.cast(pa.list_(pa.field("entries", entries, nullable=False)))


def _size(a: Value) -> Value:
    """Hive's size: elements of an array or entries of a map, -1 for NULL."""
    if pa.types.is_map(a.type):
        a = _map_entries(a)
    return pc.fill_null(pc.cast(pc.list_value_length(a), T.INT32), -1)


register("size", fixed([None], T.INT32), _size)


def _array_contains(a: Value, v: Value) -> Value:
    flat = pc.list_flatten(a)
    parents = pc.list_parent_indices(a)
    hit = pc.equal(flat, v)
    n = len(a)
    out = np.zeros(n, dtype=bool)
    idx = np.asarray(parents)[np.asarray(pc.fill_null(hit, False), dtype=bool)]
    out[idx] = True
    return pa.array(out, mask=np.asarray(pc.is_null(a)))


def _array_contains_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    return [args[0], args[0].value_type], T.BOOL


register("array_contains", _array_contains_resolve, _array_contains)


def _map_part(field: str) -> Any:
    def k(m: Value) -> Value:
        arr = m if isinstance(m, pa.Array) else pa.array([m.as_py()], m.type)
        offsets = arr.offsets
        values = arr.keys if field == "key" else arr.items
        return pa.ListArray.from_arrays(offsets, values, mask=arr.is_null())
    return k


register("map_keys", lambda a: ([a[0]], pa.list_(a[0].key_type)), _map_part("key"))
register("map_values", lambda a: ([a[0]], pa.list_(a[0].item_type)), _map_part("item"))


def _element_at(a: Value, k: Value, zero_based: bool = True) -> Value:
    """a[i] (0-based, Hive) on arrays, m[k] on maps; NULL when absent."""
    arr = a if isinstance(a, pa.Array) else pa.array([a.as_py()], a.type)
    n = len(arr)
    if pa.types.is_map(arr.type):
        keys, items, offsets = arr.keys, arr.items, np.asarray(arr.offsets)
        parents = np.repeat(np.arange(n), np.diff(offsets))
        hit = np.asarray(pc.fill_null(pc.equal(keys, k), False), dtype=bool)
        pos = np.full(n, -1, dtype=np.int64)
        pos[parents[hit][::-1]] = np.nonzero(hit)[0][::-1]
        take = pa.array(pos, mask=pos < 0)
        return pc.take(items, take)
    offsets = np.asarray(arr.offsets)
    lengths = np.diff(offsets)
    kk = k.as_py() if isinstance(k, pa.Scalar) else np.asarray(pc.fill_null(k, -1))
    idx = np.asarray(kk, dtype=np.int64) if not zero_based else np.asarray(kk, dtype=np.int64) + 1
    idx = np.broadcast_to(idx, (n,))
    ok = (idx >= 1) & (idx <= lengths) & ~np.asarray(arr.is_null())
    pos = offsets[:-1] + idx - 1
    take = pa.array(np.where(ok, pos, 0), mask=~ok)
    return pc.take(arr.values, take)


def _subscript_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if pa.types.is_map(t):
        return [t, t.key_type], t.item_type
    if pa.types.is_list(t):
        return [t, T.INT64], t.value_type
    raise FunctionError(f"cannot index {T.type_name(t)}")


register("subscript", _subscript_resolve, _element_at)
register("element_at", _subscript_resolve, lambda a, k: _element_at(a, k, zero_based=pa.types.is_map(a.type)))


def _sort_array(a: Value) -> Value:
    arr = a if isinstance(a, pa.Array) else pa.array([a.as_py()], a.type)
    parents = pc.list_parent_indices(arr)
    flat = pc.list_flatten(arr)
    t = pa.table({"p": parents, "v": flat})
    order = pc.sort_indices(t, sort_keys=[("p", "ascending"), ("v", "ascending")])
    offsets = np.asarray(arr.offsets)
    return pa.ListArray.from_arrays(pa.array(offsets - offsets[0], pa.int32()), pc.take(flat, order), mask=arr.is_null())


register("sort_array", same_as_first(1), _sort_array)


def _array_ctor(*vals: Value) -> Value:
    n = max((len(v) for v in vals if not isinstance(v, pa.Scalar)), default=1)
    cols = [v if not isinstance(v, pa.Scalar) else pa.array([v.as_py()] * n, v.type) for v in vals]
    k = len(cols)
    if k == 0:
        return pa.array([[]] * n, pa.list_(T.STRING))
    inter = pc.take(pa.concat_arrays([pa.array(c) for c in cols]),
                    pa.array((np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()))
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * k), inter)


def _array_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = common_all()(args)[1] if args else T.STRING
    return [t] * len(args), pa.list_(t)


register("array", _array_resolve, _array_ctor)


def _struct_field(s: Value, name: Value) -> Value:
    return pc.struct_field(s, name.as_py())


def _struct_field_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    raise FunctionError("struct field access is bound by name")


def struct_field_type(t: pa.DataType, name: str) -> pa.DataType | None:
    for f in t:
        if f.name.lower() == name.lower():
            return f.type
    return None


register("struct_field", lambda a: (a, T.NULL), _struct_field)


def _named_struct(*args: Value) -> Value:
    names = [a.as_py() for a in args[0::2]]
    vals = list(args[1::2])
    n = max((len(v) for v in vals if not isinstance(v, pa.Scalar)), default=1)
    arrays = [v if not isinstance(v, pa.Scalar) else pa.repeat(v, n) for v in vals]
    arrays = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays]
    return pa.StructArray.from_arrays(arrays, names=names)


def _named_struct_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    raise FunctionError("named_struct is bound by the binder")


register("named_struct", _named_struct_resolve, _named_struct)


def _map_ctor(*args: Value) -> Value:
    if not args:  # map(): one empty map, broadcast like any constant
        return pa.scalar([], pa.map_(T.STRING, T.STRING))
    keys, vals = list(args[0::2]), list(args[1::2])
    n = max((len(v) for v in keys + vals if not isinstance(v, pa.Scalar)), default=1)
    k = len(keys)

    def col(v: Value) -> pa.Array:
        a = v if not isinstance(v, pa.Scalar) else pa.repeat(v, n)
        return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
    order = pa.array((np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel())
    kk = pc.take(pa.concat_arrays([col(x) for x in keys]), order)
    vv = pc.take(pa.concat_arrays([col(x) for x in vals]), order)
    return pa.MapArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * k), kk, vv)


def _map_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) % 2:
        raise FunctionError("map expects key/value pairs")
    if not args:
        return [], pa.map_(T.STRING, T.STRING)  # Hive's type of map()
    kt, vt = args[0], args[1]
    for a in args[2::2]:
        kt = T.common_type(kt, a)
    for a in args[3::2]:
        vt = T.common_type(vt, a)
    vt = T.STRING if vt == T.NULL else vt
    return [kt, vt] * (len(args) // 2), pa.map_(kt, vt)


register("map", _map_resolve, _map_ctor)


def _row_key(*args: Value) -> Value:
    """One string per row standing for a tuple (NULL if any member is NULL): lets
    count(DISTINCT a, b) count distinct tuples with a single-column kernel."""
    parts = [pc.cast(a, T.STRING) if not T.is_string(a.type) else a for a in args]
    return pc.binary_join_element_wise(*parts, "\x1f", null_handling="emit_null")


register("_row_key", lambda a: (list(a), T.STRING), _row_key)
