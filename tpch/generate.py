"""`lamna tpch gen`: the eight tables with tpchgen-cli, one directory per table.

tpchgen-cli (Rust, dbgen-exact) ships as a PyPI wheel with a console script, so it is
run as a subprocess: one table at a time, which lets the progress bar follow the bytes
each table has written so far against what that table should come to.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tpch.datadir import FORMATS, MANIFEST, DataSet, check_sf, open_dataset, sf_label
from tpch.errors import TpchError
from tpch.progress import Progress
from tpch.schema import TABLE_NAMES

# Approximate .tbl bytes per table at SF 1; only used to weigh the progress bar.
TBL_BYTES_SF1 = {
    "region": 389,
    "nation": 2_224,
    "supplier": 1_409_184,
    "customer": 24_346_144,
    "part": 24_135_125,
    "partsupp": 118_984_616,
    "orders": 171_952_161,
    "lineitem": 759_863_287,
}
# Parquet (snappy) is roughly this fraction of the text size.
PARQUET_RATIO = 0.35


@dataclass(frozen=True)
class GenOptions:
    """What to generate: scale factor, format, files per table, where."""

    sf: float
    out: Path
    format: str = "tbl"
    parts: int = 1
    overwrite: bool = False
    threads: int | None = None


def find_tpchgen() -> str:
    """The tpchgen-cli executable: next to this Python first, then on PATH."""
    beside = Path(sys.executable).parent / "tpchgen-cli"
    if beside.is_file():
        return str(beside)
    found = shutil.which("tpchgen-cli")
    if found:
        return found
    raise TpchError(
        "tpchgen-cli is not installed: pip install 'lamna[tpch]' (or pip install tpchgen-cli)"
    )


def _check(opts: GenOptions) -> None:
    check_sf(opts.sf)
    if opts.format not in FORMATS:
        raise TpchError(f"unknown format {opts.format!r}: use --format tbl or --format parquet")
    if not 1 <= opts.parts <= 10_000:
        raise TpchError(f"invalid --parts {opts.parts}: use a whole number from 1 to 10000")
    if opts.out.exists() and not opts.out.is_dir():
        raise TpchError(f"{opts.out} is a file, not a directory: pick another --out")


def _existing(opts: GenOptions) -> DataSet | None:
    """The data already at --out if it is exactly what was asked for."""
    manifest = opts.out / MANIFEST
    if not manifest.is_file():
        if any((opts.out / t).exists() for t in TABLE_NAMES) and not opts.overwrite:
            raise TpchError(
                f"{opts.out} already holds table directories of unknown origin: "
                "pass --overwrite or choose another --out"
            )
        return None
    import json

    try:
        body = json.loads(manifest.read_text())
        same = (
            abs(float(body["sf"]) - opts.sf) < 1e-12
            and body["format"] == opts.format
            and int(body["parts"]) == opts.parts
        )
    except (ValueError, KeyError, TypeError):
        same = False
    ds = DataSet(opts.out, opts.sf, opts.format)
    if same and all(ds.files(t) for t in TABLE_NAMES):
        return ds
    if not opts.overwrite:
        raise TpchError(
            f"{opts.out} already holds different TPC-H data: pass --overwrite "
            "or choose another --out"
        )
    return None


def expected_bytes(table: str, sf: float, fmt: str) -> float:
    base = TBL_BYTES_SF1[table] * (1 if table in ("nation", "region") else sf)
    return base * (PARQUET_RATIO if fmt == "parquet" else 1.0)


def _dir_bytes(path: Path) -> int:
    if not path.is_dir():
        return 0
    total = 0
    for f in path.iterdir():
        try:
            total += f.stat().st_size
        except OSError:
            pass
    return total


def generate(opts: GenOptions, *, show: bool = True) -> DataSet:
    """Generate (or reuse) the data set described by `opts`; returns it."""
    opts = GenOptions(
        sf=opts.sf,
        out=Path(opts.out).expanduser().resolve(),
        format=opts.format,
        parts=opts.parts,
        overwrite=opts.overwrite,
        threads=opts.threads,
    )
    _check(opts)
    reuse = _existing(opts)
    if reuse is not None:
        if show:
            print(
                f"SF {sf_label(opts.sf)} .{opts.format} data already at {opts.out}", file=sys.stderr
            )
        return reuse
    exe = find_tpchgen()
    try:
        opts.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TpchError(f"cannot create {opts.out} ({e.strerror}): choose another --out") from None
    (opts.out / MANIFEST).unlink(missing_ok=True)
    weights = {t: expected_bytes(t, opts.sf, opts.format) for t in TABLE_NAMES}
    bar = Progress(sum(weights.values()), f"gen SF {sf_label(opts.sf)}", enabled=show)
    _run_generator(exe, opts, bar, weights)
    bar.update(bar.total, "all 8 tables written", step_finished=True)
    bar.close()
    ds = DataSet(opts.out, opts.sf, opts.format)
    missing = [t for t in TABLE_NAMES if not ds.files(t)]
    if missing:
        raise TpchError(
            f"tpchgen-cli wrote no files for {', '.join(missing)}: check free space in {opts.out}"
        )
    ds.write_manifest(opts.parts)
    return ds


def _run_generator(exe: str, opts: GenOptions, bar: Progress, weights: dict[str, float]) -> None:
    """One tpchgen-cli process for all tables (each start costs ~1 s of CPU).

    The bar follows the bytes written so far under each table's directory, each capped
    at that table's expected size so an estimate that is short never runs past 100%.
    """
    cmd = [exe]
    if opts.format == "parquet":
        cmd.append("parquet")
    cmd += [
        "--scale-factor",
        sf_label(opts.sf),
        "--output-dir",
        str(opts.out),
        "--parts",
        str(opts.parts),
        "--overwrite",
    ]
    if opts.threads:
        cmd += ["--num-threads", str(opts.threads)]
    for name in TABLE_NAMES:
        if (opts.out / name).is_dir():
            shutil.rmtree(opts.out / name)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise TpchError(
            f"cannot start tpchgen-cli ({e.strerror}): pip install -U tpchgen-cli"
        ) from None
    while proc.poll() is None:
        written = sum(
            min(_dir_bytes(opts.out / name), 0.99 * weights[name]) for name in TABLE_NAMES
        )
        busy = [n for n in TABLE_NAMES if 0 < _dir_bytes(opts.out / n) < 0.99 * weights[n]]
        bar.update(written, ", ".join(busy))
        time.sleep(0.2)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        first = (err.strip().splitlines() or ["no message"])[-1]
        raise TpchError(f"tpchgen-cli failed: {first}")


def ensure(sf: float, root: Path, fmt: str, *, show: bool = True) -> DataSet:
    """The data at `root` if it is this SF and format (however many parts); else generate.

    For commands that need data but were not asked to make any (`bench`, `quickstart`).
    """
    if (root / MANIFEST).is_file():
        return open_dataset(root, sf, fmt)
    return generate(GenOptions(sf, root, fmt), show=show)
