"""Hashes: md5, sha1, sha2, crc32 (digests of the UTF-8 bytes or the binary value) and
Hive's ``hash(a1, a2, ...)``.

The digests run once per distinct value (hashlib and zlib are C, and Arrow has no
digest kernels). ``hash`` is numpy over whole columns and reproduces Hive's
``ObjectInspectorUtils.hashCode`` combined as ``r = 31 * r + hashCode(a_i)``
(GenericUDFHash) for booleans, integers, floats, strings, binary, dates, timestamps,
arrays, maps and structs. Two approximations, both deterministic: a timestamp hashes as
Hive's on a JVM whose time zone is UTC, and a decimal hashes as the string of its value
(Hive hashes HiveDecimal's internal digits).
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import FunctionError, Value, is_binary, register, sig
from planner.functions.vectors import (
    broadcast,
    byte_buffers,
    per_distinct,
    restore,
    row_of_byte,
)


def _utf8(v: str | bytes) -> bytes:
    return v.encode() if isinstance(v, str) else v


def _digest(name: str) -> object:
    def one(v: str | bytes | None) -> str | None:
        return None if v is None else hashlib.new(name, _utf8(v)).hexdigest()
    return lambda v: per_distinct(one, T.STRING, v)


register("md5", sig("bytes", result=T.STRING), _digest("md5"))
register("sha1 sha", sig("bytes", result=T.STRING), _digest("sha1"))

_SHA2 = {0: "sha256", 224: "sha224", 256: "sha256", 384: "sha384", 512: "sha512"}


def _sha2_one(v: str | bytes | None, bits: int | None) -> str | None:
    """NULL for a bit length SHA-2 does not have (Hive)."""
    if v is None or bits not in _SHA2:
        return None
    return hashlib.new(_SHA2[bits], _utf8(v)).hexdigest()


register("sha2", sig("bytes", "int32", result=T.STRING), lambda v, b: per_distinct(_sha2_one, T.STRING, v, b))
register("crc32", sig("bytes", result=T.INT64),
         lambda v: per_distinct(lambda x: None if x is None else zlib.crc32(_utf8(x)), T.INT64, v))

# ---------------------------------------------------------------- Hive's hash()

_M32 = np.uint64(0xFFFFFFFF)


def _fold64(u: np.ndarray) -> np.ndarray:
    """Java's ``(int) (a ^ (a >>> 32))`` of 64-bit values (as uint64), in uint64."""
    return (u ^ (u >> np.uint64(32))) & _M32


def _powers_of_31(n: int) -> np.ndarray:
    """31**k mod 2**32 for k < n (uint64; products wrap modulo 2**64, which keeps them
    right modulo 2**32)."""
    out = np.ones(max(n, 1), np.uint64)
    if n > 1:
        out[1:] = np.uint64(31)
        out = np.cumprod(out, dtype=np.uint64)
    return out & _M32


def _segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per row of ``offsets``, the sum of its ``values`` (uint64, wrapping modulo 2**64,
    so right modulo 2**32), from one running sum."""
    running = np.concatenate([[np.uint64(0)], np.cumsum(values, dtype=np.uint64)])
    return running[offsets[1:]] - running[offsets[:-1]]


def _polynomial(values: np.ndarray, offsets: np.ndarray, start: int) -> np.ndarray:
    """Per row of ``offsets``: ``r = start; for v in row: r = 31 * r + v`` modulo 2**32
    (Java int arithmetic), as sum(v_i * 31**(len - 1 - i)) + start * 31**len."""
    lengths = np.diff(offsets)
    powers = _powers_of_31(int(lengths.max(initial=0)) + 1)
    from_end = offsets[1:][row_of_byte(offsets)] - 1 - np.arange(len(values))
    terms = (values.astype(np.uint64) & _M32) * powers[from_end]
    return (_segment_sums(terms, offsets) + np.uint64(start) * powers[lengths]) & _M32


def _signed(u32: np.ndarray) -> np.ndarray:
    return (u32 & _M32).astype(np.uint32).view(np.int32)


def _hash_code(arr: pa.Array) -> np.ndarray:
    """Hive's ``ObjectInspectorUtils.hashCode`` of each value, as uint64 holding 32 bits;
    0 for NULL."""
    t = arr.type
    n = len(arr)
    valid = np.asarray(pc.is_valid(arr), dtype=bool) if n else np.zeros(0, bool)
    if t == T.NULL:
        return np.zeros(n, np.uint64)
    if t == T.BOOL:
        out = np.asarray(pc.fill_null(arr, False), dtype=np.uint64)
    elif T.is_integer(t) and t != T.INT64:
        out = np.asarray(pc.fill_null(arr, 0), dtype=np.int64).view(np.uint64) & _M32
    elif t == T.INT64:
        out = _fold64(np.asarray(pc.fill_null(arr, 0), dtype=np.int64).view(np.uint64))
    elif t == T.FLOAT32:
        f = np.asarray(pc.fill_null(arr, 0.0), dtype=np.float32)
        bits = np.where(np.isnan(f), np.uint32(0x7FC00000), f.view(np.uint32))  # floatToIntBits
        out = bits.astype(np.uint64)
    elif t == T.FLOAT64:
        f = np.asarray(pc.fill_null(arr, 0.0), dtype=np.float64)
        bits = np.where(np.isnan(f), np.uint64(0x7FF8000000000000), f.view(np.uint64))  # doubleToLongBits
        out = _fold64(bits)
    elif T.is_string(t) or is_binary(t):
        offsets, data = byte_buffers(arr)
        signed = data.view(np.int8).astype(np.int64).view(np.uint64)  # Java bytes are signed
        # String: r = 0; r = r * 31 + b. BytesWritable.hashCode starts at 1.
        out = _polynomial(signed, offsets, 1 if is_binary(t) else 0)
    elif t == T.DATE:
        out = np.asarray(pc.fill_null(arr.cast(T.INT32), 0), dtype=np.int64).view(np.uint64) & _M32
    elif pa.types.is_timestamp(t):
        # TimestampWritable.hashCode: seconds << 30 | nanos, folded
        us = np.asarray(pc.fill_null(arr.cast(pa.timestamp("us")).cast(T.INT64), 0), dtype=np.int64)
        seconds, micros = np.divmod(us, 1_000_000)
        key = (seconds.view(np.uint64) << np.uint64(30)) | (micros * 1000).astype(np.uint64)
        out = _fold64(key)
    elif T.is_decimal(t):
        return _hash_code(pc.cast(arr, T.STRING))  # approximation (see the module docstring)
    elif pa.types.is_list(t):
        offsets = np.asarray(arr.offsets, dtype=np.int64)
        elements = _hash_code(arr.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0])))
        out = _polynomial(elements, offsets - offsets[0], 0)
    elif pa.types.is_map(t):
        offsets = np.asarray(arr.offsets, dtype=np.int64)
        start, stop = int(offsets[0]), int(offsets[-1])
        entries = _hash_code(arr.keys.slice(start, stop - start)) ^ _hash_code(arr.items.slice(start, stop - start))
        out = _segment_sums(entries, offsets - start) & _M32
    elif pa.types.is_struct(t):
        out = np.zeros(n, np.uint64)
        for i in range(t.num_fields):
            out = (out * np.uint64(31) + _hash_code(pc.struct_field(arr, [i]))) & _M32
    else:
        raise FunctionError(f"hash of {T.type_name(t)} is not supported")
    return np.where(valid, out, np.uint64(0)) & _M32


def _hash(*args: Value) -> Value:
    arrays, scalar = broadcast(*args)
    r = np.zeros(len(arrays[0]) if arrays else 1, np.uint64)
    for a in arrays:
        r = (r * np.uint64(31) + _hash_code(a)) & _M32
    return restore(pa.array(_signed(r), T.INT32), scalar)


def _hash_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    for i, t in enumerate(args):
        if t == T.INTERVAL:
            raise FunctionError(f"argument {i + 1}: hash of {T.type_name(t)} is not supported")
    return list(args), T.INT32


register("hash", _hash_resolve, _hash)
