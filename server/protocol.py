"""PostgreSQL wire protocol v3: frontend message decoding and backend message encoding.

Pure functions over bytes; no sockets here. Frontend messages decode into frozen
dataclasses (one per message type) so the connection's state machine can ``match`` on
them. A message that does not decode raises ``ProtocolViolation``: the connection that
sent it is closed, nobody else is affected.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROTOCOL_V3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

#: Upper bound on one frontend message; larger lengths are hostile or corrupt.
MAX_MESSAGE = 64 * 1024 * 1024
MAX_STARTUP = 10_000


class ProtocolViolation(Exception):
    """The peer sent bytes that are not a valid message: close its connection (08P01)."""


# ---------------------------------------------------------------- start-up packets

@dataclass(frozen=True, slots=True)
class StartupMessage:
    version: int
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class SSLRequest:
    pass


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True, slots=True)
class CancelRequest:
    pid: int
    key: int


StartupPacket = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest


def decode_startup(body: bytes) -> StartupPacket:
    """``body`` is the packet after its length word."""
    if len(body) < 4:
        raise ProtocolViolation("start-up packet too short")
    (code,) = struct.unpack_from("!i", body)
    if code == SSL_REQUEST:
        return SSLRequest()
    if code == GSSENC_REQUEST:
        return GSSENCRequest()
    if code == CANCEL_REQUEST:
        if len(body) != 12:
            raise ProtocolViolation("bad cancel request")
        pid, key = struct.unpack_from("!ii", body, 4)
        return CancelRequest(pid, key)
    if code >> 16 != 3:
        raise ProtocolViolation(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
    parts = body[4:].split(b"\0")
    if len(parts) < 2 or parts[-1] != b"" or parts[-2] != b"":
        raise ProtocolViolation("start-up parameters are not terminated")
    fields = parts[:-2]
    if len(fields) % 2:
        raise ProtocolViolation("start-up parameter without a value")
    try:
        texts = [f.decode("utf-8") for f in fields]
    except UnicodeDecodeError:
        raise ProtocolViolation("start-up parameters are not UTF-8") from None
    return StartupMessage(code, dict(zip(texts[::2], texts[1::2])))


# ---------------------------------------------------------------- frontend messages

@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Parse:
    name: str
    sql: str
    param_types: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # 'S' statement or 'P' portal
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int


@dataclass(frozen=True, slots=True)
class Close:
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


@dataclass(frozen=True, slots=True)
class PasswordData:
    """'p': a password, SASLInitialResponse or SASLResponse; the auth step knows which."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CopyFromClient:
    """CopyData / CopyDone / CopyFail: we never ask for COPY FROM STDIN, so these are ignored."""

    kind: str
    data: bytes


FrontendMessage = (Query | Parse | Bind | Describe | Execute | Close | Sync | Flush | Terminate
                   | PasswordData | CopyFromClient)


class _Reader:
    """Bounds-checked cursor over one message body."""

    def __init__(self, body: bytes) -> None:
        self.body, self.pos = body, 0

    def int16(self) -> int:
        return self._unpack("!h", 2)

    def int32(self) -> int:
        return self._unpack("!i", 4)

    def _unpack(self, fmt: str, size: int) -> int:
        if self.pos + size > len(self.body):
            raise ProtocolViolation("message truncated")
        (v,) = struct.unpack_from(fmt, self.body, self.pos)
        self.pos += size
        return int(v)

    def byte(self) -> str:
        if self.pos >= len(self.body):
            raise ProtocolViolation("message truncated")
        self.pos += 1
        return chr(self.body[self.pos - 1])

    def bytes(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.body):
            raise ProtocolViolation("message truncated")
        self.pos += n
        return self.body[self.pos - n:self.pos]

    def cstring(self) -> str:
        end = self.body.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolViolation("string not terminated")
        raw = self.body[self.pos:end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation("string is not UTF-8") from None

    def count(self) -> int:
        n = self.int16()
        if n < 0:
            raise ProtocolViolation("negative count")
        return n

    def done(self) -> None:
        if self.pos != len(self.body):
            raise ProtocolViolation("trailing bytes in message")


def decode_message(kind: bytes, body: bytes) -> FrontendMessage:
    """Decode one typed frontend message (type byte + body after the length word)."""
    r = _Reader(body)
    msg: FrontendMessage
    match kind:
        case b"Q":
            msg = Query(r.cstring())
        case b"P":
            name, sql, n = r.cstring(), r.cstring(), r.count()
            msg = Parse(name, sql, tuple(r.int32() for _ in range(n)))
        case b"B":
            portal, stmt = r.cstring(), r.cstring()
            formats = tuple(r.int16() for _ in range(r.count()))
            params: list[bytes | None] = []
            for _ in range(r.count()):
                size = r.int32()
                params.append(None if size == -1 else r.bytes(size))
            results = tuple(r.int16() for _ in range(r.count()))
            if any(f not in (0, 1) for f in formats + results):
                raise ProtocolViolation("unknown format code")
            msg = Bind(portal, stmt, formats, tuple(params), results)
        case b"D":
            k = r.byte()
            if k not in "SP":
                raise ProtocolViolation("Describe of neither statement nor portal")
            msg = Describe(k, r.cstring())
        case b"E":
            msg = Execute(r.cstring(), r.int32())
        case b"C":
            k = r.byte()
            if k not in "SP":
                raise ProtocolViolation("Close of neither statement nor portal")
            msg = Close(k, r.cstring())
        case b"S":
            msg = Sync()
        case b"H":
            msg = Flush()
        case b"X":
            msg = Terminate()
        case b"p":
            return PasswordData(body)
        case b"d" | b"c" | b"f":
            return CopyFromClient(kind.decode(), body)
        case _:
            raise ProtocolViolation(f"unknown message type {kind!r}")
    r.done()
    return msg


# ---------------------------------------------------------------- backend messages

def _msg(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _cstr(s: str) -> bytes:
    return s.replace("\0", "").encode("utf-8") + b"\0"


def auth_ok() -> bytes:
    return _msg(b"R", struct.pack("!i", 0))


def auth_cleartext() -> bytes:
    return _msg(b"R", struct.pack("!i", 3))


def auth_md5(salt: bytes) -> bytes:
    return _msg(b"R", struct.pack("!i", 5) + salt)


def auth_sasl(mechanisms: Sequence[str]) -> bytes:
    return _msg(b"R", struct.pack("!i", 10) + b"".join(_cstr(m) for m in mechanisms) + b"\0")


def auth_sasl_continue(data: bytes) -> bytes:
    return _msg(b"R", struct.pack("!i", 11) + data)


def auth_sasl_final(data: bytes) -> bytes:
    return _msg(b"R", struct.pack("!i", 12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return _msg(b"S", _cstr(name) + _cstr(value))


def backend_key(pid: int, key: int) -> bytes:
    return _msg(b"K", struct.pack("!ii", pid, key))


def ready_for_query(status: str) -> bytes:
    return _msg(b"Z", status.encode("ascii"))


@dataclass(frozen=True, slots=True)
class FieldDescription:
    name: str
    type_oid: int
    type_size: int
    type_modifier: int = -1
    format: int = 0
    table_oid: int = 0
    column: int = 0


def row_description(fields: Iterable[FieldDescription]) -> bytes:
    fields = list(fields)
    body = [struct.pack("!h", len(fields))]
    for f in fields:
        body.append(_cstr(f.name) + struct.pack("!ihihih", f.table_oid, f.column, f.type_oid,
                                               f.type_size, f.type_modifier, f.format))
    return _msg(b"T", b"".join(body))


def data_row(values: Sequence[bytes | None]) -> bytes:
    parts = [struct.pack("!h", len(values))]
    for v in values:
        if v is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(struct.pack("!i", len(v)))
            parts.append(v)
    return _msg(b"D", b"".join(parts))


def command_complete(tag: str) -> bytes:
    return _msg(b"C", _cstr(tag))


def empty_query() -> bytes:
    return _msg(b"I")


def parse_complete() -> bytes:
    return _msg(b"1")


def bind_complete() -> bytes:
    return _msg(b"2")


def close_complete() -> bytes:
    return _msg(b"3")


def no_data() -> bytes:
    return _msg(b"n")


def portal_suspended() -> bytes:
    return _msg(b"s")


def parameter_description(oids: Sequence[int]) -> bytes:
    return _msg(b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!i", o) for o in oids))


def copy_out_response(ncols: int) -> bytes:
    return _msg(b"H", struct.pack("!bh", 0, ncols) + struct.pack("!h", 0) * ncols)


def copy_data(data: bytes) -> bytes:
    return _msg(b"d", data)


def copy_done() -> bytes:
    return _msg(b"c")


def _fields(severity: str, code: str, message: str, position: int | None, detail: str | None,
            hint: str | None) -> bytes:
    parts = [b"S" + _cstr(severity), b"V" + _cstr(severity), b"C" + _cstr(code), b"M" + _cstr(message)]
    if detail:
        parts.append(b"D" + _cstr(detail))
    if hint:
        parts.append(b"H" + _cstr(hint))
    if position is not None:
        parts.append(b"P" + _cstr(str(position)))
    return b"".join(parts) + b"\0"


def error_response(code: str, message: str, position: int | None = None, detail: str | None = None,
                   hint: str | None = None, severity: str = "ERROR") -> bytes:
    return _msg(b"E", _fields(severity, code, message, position, detail, hint))


def notice_response(message: str, code: str = "00000", severity: str = "NOTICE") -> bytes:
    return _msg(b"N", _fields(severity, code, message, None, None, None))
