"""``lamna user …``: entry point for cli/main.py's dispatcher (``DELEGATED["user"]``)."""

from __future__ import annotations

from server.main import user


def main(argv: list[str]) -> int:
    """``argv`` is what follows ``lamna user``, e.g. ``["add", "alice", "--users", "u.json"]``."""
    return user(argv)
