"""Reference answers: DuckDB's on the same data, or the answers shipped for SF 0.01.

DuckDB is the reference whenever it can be imported; its answers are cached next to the
data (`DIR/.reference/duckdb-<version>/qNN.parquet`) so repeated runs do not pay for
them. Without DuckDB, the SF 0.01 answers checked in under `tpch/answers/sf0.01/` (made
once with `python -m tpch.make_answers`) are used; at any other scale factor there is
then nothing to validate against, and the error says so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tpch import duck
from tpch.datadir import DataSet, sf_label
from tpch.errors import TpchError
from tpch.queries import load

STORED_SF = 0.01


def stored_dir(sf: float = STORED_SF) -> Path:
    return Path(str(resources.files("tpch").joinpath("answers", f"sf{sf_label(sf)}")))


def stored_answer(number: int, sf: float = STORED_SF) -> pa.Table | None:
    """The checked-in answer for query `number` at `sf`, or None if none is shipped."""
    path = stored_dir(sf) / f"q{number:02d}.parquet"
    return pq.read_table(path) if path.is_file() else None


def has_stored(sf: float) -> bool:
    return abs(sf - STORED_SF) < 1e-12 and stored_dir(sf).is_dir()


def _duckdb_version() -> str:
    import duckdb

    return str(getattr(duckdb, "__version__", "unknown"))


@dataclass
class Reference:
    """Answers to compare with, computed lazily (DuckDB) or read from the package."""

    ds: DataSet
    use_duckdb: bool = field(default_factory=duck.available)
    cache: bool = True
    _con: Any = None
    _answers: dict[int, pa.Table] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.use_duckdb and not has_stored(self.ds.sf):
            raise TpchError(
                f"cannot validate at SF {sf_label(self.ds.sf)}: DuckDB is not installed "
                f"and answers ship only for SF {sf_label(STORED_SF)}; pip install duckdb"
            )

    @property
    def source(self) -> str:
        if self.use_duckdb:
            return f"DuckDB {_duckdb_version()} on the same data"
        return f"answers stored for SF {sf_label(self.ds.sf)}"

    def _cache_path(self, number: int) -> Path:
        """Keyed by the query's text too: a changed query file never meets a stale answer."""
        digest = hashlib.sha256(load(number, self.ds.sf).text.encode()).hexdigest()[:12]
        return (
            self.ds.root / ".reference" / f"duckdb-{_duckdb_version()}" / f"q{number:02d}-{digest}.parquet"
        )

    def answer(self, number: int) -> pa.Table:
        """The reference answer to query `number`."""
        if number in self._answers:
            return self._answers[number]
        table = self._compute(number)
        self._answers[number] = table
        return table

    def _compute(self, number: int) -> pa.Table:
        if not self.use_duckdb:
            table = stored_answer(number, self.ds.sf)
            if table is None:
                raise TpchError(
                    f"no stored answer for q{number:02d}: reinstall lamna or pip install duckdb"
                )
            return table
        path = self._cache_path(number)
        if self.cache and path.is_file():
            return pq.read_table(path)
        if self._con is None:
            self._con = duck.connect(self.ds, materialize=True)
        table = duck.run(self._con, load(number, self.ds.sf))
        if self.cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, path)
            except OSError:
                pass  # a read-only data directory only costs recomputation
        return table

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
