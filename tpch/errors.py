"""The one exception type the CLI turns into a one-line message.

Every failure a user can cause (a wrong scale factor, a missing directory, a query file
that does not parse, an engine that is not installed) is raised as `TpchError` with a
message that says what to do; the CLI prints it on one line and exits 2, never a
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TpchError(Exception):
    """A user-facing error; str(e) is a single line that says what to do."""
