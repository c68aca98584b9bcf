"""Regenerate the SF 0.01 answers shipped in tpch/answers/sf0.01 (run once, by hand).

    python -m tpch.make_answers

Generates SF 0.01 with tpchgen-cli into a temporary directory, runs the 22 queries on
DuckDB and writes each answer as Parquet (types kept: decimals stay decimals), so that
validation works where DuckDB is not installed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from tpch import duck
from tpch.generate import GenOptions, generate
from tpch.queries import load_all
from tpch.reference import STORED_SF, stored_dir


def main() -> int:
    out = stored_dir(STORED_SF)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ds = generate(GenOptions(sf=STORED_SF, out=Path(tmp) / "data"), show=False)
        con = duck.connect(ds, materialize=True)
        for q in load_all(sf=STORED_SF):
            table = duck.run(con, q)
            pq.write_table(table, out / f"{q.name}.parquet")
            print(f"{q.name}: {table.num_rows} rows", file=sys.stderr)
    print(f"answers written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
