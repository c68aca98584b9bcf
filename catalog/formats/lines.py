"""Line-aligned byte ranges of text files, plain or compressed.

A line belongs to the split holding its first byte. So a split ``[start, end)`` skips
the partial line it starts inside (unless ``start == 0``) and reads past ``end`` to
finish its last line: every line is read exactly once whatever the split boundaries.

    file:   |line1\\n|line2 ...... \\n|line3\\n|
    split A [0 ------- 10)               -> line1, line2 (line2 starts before 10)
    split B            [10 -------- 30)  -> line3 (skips the rest of line2)

Compressed files (by extension) are one split each, decompressed as a stream and
handed on in line-aligned chunks (``read_chunks``), so a big .gz never sits in memory
whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs

from catalog.errors import DataFormatError
from catalog.files import compression_of

_CHUNK = 1 << 16


DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole lines of a file: the bytes, whether they start the file (headers), and the
    1-based number of their first line (a callable: only errors pay to count)."""

    data: bytes
    at_file_start: bool
    first_line: Callable[[], int]


def read_chunks(
    fs: pafs.FileSystem, path: str, start: int, length: int | None, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Iterator[Chunk]:
    """The lines owned by a split, in chunks of about ``chunk_bytes`` ending at line ends."""
    codec = compression_of(path)
    if codec is None:
        data, begin = read_range(fs, path, start, length)
        yield Chunk(data, begin == 0, lambda: line_number_at(fs, path, begin))
        return
    try:
        with fs.open_input_stream(path, compression=codec) as s:
            carry = b""
            lines_before = 0
            first = True
            while True:
                block = s.read(chunk_bytes)
                buf = carry + block
                if not block:
                    if buf:
                        yield Chunk(buf, first, _const(lines_before + 1))
                    return
                cut = buf.rfind(b"\n")
                if cut < 0:
                    carry = buf
                    continue
                data, carry = buf[: cut + 1], buf[cut + 1 :]
                yield Chunk(data, first, _const(lines_before + 1))
                lines_before += data.count(b"\n")
                first = False
    except (OSError, pa.ArrowException) as e:
        if isinstance(e, DataFormatError):
            raise
        raise DataFormatError(f"cannot read file: {e}", path) from e


def _const(n: int) -> Callable[[], int]:
    return lambda: n


def read_range(fs: pafs.FileSystem, path: str, start: int, length: int | None) -> tuple[bytes, int]:
    """Bytes of the whole lines owned by ``[start, start+length)`` and where they begin."""
    try:
        codec = compression_of(path)
        if codec is not None:
            with fs.open_input_stream(path, compression=codec) as s:
                return s.read(), 0
        with fs.open_input_file(path) as f:
            size = f.size()
            end = size if length is None else min(size, start + length)
            begin = 0 if start == 0 else _next_line_start(f, start - 1, size)
            if begin >= end:
                return b"", begin
            f.seek(begin)
            data = f.read(end - begin)
            if end < size and not data.endswith(b"\n"):
                tail = []
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    nl = chunk.find(b"\n")
                    if nl >= 0:
                        tail.append(chunk[: nl + 1])
                        break
                    tail.append(chunk)
                data += b"".join(tail)
            return data, begin
    except (OSError, pa.ArrowException) as e:
        if isinstance(e, DataFormatError):
            raise
        raise DataFormatError(f"cannot read file: {e}", path) from e


def _next_line_start(f: pa.NativeFile, pos: int, size: int) -> int:
    """Offset just after the first newline at or after ``pos``."""
    f.seek(pos)
    offset = pos
    while offset < size:
        chunk = f.read(_CHUNK)
        if not chunk:
            break
        nl = chunk.find(b"\n")
        if nl >= 0:
            return offset + nl + 1
        offset += len(chunk)
    return size


def line_number_at(fs: pafs.FileSystem, path: str, offset: int) -> int:
    """1-based line number of the line starting at byte ``offset`` (error path only)."""
    if offset == 0:
        return 1
    with fs.open_input_file(path) as f:
        count = 0
        remaining = offset
        while remaining > 0:
            chunk = f.read(min(_CHUNK * 16, remaining))
            if not chunk:
                break
            count += chunk.count(b"\n")
            remaining -= len(chunk)
    return count + 1


def split_lines(data: bytes, delim: str = "\n") -> pa.Array:
    """The lines of ``data`` as a string array (vectorized; no trailing empty line)."""
    import pyarrow.compute as pc

    if not data:
        return pa.array([], pa.string())
    sep = delim.encode()
    data = data.removesuffix(sep)
    whole = pa.array([data], pa.large_binary())
    lines = pc.split_pattern(whole, sep).flatten()
    try:
        lines = lines.cast(pa.large_string()).cast(pa.string())
    except pa.ArrowInvalid:
        # not UTF-8: replace undecodable bytes rather than fail the whole split
        text = data.decode("utf-8", errors="replace")
        lines = pc.split_pattern(pa.array([text], pa.large_string()), delim).flatten().cast(pa.string())
    if delim == "\n":
        lines = pc.replace_substring_regex(lines, "\r$", "")
    return lines
