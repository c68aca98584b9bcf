"""`lamna tpch gen|load|run|bench|quickstart`: argument parsing and one-line errors.

`cli/main.py` creates the `tpch` parser and passes its subparsers to `add_subcommands`;
each subcommand sets `func(args) -> int` (the exit status). `python -m tpch` builds the
same commands on a parser of its own (`main`).

Numbers are parsed here rather than by argparse types so that every mistake a user can
make is one line on stderr saying what to do (argparse would add a usage block), and
tpch errors never show a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn

from tpch.datadir import FORMATS, check_sf, default_data_dir, open_dataset, sf_label
from tpch.errors import TpchError

PROG = "lamna tpch"
Handler = Callable[[argparse.Namespace], int]


# --- argument values ---------------------------------------------------------------


def parse_sf(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise TpchError(
            f"invalid scale factor {text!r}: use a positive number such as 0.01, 0.1, 1 or 10"
        ) from None
    try:
        return check_sf(value)
    except TpchError:
        raise TpchError(
            f"invalid scale factor {text!r}: use a positive number such as 0.01, 0.1, 1 or 10"
        ) from None


def parse_count(text: str, what: str, low: int = 1) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = low - 1
    if value < low:
        raise TpchError(f"invalid {what} {text!r}: use a whole number of at least {low}")
    return value


def parse_engines(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    names = tuple(n.strip().lower() for n in text.split(",") if n.strip())
    for n in names:
        if n not in ("duckdb", "pyspark"):
            raise TpchError(f"unknown engine {n!r} for --compare: use duckdb, pyspark or both")
    return tuple(dict.fromkeys(names))


def choose(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise TpchError(f"invalid {option} {value!r}: use one of {', '.join(allowed)}")
    return value


def _path(text: str | None) -> Path | None:
    return Path(text).expanduser() if text else None


# --- handlers ------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_gen(args: argparse.Namespace) -> int:
    from tpch.generate import GenOptions, generate

    sf = parse_sf(args.sf)
    fmt = choose(args.format, FORMATS, "--format")
    parts = parse_count(args.parts, "--parts")
    threads = parse_count(args.threads, "--threads") if args.threads else None
    out = _path(args.out) or default_data_dir(sf, fmt)
    ds = generate(GenOptions(sf, out, fmt, parts, args.overwrite, threads))
    print(f"generated SF {sf_label(ds.sf)} as .{ds.format} in {ds.root}")
    return 0


def _find_data(sf: float, data: str | None, fmt: str | None = None) -> Any:
    """The data set from --data, or the default directory for this scale factor."""
    if data:
        return open_dataset(Path(data), sf, fmt)
    candidates = [fmt] if fmt else list(FORMATS)
    for f in candidates:
        d = default_data_dir(sf, f)
        if d.is_dir():
            return open_dataset(d, sf, f)
    return open_dataset(default_data_dir(sf, candidates[0]), sf)


def cmd_load(args: argparse.Namespace) -> int:
    from tpch.load import LOAD_AS, load

    sf = parse_sf(args.sf)
    how = choose(args.load_as, LOAD_AS, "--as")
    ds = _find_data(sf, args.data, "tbl" if how == "external-tbl" and not args.data else None)
    result = load(ds, how, database=args.database, warehouse=_path(args.warehouse))
    print(
        f"loaded SF {sf_label(ds.sf)} into database {result.database} as {how} "
        f"({result.statements} statements, {result.seconds:.1f} s)"
    )
    return 0


def _run_lamna(
    sf: float,
    numbers: tuple[int, ...],
    runs: int,
    mode: str,
    validate: bool,
    data: str | None,
    warehouse: Path | None,
    database: str | None,
) -> tuple[list[Any], str, str, Any]:
    """Results, reference source, data format and the engine (its cache figures)."""
    from tpch.engines import LamnaEngine
    from tpch.load import default_database
    from tpch.reference import Reference
    from tpch.runner import run_queries

    ds = _find_data(sf, data) if validate else None
    reference = Reference(ds) if ds is not None else None
    engine = LamnaEngine(database or default_database(sf), warehouse, mode)
    engine.prepare()
    try:
        results = run_queries(
            engine, numbers, runs=runs, reference=reference.answer if reference else None, sf=sf
        )
    finally:
        engine.close()
        if reference is not None:
            reference.close()
    return results, reference.source if reference else "", ds.format if ds else "?", engine


def _write_lamna_report(
    results: list[Any],
    sf: float,
    source: str,
    runs: int,
    numbers: tuple[int, ...],
    fmt: str,
    load_as: str,
    results_dir: Path,
    engine: Any = None,
) -> Path:
    from tpch import report

    lamna = report.EngineReport("lamna", tuple(results), cache_seconds=getattr(engine, "cache_seconds", None),
                                cache=getattr(engine, "cache_stats", None))
    rep = report.Report(
        sf=sf,
        data_format=fmt,
        load_as=load_as,
        runs=runs,
        queries=numbers,
        engines=(lamna,),
        reference=source,
    )
    return report.write(rep, results_dir).markdown


def cmd_run(args: argparse.Namespace) -> int:
    from tpch import report
    from tpch.engines import MODES
    from tpch.queries import parse_selection

    sf = parse_sf(args.sf)
    numbers = parse_selection(args.queries)
    runs = parse_count(args.runs, "--runs")
    mode = choose(args.mode, MODES, "--mode")
    results, source, fmt, engine = _run_lamna(
        sf, numbers, runs, mode, args.validate, args.data, _path(args.warehouse), args.database
    )
    print(report.run_table(results))
    if mode == "cached":
        print(report.cache_line(engine.cache_seconds, engine.cache_stats))
    if args.results:
        md = _write_lamna_report(
            results,
            sf,
            source,
            runs,
            numbers,
            fmt,
            f"{mode} mode, tables as `lamna tpch load` made them",
            Path(args.results),
            engine,
        )
        print(f"report: {md}")
    return 1 if any(r.status in ("WRONG", "error") for r in results) else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from tpch import report
    from tpch.bench import BenchOptions, bench
    from tpch.load import LOAD_AS
    from tpch.queries import parse_selection

    sf = parse_sf(args.sf)
    opts = BenchOptions(
        sf=sf,
        compare=parse_engines(args.compare),
        queries=parse_selection(args.queries),
        runs=parse_count(args.runs, "--runs"),
        data=_path(args.data),
        data_format=choose(args.format, FORMATS, "--format"),
        load_as=choose(args.load_as, LOAD_AS, "--as"),
        warehouse=_path(args.warehouse),
        database=args.database,
        validate=not args.no_validate,
        timeout=float(parse_count(args.timeout, "--timeout")),
    )
    if opts.load_as == "external-tbl" and opts.data_format != "tbl":
        raise TpchError("--as external-tbl needs --format tbl")
    rep = bench(opts)
    out = _path(args.results) or report.default_results_dir(sf)
    written = report.write(rep, out)
    lamna = rep.engine("lamna")
    if lamna is not None and lamna.runs:
        print(report.run_table(list(lamna.runs)))
    for e in rep.engines:
        if e.status != "ok":
            print(f"{e.engine}: {e.status}: {e.reason}")
    print(
        f"report: {written.markdown} (also {written.json.name}"
        + (f", {written.chart.name})" if written.chart else ")")
    )
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    from tpch import report
    from tpch.engines import available
    from tpch.generate import ensure
    from tpch.load import LOAD_AS, load
    from tpch.queries import ALL

    sf = parse_sf(args.sf)
    choose(args.load_as, LOAD_AS, "--as")
    why = available("lamna")
    if why is not None:
        raise TpchError(f"the Lamna engine is not usable here ({why}): reinstall lamna")
    warehouse = _path(args.warehouse)
    _say(f"1/3 generating TPC-H SF {sf_label(sf)} (.tbl)")
    ds = ensure(sf, _path(args.data) or default_data_dir(sf, "tbl"), "tbl")
    _say(f"2/3 loading it into Lamna as {args.load_as}")
    loaded = load(ds, args.load_as, warehouse=warehouse)
    _say("3/3 running and validating the 22 queries")
    mode = "cached" if args.load_as == "cached" else "files"
    results, source, _, engine = _run_lamna(
        sf, ALL, 1, mode, True, str(ds.root), warehouse, loaded.database
    )
    print(report.run_table(results))
    out = _path(args.results) or report.default_results_dir(sf)
    md = _write_lamna_report(results, sf, source, 1, ALL, ds.format, args.load_as, out, engine)
    print(f"report: {md}")
    return 1 if any(r.status != "ok" for r in results) else 0


# --- registration --------------------------------------------------------------------


def _one_line_error(parser: argparse.ArgumentParser) -> Callable[[str], NoReturn]:
    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)

    return error


def guarded(handler: Handler) -> Handler:
    """Run a handler; a TpchError becomes one line on stderr and exit status 2, and so
    does any other failure (a bug, or an engine's own error), with the traceback only
    under ``--debug``."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except TpchError as e:
            print(f"{PROG}: error: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except Exception as e:
            if getattr(args, "debug", False):
                raise
            detail = (str(e).strip().splitlines() or [""])[0]
            print(f"{PROG}: internal error: {type(e).__name__}: {detail} (rerun with --debug for the traceback)",
                  file=sys.stderr)
            return 1

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def _common(p: argparse.ArgumentParser, sf_default: str = "1") -> None:
    p.add_argument(
        "--sf", default=sf_default, metavar="SF", help=f"scale factor (default {sf_default})"
    )


def _lamna_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warehouse", metavar="DIR", help="Lamna warehouse (default: the embedded default)"
    )
    p.add_argument("--database", metavar="NAME", help="database name (default tpch_sf<SF>)")


def add_subcommands(subparsers: Any) -> None:
    """Register gen, load, run, bench and quickstart on `lamna tpch`'s subparsers."""

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = subparsers.add_parser(name, help=help_text, description=help_text)
        p.error = _one_line_error(p)  # type: ignore[method-assign]
        p.set_defaults(func=guarded(handler))
        p.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
        return p

    p = add("gen", cmd_gen, "generate the eight TPC-H tables with tpchgen-cli")
    _common(p)
    p.add_argument("--format", default="tbl", metavar="tbl|parquet")
    p.add_argument("--parts", default="1", metavar="N", help="files per table (default 1)")
    p.add_argument(
        "--out", metavar="DIR", help="output directory (default ~/.lamna/tpch/sf<SF>-<format>)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace data already in --out")
    p.add_argument("--threads", metavar="N", help="generator threads (default: all CPUs)")

    p = add("load", cmd_load, "create the TPC-H tables in a Lamna warehouse and analyze them")
    _common(p)
    p.add_argument(
        "--as", dest="load_as", default="external-tbl", metavar="external-tbl|parquet|cached"
    )
    p.add_argument("--data", metavar="DIR", help="generated data (default: where gen puts it)")
    _lamna_opts(p)

    p = add("run", cmd_run, "run the 22 queries on Lamna: warm-up, timed runs, validation")
    _common(p)
    p.add_argument("--queries", metavar="LIST", help="e.g. 1,3,5-9 (default all 22)")
    p.add_argument("--runs", default="3", metavar="N", help="timed runs per query (default 3)")
    p.add_argument("--mode", default="files", metavar="files|cached")
    p.add_argument("--validate", action="store_true", help="check answers against the reference")
    p.add_argument("--data", metavar="DIR", help="generated data, for the reference answers")
    p.add_argument("--results", metavar="DIR", help="also write report.md/json/png here")
    _lamna_opts(p)

    p = add("bench", cmd_bench, "generate, load, run and compare engines; write a report")
    _common(p)
    p.add_argument("--compare", metavar="ENGINES", help="duckdb,pyspark (each in its own process)")
    p.add_argument("--queries", metavar="LIST", help="e.g. 1,3,5-9 (default all 22)")
    p.add_argument("--runs", default="3", metavar="N")
    p.add_argument("--format", default="parquet", metavar="tbl|parquet")
    p.add_argument("--as", dest="load_as", default="parquet", metavar="external-tbl|parquet|cached")
    p.add_argument("--data", metavar="DIR")
    p.add_argument("--results", metavar="DIR", help="default ./tpch-results/sf<SF>-<time>")
    p.add_argument("--no-validate", action="store_true")
    p.add_argument("--timeout", default="3600", metavar="S", help="per engine (default 3600)")
    _lamna_opts(p)

    p = add("quickstart", cmd_quickstart, "SF 0.01: generate, load, run and validate all 22")
    _common(p, "0.01")
    p.add_argument(
        "--as", dest="load_as", default="external-tbl", metavar="external-tbl|parquet|cached"
    )
    p.add_argument("--data", metavar="DIR")
    p.add_argument("--results", metavar="DIR")
    p.add_argument("--warehouse", metavar="DIR")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="TPC-H for Lamna")
    parser.error = _one_line_error(parser)  # type: ignore[method-assign]
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    return int(func(args))
