"""Where generated TPC-H data lives and how it is laid out.

tpchgen-cli is always run with `--parts`, so every table has a directory of its own
(`DIR/lineitem/lineitem.1.tbl`, ...). A directory per table is what a Hive external
table's LOCATION needs, and what DuckDB and PySpark glob. Beside the tables a small
`tpch.json` manifest records the scale factor and format, so `load`, `run` and the
reference never have to guess them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tpch.errors import TpchError
from tpch.schema import TABLE_NAMES

FORMATS = ("tbl", "parquet")
MANIFEST = "tpch.json"


def sf_label(sf: float) -> str:
    """'1', '0.01', '10': the scale factor as people write it (for paths and names)."""
    return f"{sf:g}"


def sf_ident(sf: float) -> str:
    """A scale factor usable inside an SQL identifier: 0.01 -> '0_01'."""
    return sf_label(sf).replace(".", "_")


def default_root() -> Path:
    """Base directory for generated data: $LAMNA_TPCH_DATA or ~/.lamna/tpch."""
    env = os.environ.get("LAMNA_TPCH_DATA")
    return Path(env) if env else Path.home() / ".lamna" / "tpch"


def default_data_dir(sf: float, fmt: str) -> Path:
    return default_root() / f"sf{sf_label(sf)}-{fmt}"


@dataclass(frozen=True)
class DataSet:
    """A generated data set: its directory, scale factor and file format."""

    root: Path
    sf: float
    format: str

    def table_dir(self, name: str) -> Path:
        return self.root / name

    def files(self, name: str) -> list[Path]:
        return sorted(self.table_dir(name).glob(f"*.{self.format}"))

    def glob(self, name: str) -> str:
        """A glob over the table's files, for DuckDB and PySpark."""
        return str(self.table_dir(name) / f"*.{self.format}")

    def write_manifest(self, parts: int) -> None:
        body = {"sf": self.sf, "format": self.format, "parts": parts}
        (self.root / MANIFEST).write_text(json.dumps(body, indent=2) + "\n")


def check_sf(sf: float) -> float:
    """Reject scale factors tpchgen-cli or the spec cannot make sense of."""
    if not (sf > 0) or sf != sf or sf > 100_000:
        raise TpchError(
            f"invalid scale factor {sf!r}: use a positive number such as 0.01, 0.1, 1 or 10"
        )
    return sf


def open_dataset(root: Path, sf: float | None = None, fmt: str | None = None) -> DataSet:
    """The data set at `root`, checked to be complete; TpchError says how to make one."""
    root = Path(root).expanduser()
    hint = f"run `lamna tpch gen --sf {sf_label(sf) if sf else 1} --out {root}` first"
    if not root.is_dir():
        raise TpchError(f"no TPC-H data directory at {root}: {hint}")
    manifest = root / MANIFEST
    found_sf: float | None = None
    found_fmt: str | None = None
    if manifest.is_file():
        try:
            body = json.loads(manifest.read_text())
            found_sf = float(body["sf"])
            found_fmt = str(body["format"])
        except (ValueError, KeyError, TypeError):
            raise TpchError(f"{manifest} is damaged: delete {root} and {hint}") from None
    if found_fmt is None:
        for f in FORMATS:
            if any((root / "lineitem").glob(f"*.{f}")):
                found_fmt = f
                break
    if sf is not None and found_sf is not None and abs(found_sf - sf) > 1e-12:
        raise TpchError(
            f"{root} holds scale factor {sf_label(found_sf)}, not {sf_label(sf)}: "
            f"pass --sf {sf_label(found_sf)} or generate SF {sf_label(sf)} elsewhere"
        )
    if fmt is not None and found_fmt is not None and fmt != found_fmt:
        raise TpchError(
            f"{root} holds .{found_fmt} files, not .{fmt}: "
            f"run `lamna tpch gen --format {fmt} --out DIR` for another directory"
        )
    final_sf = found_sf if found_sf is not None else sf
    if final_sf is None or found_fmt is None:
        raise TpchError(f"{root} does not look like generated TPC-H data: {hint}")
    ds = DataSet(root, final_sf, found_fmt)
    missing = [t for t in TABLE_NAMES if not ds.files(t)]
    if missing:
        raise TpchError(
            f"{root} is missing table(s) {', '.join(missing)}: "
            f"run `lamna tpch gen --sf {sf_label(final_sf)} --out {root}` again"
        )
    return ds
