"""The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677), as PostgreSQL runs it.

Two steps: ``first(client_first)`` returns the server-first message; ``final(client_final)``
returns the server-final message or ``None`` when the proof is wrong. Unknown users get
a mock verifier so that the exchange looks the same and fails only at the proof, as in
PostgreSQL: an attacker cannot probe which user names exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from server.users import ScramVerifier, make_verifier

MECHANISM = "SCRAM-SHA-256"


class ScramError(Exception):
    """A malformed SCRAM message (a protocol error, not a wrong password)."""


def _attrs(message: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ScramError(f"malformed SCRAM attribute {part[:10]!r}")
        out[part[0]] = part[2:]
    return out


class ScramExchange:
    def __init__(self, verifier: ScramVerifier | None) -> None:
        self.known = verifier is not None
        self.verifier = verifier or make_verifier(secrets.token_hex(16), iterations=4096)
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""
        self._gs2 = ""

    def first(self, client_first: bytes) -> bytes:
        try:
            text = client_first.decode("utf-8")
        except UnicodeDecodeError:
            raise ScramError("client-first message is not UTF-8") from None
        # gs2 header: channel-binding flag, optional authzid, then the bare message.
        flag, sep, rest = text.partition(",")
        if not sep or flag not in ("n", "y"):
            raise ScramError("channel binding is not supported")
        _authzid, sep, bare = rest.partition(",")
        if not sep:
            raise ScramError("malformed gs2 header")
        self._gs2 = f"{flag},{_authzid},"
        attrs = _attrs(bare)
        if "r" not in attrs or not attrs["r"]:
            raise ScramError("client nonce missing")
        self._client_first_bare = bare
        self._nonce = attrs["r"] + base64.b64encode(secrets.token_bytes(18)).decode("ascii")
        salt = base64.b64encode(self.verifier.salt).decode("ascii")
        self._server_first = f"r={self._nonce},s={salt},i={self.verifier.iterations}"
        return self._server_first.encode("ascii")

    def final(self, client_final: bytes) -> bytes | None:
        try:
            text = client_final.decode("utf-8")
        except UnicodeDecodeError:
            raise ScramError("client-final message is not UTF-8") from None
        without_proof, sep, proof_part = text.rpartition(",p=")
        if not sep:
            raise ScramError("client proof missing")
        attrs = _attrs(without_proof)
        if attrs.get("r") != self._nonce:
            raise ScramError("nonce mismatch")
        if attrs.get("c") != base64.b64encode(self._gs2.encode("utf-8")).decode("ascii"):
            raise ScramError("channel binding mismatch")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise ScramError("client proof is not base64") from None
        if len(proof) != 32:
            raise ScramError("client proof has the wrong length")
        auth_message = ",".join((self._client_first_bare, self._server_first, without_proof)).encode("utf-8")
        signature = hmac.new(self.verifier.stored_key, auth_message, hashlib.sha256).digest()
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not self.known or not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key):
            return None
        server_sig = hmac.new(self.verifier.server_key, auth_message, hashlib.sha256).digest()
        return b"v=" + base64.b64encode(server_sig)
