#!/usr/bin/env bash
# Installs what tests/server needs beyond Python packages: psql (postgresql-client),
# pgJDBC (libpostgresql-jdbc-java) and a JDK for javac. Idempotent: installs only what
# is missing. The Python drivers (psycopg, pg8000, SQLAlchemy) come from the `test` extra.
set -euo pipefail

missing=()
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-server-deps: psql, pgJDBC and javac already present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "install-server-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
