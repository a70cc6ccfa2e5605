#!/usr/bin/env bash
# ramdir.sh CMD ARGS…: run CMD with TMPDIR naming a fresh folder in memory
# (on /dev/shm), removed when CMD ends, whatever its outcome; CMD's exit
# status is the script's. make test runs under it: every test's files
# (t.TempDir) and the throwaway PostgreSQL cluster (scripts/pgtest.sh) go
# there. On an ext4 disk, creating files is what a test database costs
# most: a CREATE DATABASE spends most of the server's CPU in the kernel,
# allocating the files it copies, several times what it spends on tmpfs
# (BENCHMARKS.md, "make test"). Nothing the tests check depends on the
# disk; the crash trials (make test-crash), which do, do not run under it.
#
# CMD runs with TMPDIR as it is when /dev/shm is not a writable tmpfs with
# at least $RAMDIR_MIN_GB (default 4) GiB free, or when RAMDIR=off.
set -euo pipefail

min_gb="${RAMDIR_MIN_GB:-4}"
use_ram() {
  [ "${RAMDIR:-}" != off ] || return 1
  [ -d /dev/shm ] && [ -w /dev/shm ] || return 1
  [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || return 1
  local free_kb
  free_kb=$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')
  [ "${free_kb:-0}" -ge $((min_gb * 1024 * 1024)) ]
}

if ! use_ram; then
  exec "$@"
fi
dir=$(mktemp -d /dev/shm/simdb-test.XXXXXX)
chmod 755 "$dir" # the PostgreSQL cluster's owner (user postgres) enters it
trap 'rm -rf "$dir"' EXIT INT TERM
export TMPDIR="$dir"
set +e
"$@"
status=$?
set -e
exit $status
