"""Protocol fuzzing: garbage, truncated and hostile messages against a running server.
Each bad connection is closed on its own; the server stays up and keeps serving others."""

from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from tests.server.conftest import ServerInfo, start_server, stop_server


@pytest.fixture(scope="module")
def trust_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    info = start_server(tmp_path_factory.mktemp("lamna-trust"), "--trust")
    yield info
    stop_server(info)
    assert "TRUST authentication" in info.log.read_text()


def _connect(info: ServerInfo) -> socket.socket:
    s = socket.create_connection((info.host, info.port), timeout=10)
    s.settimeout(10)
    return s


def _startup(user: str = "fuzzer") -> bytes:
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0lamna\0\0"
    return struct.pack("!i", len(body) + 4) + body


def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _read_until_closed_or_ready(s: socket.socket) -> bytes:
    """Everything the server says until ReadyForQuery or the connection closes."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            return data
        except ConnectionError:
            return data
        if not chunk:
            return data
        data += chunk
        if _ready(data):
            return data


def _ready(data: bytes) -> bool:
    i = 0
    while i + 5 <= len(data):
        kind = data[i:i + 1]
        (n,) = struct.unpack_from("!i", data, i + 1)
        if kind == b"Z" and i + 1 + n <= len(data):
            return True
        i += 1 + n
    return False


def _logged_in(info: ServerInfo) -> socket.socket:
    s = _connect(info)
    s.sendall(_startup())
    assert _ready(_read_until_closed_or_ready(s))
    return s


def _healthy(info: ServerInfo) -> None:
    s = _logged_in(info)
    s.sendall(_msg(b"Q", b"SELECT count(*) FROM numbers\0"))
    reply = _read_until_closed_or_ready(s)
    assert b"D" in reply and b"50" in reply and b"SELECT 1" in reply
    s.close()
    assert info.proc.poll() is None


def test_garbage_startup_packets(trust_server: ServerInfo) -> None:
    rng = random.Random(7)
    for _ in range(20):
        s = _connect(trust_server)
        s.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
        _read_until_closed_or_ready(s)
        s.close()
    _healthy(trust_server)


def test_hostile_lengths(trust_server: ServerInfo) -> None:
    for packet in [struct.pack("!i", 2 ** 31 - 1) + b"x", struct.pack("!i", -5), struct.pack("!i", 4),
                   struct.pack("!ii", 8, 1234) + b"junk"]:
        s = _connect(trust_server)
        s.sendall(packet)
        reply = _read_until_closed_or_ready(s)
        assert not _ready(reply)
        s.close()
    s = _logged_in(trust_server)
    s.sendall(b"Q" + struct.pack("!i", 2 ** 30))
    reply = _read_until_closed_or_ready(s)
    assert b"08P01" in reply
    s.close()
    _healthy(trust_server)


def test_truncated_messages_then_disconnect(trust_server: ServerInfo) -> None:
    full = _msg(b"Q", b"SELECT 1\0")
    for cut in range(1, len(full)):
        s = _logged_in(trust_server)
        s.sendall(full[:cut])
        s.close()
    startup = _startup()
    for cut in (1, 3, 5, 10, len(startup) - 1):
        s = _connect(trust_server)
        s.sendall(startup[:cut])
        s.close()
    _healthy(trust_server)


def test_random_messages_after_login(trust_server: ServerInfo) -> None:
    rng = random.Random(11)
    kinds = [b"Q", b"P", b"B", b"D", b"E", b"C", b"S", b"H", b"d", b"f", b"c", b"p", b"Z", b"\x00", b"?"]
    for _ in range(60):
        s = _logged_in(trust_server)
        try:
            for _ in range(rng.randrange(1, 5)):
                body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
                s.sendall(_msg(rng.choice(kinds), body))
            s.sendall(_msg(b"S", b""))
        except OSError:
            pass  # the server already closed this connection: that is the point
        _read_until_closed_or_ready(s)
        s.close()
    _healthy(trust_server)


def test_wrong_lengths_inside_messages(trust_server: ServerInfo) -> None:
    cases = [
        _msg(b"B", b"\0\0" + struct.pack("!h", 1) + struct.pack("!h", 0) + struct.pack("!h", 1) + struct.pack("!i", 1000) + b"ab"),
        _msg(b"P", b"s1\0SELECT 1\0" + struct.pack("!h", 5)),
        _msg(b"B", b"\0nosuch\0" + struct.pack("!hhh", 0, 0, 0)),
        _msg(b"E", b"nosuch\0" + struct.pack("!i", -1)),
        _msg(b"D", b"X"),
        _msg(b"Q", b"no terminator"),
        _msg(b"Q", b"\xff\xfe\0"),
    ]
    for case in cases:
        s = _logged_in(trust_server)
        s.sendall(case + _msg(b"S", b""))
        reply = _read_until_closed_or_ready(s)
        assert b"E" in reply  # an ErrorResponse, then either ReadyForQuery or a close
        s.close()
    _healthy(trust_server)


def test_errors_in_extended_protocol_skip_to_sync(trust_server: ServerInfo) -> None:
    s = _logged_in(trust_server)
    s.sendall(_msg(b"P", b"\0SELECT * FROM nosuch\0\0\0") + _msg(b"B", b"\0\0\0\0\0\0\0\0")
              + _msg(b"E", b"\0\0\0\0\0") + _msg(b"S", b""))
    reply = _read_until_closed_or_ready(s)
    assert reply.count(b"42P01") == 1 and _ready(reply)
    s.sendall(_msg(b"Q", b"SELECT 5\0"))
    assert b"SELECT 1" in _read_until_closed_or_ready(s)
    s.close()


def test_others_keep_working_during_fuzzing(trust_server: ServerInfo) -> None:
    good = _logged_in(trust_server)
    rng = random.Random(3)
    for i in range(10):
        bad = _logged_in(trust_server)
        try:
            bad.sendall(bytes(rng.randrange(256) for _ in range(64)))
        except OSError:
            pass
        bad.close()
        good.sendall(_msg(b"Q", f"SELECT {i}\0".encode()))
        assert b"SELECT 1" in _read_until_closed_or_ready(good)
    good.close()


def test_slow_loris_is_cut_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    info = start_server(tmp_path_factory.mktemp("lamna-loris"), "--trust", "--auth-timeout", "1")
    try:
        stalled = []
        for cut in (2, 9):  # inside the length word, inside the body
            s = _connect(info)
            s.sendall(_startup()[:cut])
            stalled.append(s)
        time.sleep(3)
        for s in stalled:
            s.settimeout(5)
            assert s.recv(100) in (b"",) or not _ready(s.recv(100))
            s.close()
        _healthy(info)
        assert "timed out" in info.log.read_text() or "timeout" in info.log.read_text()
    finally:
        stop_server(info)


def test_ssl_and_gssenc_requests_are_refused_then_startup_proceeds(trust_server: ServerInfo) -> None:
    for code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
        s = _connect(trust_server)
        s.sendall(struct.pack("!ii", 8, code))
        assert s.recv(1) == b"N"
        s.sendall(_startup())
        assert _ready(_read_until_closed_or_ready(s))
        s.close()


def test_cancel_with_a_wrong_key_is_ignored(trust_server: ServerInfo) -> None:
    s = _logged_in(trust_server)
    c = _connect(trust_server)
    c.sendall(struct.pack("!iiii", 16, 80877102, 1, 2))
    assert c.recv(10) == b""  # the server just closes a cancel connection
    c.close()
    s.sendall(_msg(b"Q", b"SELECT 9\0"))
    assert b"SELECT 1" in _read_until_closed_or_ready(s)
    s.close()
