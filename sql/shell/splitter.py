"""Cut shell input into SQL statements (ended by ``;``) and backslash meta-commands.

The shell needs more than the engine's splitter: it must know whether the text typed so
far is complete (so Enter either runs it or opens a continuation line), where each
statement starts in its file (so an error names the file line), and that a line starting
with ``\\`` is a meta-command that ends at the newline, not at a semicolon.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Piece:
    """One unit of input: ``kind`` is ``"sql"`` or ``"meta"``.

    ``text`` has no surrounding whitespace and no final ``;``; ``line`` is the 1-based line
    of its first character in the input; ``terminated`` says a ``;`` (or, for a
    meta-command, the newline) ended it, as opposed to the end of the input.
    """

    kind: str
    text: str
    line: int
    terminated: bool


def _skip_quoted(text: str, i: int) -> int:
    """Index just past the quoted token starting at ``text[i]`` (or len(text) if open).

    Hive strings take backslash escapes; a doubled quote also stays inside the token.
    """
    quote, n, j = text[i], len(text), i + 1
    while j < n:
        ch = text[j]
        if ch == "\\" and quote != "`":
            j += 2
            continue
        if ch == quote:
            return j + 1
        j += 1
    return n + 1  # open: one past the end marks "unterminated"


def split_pieces(text: str) -> list[Piece]:
    """All statements and meta-commands in ``text``, in order; empty statements dropped.

    >>> [(p.kind, p.text, p.line) for p in split_pieces("select 1;\\n\\\\dt\\nselect\\n 2")]
    [('sql', 'select 1', 1), ('meta', '\\\\dt', 2), ('sql', 'select\\n 2', 3)]
    """
    pieces: list[Piece] = []
    i, n = 0, len(text)
    while i < n:
        # skip blanks and comments between statements
        if text[i].isspace():
            i += 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if text.startswith("/*", i) and not text.startswith("/*+", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if text[i] == ";":
            i += 1
            continue
        start, line = i, text.count("\n", 0, i) + 1
        if text[i] == "\\":
            j = text.find("\n", i)
            end = n if j < 0 else j
            body = text[start:end].strip().rstrip(";").strip()
            pieces.append(Piece("meta", body, line, j >= 0))
            i = end + 1
            continue
        terminated = False
        while i < n:
            ch = text[i]
            if ch in "'\"`":
                i = _skip_quoted(text, i)
                continue
            if text.startswith("--", i):
                j = text.find("\n", i)
                i = n if j < 0 else j
                continue
            if text.startswith("/*", i):
                j = text.find("*/", i + 2)
                i = n + 1 if j < 0 else j + 2
                continue
            if ch == ";":
                terminated = True
                break
            i += 1
        body = text[start:min(i, n)].rstrip()
        pieces.append(Piece("sql", body, line, terminated and i <= n))
        i += 1
    return pieces


def is_complete(text: str) -> bool:
    """True when Enter should run ``text``: blank, a meta-command, or every statement ended by ``;``.

    An open quote or comment is never complete, whatever follows it.
    """
    stripped = text.strip()
    if not stripped:
        return True
    pieces = split_pieces(text)
    if not pieces:
        return not _open_comment(text)
    last = pieces[-1]
    return last.kind == "meta" or last.terminated


def _open_comment(text: str) -> bool:
    """Whether ``text`` ends inside a ``/* … */`` comment (only called on comment-only text)."""
    i, n = 0, len(text)
    while i < n:
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return True
            i = j + 2
        else:
            i += 1
    return False
