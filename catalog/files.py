"""Locations to ``pyarrow.fs`` filesystems, and listing of a table's data files.

Every read and write goes through a ``(FileSystem, path)`` pair from ``resolve``, so a
local path, a ``file://`` URI and ``s3://bucket/...`` take exactly the same code path.
Names starting with ``.`` or ``_`` are hidden (Hive and Spark's rule): staging
directories, ``_SUCCESS`` markers and checksums are never read as data.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

import pyarrow.fs as pafs


@dataclass(frozen=True, slots=True)
class DataFile:
    path: str  # path within its filesystem
    size: int


def resolve(location: str) -> tuple[pafs.FileSystem, str]:
    """Filesystem and in-filesystem path of a location (local path or URI)."""
    if "://" in location:
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), os.path.abspath(location)


def join(location: str, *parts: str) -> str:
    """Join path parts onto a location, URI or not (always with '/')."""
    if "://" in location:
        return posixpath.join(location, *parts)
    return os.path.join(location, *parts)


def is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def list_data_files(fs: pafs.FileSystem, root: str, recursive: bool = True, *,
                    include_empty: bool = False) -> list[DataFile]:
    """Visible files under ``root`` (sorted), skipping hidden files and directories.

    A missing root is an empty table, as in Hive. Empty files hold no rows and are
    left out for readers; writers that replace a directory's files ask for them too
    (``include_empty``: e.g. the empty text file of an empty bucket).
    """
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        return []
    if info.type == pafs.FileType.File:
        return [DataFile(root, info.size)]
    out: list[DataFile] = []
    stack = [root]
    while stack:
        d = stack.pop()
        for entry in fs.get_file_info(pafs.FileSelector(d, allow_not_found=True)):
            if is_hidden(entry.base_name):
                continue
            if entry.type == pafs.FileType.Directory:
                if recursive:
                    stack.append(entry.path)
            elif entry.type == pafs.FileType.File and (entry.size > 0 or include_empty):
                out.append(DataFile(entry.path, entry.size))
    out.sort(key=lambda f: f.path)
    return out


def list_subdirs(fs: pafs.FileSystem, root: str) -> list[str]:
    """Visible immediate subdirectory names of ``root`` (sorted)."""
    entries = fs.get_file_info(pafs.FileSelector(root, allow_not_found=True))
    return sorted(
        e.base_name
        for e in entries
        if e.type == pafs.FileType.Directory and not is_hidden(e.base_name)
    )


def delete_dir(fs: pafs.FileSystem, path: str) -> None:
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        fs.delete_dir(path)


def exists(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type != pafs.FileType.NotFound


COMPRESSION_EXTENSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd",
                          ".lz4": "lz4"}


def compression_of(path: str) -> str | None:
    """Compression codec implied by a file's extension (``None`` = plain)."""
    return COMPRESSION_EXTENSIONS.get(os.path.splitext(path)[1].lower())


def sync(fs: pafs.FileSystem, path: str, directory: bool = False) -> None:
    """Make a local file (or a directory's entries) durable before it is committed.

    pyarrow's streams do not fsync; without this a power loss just after a commit could
    leave the metastore pointing at files the kernel never wrote. Object stores are
    durable on close, so only the local filesystem needs it.
    """
    if not isinstance(fs, pafs.LocalFileSystem):
        return
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the file sync is what matters
    finally:
        os.close(fd)
