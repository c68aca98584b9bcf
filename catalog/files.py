"""Locations to ``pyarrow.fs`` filesystems, and listing of a table's data files.

Every read and write goes through a ``(FileSystem, path)`` pair from ``resolve``, so a
local path, a ``file://`` URI and ``s3://bucket/...`` take exactly the same code path.
Object stores are configured the way their SDKs are, from the environment (for S3:
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_DEFAULT_REGION``/``AWS_REGION``, ``AWS_ENDPOINT_URL`` for S3-compatible stores,
and ``~/.aws`` profiles): locations are plain ``s3://bucket/path`` URIs, so no secret
is ever stored in the metastore.
Names starting with ``.`` or ``_`` are hidden (Hive and Spark's rule): staging
directories, ``_SUCCESS`` markers and checksums are never read as data.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs

from catalog.errors import CatalogError, DataFormatError


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
        missing = missing_bucket(fs, root)
        if missing is not None:  # a missing directory is an empty table; a missing bucket is a mistake
            raise DataFormatError(f"bucket {missing!r} does not exist", f"{fs.type_name}://{root}")
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


def _bucketed_store(fs: pafs.FileSystem) -> bool:
    """Object stores whose paths start with a bucket (S3, GCS)."""
    kinds = tuple(k for k in (getattr(pafs, "S3FileSystem", None), getattr(pafs, "GcsFileSystem", None)) if k)
    return isinstance(fs, kinds)


def missing_bucket(fs: pafs.FileSystem, path: str) -> str | None:
    """The bucket of ``path`` if it is on an object store and that bucket does not exist."""
    if not _bucketed_store(fs):
        return None
    bucket = path.lstrip("/").split("/", 1)[0]
    return bucket if fs.get_file_info(bucket).type == pafs.FileType.NotFound else None


def check_location(location: str) -> None:
    """Fail early, naming ``location``, when it cannot hold a table: a malformed URI,
    an unknown filesystem, an unreachable store or a missing bucket. (A missing
    directory is fine: it is made on the first write, and reads as an empty table.)"""
    try:
        fs, path = resolve(location)
        missing = missing_bucket(fs, path)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise CatalogError(f"Location {location} cannot be used: {e}") from e
    if missing is not None:
        raise CatalogError(f"Location {location}: bucket {missing!r} does not exist")


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
