"""Encodings: base64 / unbase64, hex / unhex, bin, conv (Hive's UDFBase64, UDFHex,
UDFUnhex, UDFBin, UDFConv).

hex, unhex, bin and base64 are numpy over the bytes of the whole column; unbase64
(lenient about what it skips, as commons-codec is) and conv (arbitrary bases, 64-bit
wrap-around) run once per distinct value (``vectors.per_distinct``).
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    check_argument,
    is_binary,
    register,
    sig,
)
from planner.functions.vectors import (
    broadcast,
    byte_buffers,
    from_byte_buffers,
    per_distinct,
    restore,
    row_of_byte,
    valid_mask,
)

_HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_BASE64_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", dtype=np.uint8)


def _bytes_hex(v: Value) -> Value:
    """Two upper-case hex digits per byte (of the UTF-8 encoding, for strings)."""
    (arr,), scalar = broadcast(v)
    offsets, data = byte_buffers(arr)
    out = np.empty(2 * len(data), np.uint8)
    out[0::2] = _HEX_DIGITS[data >> 4]
    out[1::2] = _HEX_DIGITS[data & 15]
    return restore(from_byte_buffers(2 * offsets, out, valid_mask(arr)), scalar)


def radix_string(v: Value, bits: int) -> Value:
    """Integers as unsigned 64-bit two's complement in base 2**bits, without leading
    zeros (Hive's hex(-1) is 16 F's, bin(-1) 64 ones)."""
    (arr,), scalar = broadcast(v)
    n = len(arr)
    values = np.asarray(pc.fill_null(pc.cast(arr, T.INT64), 0), dtype=np.int64).view(np.uint64)
    width = 64 // bits
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(bits)
    digits = ((values[:, None] >> shifts[None, :]) & np.uint64((1 << bits) - 1)).astype(np.uint8)
    nonzero = digits != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), width - 1)  # 0 is "0"
    keep = np.arange(width)[None, :] >= first[:, None]
    data = _HEX_DIGITS[digits[keep]]
    offsets = np.concatenate([[0], np.cumsum(width - first)]).astype(np.int64)
    return restore(from_byte_buffers(offsets, data, valid_mask(arr) if n else None), scalar)


def _hex(v: Value) -> Value:
    if T.is_string(v.type) or is_binary(v.type):
        return _bytes_hex(v)
    return radix_string(v, 4)


def _hex_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 1:
        raise FunctionError(f"expects 1 argument, got {len(args)}")
    t = args[0]
    if T.is_numeric(t):  # Hive takes bigint; other numbers convert to it (truncated)
        return [T.INT64], T.STRING
    return [check_argument(0, "bytes", t)], T.STRING


register("hex", _hex_resolve, _hex)
register("bin", sig("int", result=T.STRING), lambda v: radix_string(v, 1))

#: each byte's value as a hex digit, 255 where it is none
_NIBBLE = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
    _NIBBLE[ord(chr(_c).upper())] = _i


def _unhex(v: Value) -> Value:
    """Pairs of hex digits as bytes; an odd count has a leading 0 added (Hive); NULL when
    a character is not a hex digit."""
    (arr,), scalar = broadcast(v)
    offsets, data = byte_buffers(arr)
    rows = row_of_byte(offsets)
    nibbles = _NIBBLE[data]
    bad = np.bincount(rows, weights=nibbles == 255, minlength=len(arr)) > 0
    lengths = np.diff(offsets)
    out_lengths = (lengths + 1) // 2
    out_offsets = np.concatenate([[0], np.cumsum(out_lengths)]).astype(np.int64)
    from_end = offsets[1:][rows] - 1 - np.arange(len(data))  # 0 for a row's last digit
    target = out_offsets[1:][rows] - 1 - from_end // 2
    out = np.zeros(int(out_offsets[-1]), np.uint8)
    low = from_end % 2 == 0
    out[target[low]] = nibbles[low] & 15
    out[target[~low]] |= (nibbles[~low] & 15) << 4
    valid = valid_mask(arr) & ~bad
    return restore(from_byte_buffers(out_offsets, out, valid, pa.binary()), scalar)


register("unhex", sig("string", result=pa.binary()), _unhex)


def _base64(v: Value) -> Value:
    """Standard base64 with '=' padding, numpy over whole 3-byte groups of every row."""
    (arr,), scalar = broadcast(v)
    offsets, data = byte_buffers(arr)
    lengths = np.diff(offsets)
    groups = (lengths + 2) // 3
    padded_offsets = np.concatenate([[0], np.cumsum(groups * 3)]).astype(np.int64)
    rows = row_of_byte(offsets)
    padded = np.zeros(int(padded_offsets[-1]), np.uint32)
    padded[padded_offsets[:-1][rows] + (np.arange(len(data)) - offsets[:-1][rows])] = data
    triples = padded.reshape(-1, 3)
    word = (triples[:, 0] << 16) | (triples[:, 1] << 8) | triples[:, 2]
    sextets = np.stack([(word >> s) & 63 for s in (18, 12, 6, 0)], axis=1).astype(np.uint8)
    chars = _BASE64_ALPHABET[sextets].ravel()
    out_offsets = padded_offsets // 3 * 4
    pad = groups * 3 - lengths  # 0, 1 or 2 '=' at the end of each row
    ends = out_offsets[1:]
    chars[(ends - 1)[pad >= 1]] = ord("=")
    chars[(ends - 2)[pad == 2]] = ord("=")
    return restore(from_byte_buffers(out_offsets, chars, valid_mask(arr)), scalar)


register("base64", sig("bytes", result=T.STRING), _base64)

_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/\-_]")


def _unbase64_one(s: str | None) -> bytes | None:
    """commons-codec's lenient decoding (Hive's unbase64): characters outside the
    alphabet (padding, white space) are skipped, URL-safe '-' '_' count as '+' '/', and a
    last lone character is dropped."""
    if s is None:
        return None
    text = _NOT_BASE64.sub("", s).replace("-", "+").replace("_", "/")
    if len(text) % 4 == 1:
        text = text[:-1]
    return base64.b64decode(text + "=" * (-len(text) % 4))


register("unbase64", sig("string", result=pa.binary()), lambda v: per_distinct(_unbase64_one, pa.binary(), v))

_U64 = 1 << 64


def conv_one(num: str | None, from_base: int | None, to_base: int | None) -> str | None:
    """Hive's UDFConv on one value: digits of ``from_base`` up to the first that is not
    one, through an unsigned 64-bit integer (an overflow is all ones, as MySQL's), and
    a negative ``to_base`` prints the value signed."""
    if num is None or from_base is None or to_base is None:
        return None
    if not (2 <= from_base <= 36 and 2 <= abs(to_base) <= 36) or num == "":
        return None
    negative = num.startswith("-")
    value = 0
    for ch in num[1:] if negative else num:
        digit = int(ch, 36) if ch.isascii() and ch.isalnum() else 99
        if digit >= from_base:
            break
        value = value * from_base + digit
        if value >= _U64:
            value = _U64 - 1
            break
    if negative and to_base > 0:
        value = _U64 - 1 if value >= 1 << 63 else (-value) % _U64
    if to_base < 0 and value >= 1 << 63:
        value, negative = _U64 - value, True
    base, digits = abs(to_base), ""
    while True:
        value, d = divmod(value, base)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[d] + digits
        if value == 0:
            break
    return "-" + digits if negative and to_base < 0 else digits


register("conv", sig("string", "int32", "int32", result=T.STRING),
         lambda n, f, t: per_distinct(conv_one, T.STRING, n, f, t))
