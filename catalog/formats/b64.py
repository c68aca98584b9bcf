"""Base64 of whole Arrow binary columns, vectorized with numpy (Arrow has no kernel).

Delimited text keeps BINARY values as base64, as Hive's LazySimpleSerDe does: raw bytes
could hold the field delimiter or a newline. Reading follows Hive's
``LazyBinary.decodeIfNeeded``: a field made only of base64 characters is decoded
(leniently: missing ``=`` padding is tolerated, a dangling sixth bit group is
dropped); anything else — or a field that decodes to nothing — is kept as its own
bytes, so text files written by hand with plain values still read.

Both directions work on the column's single data buffer at once:

    values  |abcd|e|        (offsets 0 4 5)
    groups  |abc|d00|e00|   each value zero-padded to whole 3-byte groups
    text    |YWJj|ZA==|ZQ==|  4 characters per group, '=' for the padding bytes
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", dtype=np.uint8)
_SEXTET = np.full(256, 0, dtype=np.uint32)
_SEXTET[_ALPHABET] = np.arange(64, dtype=np.uint32)
_PAD = ord("=")
#: Hive's Base64.isArrayByteBase64, without the whitespace it also tolerates
_BASE64_TEXT = r"^[A-Za-z0-9+/]*=*$"


def _parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(value lengths, the values' bytes back to back) of a binary-like array."""
    arr = arr.cast(pa.large_binary())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    start, end = (int(offsets[0]), int(offsets[-1])) if n else (0, 0)
    data = np.frombuffer(data_buf, dtype=np.uint8)[start:end] if data_buf is not None and end > start \
        else np.zeros(0, dtype=np.uint8)
    return np.diff(offsets), data


def _within(lengths: np.ndarray) -> np.ndarray:
    """0..l0-1, 0..l1-1, ... concatenated: each byte's index inside its value."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - lengths, lengths)


def _binary(lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)
    return pa.Array.from_buffers(
        pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes())]
    )


def encode(arr: pa.Array) -> pa.Array:
    """Base64 text (as binary) of every value; nulls stay null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    lengths, data = _parts(arr)
    groups = (lengths + 2) // 3
    group_start = np.concatenate([[0], np.cumsum(groups)])[:-1]
    padded = np.zeros(int(groups.sum()) * 3, dtype=np.uint8)
    padded[np.repeat(group_start * 3, lengths) + _within(lengths)] = data
    triples = padded.reshape(-1, 3).astype(np.uint32)
    n24 = (triples[:, 0] << 16) | (triples[:, 1] << 8) | triples[:, 2]
    sextets = np.stack([(n24 >> 18) & 63, (n24 >> 12) & 63, (n24 >> 6) & 63, n24 & 63], axis=1)
    text = _ALPHABET[sextets].reshape(-1)
    ends = (group_start + groups) * 4
    rest = lengths % 3
    text[ends[rest > 0] - 1] = _PAD
    text[ends[rest == 1] - 2] = _PAD
    out = _binary(groups * 4, text)
    if arr.null_count:
        out = pc.if_else(arr.is_valid(), out, pa.scalar(None, out.type))
    return out.cast(pa.binary())


def decode_if_base64(strings: pa.Array) -> pa.Array:
    """Hive's reading of a text BINARY field: decoded when it is base64, else its bytes."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    raw = strings.cast(pa.binary())
    is_b64 = pc.fill_null(pc.match_substring_regex(strings, _BASE64_TEXT), False)
    core = pc.replace_substring_regex(pc.if_else(is_b64, strings, ""), "=+$", "")
    text_lengths, text = _parts(core)
    lengths = text_lengths - (text_lengths % 4 == 1)  # a lone trailing character holds no whole byte
    groups = (lengths + 3) // 4
    group_start = np.concatenate([[0], np.cumsum(groups)])[:-1]
    sextets = np.zeros(int(groups.sum()) * 4, dtype=np.uint32)
    keep = _within(lengths)
    src_start = np.concatenate([[0], np.cumsum(text_lengths)])[:-1]
    sextets[np.repeat(group_start * 4, lengths) + keep] = _SEXTET[text[np.repeat(src_start, lengths) + keep]]
    quads = sextets.reshape(-1, 4)
    n24 = (quads[:, 0] << 18) | (quads[:, 1] << 12) | (quads[:, 2] << 6) | quads[:, 3]
    full = np.stack([(n24 >> 16) & 255, (n24 >> 8) & 255, n24 & 255], axis=1).astype(np.uint8).reshape(-1)
    out_len = (lengths // 4) * 3 + np.array([0, 0, 1, 2])[lengths % 4]
    decoded = _binary(out_len, full[np.repeat(group_start * 3, out_len) + _within(out_len)])
    use = pc.and_(is_b64, pa.array(out_len > 0))
    return pc.if_else(use, decoded.cast(pa.binary()), raw)
