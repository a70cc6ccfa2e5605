#!/usr/bin/env bash
# testbins.sh OUTDIR JOBS BUILDFLAG… -- PACKAGE… [-- TESTFLAG…]
#
# Tests PACKAGEs as `go test -p JOBS BUILDFLAG… PACKAGE…` would, but from
# test binaries kept in OUTDIR: `go test` links every package's test binary
# again on each run (for the race-instrumented ones of make test, about 19
# CPU-seconds each time), where `go test -c` leaves a binary that is already
# up to date as it is. Each binary runs through runtest.sh (in its package's
# folder, with TESTFLAGs), JOBS at a time, and each one's output is printed
# whole when it ends, one after another. Exits 1 when a build or a package
# fails.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$1 jobs=$2
shift 2
build=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do build+=("$1"); shift; done
[ $# -gt 0 ] && shift
pkgs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do pkgs+=("$1"); shift; done
[ $# -gt 0 ] && shift
mkdir -p "$out"
out=$(cd "$out" && pwd)

# go list takes the build flags but not go test's own (-vet).
list=()
for f in "${build[@]}"; do case $f in -vet=*) ;; *) list+=("$f") ;; esac; done
# The packages with tests, as "import-path folder". go test -c -o DIR/
# names a binary after the last element of its import path, so packages
# that share one (cmd/migrate, internal/migrate) are built in groups, each
# into a folder of its own.
mapfile -t found < <(go list "${list[@]}" -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' "${pkgs[@]}") || exit 1
declare -A group_of=()
groups=0
bins=() dirs=()
for line in "${found[@]}"; do
  [ -n "$line" ] || continue
  ip=${line%% *} dir=${line#* }
  base=${ip##*/}
  g=0
  while [ -n "${group_of[$g/$base]:-}" ]; do g=$((g + 1)); done
  group_of[$g/$base]=$ip
  [ $g -lt $groups ] || groups=$((g + 1))
  bins+=("$out/$g/$base.test") dirs+=("$dir")
done
for ((g = 0; g < groups; g++)); do
  members=()
  for key in "${!group_of[@]}"; do
    [ "${key%%/*}" = "$g" ] && members+=("${group_of[$key]}")
  done
  mkdir -p "$out/$g"
  go test -c "${build[@]}" -o "$out/$g/" "${members[@]}" || exit 1
done

# Run JOBS binaries at a time; print each one's output when it ends.
logs=$(mktemp -d "${TMPDIR:-/tmp}/testbins.XXXXXX")
trap 'rm -rf "$logs"' EXIT
declare -A log_of=()
failed=0
finish() {
  local pid rc
  wait -n -p pid
  rc=$?
  cat "${log_of[$pid]}"
  [ "$rc" -eq 0 ] || failed=1
  unset "log_of[$pid]"
}
for i in "${!bins[@]}"; do
  while [ "${#log_of[@]}" -ge "$jobs" ]; do finish; done
  log="$logs/$i.log"
  "$here/runtest.sh" "${bins[$i]}" "${dirs[$i]}" "$@" >"$log" 2>&1 &
  log_of[$!]=$log
done
while [ "${#log_of[@]}" -gt 0 ]; do finish; done
exit "$failed"
