"""The `lamna` command: parses the command line and hands over to the package that owns it.

    lamna                     the SQL shell (sql/)
    lamna demo                the RDD core's examples (rdd/)
    lamna tpch …              the TPC-H harness (tpch/)
    lamna serve …             the query server (server/)
    lamna user add …          the server's users file (server/)
"""

from __future__ import annotations

import argparse
import importlib
import sys


#: Subcommands whose own package parses the rest of the command line.
DELEGATED = {
    "demo": "rdd.examples",
    "serve": "server.main",
    "user": "server.usercli",
    "shell": "sql.shell",
}


def _delegate(command: str, rest: list[str]) -> int:
    try:
        entry = importlib.import_module(DELEGATED[command]).main
    except (ImportError, AttributeError):
        print(f"lamna: '{command}' is not available in this build yet", file=sys.stderr)
        return 2
    return int(entry(rest) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lamna", description="Lamna, a SQL warehouse engine on an RDD core.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("demo", help="run the RDD examples (word count, cached log mining)")
    commands.add_parser("serve", help="run the query server")
    commands.add_parser("user", help="manage the server's users file (lamna user add NAME --users FILE)")
    commands.add_parser("shell", help="the interactive SQL shell (the default)")
    try:
        from tpch.cli import add_subcommands
    except ImportError:
        pass
    else:
        tpch = commands.add_parser("tpch", help="TPC-H: generate, load, run, validate, report")
        add_subcommands(tpch.add_subparsers(dest="tpch_command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("-h", "--help", "tpch"):
        command, rest = (argv[0], argv[1:]) if argv and argv[0] in DELEGATED else ("shell", argv)
        return _delegate(command, rest)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
