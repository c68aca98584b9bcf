"""Storage formats, one module each: parquet, textfile (delimited), csv, json, orc.

``get(name)`` returns the module; every module has ``NAME``, ``EXTENSION``,
``SPLITTABLE``, ``read(fs, ReadRequest)`` and ``write(fs, path, table, columns, storage)``.
"""

from __future__ import annotations

from types import ModuleType

from catalog.errors import CatalogError
from catalog.formats import csv, json, orc, parquet, text

_BY_NAME: dict[str, ModuleType] = {m.NAME: m for m in (parquet, text, csv, json, orc)}


def get(name: str) -> ModuleType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise CatalogError(f"Unknown storage format {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None
