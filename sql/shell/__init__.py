"""The `lamna` SQL shell: interactive (prompt_toolkit) or scripted (-e, -f, stdin).

Start-up must reach the prompt well under a second, so this module imports nothing
heavy: the engine (pyarrow, sqlglot, the planner) or psycopg are loaded by the backend
in a background thread while the user types.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the shell with ``argv`` (the command line after ``lamna`` / ``lamna shell``)."""
    import sys

    from sql.shell.app import run

    return run(sys.argv[1:] if argv is None else list(argv))


__all__ = ["main"]
