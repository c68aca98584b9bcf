"""Backslash meta-commands, as psql users know them.

Catalog commands (``\\dt``, ``\\d``, ``\\l``) are SQL underneath (SHOW / DESCRIBE), so they
work the same embedded and against a server.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import TYPE_CHECKING

from sql.shell.formatting import FORMATS, ResultSet

if TYPE_CHECKING:
    from sql.shell.runner import Runner

HELP = r"""General
  \q                    quit (also Ctrl-D, or Ctrl-C twice at an empty prompt)
  \? or \h              this help
Catalog
  \l                    list databases
  \dt [PATTERN]         list tables (PATTERN: * and ? wildcards)
  \d [TABLE]            describe a table (no TABLE: like \dt)
  \d+ TABLE             the same, with storage, location and statistics
  \c DATABASE           use another database
Output
  \format [NAME]        show or set the format: table csv tsv json markdown vertical
  \x [on|off|auto]      vertical (expanded) display; auto when a table is too wide
  \timing [on|off]      show how long each statement takes
  \header [on|off]      column names in the output
  \types [on|off]       column types under the names (table format)
  \o [FILE]             send results to FILE (no FILE: back to the terminal)
Input
  \i FILE               run the statements in FILE
Variables
  SET hivevar:NAME=VALUE;   then ${NAME} (or ${hivevar:NAME}) in statements
  \set [NAME [VALUE]]   the same, psql style (no NAME: list them)"""


def _switch(runner: Runner, arg: str, current: bool, name: str) -> bool | None:
    """Parse on/off (no argument toggles); None (after an error message) when invalid."""
    word = arg.strip().lower()
    if not word:
        return not current
    if word in ("on", "true", "1", "yes"):
        return True
    if word in ("off", "false", "0", "no"):
        return False
    runner.fail([f"Error: \\{name} takes on or off, not {arg.strip()!r}"])
    return None


def _quit(runner: Runner, arg: str) -> None:
    from sql.shell.runner import QuitShell

    raise QuitShell()


def _help(runner: Runner, arg: str) -> None:
    runner.output.write_lines(HELP.split("\n"))


def _rows(runner: Runner, sql: str, where: str) -> ResultSet | None:
    """Run a catalog statement for a meta-command; errors are reported like a statement's."""
    return runner.run_sql(sql, capture=True)


def _list_tables(runner: Runner, arg: str) -> None:
    result = _rows(runner, "SHOW TABLES", "")
    if result is None:
        return
    pattern = arg.strip()
    if pattern:
        result.rows = [r for r in result.rows if fnmatch.fnmatchcase(str(r[0]).lower(), pattern.lower())]
    result.columns = ["table"]
    runner.show_result(result)


def _describe(runner: Runner, arg: str, detail: str = "") -> None:
    name = arg.strip()
    if not name:
        _list_tables(runner, "")
        return
    result = _rows(runner, f"DESCRIBE {detail}{name}", "")
    if result is not None:
        runner.show_result(result)


def _describe_formatted(runner: Runner, arg: str) -> None:
    """``\\d+ table``: everything Hive's DESCRIBE FORMATTED knows (location, format, stats)."""
    _describe(runner, arg, "FORMATTED ")


def _databases(runner: Runner, arg: str) -> None:
    result = _rows(runner, "SHOW DATABASES", "")
    if result is not None:
        result.columns = ["database"]
        runner.show_result(result)


def _use(runner: Runner, arg: str) -> None:
    if not arg.strip():
        runner.fail(["Error: \\c needs a database name"])
        return
    runner.run_sql(f"USE {arg.strip()}")


def _format(runner: Runner, arg: str) -> None:
    name = arg.strip().lower()
    if not name:
        runner.output.write_lines([f"format is {runner.settings.fmt}"])
        return
    if name not in FORMATS:
        runner.fail([f"Error: unknown format {name!r}; one of: {', '.join(FORMATS)}"])
        return
    runner.settings.fmt = name
    runner.message([f"format is {name}"])


def _expanded(runner: Runner, arg: str) -> None:
    word = arg.strip().lower()
    if word == "auto":
        runner.settings.expanded = "auto"
    else:
        value = _switch(runner, arg, runner.settings.expanded == "on", "x")
        if value is None:
            return
        runner.settings.expanded = "on" if value else "off"
    runner.message([f"Expanded display is {runner.settings.expanded}."])


def _timing(runner: Runner, arg: str) -> None:
    value = _switch(runner, arg, runner.settings.timing, "timing")
    if value is not None:
        runner.settings.timing = value
        runner.message([f"Timing is {'on' if value else 'off'}."])


def _header(runner: Runner, arg: str) -> None:
    value = _switch(runner, arg, runner.settings.header, "header")
    if value is not None:
        runner.settings.header = value
        runner.message([f"Header is {'on' if value else 'off'}."])


def _types(runner: Runner, arg: str) -> None:
    value = _switch(runner, arg, runner.settings.types, "types")
    if value is not None:
        runner.settings.types = value
        runner.message([f"Types are {'on' if value else 'off'}."])


def _output(runner: Runner, arg: str) -> None:
    path = arg.strip() or None
    try:
        runner.output.redirect(path)
    except OSError as ex:
        runner.fail([f"Error: cannot write {path}: {ex.strerror or ex}"])


def _include(runner: Runner, arg: str) -> None:
    if not arg.strip():
        runner.fail(["Error: \\i needs a file name"])
        return
    runner.run_file(arg.strip())


def _set(runner: Runner, arg: str) -> None:
    name, _, value = arg.strip().partition(" ")
    variables = runner.settings.variables.values
    if not name:
        runner.output.write_lines([f"{k}={v}" for k, v in sorted(variables.items())])
        return
    variables[name] = value.strip()


def _unset(runner: Runner, arg: str) -> None:
    runner.settings.variables.values.pop(arg.strip(), None)


COMMANDS: dict[str, Callable[[Runner, str], None]] = {
    "q": _quit, "quit": _quit, "?": _help, "h": _help, "help": _help,
    "dt": _list_tables, "dt+": _list_tables, "d": _describe, "d+": _describe_formatted,
    "l": _databases, "c": _use, "connect": _use,
    "format": _format, "x": _expanded, "timing": _timing, "header": _header, "types": _types,
    "o": _output, "out": _output, "i": _include, "include": _include, "set": _set, "unset": _unset,
}


def run_meta(runner: Runner, text: str, where: str = "") -> None:
    """Run one meta-command line (``text`` starts with a backslash)."""
    body = text[1:]
    name, _, arg = body.partition(" ")
    name = name.strip()
    command = COMMANDS.get(name)
    if command is None:
        runner.fail([f"{where}Error: invalid command \\{name}. Try \\? for help."])
        return
    command(runner, arg)
