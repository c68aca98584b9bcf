"""The users file: salted SCRAM-SHA-256 verifiers, never passwords.

A JSON object ``{"users": {"alice": {"scram": "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>",
"md5": "md5<hex>"}}}``. The verifier text is PostgreSQL's own format (``pg_authid``),
so a verifier can be moved between the two. The ``md5`` entry (``md5(password || user)``,
what MD5 authentication needs) is written only when asked for, because it is weaker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass

SCRAM_ITERATIONS = 4096


@dataclass(frozen=True, slots=True)
class ScramVerifier:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    def text(self) -> str:
        b64 = lambda b: base64.b64encode(b).decode("ascii")
        return (f"SCRAM-SHA-256${self.iterations}:{b64(self.salt)}$"
                f"{b64(self.stored_key)}:{b64(self.server_key)}")

    @classmethod
    def parse(cls, text: str) -> ScramVerifier:
        method, rest = text.split("$", 1)
        if method != "SCRAM-SHA-256":
            raise ValueError(f"not a SCRAM-SHA-256 verifier: {method}")
        iter_salt, keys = rest.split("$", 1)
        iterations, salt = iter_salt.split(":", 1)
        stored, server = keys.split(":", 1)
        return cls(int(iterations), base64.b64decode(salt), base64.b64decode(stored), base64.b64decode(server))

    def check_password(self, password: str) -> bool:
        """Cleartext authentication: recompute the stored key from the password."""
        other = make_verifier(password, self.salt, self.iterations)
        return hmac.compare_digest(other.stored_key, self.stored_key)


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    # SASLprep is the identity for the ASCII passwords we accept without it; PostgreSQL
    # also falls back to the raw bytes when normalisation fails.
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def make_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> ScramVerifier:
    salt = salt if salt is not None else secrets.token_bytes(16)
    sp = salted_password(password, salt, iterations)
    client_key = hmac.new(sp, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(sp, b"Server Key", hashlib.sha256).digest()
    return ScramVerifier(iterations, salt, hashlib.sha256(client_key).digest(), server_key)


def md5_hash(user: str, password: str) -> str:
    return "md5" + hashlib.md5((password + user).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    name: str
    scram: ScramVerifier
    md5: str | None = None


def load_users(path: str) -> dict[str, User]:
    """Read the users file; a missing or corrupt file is the operator's error (ValueError)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"users file {path} does not exist (create it with `lamna user add`)") from None
    except (OSError, json.JSONDecodeError) as ex:
        raise ValueError(f"users file {path} is unreadable: {ex}") from None
    users: dict[str, User] = {}
    for name, entry in (doc.get("users") or {}).items():
        try:
            users[name] = User(name, ScramVerifier.parse(entry["scram"]), entry.get("md5"))
        except (KeyError, ValueError, TypeError) as ex:
            raise ValueError(f"users file {path}: bad entry for {name!r}: {ex}") from None
    return users


def add_user(path: str, name: str, password: str, with_md5: bool = False) -> None:
    """Add or replace a user, writing the file atomically with owner-only permissions."""
    doc: dict[str, dict[str, dict[str, str]]] = {"users": {}}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        doc.setdefault("users", {})
    entry = {"scram": make_verifier(password).text()}
    if with_md5:
        entry["md5"] = md5_hash(name, password)
    doc["users"][name] = entry
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
