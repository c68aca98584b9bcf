"""Hive-style variables: ``--hivevar k=v`` / ``-d k=v``, ``SET hivevar:k=v`` and ``${k}``.

Substitution is the shell's job, as in Hive's CLI and beeline: the engine (embedded or a
server) only ever sees the substituted text, so both give the same answer. Namespaces
``hivevar:`` (the default), ``env:`` (the process environment) and ``system:`` (a few
process facts) are understood; an undefined variable is left as written, as Hive does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

_REF = re.compile(r"\$\{(?:(hivevar|env|system):)?([A-Za-z_][\w.]*)\}")
_SET = re.compile(r"^\s*set\s+hivevar:([A-Za-z_][\w.]*)\s*(?:=\s*(.*?))?\s*$", re.I | re.S)


@dataclass
class Variables:
    """The shell's variable table (keys are case-sensitive, as in Hive)."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_assignments(cls, assignments: list[str]) -> Variables:
        """Build from ``k=v`` strings; raises ValueError naming the malformed one."""
        table = cls()
        for item in assignments:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"variable definition must be NAME=VALUE, not {item!r}")
            table.values[key.strip()] = value
        return table

    def substitute(self, text: str, depth: int = 0) -> str:
        """Replace every ``${name}`` / ``${hivevar:name}`` / ``${env:NAME}`` in ``text``.

        Values may themselves refer to variables (Hive allows it); the depth limit stops
        a self-referring definition from looping.
        """
        def one(m: re.Match[str]) -> str:
            space, name = m.group(1) or "hivevar", m.group(2)
            if space == "env":
                return os.environ.get(name, m.group(0))
            if space == "system":
                facts = {"user.name": os.environ.get("USER", ""), "user.dir": os.getcwd()}
                return facts.get(name, m.group(0))
            return self.values.get(name, m.group(0))

        out = _REF.sub(one, text)
        if out != text and depth < 10 and _REF.search(out):
            return self.substitute(out, depth + 1)
        return out

    def handle_set(self, statement: str) -> tuple[bool, str | None]:
        """Apply ``SET hivevar:k=v`` if ``statement`` is one.

        Returns (handled, text to print): ``SET hivevar:k`` alone prints ``hivevar:k=v``
        (or that it is undefined), like Hive's SET of a single key.
        """
        m = _SET.match(statement)
        if not m:
            return False, None
        key, value = m.group(1), m.group(2)
        if value is None:
            if key in self.values:
                return True, f"hivevar:{key}={self.values[key]}"
            return True, f"hivevar:{key} is undefined"
        self.values[key] = value
        return True, None
