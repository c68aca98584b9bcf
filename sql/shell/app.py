"""Command line of the shell and the choice between a prompt and a script.

    lamna [--warehouse DIR | --connect postgresql://user@host:port/db]
          [-e SQL]... [-f FILE]... [-i INIT_FILE]
          [--format table|csv|tsv|json|markdown|vertical] [-o FILE] [--no-header] [--types]
          [--hivevar K=V | -d K=V]... [--hiveconf K=V]... [--continue-on-error] [--debug]
"""

from __future__ import annotations

import argparse
import os
import sys

from sql.shell.formatting import FORMATS

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lamna", description="The Lamna SQL shell (HiveQL). Interactive on a terminal; "
        "runs -e/-f/standard input as a script otherwise.")
    where = p.add_argument_group("engine")
    where.add_argument("--warehouse", metavar="DIR",
                       help="warehouse of the embedded engine (default $LAMNA_WAREHOUSE or ./lamna-warehouse)")
    where.add_argument("--connect", metavar="URL", help="run against a `lamna serve`: postgresql://user@host:port/db")
    where.add_argument("--database", metavar="NAME", help="start in database NAME (USE NAME)")
    where.add_argument("--master", metavar="MASTER", help="RDD master of the embedded engine, e.g. local[4]")
    where.add_argument("--hiveconf", action="append", default=[], metavar="K=V", help="a session setting (SET K=V)")
    run = p.add_argument_group("input")
    run.add_argument("-e", "--execute", action="append", default=[], metavar="SQL", help="run SQL and exit")
    run.add_argument("-f", "--file", action="append", default=[], metavar="FILE", help="run a script and exit")
    run.add_argument("-i", "--init", action="append", default=[], metavar="FILE", help="run FILE first (then go on)")
    run.add_argument("--hivevar", action="append", default=[], metavar="K=V", help="define ${K}")
    run.add_argument("-d", "--define", action="append", default=[], metavar="K=V", help="the same as --hivevar")
    run.add_argument("--continue-on-error", action="store_true", help="in scripts, go on after a failed statement")
    out = p.add_argument_group("output")
    out.add_argument("--format", choices=FORMATS, default="table", help="result format (default table)")
    out.add_argument("-o", "--output", metavar="FILE", help="write results to FILE")
    out.add_argument("--no-header", action="store_true", help="no column names")
    out.add_argument("--types", action="store_true", help="column types under the names (table format)")
    out.add_argument("-x", "--vertical", action="store_true", help="one line per column (\\x on)")
    out.add_argument("--timing", action=argparse.BooleanOptionalAction, default=None,
                     help="print each statement's elapsed time (default: on at the prompt)")
    out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                     help="progress bar for statements over half a second (terminal only)")
    out.add_argument("--pager", action=argparse.BooleanOptionalAction, default=True,
                     help="page long or wide results at the prompt with $PAGER")
    out.add_argument("--ascii", action="store_true", help="draw tables with ASCII instead of box characters")
    out.add_argument("-q", "-S", "--quiet", "--silent", dest="quiet", action="store_true",
                     help="no status lines or row counts")
    out.add_argument("--debug", action="store_true", help="show Python tracebacks of internal errors")
    return p


def _settings_from(args: argparse.Namespace, interactive: bool):  # type: ignore[no-untyped-def]
    from sql.shell.state import Settings
    from sql.shell.variables import Variables

    variables = Variables.from_assignments(args.hivevar + args.define)
    return Settings(
        fmt=args.format, header=not args.no_header, types=args.types,
        expanded="on" if args.vertical else "off",
        timing=interactive if args.timing is None else args.timing,
        quiet=args.quiet, unicode=not args.ascii, progress=args.progress,
        continue_on_error=args.continue_on_error, debug=args.debug, variables=variables)


def _hiveconf(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--hiveconf needs KEY=VALUE, not {item!r}")
        out[key.strip()] = value
    return out


def run(argv: list[str]) -> int:
    """Parse ``argv``, open the engine (lazily), run the prompt or the scripts; the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as ex:  # --help or a usage error; argparse has printed the message
        return int(ex.code or 0)
    scripted = bool(args.execute or args.file)
    stdin_script = not scripted and not _isatty(sys.stdin)
    interactive = not scripted and not stdin_script
    try:
        settings = _settings_from(args, interactive)
        conf = _hiveconf(args.hiveconf)
    except ValueError as ex:
        print(f"lamna: {ex}", file=sys.stderr)
        return EXIT_USAGE
    if args.master:
        conf.setdefault("lamna.master", args.master)

    from sql.shell.backends import open_backend
    from sql.shell.output import Output
    from sql.shell.runner import QuitShell, Runner, StopScript
    from sql.shell.state import BackendHandle

    warehouse = args.warehouse or os.environ.get("LAMNA_WAREHOUSE") or "lamna-warehouse"
    ask = _password_prompt if _isatty(sys.stdin) else None
    bar = settings.progress and _isatty(sys.stderr)  # the runner draws it only there
    handle = BackendHandle(lambda: open_backend(args.connect, warehouse, conf, ask, bar))
    output = Output(pager=args.pager and interactive)
    try:
        output.redirect(args.output)
    except OSError as ex:
        print(f"lamna: cannot write {args.output}: {ex.strerror or ex}", file=sys.stderr)
        return EXIT_USAGE
    runner = Runner(settings, handle, output, sys.stderr, interactive=interactive)
    try:
        if args.database:
            runner.run_sql(f"USE {args.database}", capture=True)  # no "OK" before the prompt
        for path in args.init:
            runner.run_file(path)
        if interactive:
            try:
                import prompt_toolkit  # noqa: F401
                import pygments  # noqa: F401

                from sql.shell.repl import repl
            except ImportError as ex:  # prompt_toolkit/pygments are the `shell` extra
                print(f"lamna: the interactive shell needs {ex.name}: pip install 'lamna[shell]' "
                      "(scripts run without it: -e, -f or standard input)", file=sys.stderr)
                return EXIT_USAGE

            if args.connect:  # a wrong URL should fail now, not at the first statement
                try:
                    handle.get()
                except Exception as ex:
                    print(f"lamna: cannot connect: {str(ex).strip().splitlines()[0] if str(ex).strip() else ex!r}",
                          file=sys.stderr)
                    return EXIT_USAGE

            status = repl(runner)
            return status if status else (EXIT_OK)
        for sql_text in args.execute:
            runner.run_text(sql_text)
        for path in args.file:
            runner.run_file(path)
        if stdin_script:
            runner.run_text(sys.stdin.read(), "<stdin>")
        return EXIT_ERROR if runner.failures else EXIT_OK
    except QuitShell:
        return EXIT_ERROR if runner.failures and not interactive else EXIT_OK
    except StopScript:
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`lamna -e … | head`): stop quietly, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as ex:  # a bug in the shell itself: one line, the traceback on request
        if settings.debug:
            import traceback

            traceback.print_exc()
        print(f"lamna: internal error: {type(ex).__name__}: {ex}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        output.close()
        handle.close()


def _password_prompt() -> str:
    import getpass

    return getpass.getpass("Password: ")


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
