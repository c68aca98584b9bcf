"""``lamna serve …`` and ``lamna user add …``: command lines of the query server.

    lamna serve [--host 127.0.0.1] [--port 5433] [--warehouse DIR] [--config FILE]
                (--users FILE | --trust) [--auth scram-sha-256|md5|password]
                [--tls-cert FILE --tls-key FILE] [--max-connections N] [--max-queries N]
                [--query-memory SIZE] [--workers N] [--query-processes N]
                [--set KEY=VALUE ...]
    lamna user add NAME --users FILE [--password-stdin] [--md5]

``--config FILE`` is TOML with the same keys as the long options (``port = 5433``,
``users = "users.json"``, ``max_queries = 8``, ``query_memory = "2GB"``, ``[settings]``
for engine settings); options given on the command line win.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import signal
import sys
import tomllib
from typing import Any

from server.server import ConfigError, Server, ServerConfig, new_event_loop

log = logging.getLogger("server")


def _serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lamna serve", description="Run the Lamna query server (PostgreSQL protocol).")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--warehouse")
    p.add_argument("--master", help="RDD master, e.g. local[4] (default local[2])")
    p.add_argument("--config", help="TOML file with the same keys as these options")
    p.add_argument("--users", help="users file written by `lamna user add`")
    p.add_argument("--trust", action="store_true", default=None, help="no passwords (development only)")
    p.add_argument("--auth", choices=("scram-sha-256", "md5", "password"))
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--max-connections", type=int)
    p.add_argument("--max-queries", type=int,
                   help="queries running at once on the server's threads, and as many again on its query "
                        "processes; more wait in a queue of their own kind (default 8)")
    p.add_argument("--query-memory", help="default per-query memory cap, e.g. 2GB (0: none); "
                                          "sessions change theirs with SET lamna.query.memory")
    p.add_argument("--workers", type=int, help="worker processes for the queries that read files "
                                                "(default: one per core; 0: every query on the server's threads)")
    p.add_argument("--query-processes", type=int,
                   help="processes that run whole file-reading queries, so that they do not slow "
                        "the server's own (default: one per core; 0: none)")
    p.add_argument("--auth-timeout", type=float, help="seconds to complete start-up and authentication")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="engine setting")
    p.add_argument("--log-level", default="INFO")
    return p


def _config(args: argparse.Namespace) -> ServerConfig:
    file: dict[str, Any] = {}
    if args.config:
        try:
            with open(args.config, "rb") as f:
                file = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as ex:
            raise ConfigError(f"cannot read {args.config}: {ex}") from None

    def pick(name: str, key: str, default: Any) -> Any:
        value = getattr(args, name)
        return value if value is not None else file.get(key, default)

    settings = {k: str(v) for k, v in (file.get("settings") or {}).items()}
    for item in args.set:
        k, sep, v = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        settings[k.strip()] = v.strip()
    return ServerConfig(
        host=pick("host", "host", "127.0.0.1"), port=int(pick("port", "port", 5433)),
        warehouse=pick("warehouse", "warehouse", None), master=pick("master", "master", None),
        users_file=pick("users", "users", None), trust=bool(pick("trust", "trust", False)),
        auth_method=pick("auth", "auth", "scram-sha-256"), tls_cert=pick("tls_cert", "tls_cert", None),
        tls_key=pick("tls_key", "tls_key", None),
        max_connections=int(pick("max_connections", "max_connections", 100)),
        max_concurrent_queries=int(pick("max_queries", "max_queries", 8)),
        auth_timeout=float(pick("auth_timeout", "auth_timeout", 15.0)),
        query_memory=str(pick("query_memory", "query_memory", settings.get("lamna.query.memory", "0"))),
        workers=None if (workers := pick("workers", "workers", None)) is None else int(workers),
        query_processes=None if (n := pick("query_processes", "query_processes", None)) is None else int(n),
        settings=tuple(sorted(settings.items())))


def serve(argv: list[str]) -> int:
    args = _serve_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = _config(args)
        server = Server(config)
    except (ConfigError, ValueError) as ex:
        log.error("%s", ex)
        return 2
    # Everything made so far (modules, the catalog, parser tables) lives as long as the
    # server: keep it out of the collector's full passes, which stop every thread while
    # they walk the heap and showed as 30-70 ms stalls of short queries under load.
    gc.collect()
    gc.freeze()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_run(server))


async def _run(server: Server) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.serve_forever(stop)
    except OSError as ex:
        log.error("cannot listen on %s:%d: %s", server.config.host, server.config.port, ex)
        await loop.run_in_executor(None, server.engine.close)
        return 1
    return 0


def user(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lamna user", description="Manage the server's users file.")
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a user (or change a password)")
    add.add_argument("name")
    add.add_argument("--users", required=True, help="the users file (created if absent)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--md5", action="store_true", help="also store an MD5 hash (for --auth md5 clients)")
    args = p.parse_args(argv)
    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(levelname)s: %(message)s")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            log.error("passwords do not match")
            return 1
    if not password:
        log.error("empty password")
        return 1
    from server.users import add_user
    try:
        add_user(args.users, args.name, password, with_md5=args.md5)
    except (OSError, ValueError) as ex:
        log.error("cannot write %s: %s", args.users, ex)
        return 1
    log.info("user %s written to %s", args.name, args.users)
    return 0


def main(argv: list[str]) -> int:
    """``lamna serve`` arguments, or ``user …`` for the users file."""
    if argv and argv[0] == "user":
        return user(argv[1:])
    if argv and argv[0] == "serve":
        argv = argv[1:]
    return serve(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
