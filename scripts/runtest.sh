#!/bin/sh
# runtest.sh BINARY PACKAGE_DIR [test flags…]
#
# Runs a test binary that `go test -c` built, as `go test` runs it: in its
# package's folder, with go test's default timeout, every test run once,
# and ends with go test's "ok"/"FAIL" line. make test builds the root
# package's and the CLI's test binaries once each (with and without -race)
# and runs each twice over different tests, instead of letting two go test
# commands link the same binary twice.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$2
shift 2
cd "$dir" || exit 1
pkg=$(go list . 2>/dev/null || echo "$dir")
start=$(date +%s.%N)
"$bin" -test.paniconexit0 -test.timeout=10m -test.count=1 "$@"
rc=$?
secs=$(echo "$start $(date +%s.%N)" | awk '{printf "%.3fs", $2 - $1}')
# The binary's name and the first flag tell the runs of one package apart.
what="$(basename "$bin") $(echo "$*" | cut -c1-50)"
if [ "$rc" -eq 0 ]; then
	printf 'ok  \t%s\t%s\t(%s)\n' "$pkg" "$secs" "$what"
else
	printf 'FAIL\t%s\t%s\t(%s)\n' "$pkg" "$secs" "$what"
fi
exit "$rc"
