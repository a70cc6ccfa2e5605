#!/usr/bin/env bash
# pgtest.sh CMD ARGS…: run CMD with SIMDB_TEST_POSTGRES naming a PostgreSQL
# server. When the variable is already set, CMD runs against that server.
# Otherwise a throwaway PostgreSQL 15 cluster is created in a temporary
# folder (initdb), started on a free loopback port, and stopped and removed
# when CMD ends, whatever its outcome; CMD's exit status is the script's.
# The server refuses to run as root, so as root it runs as user postgres.
set -euo pipefail

if [ -n "${SIMDB_TEST_POSTGRES:-}" ]; then
  exec "$@"
fi

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
if [ ! -x "$PGBIN/initdb" ]; then
  echo "pgtest.sh: $PGBIN/initdb not found: install PostgreSQL 15 (apt-get install postgresql) or set SIMDB_TEST_POSTGRES to a server's URL" >&2
  exit 1
fi

as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/simdb-pg.XXXXXX")
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
fi
cleanup() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A free loopback port: bind to port 0 and read what the kernel chose.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 20000)))

"${as_pg[@]}" "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# fsync off: the cluster is thrown away, and CREATE DATABASE per test is
# several times faster without it.
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" \
  -o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export SIMDB_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "pgtest.sh: throwaway PostgreSQL at $SIMDB_TEST_POSTGRES" >&2
set +e
"$@"
status=$?
set -e
exit $status
